"""Translation: every distinct text once, from a cache when possible, in batched inference.

``TranslateTexts`` is the one place a translation model runs: it takes ``TextRequest``s
from any producer (plain sentences, EasyProject marked sentences and entity strings),
keys them by a hash of (model, decoding settings, language pair, text), translates each
distinct key once and routes the result back to every waiting request. With a translation
cache the keys are first joined with earlier translations, so projection variants and
re-runs never translate twice; new translations are appended to the cache.

``TranslateSentences`` is the sentence translation of both jobs around it: a row that
carries its translation (``translation`` or ``translation_tokens``) skips the model — a
run where all rows do never loads one — and every translation is split into words.
"""

from __future__ import annotations

from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult
from apache_beam.pvalue import TaggedOutput

from transforms.batching import InferInBatches
from xlner.batching import approx_tokens
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter, sentence_view
from transforms.handlers import TranslationModelHandler
from transforms.shards import WriteShards, parquet_bytes
from transforms.split import SplitWords
from xlner.cache import CACHE_SCHEMA, cache_key, cache_row
from xlner.guarded_files import Folder, open_root
from xlner.records import (Failure, LabeledSentence, TextRequest, TranslatedText,
                           Translation, TranslationJob, key_lang, pair_key)
from xlner.text import detokenize

JOBS = "jobs"
NEW_CACHE_ROWS = "cache_rows"
REQUESTS = "requests"
SENTENCE_SLOT = "sentence"


def _job(key: str, requests: Sequence[TextRequest]) -> TranslationJob:
    first = requests[0]
    return TranslationJob(key, first.text, first.src_lang, first.tgt_lang, tuple(requests))


class _JoinCache(beam.DoFn):
    """(key, {requests, cached}) -> cache hits as TranslatedText, or a TranslationJob."""

    def __init__(self, model: str):
        self._model = model
        self._hits = Metrics.counter(NAMESPACE, "translations_from_cache")

    def process(self, element):
        key, grouped = element
        requests = list(grouped["requests"])
        if not requests:
            return
        cached = list(grouped["cached"])
        if cached:
            for r in requests:
                self._hits.inc()
                yield TranslatedText(r, cached[0], "cache", self._model)
            return
        yield TaggedOutput(JOBS, _job(key, requests))


class _Unpack(beam.DoFn):
    """PredictionResult(job, output) -> a TranslatedText per waiting request, cache rows."""

    def __init__(self, model: str):
        self._model = model
        self._texts = Metrics.counter(NAMESPACE, "texts_translated")
        self._failed = Metrics.counter(NAMESPACE, "texts_failed")

    def process(self, result: PredictionResult):
        job: TranslationJob = result.example
        out = result.inference
        failure = out if isinstance(out, Failure) else None
        text = None if failure else out.strip()
        if not text:
            self._failed.inc()
            failure = failure or Failure("empty_translation",
                                         "the model returned an empty translation")
            for r in job.members:
                yield TranslatedText(r, None, "model", self._model, failure)
            return
        self._texts.inc()
        yield TaggedOutput(NEW_CACHE_ROWS, cache_row(job.cache_key, self._model, job.src_lang,
                                                     job.tgt_lang, job.text, text))
        for r in job.members:
            yield TranslatedText(r, text, "model", self._model)


class _ReadCacheFile(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        import pyarrow.parquet as pq

        with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as f:
            table = pq.read_table(f, columns=["key", "translation"])
        for key, text in zip(table.column("key").to_pylist(),
                             table.column("translation").to_pylist()):
            if key and text:
                yield key, text


class ReadTranslationCache(beam.PTransform):
    """All cached ``(key, translation)`` pairs under ``location`` (none on a first run)."""

    def __init__(self, location: str):
        super().__init__()
        self._pattern = location.rstrip("/") + "/*.parquet"

    def expand(self, pbegin):
        return (pbegin
                | "CachePattern" >> beam.Create([self._pattern])
                | "MatchCache" >> fileio.MatchAll(
                    empty_match_treatment=fileio.EmptyMatchTreatment.ALLOW)
                | "OpenCache" >> fileio.ReadMatches()
                | "ParseCache" >> beam.ParDo(_ReadCacheFile()))


def cache_parquet(rows: list, _arg=None) -> bytes:
    import pyarrow as pa

    return parquet_bytes(pa.Table.from_pylist(rows, schema=CACHE_SCHEMA))


def cache_row_key(row: dict) -> str:
    return row["key"]


class WriteTranslationCache(beam.PTransform):
    """New cache rows -> ``translations-*-<digest>.parquet`` in the cache folder, written
    like the shards through the guarded layer (the cache folder is its own root)."""

    def __init__(self, location: str):
        super().__init__()
        self._folder = Folder(open_root(location, "--translation_cache"))

    def expand(self, rows):
        return (rows | "InCacheFolder" >> beam.Map(lambda r: ("", r))
                | "WriteCacheFiles" >> WriteShards(self._folder, cache_parquet, cache_row_key,
                                                   name="translations"))


class TranslateTexts(beam.PTransform):
    """TextRequest -> TranslatedText (failures carry ``error``/``reason``; never dropped)."""

    def __init__(self, handler: TranslationModelHandler, model_id: str, model_signature: str,
                 cache_location: Optional[str] = None, batch_size: int = 32,
                 batch_tokens: int = 8192):
        super().__init__()
        self._model = model_id
        self._signature = model_signature
        self._cache = cache_location
        self._translate = InferInBatches(
            handler, key_fn=lambda j: (j.src_lang, j.tgt_lang),  # one language pair a batch
            size_fn=lambda j: approx_tokens(j.text), max_batch_size=batch_size,
            max_batch_tokens=batch_tokens, progress="translate", unit="texts")
        self.model_identifier = handler.model_identifier

    def expand(self, requests):
        signature = self._signature
        keyed = requests | "Key" >> beam.Map(
            lambda r: (cache_key(signature, r.src_lang, r.tgt_lang, r.text), r))
        if self._cache:
            cached = requests.pipeline | "ReadCache" >> ReadTranslationCache(self._cache)
            joined = ({"requests": keyed, "cached": cached}
                      | "JoinCache" >> beam.CoGroupByKey()
                      | "ResolveCache" >> beam.ParDo(_JoinCache(self._model)).with_outputs(
                          JOBS, main="hits"))
            hits, jobs = joined.hits, joined[JOBS]
        else:
            hits = None
            jobs = (keyed
                    | "GroupSameText" >> beam.GroupByKey()
                    | "Jobs" >> beam.MapTuple(lambda key, rs: _job(key, list(rs))))
        translated = (
            jobs
            | "Translate" >> self._translate
            | "Unpack" >> beam.ParDo(_Unpack(self._model)).with_outputs(
                NEW_CACHE_ROWS, main="texts"))
        if self._cache:
            _ = translated[NEW_CACHE_ROWS] | "WriteCache" >> WriteTranslationCache(self._cache)
        if hits is None:
            return translated.texts
        return (translated.texts, hits) | "AllTexts" >> beam.Flatten()


def plan_translation(s: LabeledSentence, tgt: str, key_lang: str):
    """One sentence into ``tgt``: its given Translation, a TextRequest, or a dead letter.

    ``key_lang`` is the language the outcome is keyed and accounted under: the target in
    translate-train, the gold sentence's own language in the evaluation job.
    """
    if tgt == s.lang:
        yield dead_letter("translate", "source_is_target", s.id,
                          f"the sentence is already in {tgt}", key_lang, sentence_view(s))
        return
    given = s.given_for(tgt)
    if given is not None:
        Metrics.counter(NAMESPACE, "translations_given").inc()
        words = given.tokens
        text = given.text if given.text is not None else detokenize(words, tgt)
        t = Translation(source=s, tgt_lang=tgt, text=text, origin="given", model="")
        yield t.with_words(words, None) if words is not None else t
        return
    yield TaggedOutput(REQUESTS, TextRequest(pair_key(s.id, key_lang), SENTENCE_SLOT,
                                             detokenize(s.tokens, s.lang), s.lang, tgt,
                                             owner=s))


def to_translation(t: TranslatedText):
    """A sentence's TranslatedText -> Translation, or a dead letter under its key's language."""
    s: LabeledSentence = t.request.owner
    if t.text is None:
        yield dead_letter("translate", t.failure.reason, s.id, t.failure.error,
                          key_lang(t.request.owner_key), sentence_view(s))
        return
    yield Translation(source=s, tgt_lang=t.request.tgt_lang, text=t.text, origin=t.origin,
                      model=t.model)


def _plan_targets(s: LabeledSentence, target_langs: Sequence[str], key_by_source: bool):
    for tgt in target_langs:
        yield from plan_translation(s, tgt, s.lang if key_by_source else tgt)


class TranslateSentences(beam.PTransform):
    """LabeledSentence -> Translation into each of ``target_langs``, split into words.

    Given translations pass through; the others go through ``texts`` (one TranslateTexts,
    so each distinct text is translated once). Outcomes are keyed and accounted under the
    target language, or with ``key_by_source`` under the sentence's own language (the
    evaluation job translates gold sentences of many languages into English).
    """

    def __init__(self, texts: TranslateTexts, target_langs: Sequence[str],
                 key_by_source: bool = False):
        super().__init__()
        self._texts = texts
        self._targets = tuple(target_langs)
        self._key_by_source = key_by_source

    def expand(self, sentences):
        planned = sentences | "Plan" >> beam.FlatMap(
            _plan_targets, self._targets, self._key_by_source).with_outputs(
                REQUESTS, DEAD, main="given")
        done = (planned[REQUESTS]
                | "TranslateTexts" >> self._texts
                | "ToTranslations" >> beam.FlatMap(to_translation).with_outputs(
                    DEAD, main="ok"))
        split = ((planned.given, done.ok) | "AllTranslations" >> beam.Flatten()
                 | "SplitWords" >> SplitWords())
        dead = ((planned[DEAD], done[DEAD], split.dead)
                | "TranslationDeadLetters" >> beam.Flatten())
        return Staged(split.ok, dead)
