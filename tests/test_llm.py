"""LLM backends: choice by name, the OpenAI-compatible server for real, and its faults.

The integration test starts llama.cpp's own OpenAI-compatible server on 127.0.0.1 with the
bundled GGUF. The fault tests use tiny local servers that misbehave on purpose (refuse,
hang, or die mid-answer); the assistant must say so and fall back to an extractive answer.
"""

from __future__ import annotations

import dataclasses
import http.server
import inspect
import json
import socket
import threading
import time
from contextlib import contextmanager

import pytest

from rag.config import settings
from rag.config.settings import resolve_settings
from rag.errors import BackendError, ConfigError
from rag.factory import make_backend as get_backend
from rag.llm.registry import BACKENDS
from tests.conftest import make_pipeline


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unknown_backend_lists_the_known_ones():
    *first, last = BACKENDS
    with pytest.raises(ConfigError, match=f"is unknown; use {', '.join(first)} or {last}"):
        resolve_settings(llm_backend="gpt-from-nowhere")


def test_every_backend_setting_has_a_backend():
    assert set(BACKENDS) == set(settings.BACKENDS)


def test_unknown_openai_mode_is_refused():
    with pytest.raises(ConfigError, match="completion"):
        get_backend(resolve_settings(llm_backend="openai", openai_mode="telepathy"))


def test_dead_server_is_a_clear_error():
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = get_backend(resolve_settings(llm_backend="openai", openai_base_url=url))
    with pytest.raises(BackendError, match="cannot reach the LLM server"):
        list(backend.stream("Question: hi\nAnswer:", ["\n"], 8))


class Misbehaving(http.server.BaseHTTPRequestHandler):
    mode = "hang"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "hang":
            time.sleep(5)
            return
        # Die mid-answer: start a streamed completion, send one token, drop the connection.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = (
            'data: {"id":"1","object":"text_completion","created":0,"model":"m",'
            '"choices":[{"text":"Rudi","index":0,"logprobs":null,"finish_reason":null}]}\n\n'
        )
        self.wfile.write(chunk.encode())
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args):
        pass


@contextmanager
def misbehaving_server(mode: str):
    handler = type("Handler", (Misbehaving,), {"mode": mode})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_timeout_is_a_clear_error():
    with misbehaving_server("hang") as url:
        backend = get_backend(
            resolve_settings(llm_backend="openai", openai_base_url=url, openai_timeout=0.3)
        )
        with pytest.raises(BackendError, match="timed out"):
            list(backend.stream("Question: hi\nAnswer:", ["\n"], 8))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["refuse", "hang", "die"])
def test_backend_failure_gives_a_labelled_extractive_answer(pipeline, index_dir, mode):
    if mode == "refuse":
        url = f"http://127.0.0.1:{free_port()}/v1"
        server = None
    else:
        server = misbehaving_server(mode)
        url = server.__enter__()
    try:
        broken = make_pipeline(
            index_dir, llm_backend="openai", openai_base_url=url, openai_timeout=1
        )
        answer = broken.ask("Siapa Menteri Kominfo yang disebut dalam artikel?")
    finally:
        if server:
            server.__exit__(None, None, None)
    assert answer.fallback and not answer.abstained
    assert answer.answer.startswith("Jawaban ekstraktif")
    assert answer.citations
    for c in answer.citations:
        assert broken.store.documents[c.doc_id].text[c.start : c.end] == c.text


@pytest.mark.slow
def test_openai_backend_answers_through_a_real_llama_cpp_server(pipeline, index_dir):
    # The embedded model's own process is a real llama.cpp OpenAI-compatible server.
    url = pipeline.backend.server.ensure()
    remote = make_pipeline(
        index_dir,
        llm_backend="openai",
        openai_base_url=url,
        openai_model=pipeline.profile.model,
        openai_mode=pipeline.backend.mode,
    )
    answer = remote.ask("Siapa Menteri Koordinator Bidang Perekonomian?")
    assert answer.backend == "openai" and not answer.fallback
    assert answer.raw_answer
    local = pipeline.ask("Siapa Menteri Koordinator Bidang Perekonomian?")
    assert answer.raw_answer == local.raw_answer  # same model, same greedy decoding
    # llama.cpp's server sends the first token's probabilities: the calibrated refusal is on
    assert answer.signals["probabilities"] is True and local.signals["probabilities"] is True
    assert answer.signals["p_refuse"] == pytest.approx(local.signals["p_refuse"], abs=0.02)
    assert remote.backend.reports_probabilities
    assert remote.backend.extra_body()["cache_prompt"] is True  # a llama.cpp server


def _other_value(f) -> object:
    """A valid value for an option other than its default."""
    default = f.default
    if f.type in ("int", "float"):
        return default + 1
    if f.type == "PromptMode":
        return "chat" if default != "chat" else "completion"
    if f.type == "Switch":
        return "on" if default != "on" else "off"
    return default + "-x" if default else "x"


@pytest.mark.parametrize("name", list(BACKENDS))
def test_every_backend_declares_its_own_options_as_settings(name, monkeypatch, tmp_path):
    """The registry's contract: a backend is its name, a complete class and its own options,
    each one a setting (a flag, a RAG_ variable, a config file key) checked on resolving."""
    backend = BACKENDS[name]
    assert backend.name == name and not inspect.isabstract(backend)
    backend.Options().check()
    monkeypatch.setenv("RAG_CONFIG", str(tmp_path / "rag.toml"))
    assert isinstance(resolve_settings(llm_backend=name).options(), backend.Options)
    for f in dataclasses.fields(backend.Options):
        value = _other_value(f)
        assert getattr(resolve_settings(**{f.name: value}), f.name) == value
        monkeypatch.setenv(f"RAG_{f.name.upper()}", str(value))
        assert getattr(resolve_settings(), f.name) == value
        monkeypatch.delenv(f"RAG_{f.name.upper()}")
        (tmp_path / "rag.toml").write_text(f"{f.name} = {json.dumps(value)}\n")
        assert getattr(resolve_settings(), f.name) == value
    assert not set(backend.Options.__dataclass_fields__) & set(
        settings.Settings.__dataclass_fields__
    )
