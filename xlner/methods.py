"""The paper's 13 methods per language, and how each maps onto our options.

Keys are those of the reference's result files (``../shared/data/paper-results``):
``MT`` (model transfer), ``heur-*`` (alignment heuristic), ``cand-ngram-*`` /
``cand-ner-*`` (n-gram / NER-span candidates with greedy matching), ``src2tgt`` /
``tgt2tgt`` (align with the English side / with an EasyProject back-translation), ``-sim``
(SimAlign itermax) / ``-awe`` (awesome-align softmax extraction).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    key: str
    short: str  # the paper's abbreviation, e.g. H-s-S
    projection: str  # heuristic | ngram | ner | model_transfer
    direction: str = "src2tgt"
    aligner: str = ""  # sim | awe | "" (model transfer)
    matching: str = "greedy"

    @property
    def align_method(self) -> str:
        return {"sim": "itermax", "awe": "awesome"}.get(self.aligner, "")

    def flags(self) -> list[str]:
        out = [f"--projection={self.projection}"]
        if self.projection in ("ngram", "ner"):
            out.append(f"--matching={self.matching}")
        if self.aligner:
            out += [f"--align_method={self.align_method}", f"--align_direction={self.direction}"]
        return out


def _all() -> tuple[Method, ...]:
    out = [Method("MT", "MT", "model_transfer")]
    names = {"heuristic": ("heur", "H"), "ngram": ("cand-ngram", "Cg"),
             "ner": ("cand-ner", "Cn")}
    for projection, (prefix, short) in names.items():
        for direction in ("src2tgt", "tgt2tgt"):
            for aligner in ("sim", "awe"):
                out.append(Method(f"{prefix}-{direction}-{aligner}",
                                  f"{short}-{direction[0]}-{aligner[0].upper()}", projection,
                                  direction, aligner))
    return tuple(out)


PAPER_METHODS = _all()
BY_KEY = {m.key: m for m in PAPER_METHODS}


def resolve(spec: str) -> list[Method]:
    """``all``, or comma-separated keys or abbreviations (``H-s-S``, ``heur-src2tgt-sim``).

    ``+ilp`` after a candidate method switches its matching to the exact ILP.
    """
    if spec.strip() == "all":
        return list(PAPER_METHODS)
    by_short = {m.short: m for m in PAPER_METHODS}
    out = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        name, _, variant = item.partition("+")
        m = BY_KEY.get(name) or by_short.get(name)
        if m is None:
            raise ValueError(f"unknown method {name!r}; known: {', '.join(BY_KEY)}")
        if variant:
            if variant not in ("ilp", "greedy", "bipartite") or m.projection not in ("ngram",
                                                                                    "ner"):
                raise ValueError(f"{item!r}: only candidate methods take +ilp/+bipartite")
            m = Method(f"{m.key}+{variant}", f"{m.short}+{variant}", m.projection,
                       m.direction, m.aligner, variant)
        out.append(m)
    if len({m.key for m in out}) != len(out):
        raise ValueError(f"--methods repeats a method: {spec}")
    return out
