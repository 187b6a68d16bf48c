"""Split translations into words (with character offsets) and form sentence pairs."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter, sentence_view
from xlner.text.bio import tags_to_spans
from xlner.formats.records import SentencePair, Translation
from xlner.text.segmenters import segment


@beam.typehints.with_input_types(Translation)
@beam.typehints.with_output_types(Translation)
class _Split(beam.DoFn):
    def __init__(self):
        self._split = Metrics.counter(NAMESPACE, "translations_split")

    def process(self, t: Translation):
        if t.words is None:
            words, offsets = segment(t.text, t.tgt_lang)
            t = t.with_words(words, offsets)
            self._split.inc()
        if not t.words:
            yield dead_letter("split", "empty_translation", t.source.id,
                              f"no words in translation {t.text!r}", t.tgt_lang,
                              sentence_view(t.source))
            return
        yield t


class SplitWords(beam.PTransform):
    """Translation -> Translation with ``words`` and ``offsets`` set."""

    def expand(self, translations):
        res = translations | "Split" >> beam.ParDo(_Split()).with_outputs(DEAD, main="ok")
        return Staged(res.ok, res[DEAD])


def translation_to_pair(t: Translation) -> SentencePair:
    """Translate-train: the labelled source is the entity side, the translation receives."""
    return SentencePair(translation=t, src_lang=t.source.lang, tgt_lang=t.tgt_lang,
                        src_words=t.source.tokens, src_spans=tags_to_spans(t.source.tags),
                        tgt_words=t.words)
