"""Hostile and odd model folders, made from the tiny test models at test time.

Each builder copies a working folder and breaks it in one way a downloaded, half-copied or
hand-edited model folder can be broken; ``SENTINEL`` is what a folder's own Python would
write if anything ever ran it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

SENTINEL = "remote-code-ran"

EVIL_CODE = """
import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), {sentinel!r}), "w").write("ran")
from transformers import PretrainedConfig

class EvilConfig(PretrainedConfig):
    model_type = "evil"
"""


def copy_model(src, dst) -> Path:
    dst = Path(dst)
    shutil.copytree(src, dst)
    return dst


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def with_remote_code(src, dst, where: str = "config.json") -> Path:
    """A folder whose ``where`` (config or tokenizer config) names its own Python in
    ``auto_map``; importing that Python writes ``SENTINEL`` beside it."""
    folder = copy_model(src, dst)
    (folder / "evil.py").write_text(EVIL_CODE.format(sentinel=SENTINEL), encoding="utf-8")
    auto_map = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel",
                "AutoModelForSeq2SeqLM": "evil.EvilModel",
                "AutoModelForTokenClassification": "evil.EvilModel",
                "AutoTokenizer": ["evil.EvilTokenizer", "evil.EvilTokenizer"]}
    edit_json(folder / where, auto_map=auto_map)
    return folder


def with_nested_remote_code(src, dst) -> Path:
    """A composite config whose part (``text_config``) names custom code."""
    folder = copy_model(src, dst)
    edit_json(folder / "config.json", text_config={"auto_map": {"AutoModel": "evil.Evil"}})
    return folder


def with_custom_pipeline(src, dst) -> Path:
    folder = copy_model(src, dst)
    edit_json(folder / "config.json", custom_pipelines={"ner": {"impl": "evil.Pipe"}})
    return folder


def with_file(src, dst, name: str, content: bytes) -> Path:
    """The folder with ``name`` written as ``content`` (a corrupt or odd file)."""
    folder = copy_model(src, dst)
    (folder / name).write_bytes(content)
    return folder


def sharded_with_a_shard_missing(src, dst) -> Path:
    """An index naming two shards, one of them never copied."""
    folder = copy_model(src, dst)
    weights = folder / "model.safetensors"
    first = "model-00001-of-00002.safetensors"
    weights.rename(folder / first)
    keys = json.loads((folder / first).read_bytes()[8:8 + int.from_bytes(
        (folder / first).read_bytes()[:8], "little")])
    names = [k for k in keys if k != "__metadata__"]
    weight_map = {k: first for k in names[:-1]}
    weight_map[names[-1]] = "model-00002-of-00002.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": weight_map}))
    return folder


def with_code_file_only(src, dst) -> Path:
    """Custom code beside the weights, no ``auto_map`` naming it (yet)."""
    folder = copy_model(src, dst)
    (folder / "modeling_evil.py").write_text(EVIL_CODE.format(sentinel=SENTINEL))
    return folder


def pickled_only(src, dst) -> Path:
    folder = copy_model(src, dst)
    for f in folder.glob("*.safetensors"):
        f.rename(folder / "pytorch_model.bin")
    return folder


def truncated(src, dst) -> Path:
    """The weights file cut in half (an interrupted copy)."""
    folder = copy_model(src, dst)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    return folder


def edited_weights(src, dst, edit) -> Path:
    """The folder with ``edit(state_dict) -> state_dict`` applied to its weights."""
    from safetensors.torch import load_file, save_file

    folder = copy_model(src, dst)
    weights = folder / "model.safetensors"
    state = edit(load_file(str(weights)))
    save_file(state, str(weights), metadata={"format": "pt"})
    return folder


def missing_tensor(src, dst, name: str) -> Path:
    def edit(state):
        state.pop(name)
        return state

    return edited_weights(src, dst, edit)


def extra_tensor(src, dst, name: str) -> Path:
    import torch

    def edit(state):
        state[name] = torch.zeros(4)
        return state

    return edited_weights(src, dst, edit)


def misshaped_tensor(src, dst, name: str) -> Path:
    import torch

    def edit(state):
        state[name] = torch.zeros(*(d + 1 for d in state[name].shape))
        return state

    return edited_weights(src, dst, edit)


def foreign_weights(src, dst, weights_of) -> Path:
    """The config and tokenizer of ``src`` with the weights of another architecture."""
    folder = copy_model(src, dst)
    shutil.copy(Path(weights_of) / "model.safetensors", folder / "model.safetensors")
    return folder


def hub_cache_layout(src, cache_root, repo: str = "org/tiny",
                     commit: str = "0123456789abcdef0123456789abcdef01234567") -> Path:
    """``src`` laid out as huggingface_hub caches a download: every file of the snapshot
    folder is a relative symlink into ``blobs/``. Returns the snapshot folder."""
    repo_dir = Path(cache_root) / ("models--" + repo.replace("/", "--"))
    blobs, snapshot = repo_dir / "blobs", repo_dir / "snapshots" / commit
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for i, f in enumerate(sorted(Path(src).iterdir())):
        blob = blobs / f"blob{i:04d}"
        shutil.copy(f, blob)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / f.name)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(commit)
    return snapshot
