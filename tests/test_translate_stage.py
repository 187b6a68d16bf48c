"""The translation stage on its own (TestPipeline + assert_that, a fake model): one
translation per distinct text, the cache, given translations and failure routing."""

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from tests.fakes import FAIL, counter, fake_texts, sentence, test_pipeline
from transforms.translate import TranslateSentences
from xlner.formats.records import GivenTranslation, TextRequest


def request(key, text):
    return TextRequest(key, "sentence", text, "eng_Latn", "por_Latn", None)


def outcomes(texts):
    return texts | beam.Map(lambda t: (t.request.owner_key, t.text, t.origin))


def test_identical_texts_are_translated_once_and_the_cache_serves_the_rerun(tmp_path):
    cache = str(tmp_path / "cache")
    p = test_pipeline()
    out = p | "First" >> beam.Create([request(f"k{i}", t) for i, t in
                                      enumerate(["a b", "a b", "c", "a b"])]) | fake_texts(cache)
    assert_that(outcomes(out), equal_to([("k0", "A B", "model"), ("k1", "A B", "model"),
                                         ("k2", "C", "model"), ("k3", "A B", "model")]))
    result = p.run()
    result.wait_until_finish()
    assert counter(result, "texts_translated") == 2  # "a b" and "c"

    p = test_pipeline()
    out = p | "Second" >> beam.Create([request("k9", "c"), request("k8", "d")]) | fake_texts(
        cache)
    assert_that(outcomes(out), equal_to([("k9", "C", "cache"), ("k8", "D", "model")]))
    result = p.run()
    result.wait_until_finish()
    assert counter(result, "texts_translated") == 1 and counter(
        result, "translations_from_cache") == 1


def test_translate_sentences_passes_given_translations_and_routes_failures():
    given = sentence("g", ["Paris"],
                     given=(GivenTranslation("por_Latn", tokens=("Parigi",)),))
    sentences = [given, sentence("t", ["hello", "world"]), sentence("f", ["x", FAIL])]
    with test_pipeline() as p:
        res = p | beam.Create(sentences) | TranslateSentences(fake_texts(), ["por_Latn"])
        assert_that(res.ok | beam.Map(lambda t: (t.source.id, t.words, t.origin)),
                    equal_to([("g", ("Parigi",), "given"),
                              ("t", ("HELLO", "WORLD"), "model")]), label="translations")
        assert_that(res.dead | beam.Map(lambda d: (d.stage, d.reason, d.record_id,
                                                   d.tgt_lang)),
                    equal_to([("translate", "model_error", "f", "por_Latn")]), label="dead")
