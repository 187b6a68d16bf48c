"""What a BERT-family ``config.json`` (``bert``, ``xlm-roberta``, ``roberta``) says, with
transformers 5's defaults for the keys it leaves out, and whether its numbers can describe
a model at all. No torch: the launch checks it before any work (``checks.model_problem``),
the plain encoder again where it loads."""

from __future__ import annotations

import json
import math
import os
from typing import Optional

# model_type -> the base-model prefix of checkpoints saved with a head
BASE_PREFIX = {"bert": "bert", "xlm-roberta": "roberta", "roberta": "roberta"}
# transformers 5 config defaults (a saved config.json may leave out default values)
_COMMON = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
           "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
           "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
           "is_decoder": False, "add_cross_attention": False, "chunk_size_feed_forward": 0,
           "is_encoder_decoder": False}
DEFAULTS = {"bert": {**_COMMON, "pad_token_id": 0},
            "xlm-roberta": {**_COMMON, "pad_token_id": 1},
            "roberta": {**_COMMON, "vocab_size": 50265, "pad_token_id": 1}}


def bert_config(path: str) -> Optional[tuple[str, dict, dict]]:
    """(model_type, the file's keys, the keys with defaults) of a BERT-family folder's
    ``config.json``; None for any other model (or a file that is not a JSON object)."""
    with open(os.path.join(path, "config.json"), "rb") as fh:
        raw = json.loads(fh.read())
    model_type = raw.get("model_type") if isinstance(raw, dict) else None
    if not isinstance(model_type, str) or model_type not in BASE_PREFIX:
        return None
    return model_type, raw, {**DEFAULTS[model_type], **raw}


_SIZES = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
          "intermediate_size", "max_position_embeddings", "type_vocab_size")


def config_problem(config: dict) -> str:
    """Why a BERT-family config.json cannot describe a model ("" when it can): sizes that
    are not positive integers, an activation that is not a name, a non-finite epsilon."""
    for key in _SIZES:
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"{key} is {value!r}, not a positive integer"
    pad = config["pad_token_id"]
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int) or pad < 0):
        return f"pad_token_id is {pad!r}, not a token id"
    if not isinstance(config["hidden_act"], str):
        return f"hidden_act is {config['hidden_act']!r}, not an activation's name"
    eps = config["layer_norm_eps"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < math.inf:
        return f"layer_norm_eps is {eps!r}, not a positive finite number"
    return ""
