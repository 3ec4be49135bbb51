"""The embedded LLM's runtime: a llama.cpp server in a child process, supervised.

Does: start ``llama_cpp.server`` (llama-cpp-python's OpenAI-compatible server) on a free
port of 127.0.0.1 with one GGUF model, wait until it answers, restart it when it has died
(a crash, an out-of-memory kill) or hangs, and stop it with the process that started it
(the child also exits by itself when its parent is gone). A crash of llama.cpp therefore
costs one answer, never the process that serves users.

Doesn't: speak the completion protocol (``rag.llm`` does, through LangChain's OpenAI
clients), or choose the model (``rag.profiles`` does).

>>> describe_exit(-11)
'crashed (SIGSEGV)'
>>> describe_exit(-9)
'was killed (SIGKILL; out of memory, or killed by hand)'
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from rag.errors import ModelUnavailableError

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 180.0  # a 1 GB model loads in seconds, even on a busy 2-core machine
LOG_TAIL_LINES = 12
EXIT_GRACE_S = 2.0  # how long a failed request waits for the model process's exit status


def describe_exit(returncode: int | None) -> str:
    """How a child process ended, in words."""
    if returncode is None:
        return "is running"
    if returncode >= 0:
        return f"exited with code {returncode}"
    name = signal.Signals(-returncode).name
    if name == "SIGKILL":
        return "was killed (SIGKILL; out of memory, or killed by hand)"
    if name in ("SIGTERM", "SIGINT"):
        return f"was stopped ({name})"
    return f"crashed ({name})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ModelServer:
    """One supervised llama.cpp server process for one GGUF model."""

    def __init__(self, model_path: str | Path, n_ctx: int, threads: int = 2):
        self.model_path = str(model_path)
        self.n_ctx = n_ctx
        self.threads = threads
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.restarts = 0
        self.last_failure = ""
        self._lock = threading.RLock()
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the server)
            prefix="rag-llm-", suffix=".log", delete=False
        )
        atexit.register(self.stop)

    # -- what the backend needs ------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure(self) -> str:
        """The server's base URL, starting (or restarting) it when it is not running."""
        with self._lock:
            if not self.running():
                if self.process is not None:
                    self.restarts += 1
                self._start()
            return self.base_url

    def recover(self) -> str:
        """After a failed request: say what happened to the model process, and restart it.

        A dead process (crash, OOM kill) is restarted; a live one failed by hanging past the
        timeout, so it is killed and restarted. Returns the explanation for the user.
        """
        with self._lock:
            # A killed process closes its socket a moment before its exit status is ready.
            with contextlib.suppress(subprocess.TimeoutExpired):
                if self.process is not None:
                    self.process.wait(timeout=EXIT_GRACE_S)
            if self.running():
                what = "stopped responding (timeout); it was restarted"
                self._kill()
            else:
                code = self.process.returncode if self.process else None
                what = f"{describe_exit(code)}; it was restarted"
            self.last_failure = what
            log.warning("the model process %s", what)
            try:
                self.ensure()
            except ModelUnavailableError as exc:
                what = f"{what.removesuffix('; it was restarted')}, and could not restart: {exc}"
                self.last_failure = what
            return what

    def stop(self) -> None:
        with self._lock:
            self._kill()

    def model_settings(self) -> dict[str, str | int | bool]:
        """How the model process loads the model: fields of llama_cpp.server's ModelSettings
        (the benchmark loads its in-process reference with the same)."""
        return {
            "model": self.model_path,
            "n_ctx": self.n_ctx,
            "n_threads": self.threads,
            "n_batch": 512,
            # The server's default keeps the logits of every prompt token (for logprobs), a
            # vocabulary-sized product per token that slows every prompt: nothing here reads them.
            "logits_all": False,
            "verbose": False,
        }

    # -- process management ----------------------------------------------------------------
    def _command(self) -> list[str]:
        settings = self.model_settings().items()
        flags = [arg for name, value in settings for arg in (f"--{name}", str(value))]
        return [
            sys.executable,
            "-m",
            "rag.runtime",
            str(os.getpid()),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *flags,
        ]

    def _start(self) -> None:
        if not Path(self.model_path).is_file():
            raise ModelUnavailableError(
                f"no GGUF model at {self.model_path}; run `rag doctor` to see what is missing."
            )
        self.port = _free_port()
        log_file = open(self._log.name, "ab")  # noqa: SIM115 (handed to the child)
        with log_file:
            self.process = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us, not the model
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ModelUnavailableError(
                    f"the model process {describe_exit(code)} while loading {self.model_path}.\n"
                    f"{self.log_tail()}\nRun `rag doctor` for the runtime's CPU features and "
                    "the model file's state."
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    json.load(reply)
                    return
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.2)
        self._kill()
        raise ModelUnavailableError(
            f"the model process did not answer within {STARTUP_TIMEOUT_S:.0f} s of starting "
            f"with {self.model_path}; it was stopped.\n{self.log_tail()}"
        )

    def _kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log_tail(self) -> str:
        lines = Path(self._log.name).read_text("utf-8", "replace").splitlines()
        tail = "\n".join("  " + line for line in lines[-LOG_TAIL_LINES:])
        return f"Its last log lines:\n{tail}" if tail else "It logged nothing."


def _exit_with_parent(parent: int) -> None:
    """Exit when the process that started us is gone (we are then adopted by another)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str]) -> None:
    """``python -m rag.runtime PARENT_PID SERVER_ARGS...``: llama_cpp.server, tied to PARENT."""
    _exit_with_parent(int(argv[0]))
    import runpy

    sys.argv = ["llama_cpp.server", *argv[1:]]
    with contextlib.suppress(KeyboardInterrupt):
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
