"""Deterministic stand-in models for testing composites on their own (no weights).

They plug into the real handlers by overriding ``load_model`` only, so batching,
isolation of failures, unpacking and dead-letter routing are the production code.
"""

from __future__ import annotations

from typing import Sequence

from transforms.handlers import (AlignmentEncoderHandler, NERModelHandler,
                                 TranslationModelHandler)
from xlner.models.translators import TranslationOutput
from xlner.formats.records import Span

FAIL = "FAIL"  # a text or word that makes the fake model raise
FAKE_SIGNATURE = '{"model": "fake"}'  # the translation signature of the echo translator


class EchoTranslator:
    """Translates by returning the text with each word upper-cased (markers kept); raises
    on any batch that holds ``FAIL``, so the handler's isolation has something to do."""

    def translate(self, texts: Sequence[str], src: str, tgt: str):
        if any(FAIL in t for t in texts):
            raise RuntimeError("fake model failure")
        return [TranslationOutput(t.upper()) for t in texts]


    def signature(self) -> str:
        return FAKE_SIGNATURE


class FakeTranslationHandler(TranslationModelHandler):
    def load_model(self):
        return EchoTranslator()

    def signature(self) -> str:
        return FAKE_SIGNATURE


class CapitalTagger:
    """Every capitalised word is a one-word PER entity; raises on a batch holding FAIL."""

    def tag(self, sentences):
        if any(FAIL in s for s in sentences):
            raise RuntimeError("fake tagger failure")
        return [tuple(Span(i, i + 1, "PER") for i, w in enumerate(s) if w[:1].isupper())
                for s in sentences]

    def tag_with_probabilities(self, sentences):
        raise ValueError("no probabilities")


class FakeNERHandler(NERModelHandler):
    def load_model(self):
        return CapitalTagger()


class HashEncoder:
    """One 8-dimensional vector per word, a function of the word alone (equal words align);
    counts the sentences it is given (Beam counter ``fake_encoder_inputs``); raises on a
    batch holding a sentence with ``FAIL``."""

    def encode(self, sentences, langs=None, layers=None):
        import zlib

        import numpy as np

        from xlner.models.encoders import Encoded

        from apache_beam.metrics import Metrics

        if any(FAIL in s for s in sentences):
            raise RuntimeError("fake encoder failure")
        Metrics.counter("test", "fake_encoder_inputs").inc(len(sentences))
        out = []
        for words in sentences:
            if not words:
                out.append(Encoded(None, np.zeros(0, np.int32)))
                continue
            rows = [np.random.default_rng(zlib.crc32(w.encode("utf-8"))).standard_normal(8)
                    for w in words]
            out.append(Encoded(np.asarray(rows, np.float32),
                               np.arange(len(words), dtype=np.int32)))
        return out


class FakeEncoderHandler(AlignmentEncoderHandler):
    def load_model(self):
        return HashEncoder()


# ------------------------------------------------------------------ composite test helpers
def test_pipeline():
    """A TestPipeline on the in-process FnApiRunner (the DirectRunner would try Prism)."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.test_pipeline import TestPipeline

    return TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


test_pipeline.__test__ = False  # a helper, not a test


def fake_texts(cache=None):
    """TranslateTexts over the echo translator (batches of 4)."""
    from transforms.translate import TranslateTexts

    return TranslateTexts(FakeTranslationHandler("fake"), "fake", cache_location=cache,
                          batch_size=4)


def sentence(sid, words, tags=None, **kw):
    from xlner.formats.records import LabeledSentence

    return LabeledSentence(sid, tuple(words), tuple(tags or ["O"] * len(words)), "eng_Latn",
                           **kw)


def counter(result, name) -> int:
    """A Beam counter's committed value after a run."""
    from apache_beam.metrics.metric import MetricsFilter

    found = result.metrics().query(MetricsFilter().with_name(name))["counters"]
    return sum(c.committed for c in found)
