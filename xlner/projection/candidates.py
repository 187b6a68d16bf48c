"""Target-side candidate spans for candidate matching (docs/method.md §6.1).

* n-grams ("dummy" in the reference): every span of ``min_words..max_words`` words that
  contains no stop word (``!`` and ``?``, as in the paper), enumerated by start and then
  by increasing length — the order greedy matching breaks ties with;
* NER spans: the spans an NER model predicts on the target words, class ignored,
  optionally with all their sub-spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from xlner.formats.records import Span

DEFAULT_STOP_WORDS = frozenset({"!", "?"})
CANDIDATE_LABEL = "CAND"  # candidates carry no class; matching assigns the source's


@dataclass(frozen=True)
class CandidateSet:
    """Candidate spans as two arrays (a sentence can have O(n²) of them: no objects)."""

    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, k: int) -> Span:
        return Span(int(self.starts[k]), int(self.ends[k]), CANDIDATE_LABEL)

    def __iter__(self) -> Iterator[Span]:
        return (self[k] for k in range(len(self)))

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, int]]) -> "CandidateSet":
        """From (start, end) pairs, ordered by start and then by length."""
        ordered = sorted(set(pairs), key=lambda se: (se[0], se[1] - se[0]))
        arr = np.array(ordered, dtype=np.int64).reshape(-1, 2)
        return cls(arr[:, 0], arr[:, 1])


def bounds(candidates) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) arrays of a CandidateSet or of any sequence of spans."""
    if isinstance(candidates, CandidateSet):
        return candidates.starts, candidates.ends
    return (np.array([c.start for c in candidates], dtype=np.int64),
            np.array([c.end for c in candidates], dtype=np.int64))


def ngram_candidates(words: Sequence[str], max_words: Optional[int] = None,
                     min_words: int = 1, stop_words: Iterable[str] = DEFAULT_STOP_WORDS
                     ) -> CandidateSet:
    """All spans [s, e) with min_words <= e - s <= max_words and no stop word inside."""
    n = len(words)
    longest = n if max_words is None else min(max_words, n)
    if n == 0 or longest < min_words:
        return CandidateSet(np.zeros(0, np.int64), np.zeros(0, np.int64))
    stops = set(stop_words)
    stop_prefix = np.concatenate([[0], np.cumsum([w in stops for w in words])])
    starts = np.repeat(np.arange(n), longest - min_words + 1)
    lengths = np.tile(np.arange(min_words, longest + 1), n)
    ends = starts + lengths
    keep = (ends <= n)
    starts, ends = starts[keep], ends[keep]
    clean = stop_prefix[ends] == stop_prefix[starts]
    return CandidateSet(starts[clean], ends[clean])  # already by start, then length


def ner_candidates(spans: Iterable[Span], extract_subranges: bool = False) -> CandidateSet:
    """Candidate spans from NER predictions on the target (their classes are ignored)."""
    pairs = []
    for sp in spans:
        if extract_subranges:
            pairs += [(s, e) for s in range(sp.start, sp.end) for e in range(s + 1, sp.end + 1)]
        else:
            pairs.append((sp.start, sp.end))
    return CandidateSet.of(pairs)
