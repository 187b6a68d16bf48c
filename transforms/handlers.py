"""RunInference model handlers: translation, the alignment encoder and word-level NER.

Beam's Hugging Face handler does not import with transformers 5, and its PyTorch handler
stacks tensors (fails on variable-length text), so these handlers wrap our own model
facades. ``load_model`` returns a lazy facade with plain-data methods: the model is built
on the worker on first use (device picked there, GPU + bf16 when present) and, with
``share_across_processes``, loaded once per machine behind Beam's model-sharing proxy
instead of once per SDK process (without it, once per process: the steps that carry one
model identifier share one facade). Inputs arrive pre-batched (``with_no_batching``) from
``SortAndBatchByKey``. A batch that raises is retried input by input (:func:`isolate`), so
one bad input fails alone, as a :class:`~xlner.formats.records.Failure`, and becomes a dead letter.
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence, TypeVar

from apache_beam.metrics import Metrics
from transforms.inference_import import ModelHandler, PredictionResult, RunInference

from xlner.models.encoders import LazyEncoder
from xlner.models.lazy import ModelLoadError
from xlner.models.runtime import signature_difference, translation_signature
from xlner.models.ner import LazyTagger
from xlner.models.translators import GenerationSettings, LazyTranslator, TranslationOutput
from xlner.formats.records import Failure, TranslationJob

X = TypeVar("X")


def isolate(items: Sequence[X], run: Callable[[list[X]], list]) -> list:
    """``run`` over the whole batch; if it raises, over each item alone, so one bad input
    fails alone (as a :class:`Failure`) and the rest of its batch is kept. A model that
    cannot load is not an input's fault: that error stops the job."""
    try:
        return list(run(list(items)))
    except ModelLoadError:
        raise
    except Exception as e:  # noqa: BLE001 - isolated below
        if len(items) == 1:
            return [Failure.of(e)]
    out = []
    for item in items:
        try:
            out.extend(run([item]))
        except ModelLoadError:
            raise
        except Exception as e:  # noqa: BLE001 - this input fails alone
            out.append(Failure.of(e))
    return out


@dataclass(frozen=True)
class Placement:
    """Where and how often a model lives: shared per machine (``copies`` of it) or once per
    SDK process, and the resource hints (GPU, memory) of the step that runs it. Hints go
    on the inference steps only, so the rest of the job runs on plain workers."""

    device: str = "auto"
    dtype: str = "auto"
    share_across_processes: bool = False
    copies: int = 0
    hints: tuple = ()  # ((name, value), ...): hashable, picklable
    allow_pickle: bool = False  # load pickled (non-safetensors) weights
    fingerprints: tuple = ()  # ((model, fingerprint at launch), ...): the files to load

    def expected(self, model: str) -> Optional[str]:
        """The fingerprint ``model`` had at launch (None: not readable there)."""
        return dict(self.fingerprints).get(model)


# model identifier -> the facade the steps of this process share (see load_model)
_IN_PROCESS: "weakref.WeakValueDictionary[str, Any]" = weakref.WeakValueDictionary()
_IN_PROCESS_LOCK = threading.Lock()


class _PlacedModelHandler(ModelHandler):
    """``model_identifier``: steps whose handlers carry the same identifier share one loaded
    model (RunInference's ``model_identifier``), e.g. the forward and back translation of
    the evaluation job with a single model; None gives every step its own."""

    def __init__(self, model: str, placement: Placement,
                 model_identifier: Optional[str] = None):
        share = placement.share_across_processes
        super().__init__(large_model=share and not placement.copies,
                         model_copies=(placement.copies or None) if share else None)
        self._model = model
        self._placement = placement
        self.model_identifier = model_identifier

    def load_model(self):
        """The model's facade. Behind Beam's cross-process proxy Beam calls this once per
        machine. Otherwise the steps of one process that carry the same identifier get one
        facade, so the model is built once per process (Beam alone builds one per step),
        and it is freed when no step holds it any more."""
        if self._placement.share_across_processes or self.model_identifier is None:
            return self._make_model()
        with _IN_PROCESS_LOCK:
            facade = _IN_PROCESS.get(self.model_identifier)
            if facade is None:
                facade = self._make_model()
                _IN_PROCESS[self.model_identifier] = facade
            return facade

    def _make_model(self):
        raise NotImplementedError

    def run_inference_transform(self):
        """RunInference over pre-batched inputs, sharing the model by identifier."""
        return RunInference(self.with_no_batching(), model_identifier=self.model_identifier)

    def get_resource_hints(self) -> dict:
        return dict(self._placement.hints)

    def get_num_bytes(self, batch) -> int:
        """The batch's text size in UTF-8 bytes, for Beam's inference byte metrics.

        Beam's default pickles every batch only to measure it; the texts are what a batch
        weighs, and summing their lengths costs nothing next to the model."""
        return sum(_text_bytes(texts) for texts in self._texts(batch))

    def _texts(self, batch) -> Iterable:
        """Per element of ``batch``, the strings (or word lists) the model reads."""
        raise NotImplementedError


def _text_bytes(texts) -> int:
    if isinstance(texts, str):
        return len(texts.encode("utf-8"))
    return sum(len(t.encode("utf-8")) for t in texts)


def check_signature(promised: str, actual: str) -> None:
    """Stop the job when the loaded model is not what the cache keys were made for (a
    worker of another kind than the one that keyed the texts): translations written
    under those keys would lie."""
    if promised != actual:
        raise ModelLoadError("the translation cache keys were made for another model run "
                             f"than the one loaded here: {signature_difference(promised, actual)}")


def _text_or_failure(out: "TranslationOutput | Failure") -> "str | Failure":
    if isinstance(out, Failure):
        return out
    if out.text is None:
        return Failure(out.reason or "translation_failed", out.error or "")
    return out.text


class TranslationModelHandler(_PlacedModelHandler):
    """TranslationJob -> PredictionResult(job, translated text | Failure).

    ``engine``: ``hf`` (transformers ``generate``) or ``ctranslate2`` (converted once per
    machine into ``cache_dir``, run with ``compute_type``); ``max_input_tokens`` caps what
    reaches the model (0: the model's own limit).
    """

    def __init__(self, model: str, placement: Placement = Placement(),
                 generation: GenerationSettings = GenerationSettings(),
                 model_identifier: Optional[str] = None, engine: str = "hf",
                 compute_type: str = "auto", cache_dir: Optional[str] = None,
                 max_input_tokens: int = 0):
        super().__init__(model, placement, model_identifier)
        self._generation = generation
        self._engine = (engine, compute_type, cache_dir, max_input_tokens or None)

    def _make_model(self) -> LazyTranslator:
        engine, compute_type, cache_dir, max_input_tokens = self._engine
        return LazyTranslator(self._model, self._placement.device, self._placement.dtype,
                              self._generation, engine, compute_type, cache_dir,
                              max_input_tokens, self._placement.allow_pickle,
                              self._placement.expected(self._model))

    def signature(self) -> str:
        """The signature this model will translate with on this worker, resolved without
        loading it (the translation cache key)."""
        engine, compute_type, cache_dir, _ = self._engine
        return translation_signature(self._model, engine, self._placement.device,
                                     self._placement.dtype, compute_type, self._generation,
                                     cache_dir, self._placement.allow_pickle,
                                     self._placement.expected(self._model))

    def run_inference(self, batch: Sequence[TranslationJob], model: LazyTranslator,
                      inference_args: Optional[dict[str, Any]] = None
                      ) -> Iterable[PredictionResult]:
        promised = {job.signature for job in batch if job.signature}
        if promised:
            actual = model.signature()
            for signature in promised:
                check_signature(signature, actual)
        outputs: list = [None] * len(batch)
        groups = defaultdict(list)  # batches are per pair already; stay correct if not
        for i, job in enumerate(batch):
            groups[(job.src_lang, job.tgt_lang)].append(i)
        for (src, tgt), idx in groups.items():
            results = isolate([batch[i].text for i in idx],
                              lambda texts: model.translate(texts, src, tgt))
            for i, r in zip(idx, results):
                outputs[i] = _text_or_failure(r)
        return [PredictionResult(job, out, self._model) for job, out in zip(batch, outputs)]

    def _texts(self, batch: Sequence[TranslationJob]) -> Iterable:
        return (job.text for job in batch)

    def get_metrics_namespace(self) -> str:
        return "xlner_translate"


class AlignmentEncoderHandler(_PlacedModelHandler):
    """An encoding request -> PredictionResult(request, its vectors | Failure).

    A request (``transforms.align``: a group of pairs, or one sentence encoded on its
    own) lists its sentences as (key, language, words) in ``to_encode()`` and builds its
    result from {key: Encoded or Failure} in ``assemble``; each distinct sentence of a
    batch is encoded once (``encode`` sorts them by length into sub-batches), and one
    that fails fails alone. With ``translator`` (a
    TranslationModelHandler with the same model identifier) the translation model's
    encoder aligns: one model in memory.
    """

    def __init__(self, model: str, layers, placement: Placement = Placement(),
                 cache_dir: Optional[str] = None, model_identifier: Optional[str] = None,
                 translator: Optional["TranslationModelHandler"] = None):
        super().__init__(model, placement, model_identifier)
        self._layers = layers
        self._cache_dir = cache_dir
        self._translator = translator

    def _make_model(self):
        if self._translator is not None:
            return self._translator.load_model()
        return LazyEncoder(self._model, self._layers, self._placement.device,
                           self._placement.dtype, self._cache_dir,
                           self._placement.allow_pickle, self._placement.expected(self._model))

    def run_inference(self, batch, model, inference_args: Optional[dict[str, Any]] = None
                      ) -> Iterable[PredictionResult]:
        distinct = {}
        for request in batch:
            for key, lang, words in request.to_encode():
                distinct.setdefault(key, (lang, words))
        keys = list(distinct)
        vectors = isolate(keys, lambda ks: model.encode(  # a bad sentence fails alone
            [distinct[k][1] for k in ks], [distinct[k][0] for k in ks], self._layers))
        Metrics.counter("xlner", "sentences_encoded").inc(
            sum(not isinstance(v, Failure) for v in vectors))
        encoded = dict(zip(keys, vectors))
        return [PredictionResult(r, r.assemble(encoded), self._model) for r in batch]

    def _texts(self, batch) -> Iterable:
        return (words for request in batch for _key, _lang, words in request.to_encode())

    def get_metrics_namespace(self) -> str:
        return "xlner_align"


class NERModelHandler(_PlacedModelHandler):
    """WordsToTag -> PredictionResult(request, spans | Failure).

    With ``with_probabilities`` the result is (spans, (labels, probs)).
    """

    def __init__(self, model: str, placement: Placement = Placement(),
                 with_probabilities: bool = False, model_identifier: Optional[str] = None):
        super().__init__(model, placement, model_identifier)
        self.with_probabilities = with_probabilities

    def _make_model(self) -> LazyTagger:
        return LazyTagger(self._model, self._placement.device, self._placement.dtype,
                          self._placement.allow_pickle, self._placement.expected(self._model))

    def run_inference(self, batch, model: LazyTagger, inference_args=None
                      ) -> Iterable[PredictionResult]:
        tag = model.tag_with_probabilities if self.with_probabilities else model.tag
        results = isolate([r.words for r in batch], tag)
        return [PredictionResult(r, s, self._model) for r, s in zip(batch, results)]

    def _texts(self, batch) -> Iterable:
        return (r.words for r in batch)

    def get_metrics_namespace(self) -> str:
        return "xlner_ner"
