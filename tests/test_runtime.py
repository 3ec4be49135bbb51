"""The embedded model runs in its own process: its crashes, kills and hangs cost one answer.

Each fault is made for real on the real model process: it is stopped with SIGSTOP before
a question (so the request is surely in flight), then killed with SIGKILL or SIGSEGV, or
left hanging past the timeout. The serving process (the pipeline, `rag chat`, `rag serve`)
must survive, answer that question with the labelled extractive fallback, restart the
model process, and answer the next question normally. The supervision does not depend on
the model, so these tests run the tiny profile, whose process starts and answers fastest.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.config.settings import resolve_settings
from rag.errors import ConfigError, ModelUnavailableError
from rag.llm import gguf
from rag.llm.profiles import get_profile
from rag.llm.runtime import ModelServer, describe_exit
from rag.values import EventKind
from tests.conftest import make_pipeline

QUESTION = "Siapa Menteri Komunikasi dan Informatika?"
NEXT = "Siapa Menteri Koordinator Bidang Perekonomian?"
RAG = str(Path(sys.executable).with_name("rag"))
TINY = {"RAG_PROFILE": "tiny"}


def kill_later(pid: int, sig: signal.Signals, after: float = 3.0) -> threading.Thread:
    """Send sig to a stopped process after a delay (and SIGCONT, so a SIGSEGV is delivered)."""

    def fire() -> None:
        time.sleep(after)
        os.kill(pid, sig)
        os.kill(pid, signal.SIGCONT)

    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    return thread


def ask_killing(pipeline, question: str, pid: int, sig: signal.Signals):
    """Ask, and kill the (stopped) model process once the question has been retrieved, so
    the model's request is surely in flight however slow retrieval is on a busy machine."""
    answer = None
    for event in pipeline.ask_stream(question):
        if event.kind == EventKind.RETRIEVED:
            kill_later(pid, sig)
        answer = event.answer or answer
    return answer


def model_child(parent: int, timeout: float = 120) -> int:
    """The pid of the model process started by parent (found in /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                cmdline = (stat.parent / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == parent and b"rag.llm.engine" in cmdline:
                return int(stat.parent.name)
        time.sleep(0.5)
    raise AssertionError(f"no model process under pid {parent}")


def test_the_model_process_runs_as_many_threads_as_it_is_told_or_may_use(monkeypatch):
    settings = resolve_settings(llm_threads=1)
    assert settings.options("llamacpp").llm_threads == 1
    monkeypatch.setenv("RAG_LLM_THREADS", "3")
    assert resolve_settings().options("llamacpp").llm_threads == 3
    told = ModelServer("model.gguf", n_ctx=512, threads=3).command()
    assert told[told.index("--threads") + 1] == "3" == told[told.index("--threads-batch") + 1]

    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})  # as under `taskset -c N`
    try:
        default = ModelServer("model.gguf", n_ctx=512).command()
    finally:
        os.sched_setaffinity(0, cores)
    assert default[default.index("--threads") + 1] == "1"


def test_a_negative_thread_count_is_a_clear_error():
    with pytest.raises(ConfigError, match="llm_threads"):
        resolve_settings(llm_threads=-1)


def test_exit_descriptions():
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(-signal.SIGSEGV) == "crashed (SIGSEGV)"
    assert "out of memory" in describe_exit(-signal.SIGKILL)


def test_a_model_that_cannot_start_is_a_clear_error_not_a_hang(tmp_path):
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(4096))
    started = time.monotonic()
    server = ModelServer(broken, n_ctx=512)
    with pytest.raises(ModelUnavailableError, match=r"model process exited .* while loading"):
        server.ensure()
    assert time.monotonic() - started < 60
    server.stop()  # as at exit: a process that failed leaves its log for the post-mortem
    assert server.log_path.is_file()
    assert str(server.log_path) in server.log_tail()
    server.log_path.unlink()


@pytest.mark.slow
def test_a_model_process_that_ran_well_takes_its_log_with_it():
    settings = resolve_settings(profile="tiny")
    model = gguf.provision(gguf.get_model(get_profile("tiny").model), settings.model_cache)
    server = ModelServer(model, n_ctx=512)
    try:
        server.ensure()
        assert "listening" in server.log_path.read_text("utf-8")
    finally:
        server.stop()
    assert not server.log_path.exists()


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match=r"no GGUF model at .*rag doctor"):
        ModelServer(tmp_path / "nowhere.gguf", n_ctx=512).ensure()


@pytest.fixture(scope="module")
def tiny(index_dir):
    return make_pipeline(index_dir, profile="tiny")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_a_killed_model_process_costs_one_answer(tiny, sig):
    pipeline = tiny
    expected = pipeline.ask(NEXT)
    assert not expected.fallback
    server = pipeline.backend.server
    pid = server.pid
    os.kill(pid, signal.SIGSTOP)
    answer = ask_killing(pipeline, QUESTION, pid, sig)
    assert answer.fallback and not answer.abstained
    assert "crashed (SIGSEGV)" in answer.fallback or "SIGKILL" in answer.fallback
    assert "restarted" in answer.fallback
    assert answer.answer.startswith("Jawaban ekstraktif") and answer.citations
    assert server.running() and server.pid != pid
    again = pipeline.ask(NEXT)
    assert not again.fallback
    assert again.raw_answer == expected.raw_answer  # the restarted model answers as before
    assert server.last_failure and server.log_path.is_file()  # kept for the post-mortem
    server.log_path.unlink()


@pytest.mark.slow
def test_a_hanging_model_process_is_restarted(index_dir):
    pipeline = make_pipeline(index_dir, llm_timeout=8, profile="tiny")
    pipeline.ask(NEXT)
    server = pipeline.backend.server
    pid = server.pid
    os.kill(pid, signal.SIGSTOP)  # alive but silent: the request times out
    started = time.monotonic()
    answer = pipeline.ask(QUESTION)
    assert time.monotonic() - started < 30
    assert answer.fallback and "stopped responding" in answer.fallback
    assert server.pid != pid and server.running()
    assert not pipeline.ask(NEXT).fallback


class Lines:
    """A child's stdout, read in a thread, so the test can wait for what it prints."""

    def __init__(self, stream) -> None:
        self.text = ""
        self._chunks: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):
            self._chunks.put(chunk.decode("utf-8", "replace"))

    def wait_for(self, needle: str, count: int = 1, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while self.text.count(needle) < count:
            try:
                self.text += self._chunks.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"waited for {needle!r} x{count}; got:\n{self.text}") from None
        return self.text


@pytest.mark.slow
def test_rag_chat_survives_a_model_crash(index_dir, tmp_path):
    env = {**os.environ, **TINY, "RAG_INDEX_DIR": str(index_dir)}
    chat = subprocess.Popen(
        [RAG, "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        out = Lines(chat.stdout)
        chat.stdin.write(f"{NEXT}\n".encode())
        chat.stdin.flush()
        out.wait_for("> ", count=2)
        model = model_child(chat.pid)
        os.kill(model, signal.SIGSTOP)
        kill_later(model, signal.SIGSEGV)
        chat.stdin.write(f"{QUESTION}\n".encode())
        chat.stdin.flush()
        text = out.wait_for("> ", count=3)
        crashed = text.rsplit("> ", 2)[1]
        assert "Jawaban ekstraktif" in crashed and "crashed (SIGSEGV)" in crashed
        chat.stdin.write(f"{NEXT}\n".encode())
        chat.stdin.flush()
        text = out.wait_for("> ", count=4)
        assert "ekstraktif" not in text.rsplit("> ", 2)[1]
        assert chat.poll() is None
        chat.stdin.close()
        assert chat.wait(timeout=60) == 0
    finally:
        chat.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_the_web_api_survives_a_model_crash(index_dir, tmp_path):
    from gradio_client import Client

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    env = {**os.environ, **TINY, "RAG_INDEX_DIR": str(index_dir)}
    serve = subprocess.Popen(
        [RAG, "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        model = model_child(serve.pid)
        client = None
        deadline = time.monotonic() + 180
        while client is None and time.monotonic() < deadline:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            except Exception:  # not listening yet
                time.sleep(1)
        assert client is not None, (tmp_path / "serve.log").read_text()
        expected = client.predict(NEXT, "auto", 4, api_name="/ask")
        os.kill(model, signal.SIGSTOP)
        kill_later(model, signal.SIGKILL)
        crashed = client.predict(QUESTION, "auto", 4, api_name="/ask")
        assert "SIGKILL" in crashed.get("fallback", "")
        assert crashed["answer"].startswith("Jawaban ekstraktif") and crashed["citations"]
        again = client.predict(NEXT, "auto", 4, api_name="/ask")
        assert not again.get("fallback") and again["answer"] == expected["answer"]
        assert serve.poll() is None
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        log.close()
