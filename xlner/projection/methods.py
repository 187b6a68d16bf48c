"""The projection methods, as objects that say what they need, in one registry.

A :class:`Method` is a projection kind (alignment heuristic, n-gram or NER-span candidates
with matching, EasyProject markers, model transfer), an alignment direction and, for the
methods that align, the alignment extraction and the matching. It says what the graph
must give it (an alignment, NER spans on the target words, an EasyProject
back-translation, a marked translation) and how it is keyed. Both jobs, the option
choices, the Flex template metadata and the method table of docs/USAGE.md read this module.

Keys follow the paper's result files (``xlner/data/paper_results``): ``MT`` (model
transfer), ``heur-*`` (heuristic), ``cand-ngram-*`` / ``cand-ner-*`` (candidates with
greedy matching), ``src2tgt`` / ``tgt2tgt`` (align with the labelled side / with an
EasyProject back-translation), ``-sim`` (SimAlign itermax) / ``-awe`` (awesome-align
extraction). Variants outside the paper get keys of the same shape: ``heur-src2tgt-argmax``,
``cand-ngram-src2tgt-sim+ilp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from xlner import defaults
from xlner.projection.alignment import METHODS as ALIGN_METHODS

PROJECTIONS = ("heuristic", "ngram", "ner", "easyproject", "model_transfer")
ALIGNING = ("heuristic", "ngram", "ner")
CANDIDATES = ("ngram", "ner")
MATCHINGS = ("greedy", "ilp", "bipartite")
DIRECTIONS = ("src2tgt", "tgt2tgt")

_PREFIX = {"heuristic": ("heur", "H"), "ngram": ("cand-ngram", "Cg"),
           "ner": ("cand-ner", "Cn")}
_ALIGNER_KEY = {"itermax": "sim", "awesome": "awe"}  # the paper's names
_ALIGNER_SHORT = {"itermax": "S", "awesome": "A"}


class UnknownMethod(ValueError):
    pass


@dataclass(frozen=True)
class Method:
    """One projection method. ``align_method`` and ``matching`` are empty where unused."""

    projection: str
    direction: str = defaults.ALIGN_DIRECTION
    align_method: str = ""
    matching: str = ""

    def __post_init__(self):
        if self.projection not in PROJECTIONS:
            raise UnknownMethod(f"unknown projection {self.projection!r}; one of "
                                f"{', '.join(PROJECTIONS)}")
        if self.direction not in DIRECTIONS:
            raise UnknownMethod(f"unknown direction {self.direction!r}")
        if self.needs_alignment != bool(self.align_method):
            raise UnknownMethod(f"{self.projection} {'needs' if self.needs_alignment else 'takes no'}"
                                " alignment method")
        if self.align_method and self.align_method not in ALIGN_METHODS:
            raise UnknownMethod(f"unknown alignment method {self.align_method!r}; one of "
                                f"{', '.join(ALIGN_METHODS)}")
        if (self.projection in CANDIDATES) != bool(self.matching):
            raise UnknownMethod(f"only candidate methods take a matching, not {self.projection}")
        if self.matching and self.matching not in MATCHINGS:
            raise UnknownMethod(f"unknown matching {self.matching!r}")
        if self.direction == "tgt2tgt" and not self.needs_alignment:
            raise UnknownMethod(f"--align_direction=tgt2tgt needs an aligning projection "
                                f"({', '.join(ALIGNING)}), not {self.projection}")

    @classmethod
    def of(cls, projection: str = defaults.PROJECTION,
           direction: str = defaults.ALIGN_DIRECTION,
           align_method: str = defaults.ALIGN_METHOD,
           matching: str = defaults.MATCHING) -> "Method":
        """A method from the translate-train flags, with the job's defaults (``Method.of()``
        is the method the job runs without flags); the alignment method and the matching
        are dropped where the projection does not use them."""
        return cls(projection, direction, align_method if projection in ALIGNING else "",
                   matching if projection in CANDIDATES else "")

    # ------------------------------------------------------------------ what it needs
    @property
    def needs_alignment(self) -> bool:
        return self.projection in ALIGNING

    @property
    def needs_target_ner(self) -> bool:
        """NER spans on the target words (NER candidates; model transfer's labels)."""
        return self.projection in ("ner", "model_transfer")

    @property
    def needs_back_translation(self) -> bool:
        """tgt2tgt: the entity side is an EasyProject translation into the target language."""
        return self.direction == "tgt2tgt"

    @property
    def needs_marked_translation(self) -> bool:
        """EasyProject: the target sentence is the marked translation, labels and all."""
        return self.projection == "easyproject"

    # ------------------------------------------------------------------ how it is keyed
    @property
    def key(self) -> str:
        if self.projection == "model_transfer":
            return "MT"
        if self.projection == "easyproject":
            return "EP"
        key = (f"{_PREFIX[self.projection][0]}-{self.direction}-"
               f"{_ALIGNER_KEY.get(self.align_method, self.align_method)}")
        return key if self.matching in ("", "greedy") else f"{key}+{self.matching}"

    @property
    def short(self) -> str:
        """The paper's abbreviation (``H-s-S``), and the same shape for other variants."""
        if self.projection in ("model_transfer", "easyproject"):
            return self.key
        short = (f"{_PREFIX[self.projection][1]}-{self.direction[0]}-"
                 f"{_ALIGNER_SHORT.get(self.align_method, self.align_method)}")
        return short if self.matching in ("", "greedy") else f"{short}+{self.matching}"

    @property
    def in_paper(self) -> bool:
        return self in PAPER_METHODS

    def flags(self) -> str:
        """The translate-train flags that select this method."""
        out = [f"--projection {self.projection}"]
        if self.matching:
            out.append(f"--matching {self.matching}")
        if self.align_method:
            out.append(f"--align_method {self.align_method}")
        if self.direction != "src2tgt":
            out.append(f"--align_direction {self.direction}")
        return " ".join(out)


def _paper_methods() -> tuple[Method, ...]:
    out = [Method("model_transfer")]
    for projection in ALIGNING:
        for direction in DIRECTIONS:
            for aligner in ("itermax", "awesome"):
                out.append(Method(projection, direction, aligner,
                                  "greedy" if projection in CANDIDATES else ""))
    return tuple(out)


PAPER_METHODS = _paper_methods()  # the 13 methods of the paper's tables


def parse(name: str) -> Method:
    """A method by key or abbreviation: a paper method (``H-s-S``, ``heur-src2tgt-sim``),
    any variant of the same shape (``heur-src2tgt-argmax``), ``+ilp`` / ``+bipartite``
    after a candidate method, ``MT``, ``EP``."""
    item = name.strip()
    base, _, matching = item.partition("+")
    for m in PAPER_METHODS + (Method("easyproject"),):
        if base in (m.key, m.short):
            if not matching:
                return m
            if m.projection not in CANDIDATES:
                raise UnknownMethod(f"{item!r}: only candidate methods take +ilp/+bipartite")
            return Method(m.projection, m.direction, m.align_method, matching)
    parts = base.split("-")
    by_prefix = {v[0]: k for k, v in _PREFIX.items()}
    if len(parts) >= 3:
        projection = by_prefix.get("-".join(parts[:-2]))
        aligner = {v: k for k, v in _ALIGNER_KEY.items()}.get(parts[-1], parts[-1])
        if projection and parts[-2] in DIRECTIONS and aligner in ALIGN_METHODS:
            return Method(projection, parts[-2], aligner,
                          (matching or "greedy") if projection in CANDIDATES else "")
    raise UnknownMethod(f"unknown method {item!r}; known: "
                        f"{', '.join(m.key for m in PAPER_METHODS)}, EP, or variants such as "
                        "heur-src2tgt-argmax, cand-ngram-src2tgt-sim+ilp")


def resolve(spec: str) -> list[Method]:
    """``all`` (the paper's 13) or comma-separated keys or abbreviations, no repeats."""
    if spec.strip() == "all":
        return list(PAPER_METHODS)
    out = [parse(s) for s in spec.split(",") if s.strip()]
    if not out:
        raise UnknownMethod("no method given")
    keys = [m.key for m in out]
    if len(set(keys)) != len(keys):
        raise UnknownMethod(f"--methods repeats a method: {spec}")
    return out


def markdown_table(methods: Optional[tuple[Method, ...]] = None) -> str:
    """The method table of docs/USAGE.md: key, abbreviation, translate-train flags."""
    methods = methods or PAPER_METHODS
    lines = ["| key | abbreviation | flags |", "|---|---|---|"]
    lines += [f"| `{m.key}` | {m.short} | `{m.flags()}` |" for m in methods]
    return "\n".join(lines) + "\n"
