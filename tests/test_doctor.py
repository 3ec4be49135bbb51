"""`rag doctor`: exit 0 on a healthy install, non-zero with the fix when the model is broken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag.config.settings import resolve_settings
from rag.doctor import CPU_FLAGS, cpu_flags, runtime_features
from rag.llm import gguf
from rag.llm.profiles import get_profile

RAG = str(Path(sys.executable).with_name("rag"))


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RAG, "doctor", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
        check=False,
    )


def test_the_runtime_is_built_for_a_portable_x86_64_level():
    features = runtime_features()
    assert features["AVX2"] and features["FMA"] and features["F16C"]
    assert not features.get("AVX512") and not features.get("AMX_INT8")
    _, flags = cpu_flags()
    built = [name for name, on in features.items() if on and name in CPU_FLAGS]
    assert all(CPU_FLAGS[name] in flags for name in built)


@pytest.mark.slow
def test_a_healthy_install_exits_0(index_dir):
    done = doctor({"RAG_INDEX_DIR": str(index_dir)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ok  ] generation: model process started" in done.stdout
    assert "xllamacpp 2026.10.11549" in done.stdout
    assert "engine xllamacpp 2026.10.11549 (prebuilt" in done.stdout


def test_a_removed_model_file_exits_1_with_the_fix(tmp_path):
    done = doctor({"RAG_LLM_MODEL": str(tmp_path / "gone.gguf"), "RAG_INDEX_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert "[FAIL] LLM" in done.stdout and "does not exist" in done.stdout
    assert "fix: set RAG_LLM_MODEL to an existing .gguf file" in done.stdout


def test_a_truncated_model_file_exits_1_with_the_fix(tmp_path):
    model = gguf.get_model(get_profile(resolve_settings().profile).model)
    cached = model.cached_path(resolve_settings().model_cache)
    with open(cached, "rb") as whole:
        (tmp_path / model.file_name).write_bytes(whole.read(1 << 20))
    done = doctor({"RAG_MODEL_CACHE": str(tmp_path), "RAG_INDEX_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert "truncated or damaged" in done.stdout
    assert "fix: `rag doctor --setup` joins the file again" in done.stdout
    assert "[FAIL] generation: skipped" in done.stdout


@pytest.mark.slow
def test_a_truncated_custom_model_fails_the_generation_test(tmp_path):
    model = gguf.get_model(get_profile(resolve_settings().profile).model)
    cached = model.cached_path(resolve_settings().model_cache)
    truncated = tmp_path / "cut.gguf"
    with open(cached, "rb") as whole:
        truncated.write_bytes(whole.read(1 << 20))
    done = doctor({"RAG_LLM_MODEL": str(truncated), "RAG_INDEX_DIR": str(tmp_path)})
    assert done.returncode == 1
    assert "[FAIL] generation: the model process exited" in done.stdout
    assert "runtime built for" in done.stdout and "fix:" in done.stdout
