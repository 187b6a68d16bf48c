"""Typed records that flow between the stages of the job.

Every record carries a stable ``id`` taken from (or derived once from) the input, so stages
are joined by key and never by position. Orientation convention, used everywhere: the
*source* side carries entity spans and the *target* side receives labels; an alignment is a
tuple of ``(source_word_index, target_word_index)`` pairs. In translate-train the source is
the labelled English sentence and the target its translation; in translate-test the source
is the English translation (labelled by NER) and the target the gold sentence.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

Alignment = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Span:
    """An entity over word indices, half-open: words ``start .. end-1``."""

    start: int
    end: int
    label: str

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class GivenTranslation:
    """A translation supplied with the input row, so the job does not translate it.

    ``lang`` is None when the row does not say which target language it is for; it then
    applies to every requested target language.
    """

    lang: Optional[str]
    text: Optional[str] = None
    tokens: Optional[tuple[str, ...]] = None


@dataclass(frozen=True)
class LabeledSentence:
    """A validated input sentence: words with IOB2 tags."""

    id: str
    tokens: tuple[str, ...]
    tags: tuple[str, ...]
    lang: str
    given: tuple[GivenTranslation, ...] = ()
    # Input fields the job does not interpret (e.g. gold target tags); kept for output.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def given_for(self, tgt_lang: str) -> Optional[GivenTranslation]:
        for g in self.given:
            if g.lang == tgt_lang:
                return g
        for g in self.given:
            if g.lang is None:
                return g
        return None


@dataclass(frozen=True)
class TextRequest:
    """A text to translate on behalf of an owner (a sentence, or part of one).

    ``slot`` says which part (``sentence``, ``marked``, ``entity:3``); ``owner`` is the
    record the result is routed back to, by ``owner_key``.
    """

    owner_key: str
    slot: str
    text: str
    src_lang: str
    tgt_lang: str
    owner: Any = None


@dataclass(frozen=True)
class TranslatedText:
    """The translation of a TextRequest, or why there is none."""

    request: TextRequest
    text: Optional[str]
    origin: str  # "cache" | "model"
    model: str
    error: Optional[str] = None
    reason: str = ""


@dataclass(frozen=True)
class TranslationJob:
    """One distinct text to translate and the requests waiting for it.

    Identical source texts (headlines, boilerplate, repeated rows, repeated entity names)
    are translated once.
    """

    cache_key: str
    text: str
    src_lang: str
    tgt_lang: str
    members: tuple[TextRequest, ...]


@dataclass(frozen=True)
class Translation:
    """One source sentence rendered in one target language.

    ``words``/``offsets`` are None until the split stage fills them; ``offsets`` stays None
    when the words were given with the input (there is no text to point into).
    """

    source: LabeledSentence
    tgt_lang: str
    text: str
    origin: str  # "given" | "cache" | "model"
    model: str  # translation model id, "" when given
    words: Optional[tuple[str, ...]] = None
    offsets: Optional[tuple[tuple[int, int], ...]] = None

    @property
    def key(self) -> str:
        return pair_key(self.source.id, self.tgt_lang)

    def with_words(self, words, offsets) -> "Translation":
        return dataclasses.replace(self, words=tuple(words),
                                   offsets=None if offsets is None else tuple(offsets))


@dataclass(frozen=True)
class SentencePair:
    """The unit that is aligned and projected.

    ``context`` is the stage record the writer needs afterwards (a ``Translation`` in
    translate-train); the aligner and projectors never look at it.
    """

    id: str
    src_lang: str
    tgt_lang: str
    src_words: tuple[str, ...]
    src_spans: tuple[Span, ...]
    tgt_words: tuple[str, ...]
    context: Any = None
    # Spans an NER model predicts on the target words (NER candidates, model transfer).
    tgt_spans: Optional[tuple[Span, ...]] = None
    # (label names, [n_words, n_labels] probabilities) of that model, for the NER score.
    tgt_word_probs: Optional[tuple] = None

    def with_tgt_spans(self, spans, word_probs=None) -> "SentencePair":
        return dataclasses.replace(self, tgt_spans=tuple(spans), tgt_word_probs=word_probs)

    @property
    def key(self) -> str:
        return pair_key(self.id, self.tgt_lang)


@dataclass(frozen=True)
class AlignedPair:
    """A sentence pair with word alignments, one per requested extraction method."""

    pair: SentencePair
    alignments: Mapping[str, Alignment]
    aligner: str  # short description of encoder + layer, for provenance
    # Per method, one strength per link of ``alignments[method]`` in the same order
    # (``alignment.link_similarities``); candidate matching can weight its score by them.
    link_scores: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Projection:
    """Target-side IOB2 tags produced by one projection method.

    ``alignment`` is the word alignment the method used (empty for methods that do not
    align: EasyProject, model transfer).
    """

    pair: SentencePair
    method: str
    tags: tuple[str, ...]
    spans: tuple[Span, ...]
    alignment: Alignment = ()


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed, with the stage and the reason."""

    stage: str
    reason: str
    record_id: Optional[str]
    detail: str = ""
    tgt_lang: Optional[str] = None
    record: Any = None  # JSON-serialisable view of the offending input


def pair_key(record_id: str, tgt_lang: str) -> str:
    return f"{tgt_lang}/{record_id}"


def key_lang(key: str) -> str:
    """The language of a ``pair_key`` (ids may contain slashes; languages do not)."""
    return key.split("/", 1)[0]
