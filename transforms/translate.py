"""Translate each sentence into every target language, once per distinct text.

Per (sentence, target language):

* a translation supplied with the row (``translation`` text or ``translation_tokens``) is
  used as is — a run whose rows all carry one never loads a translation model;
* otherwise the detokenised sentence is keyed by a hash of (model, decoding settings,
  language pair, text). Identical texts are grouped and translated once; with a
  translation cache the group is first joined with earlier translations, so projection
  variants (and re-runs) never translate twice. New translations are appended to the cache.
"""

from __future__ import annotations

import uuid
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult, RunInference
from apache_beam.pvalue import TaggedOutput

from transforms.batching import SortAndBatchByKey
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter, sentence_view
from transforms.handlers import TranslationModelHandler
from xlner.cache import CACHE_SCHEMA, cache_key, cache_row
from xlner.records import LabeledSentence, Translation, TranslationJob
from xlner.text import detokenize

NEED = "need"
JOBS = "jobs"
NEW_CACHE_ROWS = "cache_rows"


def approx_tokens(text: str) -> int:
    """Rough subword count (about 4 characters per token) used for batch budgets."""
    return len(text) // 4 + 2


class _Plan(beam.DoFn):
    """Sentence -> given Translations, or (cache key, (sentence, target, text)) needs."""

    def __init__(self, target_langs: Sequence[str], model_signature: str):
        self._targets = list(target_langs)
        self._signature = model_signature
        self._given = Metrics.counter(NAMESPACE, "translations_given")

    def process(self, s: LabeledSentence):
        for tgt in self._targets:
            if tgt == s.lang:
                yield dead_letter("translate", "source_is_target",
                                  s.id, f"sentence is already in {tgt}", tgt,
                                  sentence_view(s))
                continue
            given = s.given_for(tgt)
            if given is not None:
                self._given.inc()
                words = given.tokens
                text = given.text if given.text is not None else detokenize(words, tgt)
                t = Translation(source=s, tgt_lang=tgt, text=text, origin="given", model="")
                yield t.with_words(words, None) if words is not None else t
                continue
            text = detokenize(s.tokens, s.lang)
            key = cache_key(self._signature, s.lang, tgt, text)
            yield TaggedOutput(NEED, (key, (s, tgt, text)))


def _jobs_without_cache(element):
    key, needs = element
    needs = list(needs)
    _, tgt, text = needs[0]
    yield TranslationJob(key, text, needs[0][0].lang, tgt, tuple(s for s, _, _ in needs))


class _JoinCache(beam.DoFn):
    """(key, {needs, cached}) -> Translations from the cache, or a TranslationJob."""

    def __init__(self, model: str):
        self._model = model
        self._hits = Metrics.counter(NAMESPACE, "translations_from_cache")

    def process(self, element):
        key, grouped = element
        needs = list(grouped["need"])
        if not needs:
            return
        cached = list(grouped["cached"])
        _, tgt, text = needs[0]
        if cached:
            for s, _, _ in needs:
                self._hits.inc()
                yield Translation(source=s, tgt_lang=tgt, text=cached[0], origin="cache",
                                  model=self._model)
            return
        yield TaggedOutput(JOBS, TranslationJob(key, text, needs[0][0].lang, tgt,
                                                tuple(s for s, _, _ in needs)))


class _Unpack(beam.DoFn):
    """PredictionResult(job, output) -> one Translation per waiting sentence, cache rows."""

    def __init__(self, model: str):
        self._model = model
        self._texts = Metrics.counter(NAMESPACE, "texts_translated")
        self._sentences = Metrics.counter(NAMESPACE, "translations_by_model")

    def process(self, result: PredictionResult):
        job: TranslationJob = result.example
        out = result.inference
        if out.text is None or not out.text.strip():
            reason = out.reason if out.text is None else "empty_translation"
            for s in job.members:
                yield dead_letter("translate", reason, s.id, out.error or "model returned "
                                  "an empty translation", job.tgt_lang, sentence_view(s))
            return
        self._texts.inc()
        yield TaggedOutput(NEW_CACHE_ROWS, cache_row(job.cache_key, self._model, job.src_lang,
                                                     job.tgt_lang, job.text, out.text))
        for s in job.members:
            self._sentences.inc()
            yield Translation(source=s, tgt_lang=job.tgt_lang, text=out.text, origin="model",
                              model=self._model)


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


class Translate(beam.PTransform):
    """LabeledSentence -> Translation per target language (words filled only when given)."""

    def __init__(self, target_langs: Sequence[str], handler: TranslationModelHandler,
                 model_id: str, model_signature: str, cache_location: Optional[str] = None,
                 batch_size: int = 32, batch_tokens: int = 8192):
        super().__init__()
        self._targets = list(target_langs)
        self._handler = handler
        self._model = model_id
        self._signature = model_signature
        self._cache = cache_location
        self._batch_size = batch_size
        self._batch_tokens = batch_tokens

    def expand(self, sentences):
        planned = sentences | "Plan" >> beam.ParDo(
            _Plan(self._targets, self._signature)).with_outputs(NEED, DEAD, main="given")
        if self._cache:
            cached = sentences.pipeline | "ReadCache" >> ReadTranslationCache(self._cache)
            joined = ({"need": planned[NEED], "cached": cached}
                      | "JoinCache" >> beam.CoGroupByKey()
                      | "ResolveCache" >> beam.ParDo(_JoinCache(self._model)).with_outputs(
                          JOBS, main="hits"))
            hits, jobs = joined.hits, joined[JOBS]
        else:
            hits = None
            jobs = (planned[NEED]
                    | "GroupSameText" >> beam.GroupByKey()
                    | "Jobs" >> beam.FlatMap(_jobs_without_cache))
        translated = (
            jobs
            | "BatchByLanguagePair" >> SortAndBatchByKey(
                key_fn=lambda j: (j.src_lang, j.tgt_lang), size_fn=lambda j: approx_tokens(
                    j.text), max_batch_size=self._batch_size,
                max_batch_tokens=self._batch_tokens)
            | "Translate" >> RunInference(self._handler.with_no_batching())
            | "Unpack" >> beam.ParDo(_Unpack(self._model)).with_outputs(
                NEW_CACHE_ROWS, DEAD, main="ok"))
        if self._cache:
            _ = (translated[NEW_CACHE_ROWS]
                 | "WriteCache" >> beam.io.WriteToParquet(
                     f"{self._cache.rstrip('/')}/translations-{uuid.uuid4().hex[:12]}",
                     CACHE_SCHEMA, file_name_suffix=".parquet"))
        oks = [planned.given, translated.ok] + ([hits] if hits is not None else [])
        ok = oks | "AllTranslations" >> beam.Flatten()
        dead = (planned[DEAD], translated[DEAD]) | "TranslateDeadLetters" >> beam.Flatten()
        return Staged(ok, dead)
