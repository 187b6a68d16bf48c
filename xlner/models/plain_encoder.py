"""BERT-family encoders (``bert``, ``xlm-roberta``, ``roberta``) in plain torch, and their
tokenizer on the raw ``tokenizers`` library: the alignment encoder without transformers.

Why: building the default encoder through transformers costs ~3.7 s of every job (its
import, ``AutoModel`` class resolution, its tokenizer wrapper) against ~6 s of actual
encoding on 200 pairs. This module reads the folder's ``config.json``, safetensors weights,
``tokenizer.json`` and ``tokenizer_config.json`` itself and computes what transformers 5's
``BertModel`` / ``XLMRobertaModel`` compute in eval mode, op for op in the same order (the
same ``nn.Linear``/``nn.LayerNorm``/``nn.Embedding`` calls, the same SDPA call with the same
boolean ``[B, 1, T, T]`` mask, the same GELU), so the hidden states are bit-identical
(``tests/test_plain_encoder.py`` compares them with ``torch.equal``, float32 and bfloat16).

Only folders this module reproduces exactly are taken (:func:`plain_spec`); anything else
(another model type or activation, a legacy or unusual checkpoint layout, a tokenizer whose
transformers class would rebuild or extend ``tokenizer.json``) returns None and the caller
uses transformers as before. A supported folder whose weights do not cover the model stops
with one line, as ``loading.weight_problems`` does for transformers; nothing is random.
"""

from __future__ import annotations

import json
import math
import os
from types import SimpleNamespace
from typing import NamedTuple, Optional

import numpy as np
import torch
from torch import nn

from xlner.models.bert_config import BASE_PREFIX, DEFAULTS, bert_config, config_problem
from xlner.models.loading import EXTRA_OK, ModelFolder, ModelRefused, _listed

# tokenizer_config.json keys that do not change the ids of pre-split words
_TOKENIZER_KEYS = {"backend", "tokenizer_class", "model_max_length", "added_tokens_decoder",
                   "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                   "mask_token", "additional_special_tokens", "extra_special_tokens",
                   "clean_up_tokenization_spaces", "padding_side", "truncation_side",
                   "model_input_names", "name_or_path", "split_special_tokens"}
_GENERIC_TOKENIZERS = ("PreTrainedTokenizerFast", "TokenizersBackend")
_SPECIALS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
             "mask_token")
VERY_LARGE_INTEGER = int(1e30)  # transformers' model_max_length when none is given


class PlainSpec(NamedTuple):
    """A folder the plain encoder runs: its config, and where each weight is."""

    config: SimpleNamespace
    files: dict  # our weight name -> (safetensors file, checkpoint key, shape)
    problems: list  # why the weights do not cover the model (empty: they do)


def _read_json(path: str):
    with open(path, "rb") as fh:
        return json.loads(fh.read())


def _headers(folder: ModelFolder) -> Optional[dict]:
    """checkpoint key -> (file, shape, dtype) from the safetensors headers; None for
    pickled weights."""
    out = {}
    for f in folder.weights:
        if not f.endswith(".safetensors"):
            return None
        with open(os.path.join(folder.path, f), "rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            header = json.loads(fh.read(n))
        for key, info in header.items():
            if key != "__metadata__":
                out[key] = (f, tuple(info["shape"]), info["dtype"])
    return out


def expected_shapes(c: SimpleNamespace) -> dict:
    """Every weight the model has, with its shape (the pooler is never read)."""
    H, FF = c.hidden_size, c.intermediate_size
    e = "embeddings."
    shapes = {e + "word_embeddings.weight": (c.vocab_size, H),
              e + "position_embeddings.weight": (c.max_position_embeddings, H),
              e + "token_type_embeddings.weight": (c.type_vocab_size, H),
              e + "LayerNorm.weight": (H,), e + "LayerNorm.bias": (H,)}
    block = {"attention.self.query": (H, H), "attention.self.key": (H, H),
             "attention.self.value": (H, H), "attention.output.dense": (H, H),
             "intermediate.dense": (FF, H), "output.dense": (H, FF)}
    for i in range(c.num_hidden_layers):
        pre = f"encoder.layer.{i}."
        for name, shape in block.items():
            shapes[pre + name + ".weight"] = shape
            shapes[pre + name + ".bias"] = (shape[0],)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[pre + norm + ".weight"] = (H,)
            shapes[pre + norm + ".bias"] = (H,)
    return shapes


def plain_spec(folder: ModelFolder) -> Optional[PlainSpec]:
    """The plain encoder's view of an inspected folder, or None when transformers must
    load it (not a model this module reproduces bit for bit); a BERT-family config.json
    whose sizes or numbers cannot describe a model is refused with one line."""
    if folder.is_ct2 or "tokenizer.json" not in folder.files:
        return None
    found = bert_config(folder.path)
    if found is None:
        return None
    model_type, raw, config = found
    wrong = config_problem(config)
    if wrong:
        raise ModelRefused(folder.name, f"its config.json is not usable: {wrong}")
    if (config["is_encoder_decoder"] or config["is_decoder"] or config["add_cross_attention"]
            or config["chunk_size_feed_forward"] or config["hidden_act"] not in ACTIVATIONS
            or config.get("position_embedding_type", "absolute") != "absolute"
            or config.get("attn_implementation", config.get("_attn_implementation"))
            not in (None, "sdpa")
            or config["hidden_size"] % config["num_attention_heads"]
            or "embedding_size" in raw):
        return None
    c = SimpleNamespace(**{k: config[k] for k in DEFAULTS[model_type]})
    c.model_type = model_type
    headers = _headers(folder)
    if headers is None or any(k.endswith((".gamma", ".beta")) for k in headers):
        return None  # pickled weights, or legacy names transformers renames
    expected = expected_shapes(c)
    base = BASE_PREFIX[model_type] + "."
    prefixed = any(k.startswith(base) for k in headers)
    files, extra, wrong = {}, set(), []
    for key, (f, shape, _) in headers.items():
        name = key[len(base):] if prefixed and key.startswith(base) else key
        if name in expected:
            files[name] = (f, key, shape)
            if shape != expected[name]:
                wrong.append((key, shape, expected[name]))
        elif EXTRA_OK.search(name) or name == "embeddings.position_ids":
            continue  # a pooler (never read), a buffer older checkpoints kept
        elif prefixed and not key.startswith(base) and key.split(".", 1)[0] not in (
                "embeddings", "encoder", "pooler"):
            continue  # the task head of a checkpoint whose base model is loaded
        else:
            extra.add(key)
    if any(headers[key][2] not in ("F32", "F16", "BF16") for _, key, _ in files.values()):
        return None  # integer or 8-bit weights: transformers says what it makes of them
    missing = set(expected) - set(files)
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing from the checkpoint: {_listed(missing)}")
    if extra:
        problems.append(f"{len(extra)} not used by the model: {_listed(extra)}")
    if wrong:
        key, ckpt, own = sorted(wrong)[0]
        problems.append(f"{len(wrong)} of the wrong shape: {key} {ckpt} in the checkpoint, "
                        f"{own} in the model")
    return PlainSpec(c, files, problems)


def load_encoder(folder: ModelFolder, spec: PlainSpec, dtype):
    """The encoder of ``spec`` with the folder's weights cast to ``dtype``; refused with
    one line (and nothing built) unless the weights cover it, and unless the files are
    the ones fingerprinted before and after (the same as at launch, when known)."""
    from safetensors import safe_open

    def build():
        if spec.problems:  # refused before any tensor is read
            raise ModelRefused(folder.name, "weights do not match its config: "
                                            + "; ".join(spec.problems))
        with torch.device("meta"):
            net = PlainEncoder(spec.config)
        by_file: dict = {}
        for name, (f, key, _) in spec.files.items():
            by_file.setdefault(f, []).append((name, key))
        state = {}
        for f, names in by_file.items():
            with safe_open(os.path.join(folder.path, f), framework="pt") as st:
                for name, key in names:
                    state[name] = st.get_tensor(key).to(dtype)
        net.load_state_dict(state, strict=True, assign=True)
        return net.eval()

    return folder.built_unchanged(build)


class PlainTokenizer:
    """What ``subwords.WindowedWordEncoder`` reads of a transformers fast tokenizer:
    called on pre-split words it returns ``["input_ids"]`` and ``word_ids(row)``."""

    def __init__(self, backend, config: dict, special_ids: dict):
        self.backend = backend
        limit = config.get("model_max_length")
        self.model_max_length = VERY_LARGE_INTEGER if limit is None else limit
        for name in _SPECIALS:
            setattr(self, name + "_id", special_ids.get(name))

    def __call__(self, batch, is_split_into_words: bool = True,
                 add_special_tokens: bool = False) -> "_Encodings":
        return _Encodings(self.backend.encode_batch(
            batch, is_pretokenized=is_split_into_words, add_special_tokens=add_special_tokens))

    def convert_tokens_to_ids(self, token: str) -> Optional[int]:
        found = self.backend.token_to_id(token)
        return self.unk_token_id if found is None else found


class _Encodings:
    def __init__(self, encodings):
        self._encodings = encodings

    def __getitem__(self, key):
        if key != "input_ids":
            raise KeyError(key)
        return [e.ids for e in self._encodings]

    def word_ids(self, row: int):
        return self._encodings[row].word_ids


def _token_name(value) -> Optional[str]:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) or value is None else False


def plain_tokenizer(folder: ModelFolder) -> Optional[PlainTokenizer]:
    """The folder's ``tokenizer.json`` as transformers would use it, or None when its
    tokenizer class or configuration could give other ids (transformers loads it then)."""
    path = folder.path
    config = (_read_json(os.path.join(path, "tokenizer_config.json"))
              if "tokenizer_config.json" in folder.files else {})
    if (config.get("tokenizer_class") not in _GENERIC_TOKENIZERS
            or set(config) - _TOKENIZER_KEYS or config.get("split_special_tokens")
            or config.get("backend", "tokenizers") != "tokenizers"):
        return None
    names = {k: _token_name(config.get(k)) for k in _SPECIALS}
    if "special_tokens_map.json" in folder.files:
        for k, v in _read_json(os.path.join(path, "special_tokens_map.json")).items():
            if k in names and names[k] is not None and _token_name(v) != names[k]:
                return None
            if k in names:
                names[k] = _token_name(v)
            elif k not in ("additional_special_tokens", "extra_special_tokens"):
                return None
    if False in names.values():
        return None
    from tokenizers import Tokenizer

    backend = Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
    vocab_added = {t.content for t in backend.get_added_tokens_decoder().values()}
    extras = [_token_name(t) for k in ("additional_special_tokens", "extra_special_tokens")
              for t in (config.get(k) or [])]
    declared = [_token_name(t) for t in (config.get("added_tokens_decoder") or {}).values()]
    # a special or added token tokenizer.json lacks would be added by transformers: new ids
    wanted = [n for n in names.values() if n is not None] + extras + declared
    if any(not isinstance(n, str) or (n not in vocab_added and backend.token_to_id(n) is None)
           for n in wanted):
        return None
    if any(n not in vocab_added for n in declared + extras):
        return None
    backend.no_truncation()
    backend.no_padding()
    backend.encode_special_tokens = False
    ids = {k: (None if n is None else backend.token_to_id(n)) for k, n in names.items()}
    return PlainTokenizer(backend, config, ids)


def gelu_new(x):
    """transformers' ``NewGELUActivation``, op for op."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                       * (x + 0.044715 * torch.pow(x, 3.0))))


def gelu_tanh(x):
    return nn.functional.gelu(x, approximate="tanh")


ACTIVATIONS = {"gelu": nn.functional.gelu, "relu": nn.functional.relu,
               "gelu_new": gelu_new, "gelu_pytorch_tanh": gelu_tanh}


def _embedding(rows: int, size: int) -> nn.Embedding:
    """An embedding table left uninitialised (the checkpoint's weights replace it). Why:
    initialising one on the meta device runs ``normal_``'s reference implementation, whose
    first use imports ``torch._dynamo`` (~1.4 s of every run's start)."""
    return nn.Embedding(rows, size, _weight=torch.empty(rows, size))


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = _embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = _embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = _embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.roberta_positions = c.model_type != "bert"
        self.padding_idx = c.pad_token_id

    def forward(self, input_ids):
        if self.roberta_positions:  # XLMRobertaEmbeddings.create_position_ids_from_input_ids
            mask = input_ids.ne(self.padding_idx).int()
            position_ids = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() \
                + self.padding_idx
        else:
            position_ids = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        embeddings = self.word_embeddings(input_ids) + self.token_type_embeddings(
            torch.zeros_like(input_ids))  # token type 0 everywhere, as transformers' buffer
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)

    def packed(self, ids, positions):
        """Rows of :class:`~xlner.models.subwords.Packed` (``positions`` -1 on padding)."""
        real = positions >= 0
        if self.roberta_positions:  # padding_idx + 1 + the position, padding_idx on padding
            position_ids = torch.where(real, positions + self.padding_idx + 1, self.padding_idx)
        else:
            position_ids = positions.clamp(min=0)
        embeddings = self.word_embeddings(ids) + self.token_type_embeddings(
            torch.zeros_like(ids))
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.LayerNorm(embeddings)


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.head_size = c.hidden_size // c.num_attention_heads
        self.scaling = self.head_size ** -0.5
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, hidden, mask):
        input_shape = hidden.shape[:-1]
        shape = (*input_shape, -1, self.head_size)
        q = self.query(hidden).view(*shape).transpose(1, 2)
        k = self.key(hidden).view(*shape).transpose(1, 2)
        v = self.value(hidden).view(*shape).transpose(1, 2)
        # transformers' sdpa_attention_forward: the same call, then the same reshapes
        out = nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=0.0, scale=self.scaling, is_causal=False)
        out = out.reshape(out.shape[0], -1, q.shape[2], v.shape[-1])
        out = out.transpose(1, 2).contiguous()
        return out.reshape(*input_shape, -1).contiguous()


class DenseNorm(nn.Module):
    """``BertSelfOutput`` / ``BertOutput``: dense, then LayerNorm of it plus the residual."""

    def __init__(self, c, n_in):
        super().__init__()
        self.dense = nn.Linear(n_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, hidden, residual):
        return self.LayerNorm(self.dense(hidden) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c, c.hidden_size)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c, c.intermediate_size)
        self.act = ACTIVATIONS[c.hidden_act]

    def forward(self, hidden, mask):
        attended = self.attention.output(self.attention.self(hidden, mask), hidden)
        return self.output(self.act(self.intermediate.dense(attended)), attended)

    def packed(self, hidden, slices, passes, qkv):
        """This block on packed rows (``hidden``: one tensor per ``slices`` entry): the
        position-wise parts one block of rows at a time, attention in each pass's padded
        layout, gathered from and scattered back to the rows."""
        attn = self.attention.self
        width = hidden[0].shape[1]
        rows_total = slices[-1].stop
        projected = torch.empty(rows_total, 3 * width, dtype=hidden[0].dtype)
        weight, bias = qkv
        for rows, part in zip(slices, hidden):
            torch.addmm(bias, part, weight.t(), out=projected[rows])
        # zeros: the padding rows no pass writes must stay finite (their keys and values
        # fill every pass's padding slots, where a weight of 0 times NaN would be NaN)
        context = torch.zeros(rows_total, width, dtype=hidden[0].dtype)
        for index, mask, real, slots in passes:
            n_rows, n_slots = index.shape
            gathered = projected[index]  # [rows, slots, 3 x width]
            q, k, v = (part.view(n_rows, n_slots, -1, attn.head_size).transpose(1, 2)
                       for part in gathered.split(width, dim=2))
            out = nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, dropout_p=0.0, scale=attn.scaling, is_causal=False)
            context[real] = out.transpose(1, 2).reshape(n_rows * n_slots, width)[slots]
        new = []
        for rows, part in zip(slices, hidden):
            attended = self.attention.output(context[rows], part)
            new.append(self.output(self.act(self.intermediate.dense(attended)), attended))
        return new


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.num_hidden_layers))


class PlainEncoder(nn.Module):
    """``BertModel``/``XLMRobertaModel`` without the pooler (never read), in eval mode; the
    parameter names are transformers' (unprefixed), ``WordPairEncoder`` truncates
    ``encoder.layer`` as it does transformers' model."""

    def __init__(self, c: SimpleNamespace):
        super().__init__()
        self.config = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)

    def forward(self, input_ids, attention_mask=None, output_hidden_states=False):
        hidden = self.embeddings(input_ids)
        mask = None
        if attention_mask is not None:
            # transformers' sdpa mask: none without padding, else [B, 1, T, T] booleans
            keep = attention_mask.bool()
            if not keep.all():
                b, t = keep.shape
                mask = keep[:, None, None, :].expand(b, 1, t, t).contiguous()
        states = [hidden]
        for block in self.encoder.layer:
            hidden = block(hidden, mask)
            states.append(hidden)
        return SimpleNamespace(last_hidden_state=hidden,
                               hidden_states=tuple(states) if output_hidden_states else None)

    def forward_packed(self, packed, layers) -> torch.Tensor:
        """The hidden states of ``layers`` (concatenated, float32) for every row of a
        :class:`~xlner.models.subwords.Packed` layout.

        Why: the position-wise layers (the projections, the feed-forward, the norms: ~90 %
        of the work) run on the real tokens only, not on padding columns and dummy rows,
        whose share of a padded pass is ~40 % on Bible verses. Every matrix product has
        the same shape on every call (``packed.block`` rows; the query, key and value
        projections as one product) and attention keeps the canonical pass shapes, so a
        sentence's vectors still do not depend on what it was encoded with. They are not
        the padded :meth:`forward`'s bits (other matrix shapes): equal to float rounding."""
        with torch.inference_mode():
            return self._forward_packed(packed, layers)

    def _forward_packed(self, packed, layers) -> torch.Tensor:
        rows_total = len(packed.ids)
        ids = torch.from_numpy(packed.ids)
        positions = torch.from_numpy(packed.positions)
        slices = [slice(a, a + packed.block) for a in range(0, rows_total, packed.block)]
        passes = []
        for index, keep, n_real in packed.passes:
            n_rows, n_slots = keep.shape
            real = keep.copy()
            real[n_real:] = False  # dummy rows: computed, never kept
            mask = torch.from_numpy(keep)[:, None, None, :].expand(
                n_rows, 1, n_slots, n_slots).contiguous()
            flat = torch.from_numpy(np.flatnonzero(real))
            passes.append((torch.from_numpy(index), mask,
                           torch.from_numpy(index.reshape(-1)[flat.numpy()]), flat))
        hidden = [self.embeddings.packed(ids[rows], positions[rows]) for rows in slices]
        size = self.config.hidden_size
        out = torch.empty(rows_total, len(layers) * size, dtype=torch.float32)
        wanted = {layer: i for i, layer in enumerate(layers)}
        for depth, block in enumerate(self.encoder.layer, start=1):
            hidden = block.packed(hidden, slices, passes, self._fused_qkv(depth - 1))
            if depth in wanted:
                i = wanted[depth]
                for rows, part in zip(slices, hidden):
                    out[rows, i * size:(i + 1) * size] = part
            if depth >= max(layers):
                break
        return out

    @property
    def dtype(self):
        return self.embeddings.word_embeddings.weight.dtype

    def _fused_qkv(self, i: int):
        """Block i's query, key and value weights as one (weight, bias), built once."""
        cache = self.__dict__.setdefault("_qkv", {})
        if i not in cache:
            attn = self.encoder.layer[i].attention.self
            cache[i] = (torch.cat([attn.query.weight, attn.key.weight, attn.value.weight]),
                        torch.cat([attn.query.bias, attn.key.bias, attn.value.bias]))
        return cache[i]
