"""GGUF files joined from their parts: checked by sha256, re-joined when damaged."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from rag.errors import ModelUnavailableError
from rag.llm import gguf


def fake_model(tmp_path: Path, sha256: str | None = None) -> gguf.GgufModel:
    parts = []
    for n, data in enumerate([b"GGUF" + b"a" * 1000, b"b" * 500, b"c" * 7], start=1):
        part = tmp_path / "parts" / f"part{n:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(data)
        parts.append(part)
    whole = b"".join(p.read_bytes() for p in parts)
    return gguf.GgufModel(
        "fake",
        "fake.gguf",
        len(whole),
        sha256 or hashlib.sha256(whole).hexdigest(),
        lambda: parts,
        "fake-part1 ... -part3",
    )


def test_parts_are_joined_once_and_checked(tmp_path):
    model = fake_model(tmp_path)
    cache = tmp_path / "cache"
    path = gguf.provision(model, cache)
    assert path == cache / "fake.gguf" and path.stat().st_size == model.size
    assert gguf.inspect(path, model) == ""
    mtime = path.stat().st_mtime_ns
    assert gguf.provision(model, cache) == path and path.stat().st_mtime_ns == mtime


def test_a_truncated_file_is_reported_and_joined_again(tmp_path):
    model = fake_model(tmp_path)
    path = gguf.provision(model, tmp_path / "cache")
    path.write_bytes(path.read_bytes()[:100])
    assert "truncated" in gguf.inspect(path, model)
    gguf.provision(model, tmp_path / "cache")
    assert gguf.inspect(path, model) == ""


def test_damaged_parts_are_refused_and_leave_nothing_behind(tmp_path):
    model = fake_model(tmp_path, sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ModelUnavailableError, match=r"has sha256 .*run `make setup`"):
        gguf.provision(model, cache)
    assert list(cache.iterdir()) == []


def test_missing_packages_name_them(tmp_path):
    def parts():
        raise ImportError("No module named 'fake_part1'")

    model = gguf.GgufModel("fake", "fake.gguf", 1, "0" * 64, parts, "fake-part1 ... -part3")
    with pytest.raises(
        ModelUnavailableError, match=re.escape("fake-part1 ... -part3: run `make setup`")
    ):
        gguf.provision(model, tmp_path)


def test_inspect_without_a_model_checks_the_magic(tmp_path):
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    assert "not a GGUF" in gguf.inspect(text)
    assert "does not exist" in gguf.inspect(tmp_path / "missing.gguf")


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(
        ModelUnavailableError, match=re.escape("known: qwen2.5-coder-1.5b-instruct")
    ):
        gguf.get_model("gpt-5")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(gguf.GGUF_MODELS))
def test_the_installed_parts_add_up_to_the_published_size(name):
    model = gguf.GGUF_MODELS[name]
    assert sum(p.stat().st_size for p in gguf.installed_parts(model)) == model.size
