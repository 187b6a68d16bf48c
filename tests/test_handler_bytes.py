"""The model handlers measure a batch by its texts' UTF-8 size: Beam's default pickles every
batch just to count its bytes (issue 18), which costs a serialisation per batch."""

from __future__ import annotations

import pickle

import pytest

from transforms.align import Sentence
from transforms.handlers import AlignmentEncoderHandler, NERModelHandler, TranslationModelHandler
from transforms.ner import WordsToTag
from xlner.formats.records import TranslationJob


@pytest.fixture
def no_pickle(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("get_num_bytes pickled the batch")
    monkeypatch.setattr(pickle, "dumps", refuse)


def test_translation_bytes_are_the_texts(no_pickle):
    batch = [TranslationJob("k1", "Jesus went to Galilee", "eng_Latn", "yor_Latn", ()),
             TranslationJob("k2", "Ìlú Jérúsálẹ́mù", "eng_Latn", "yor_Latn", ())]
    got = TranslationModelHandler("m").get_num_bytes(batch)
    assert got == len("Jesus went to Galilee".encode()) + len("Ìlú Jérúsálẹ́mù".encode())


def test_encoder_bytes_are_the_words(no_pickle):
    batch = [Sentence("a", "eng_Latn", ("Peter", "and", "John")),
             Sentence("b", "swh_Latn", ("Petro", "na", "Yohana"))]
    assert AlignmentEncoderHandler("m", (8,)).get_num_bytes(batch) == 12 + 13


def test_ner_bytes_are_the_words(no_pickle):
    batch = [WordsToTag(("Mary", "Magdalene"), "r1", "eng_Latn", None)]
    assert NERModelHandler("m").get_num_bytes(batch) == 13
    assert NERModelHandler("m").get_num_bytes([]) == 0
