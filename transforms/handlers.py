"""RunInference model handlers: translation, the alignment encoder and word-level NER.

Beam's Hugging Face handler does not import with transformers 5, and its PyTorch handler
stacks tensors (fails on variable-length text), so these handlers wrap our own model
facades. ``load_model`` returns a lazy facade with plain-data methods: the model is built
on the worker on first use (device picked there, GPU + bf16 when present) and, with
``share_across_processes``, loaded once per machine behind Beam's model-sharing proxy
instead of once per SDK process. Inputs arrive pre-batched (``with_no_batching``) from
``SortAndBatchByKey``. A batch that raises is retried sentence by sentence so that one bad
input fails alone and becomes a dead letter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference

from xlner.models.encoders import LazyEncoder
from xlner.models.ner import LazyTagger
from xlner.models.translators import GenerationSettings, LazyTranslator, TranslationOutput
from xlner.records import SentencePair, TranslationJob


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:2000]


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


class _PlacedModelHandler(ModelHandler):
    """``model_identifier``: steps whose handlers carry the same identifier share one loaded
    model (RunInference's ``model_identifier``), e.g. the forward and back translation of
    the evaluation job with a single model; None gives every step its own."""

    def __init__(self, model: str, placement: Placement):
        share = placement.share_across_processes
        super().__init__(large_model=share and not placement.copies,
                         model_copies=(placement.copies or None) if share else None)
        self._model = model
        self._placement = placement
        self.model_identifier: Optional[str] = None

    def run_inference_transform(self):
        """RunInference over pre-batched inputs, sharing the model by identifier."""
        return RunInference(self.with_no_batching(), model_identifier=self.model_identifier)

    def get_resource_hints(self) -> dict:
        return dict(self._placement.hints)


class TranslationModelHandler(_PlacedModelHandler):
    """TranslationJob -> PredictionResult(job, TranslationOutput)."""

    def __init__(self, model: str, placement: Placement = Placement(),
                 generation: GenerationSettings = GenerationSettings()):
        super().__init__(model, placement)
        self._generation = generation

    def load_model(self) -> LazyTranslator:
        return LazyTranslator(self._model, self._placement.device, self._placement.dtype,
                              self._generation)

    def run_inference(self, batch: Sequence[TranslationJob], model: LazyTranslator,
                      inference_args: Optional[dict[str, Any]] = None
                      ) -> Iterable[PredictionResult]:
        outputs: list[Optional[TranslationOutput]] = [None] * len(batch)
        groups = defaultdict(list)  # batches are per pair already; stay correct if not
        for i, job in enumerate(batch):
            groups[(job.src_lang, job.tgt_lang)].append(i)
        for (src, tgt), idx in groups.items():
            texts = [batch[i].text for i in idx]
            try:
                results = model.translate(texts, src, tgt)
            except Exception as e:  # noqa: BLE001
                if len(texts) == 1:
                    results = [TranslationOutput(None, _error(e))]
                else:
                    results = [self._translate_one(model, t, src, tgt) for t in texts]
            for i, r in zip(idx, results):
                outputs[i] = r
        return [PredictionResult(job, out, self._model) for job, out in zip(batch, outputs)]

    @staticmethod
    def _translate_one(model, text, src, tgt) -> TranslationOutput:
        try:
            return model.translate([text], src, tgt)[0]
        except Exception as e:  # noqa: BLE001
            return TranslationOutput(None, _error(e))

    def get_metrics_namespace(self) -> str:
        return "xlner_translate"


class AlignmentEncoderHandler(_PlacedModelHandler):
    """SentencePair -> PredictionResult(pair, SubwordSimilarity | error string)."""

    def __init__(self, model: str, layer: int, placement: Placement = Placement(),
                 cache_dir: Optional[str] = None):
        super().__init__(model, placement)
        self._layer = layer
        self._cache_dir = cache_dir

    def load_model(self) -> LazyEncoder:
        return LazyEncoder(self._model, self._layer, self._placement.device,
                           self._placement.dtype, self._cache_dir)

    def run_inference(self, batch: Sequence[SentencePair], model: LazyEncoder,
                      inference_args: Optional[dict[str, Any]] = None
                      ) -> Iterable[PredictionResult]:
        words = [(p.src_words, p.tgt_words) for p in batch]
        try:
            sims = model.similarities(words)
        except Exception:  # noqa: BLE001 - isolate the pair that fails
            sims = []
            for w in words:
                try:
                    sims.append(model.similarities([w])[0])
                except Exception as e:  # noqa: BLE001
                    sims.append(_error(e))
        return [PredictionResult(p, s, self._model) for p, s in zip(batch, sims)]

    def get_metrics_namespace(self) -> str:
        return "xlner_align"


class NERModelHandler(_PlacedModelHandler):
    """TagRequest (words to tag) -> PredictionResult(request, result | error string).

    The result is the spans, or with ``with_probabilities`` (spans, (labels, probs)).
    """

    def __init__(self, model: str, placement: Placement = Placement(),
                 with_probabilities: bool = False):
        super().__init__(model, placement)
        self._with_probs = with_probabilities

    def load_model(self) -> LazyTagger:
        return LazyTagger(self._model, self._placement.device, self._placement.dtype)

    def run_inference(self, batch, model: LazyTagger, inference_args=None
                      ) -> Iterable[PredictionResult]:
        tag = model.tag_with_probabilities if self._with_probs else model.tag
        try:
            results = tag([r.words for r in batch])
        except Exception:  # noqa: BLE001 - isolate the sentence that fails
            results = []
            for r in batch:
                try:
                    results.append(tag([r.words])[0])
                except Exception as e:  # noqa: BLE001
                    results.append(_error(e))
        return [PredictionResult(r, s, self._model) for r, s in zip(batch, results)]

    def get_metrics_namespace(self) -> str:
        return "xlner_ner"
