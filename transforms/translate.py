"""Translation: every distinct text once, from a cache when possible, in batched inference.

``TranslateTexts`` is the one place a translation model runs: it takes ``TextRequest``s
from any producer (plain sentences, EasyProject marked sentences and entity strings),
keys them by a hash of (language pair, text) and, with a translation cache, the model's
signature on the worker (``xlner.models.runtime``: weights fingerprint, engine, precision
actually used, decoding settings), translates each distinct key once and routes the
result back to every waiting request. With a cache the keys are first joined with
earlier translations, so projection variants and re-runs never translate twice; new
translations are appended to the cache. A file in the cache folder that is not a valid
set of entries (``xlner.formats.cache.read_entries``) is skipped with a warning naming it.

``TranslateSentences`` is the sentence translation of both jobs around it: a row that
carries its translation (``translation`` or ``translation_tokens``) skips the model — a
run where all rows do never loads one — and every translation is split into words.
"""

from __future__ import annotations

import logging
import os
import stat
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.metrics import Metrics
from transforms.inference_import import PredictionResult
from apache_beam.pvalue import TaggedOutput

from transforms.batching import InferInBatches
from xlner import defaults
from xlner.models.batching import approx_tokens
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter, sentence_view
from transforms.handlers import TranslationModelHandler
from transforms.shards import WriteShards, parquet_bytes
from transforms.split import SplitWords
from transforms.stages import measure
from xlner.formats.cache import CACHE_SCHEMA, InvalidEntry, cache_key, cache_row, read_entries
from xlner.storage.guarded_files import Folder, open_root
from xlner.formats.records import (Failure, LabeledSentence, TextRequest, TranslatedText,
                           Translation, TranslationJob, key_lang, pair_key)
from xlner.text.words import detokenize

LOG = logging.getLogger("xlner")
JOBS = "jobs"
NEW_CACHE_ROWS = "cache_rows"
REQUESTS = "requests"
SENTENCE_SLOT = "sentence"


def _job(key: str, keyed: Sequence[tuple[str, TextRequest]]) -> TranslationJob:
    """One job for the (signature, request) pairs that share ``key``."""
    signature, first = keyed[0]
    return TranslationJob(key, first.text, first.src_lang, first.tgt_lang,
                          tuple(r for _, r in keyed), signature)


class _Key(beam.DoFn):
    """TextRequest -> (key, (signature, request)).

    With a cache the key covers the translation signature, resolved on this worker at the
    first request without loading the model (a run whose translations are all cached
    never loads it); the step then carries the model step's resource hints, so it runs on
    the same kind of worker. Without a cache the key only groups identical texts."""

    def __init__(self, handler: TranslationModelHandler, cached: bool):
        self._handler = handler
        self._cached = cached
        self._signature: Optional[str] = None

    def setup(self):
        self._signature = None

    def process(self, r: TextRequest):
        if self._signature is None:
            self._signature = self._handler.signature() if self._cached else ""
        yield cache_key(self._signature, r.src_lang, r.tgt_lang, r.text), (self._signature, r)


class _JoinCache(beam.DoFn):
    """(key, {requests, cached}) -> cache hits as TranslatedText, or a TranslationJob."""

    def __init__(self, model: str):
        self._model = model
        self._hits = Metrics.counter(NAMESPACE, "translations_from_cache")

    def process(self, element):
        key, grouped = element
        keyed = list(grouped["requests"])
        if not keyed:
            return
        cached = sorted(grouped["cached"])  # equal keys, equal texts; if not, one rule
        if cached:
            for _, r in keyed:
                self._hits.inc()
                yield TranslatedText(r, cached[0], "cache", self._model)
            return
        yield TaggedOutput(JOBS, _job(key, keyed))


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
        yield TaggedOutput(NEW_CACHE_ROWS, cache_row(job.cache_key, job.signature, self._model,
                                                     job.src_lang, job.tgt_lang, job.text,
                                                     text))
        for r in job.members:
            yield TranslatedText(r, text, "model", self._model)


class _ReadCacheFile(beam.DoFn):
    """A cache file -> its ``(key, translation)`` entries, or none and a warning naming
    the file when it is not a valid set of entries (never a crash, never trusted)."""

    def __init__(self):
        self._skipped = Metrics.counter(NAMESPACE, "cache_files_skipped")

    def _skip(self, path: str, why: str):
        LOG.warning("xlner: translation cache: %s skipped, not used: %s", path, why)
        self._skipped.inc()

    def process(self, readable: fileio.ReadableFile):
        path = readable.metadata.path
        if not path.endswith(".parquet"):
            self._skip(path, "not a cache file (entries are *.parquet files)")
            return
        if "://" not in path and not stat.S_ISREG(os.stat(path).st_mode):
            self._skip(path, "not a regular file (reading a FIFO or a device could hang)")
            return
        try:
            with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as f:
                entries = read_entries(f)
        except (InvalidEntry, OSError) as e:
            self._skip(path, str(e))
            return
        yield from entries


class ReadTranslationCache(beam.PTransform):
    """All valid cached ``(key, translation)`` pairs under ``location`` (none on a first
    run); every other file there is named in a warning and left out."""

    def __init__(self, location: str):
        super().__init__()
        self._pattern = location.rstrip("/") + "/*"

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

    def __init__(self, handler: TranslationModelHandler, model_id: str,
                 cache_location: Optional[str] = None,
                 batch_size: int = defaults.TRANSLATION_BATCH_SIZE,
                 batch_tokens: int = defaults.TRANSLATION_BATCH_TOKENS):
        super().__init__()
        self._model = model_id
        self._handler = handler
        self._cache = cache_location
        self._translate = InferInBatches(
            handler, key_fn=lambda j: (j.src_lang, j.tgt_lang),  # one language pair a batch
            size_fn=lambda j: approx_tokens(j.text), max_batch_size=batch_size,
            max_batch_tokens=batch_tokens, progress="translate", unit="texts")
        self.model_identifier = handler.model_identifier

    def expand(self, requests):
        key = beam.ParDo(_Key(self._handler, bool(self._cache)))
        if self._cache:  # the precision in the key is resolved where the model runs
            key = key.with_resource_hints(**self._handler.get_resource_hints())
        keyed = requests | "Key" >> key
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
        translations = (planned.given, done.ok) | "AllTranslations" >> beam.Flatten()
        with measure("split", translations) as m:
            split = translations | "SplitWords" >> SplitWords()
            m.output(*split)
        dead = ((planned[DEAD], done[DEAD], split.dead)
                | "TranslationDeadLetters" >> beam.Flatten())
        return Staged(split.ok, dead)
