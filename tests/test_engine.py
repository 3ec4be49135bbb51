"""The prebuilt engine (rag.llm.engine): the CPU level it needs, its flags, and a clear
error on a CPU below that level."""

from __future__ import annotations

import re
import subprocess

import pytest

from rag.doctor import CPU_FLAGS
from rag.llm import engine
from rag.llm.runtime import ModelServer, engine_command, engine_file


def test_the_required_features_are_what_the_installed_engine_was_built_for():
    import xllamacpp

    reported = re.findall(r"([A-Z0-9_]+) = (\d)", xllamacpp.get_system_info())
    built = {name for name, on in reported if on == "1" and name in CPU_FLAGS}
    assert built == set(engine.REQUIRED)  # x86-64-v3: no AVX-512, no AMX


def test_a_cpu_below_x86_64_v3_gets_the_features_it_lacks_named(monkeypatch, capsys):
    monkeypatch.setattr(engine, "cpu_flags", lambda: {"pni", "ssse3", "avx"})
    assert engine.main(["--model", "any.gguf"]) == engine.EXIT_CPU
    error = capsys.readouterr().err
    assert "this CPU lacks AVX2, F16C, FMA, BMI2" in error
    assert "RAG_LLAMA_SERVER" in error and "make engine-from-source" in error


def test_version_reports_the_engine_and_its_cpu_features():
    done = subprocess.run(
        [*engine_command(), "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "version: xllamacpp 2026.10.11549" in done.stderr
    assert "AVX2 = 1" in done.stderr and "AVX512" not in done.stderr.replace("AVX512 = 0", "")


def test_llama_server_flags_become_the_engines_params(tmp_path):
    import xllamacpp

    server = ModelServer("m.gguf", n_ctx=1024, threads=2, slots=3, state_dir=tmp_path)
    server.port = 8123
    args = engine.parse_args(server.command()[3:])  # past `python -m rag.llm.engine`
    params = engine.params(args, xllamacpp)
    assert (params.n_ctx, params.n_parallel, params.port) == (3072, 3, 8123)
    assert params.kv_unified is False and params.warmup is False and params.ui is False
    assert params.cpuparams.n_threads == 2 and params.n_batch == 512
    # llama.cpp joins the saved state's name to this path as it is: it must end in "/"
    assert params.slot_save_path == f"{tmp_path}/"


def test_a_hand_built_server_is_used_when_named(monkeypatch, tmp_path):
    binary = tmp_path / "llama-server"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv("RAG_LLAMA_SERVER", str(binary))
    assert engine_command() == [str(binary)] and engine_file() == binary
    monkeypatch.setenv("RAG_LLAMA_SERVER", str(tmp_path / "missing"))
    with pytest.raises(Exception, match="not an executable file"):
        engine_command()


def test_the_engines_identity_is_its_library():
    assert engine_file().name.startswith("xllamacpp") and engine_file().suffix == ".so"
