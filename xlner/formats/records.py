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
from typing import Any, Mapping, Optional, Union

from xlner import precision
from xlner.text.bio import Span, spans_to_tags  # Span lives with the tags; re-exported here

Alignment = tuple[tuple[int, int], ...]


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
    record the result is routed back to, by ``owner_key``: the sentence itself, or the
    EasyProject unit the marked sentence and entity strings belong to.
    """

    owner_key: str
    slot: str
    text: str
    src_lang: str
    tgt_lang: str
    owner: Union[LabeledSentence, "MarkedUnit"]


@dataclass(frozen=True)
class Failure:
    """Why a model produced nothing for one input: a short stable ``reason`` code (it
    becomes the dead letter's reason) and the ``error`` text. Model handlers return it in
    place of a result, so one bad input fails alone instead of failing its batch."""

    reason: str
    error: str = ""

    @classmethod
    def of(cls, e: BaseException, reason: str = "model_error") -> "Failure":
        return cls(reason, f"{type(e).__name__}: {e}"[:2000])


@dataclass(frozen=True)
class TranslatedText:
    """The translation of a TextRequest (``text``), or why there is none (``failure``)."""

    request: TextRequest
    text: Optional[str]
    origin: str  # "cache" | "model"
    model: str
    failure: Optional[Failure] = None


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
    signature: str = ""  # what the key was made for (xlner.models.runtime); "" uncached


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

    def with_words(self, words, offsets) -> "Translation":
        return dataclasses.replace(self, words=tuple(words),
                                   offsets=None if offsets is None else tuple(offsets))


@dataclass(frozen=True)
class SentencePair:
    """The per-(sentence, language) unit that is aligned and projected.

    The *source* side carries entity spans, the *target* side receives labels.
    ``translation`` is how the input record was translated (its ``source`` is the record):
    the target side in translate-train, the English side in the evaluation job. The
    aligner and projectors look only at the words and spans.
    """

    translation: Translation
    src_lang: str
    tgt_lang: str
    src_words: tuple[str, ...]
    src_spans: tuple[Span, ...]
    tgt_words: tuple[str, ...]
    # Spans known on the target words: an NER model's (NER candidates, model transfer) or
    # those EasyProject recovered from its marked translation (ProjectedEntity, with their
    # source entity and match ratio).
    tgt_spans: Optional[tuple[Union[Span, "ProjectedEntity"], ...]] = None
    # (label names, [n_words, n_labels] probabilities) of that model, for the NER score.
    tgt_word_probs: Optional[tuple] = None

    @property
    def record(self) -> LabeledSentence:
        """The input record this pair was made from."""
        return self.translation.source

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def key(self) -> str:
        return pair_key(self.id, self.tgt_lang)

    @classmethod
    def given(cls, id: str, src_lang: str, tgt_lang: str, src_words, src_spans, tgt_words,
              **target) -> "SentencePair":
        """A pair over a translation given as words (gold data, benchmarks, tests)."""
        src_words, tgt_words = tuple(src_words), tuple(tgt_words)
        record = LabeledSentence(id, src_words, spans_to_tags(src_spans, len(src_words)),
                                 src_lang)
        t = Translation(source=record, tgt_lang=tgt_lang, text=" ".join(tgt_words),
                        origin="given", model="", words=tgt_words)
        return cls(t, src_lang, tgt_lang, src_words, tuple(src_spans), tgt_words, **target)

    def with_tgt_spans(self, spans, word_probs=None) -> "SentencePair":
        return dataclasses.replace(self, tgt_spans=tuple(spans), tgt_word_probs=word_probs)


@dataclass(frozen=True)
class MarkedUnit:
    """Words with entity spans to carry into ``tgt_lang`` with EasyProject markers.

    ``record`` is the input record; ``pair`` the sentence pair whose source side is
    back-translated (tgt2tgt), None when EasyProject itself produces the target sentence.
    """

    key: str
    record: LabeledSentence
    src_lang: str
    tgt_lang: str
    words: tuple[str, ...]
    spans: tuple[Span, ...]
    pair: Optional[SentencePair] = None


@dataclass(frozen=True)
class EasyProjected:
    """The target words and spans recovered from one unit's marked translation."""

    unit: MarkedUnit
    text: str  # the translation with the markers of recovered entities removed
    words: tuple[str, ...]
    spans: tuple[Span, ...]
    markers: int
    matched: int
    origin: str
    model: str
    # per recovered span: its source entity and fuzzy-match ratio (EasyProject's confidence)
    entities: tuple["ProjectedEntity", ...] = ()


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
class ProjectedEntity:
    """A projected span with where it came from and how sure the method is of it.

    ``source_index`` is the source entity it projects (None for model transfer);
    ``score`` the method's confidence in [0, 1]: for candidate matching the calibrated
    probability that the span is right (``xlner.projection.confidence``), else the aligned
    fraction (heuristic) or fuzzy ratio (EasyProject); ``length_ratio`` the span's length
    over the source entity's. Candidate matching also keeps its raw ``alignment_score``
    (Dice-like, may exceed 1), the ``margin`` to the entity's best other span and whether
    greedy matching made the same choice (``greedy_agrees``): the confidence's inputs.
    """

    start: int
    end: int
    label: str
    source_index: Optional[int] = None
    score: Optional[float] = None
    length_ratio: Optional[float] = None
    alignment_score: Optional[float] = None
    margin: Optional[float] = None
    greedy_agrees: Optional[bool] = None

    def __post_init__(self):  # stored and filtered at the stated precision, never noise
        for name in ("score", "length_ratio", "alignment_score", "margin"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, precision.score(value))

    @property
    def span(self) -> Span:
        return Span(self.start, self.end, self.label)


@dataclass(frozen=True)
class Projection:
    """Target-side IOB2 tags produced by one projection method.

    ``alignment`` is the word alignment the method used (empty for methods that do not
    align: EasyProject, model transfer).
    """

    pair: SentencePair
    method: str
    tags: tuple[str, ...]
    entities: tuple[ProjectedEntity, ...]
    alignment: Alignment = ()
    filtered: int = 0  # entities removed by --min_entity_score

    @property
    def spans(self) -> tuple[Span, ...]:
        return tuple(e.span for e in self.entities)


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed, with the stage and the reason."""

    stage: str
    reason: str
    record_id: Optional[str]
    detail: str = ""
    tgt_lang: Optional[str] = None
    record: Any = None  # JSON-serialisable view of the offending input
    split: Optional[str] = None  # the input split of the record (xlner.formats.splits)


def pair_key(record_id: str, tgt_lang: str) -> str:
    return f"{tgt_lang}/{record_id}"


def key_lang(key: str) -> str:
    """The language of a ``pair_key`` (ids may contain slashes; languages do not)."""
    return key.split("/", 1)[0]
