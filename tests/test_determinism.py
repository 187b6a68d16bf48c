"""Deterministic bytes (issue 15, item 6): the same input gives byte-identical shards on one
worker, on two worker processes and on the portable runner with an external pool of two
SDK workers, whatever the input size and the encoder batch size; a sentence's encoding and
its stored scores do not depend on what it was batched with."""

import glob
import hashlib
import json
import os

import numpy as np
import pytest

from benchmarks.data import DEV
from pipeline.run import main
from tests.runners import ONE_WORKER, TWO_PROCESSES, external_worker_pool  # noqa: F401


def shard_digests(folder):
    return {os.path.relpath(p, folder): hashlib.sha256(open(p, "rb").read()).hexdigest()
            for p in sorted(glob.glob(os.path.join(folder, "*", "part-*.parquet")))}


def bible_input(tmp_path, n):
    """The first n Bible dev rows (English with the given Greek translation): sentences of
    2 to 59 words, so every encoder batch mixes lengths."""
    with open(DEV, encoding="utf-8") as f:
        rows = [next(f) for _ in range(n)]
    path = tmp_path / f"bible-{n}.jsonl"
    path.write_text("".join(rows), encoding="utf-8")
    return str(path)


@pytest.mark.timeout(900)
def test_shards_are_byte_identical_on_every_runner_and_input_size(tmp_path, tiny_bert,
                                                                  external_worker_pool):
    common = ["--run_id=fixed", f"--alignment_model={tiny_bert}", "--align_layers=2",
              "--share_models=false"]
    runners = {"one worker": ONE_WORKER + ["--align_batch_size=64"],
               "two processes": TWO_PROCESSES + ["--align_batch_size=3"],
               "portable, 2 external workers": external_worker_pool + ["--align_batch_size=7"]}
    inputs = {  # 57 verses with their Greek translation; the English sample, translated
        "bible-57": [f"--input={bible_input(tmp_path, 57)}", "--target_langs=ell_Grek"],
        "sample-40": []}
    for data, args in inputs.items():
        seen = {}
        for name, flags in runners.items():
            out = tmp_path / f"{data}-{len(seen)}"
            assert main([f"--output={out}", *args, *common, *flags]) == 0, (data, name)
            seen[name] = shard_digests(str(out))
        first = next(iter(seen.values()))
        assert first and all(d == first for d in seen.values()), (data, seen)
    assert external_worker_pool.workers_started() >= 2  # the pool really ran two workers


def test_a_sentence_encodes_to_the_same_bits_in_any_batch(tiny_bert):
    from xlner.models.encoders import WordPairEncoder, pair_similarity

    enc = WordPairEncoder(tiny_bert, layer=2, device="cpu")
    with open(DEV, encoding="utf-8") as f:
        rows = [json.loads(next(f)) for _ in range(30)]
    english = [r["tokens"] for r in rows]
    greek = [r["translation_tokens"] for r in rows]
    alone = enc.encode([english[0]])[0]
    rng = np.random.default_rng(0)
    for size in (2, 5, 17, 30):
        others = [english[i] for i in rng.permutation(len(english))[:size]]
        batch = [others[0], english[0]] + others + greek[:size]
        got = enc.encode(batch)[1]
        assert np.array_equal(got.vectors, alone.vectors), size
    # ... and so are the similarities and link strengths computed from it
    sim = pair_similarity(alone, enc.encode([greek[0]])[0])
    again = pair_similarity(enc.encode(english[:9])[0], enc.encode(greek[::-1])[-1])
    assert np.array_equal(sim.cosine_01(), again.cosine_01())


def test_stored_scores_do_not_depend_on_batch_composition(tiny_bert):
    """The scores a projection stores, from pairs encoded in differently composed batches."""
    from xlner.projection.alignment import extract, link_similarities
    from xlner.text.bio import tags_to_spans
    from xlner.projection.methods import Method
    from xlner.models.encoders import WordPairEncoder, pair_similarity
    from xlner.projection.projectors import ProjectionSettings, build_projector
    from xlner.formats.records import SentencePair

    enc = WordPairEncoder(tiny_bert, layer=2, device="cpu")
    with open(DEV, encoding="utf-8") as f:
        rows = [json.loads(next(f)) for _ in range(24)]
    projector = build_projector(Method.of("ngram", "src2tgt", "itermax", "ilp"),
                                ProjectionSettings(link_weighting="similarity"))

    def stored(order):
        sentences = [s for i in order for s in (rows[i]["tokens"],
                                                rows[i]["translation_tokens"])]
        encoded = enc.encode(sentences)
        out = {}
        for k, i in enumerate(order):
            r = rows[i]
            sim = pair_similarity(encoded[2 * k], encoded[2 * k + 1])
            links = extract(sim, "itermax")
            pair = SentencePair.given(r["id"], "eng_Latn", "ell_Grek", r["tokens"],
                                      tags_to_spans(r["ner_tags"]), r["translation_tokens"])
            _, entities = projector.project(pair, {"itermax": links},
                                            {"itermax": link_similarities(sim, links)})
            out[r["id"]] = [(e.start, e.end, e.score, e.length_ratio) for e in entities]
        return out

    one_by_one = {}
    for i in range(len(rows)):
        one_by_one.update(stored([i]))
    assert stored(list(range(len(rows)))) == one_by_one
    assert stored(list(reversed(range(len(rows))))) == one_by_one
    scores = [s for ents in one_by_one.values() for _, _, s, _ in ents]
    assert scores and all(s == round(s, 6) for s in scores)  # the stated precision


@pytest.mark.parametrize("value, expected", [(0.1234564, 0.123456), (1 / 3, 0.333333),
                                             (-0.0, 0.0), (2.0000004, 2.0)])
def test_scores_are_stored_at_the_stated_precision(value, expected):
    from xlner.formats.records import ProjectedEntity

    e = ProjectedEntity(0, 1, "PER", 0, value, value)
    assert e.score == expected and e.length_ratio == expected
    assert str(e.score) == str(expected)  # -0.0 is never stored
    with pytest.raises(ValueError):
        ProjectedEntity(0, 1, "PER", 0, float("nan"))
