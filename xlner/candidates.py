"""Target-side candidate spans for candidate matching (method.md §6.1).

* n-grams ("dummy" in the reference): every span of ``min_words..max_words`` words that
  contains no stop word (``!`` and ``?``, as in the paper), enumerated by start and then
  by increasing length — the order greedy matching breaks ties with;
* NER spans: the spans an NER model predicts on the target words, class ignored,
  optionally with all their sub-spans.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

from xlner.records import Span

DEFAULT_STOP_WORDS = frozenset({"!", "?"})
CANDIDATE_LABEL = "CAND"  # candidates carry no class; matching assigns the source's


def ngram_candidates(words: Sequence[str], max_words: Optional[int] = None,
                     min_words: int = 1, stop_words: Iterable[str] = DEFAULT_STOP_WORDS
                     ) -> list[Span]:
    """All spans [s, e) with min_words <= e - s <= max_words and no stop word inside."""
    n = len(words)
    longest = n if max_words is None else min(max_words, n)
    stops = set(stop_words)
    out = []
    for s in range(n):
        for length in range(min_words, longest + 1):
            e = s + length
            if e > n or words[e - 1] in stops:
                break  # every longer span from s contains the stop word too
            if words[s] in stops:
                break
            out.append(Span(s, e, CANDIDATE_LABEL))
    return out


def ner_candidates(spans: Iterable[Span], extract_subranges: bool = False) -> list[Span]:
    """Candidate spans from NER predictions on the target (their classes are ignored)."""
    out = []
    seen = set()
    for sp in sorted(spans, key=lambda x: (x.start, x.end)):
        ranges = ([(s, e) for s in range(sp.start, sp.end) for e in range(s + 1, sp.end + 1)]
                  if extract_subranges else [(sp.start, sp.end)])
        for s, e in ranges:
            if (s, e) not in seen:
                seen.add((s, e))
                out.append(Span(s, e, CANDIDATE_LABEL))
    return sorted(out, key=lambda x: (x.start, x.end - x.start))
