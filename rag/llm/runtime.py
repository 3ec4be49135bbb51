"""The embedded LLM's runtime: llama.cpp's own server in a child process, supervised.

Does: start llama.cpp's server (the prebuilt engine, ``rag.llm.engine``, or a
``llama-server`` built by hand and named by ``RAG_LLAMA_SERVER``) on a free port of
127.0.0.1 with one GGUF model and N parallel slots, which decode concurrent requests
together (continuous batching); wait until it answers; save and restore a slot's evaluated
prompt (its KV state) to and from files; restart it when it has died (a crash, an
out-of-memory kill) or hangs; stop it with the process that started it (the kernel ends it
when its parent is gone). A crash of llama.cpp therefore costs the answers in flight, never
the process that serves users.

Doesn't: speak the completion protocol (``rag.llm.llamacpp`` does, through LangChain's OpenAI
clients), choose the model (``rag.llm.profiles`` does) or decide which states to keep
(``rag.llm.states`` does).

>>> describe_exit(-11)
'crashed (SIGSEGV)'
>>> describe_exit(-9)
'was killed (SIGKILL; out of memory, or killed by hand)'
>>> default_slots(cores=2, memory_gb=24)
8
>>> default_slots(cores=1, memory_gb=2)
2
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rag.errors import ModelUnavailableError

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 180.0  # a 1 GB model loads in seconds, even on a busy 2-core machine
LOG_TAIL_LINES = 12
EXIT_GRACE_S = 2.0  # how long a failed request waits for the model process's exit status
SLOT_CALL_TIMEOUT_S = 60.0  # saving or restoring a state of some tens of MB
ENGINE_MODULE = "rag.llm.engine"  # run as its own process (python -m)
ENGINE_PACKAGE = "xllamacpp"
PR_SET_PDEATHSIG = 1
T = TypeVar("T")
MAX_SLOTS = 8  # decoding is bound by reading the weights: past ~8 sequences a step gains little


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


def default_slots(cores: int | None = None, memory_gb: float | None = None) -> int:
    """Parallel slots for this machine: four per core, at most 8, and one per GB of memory
    (a slot's KV cache at 4,096 tokens is about 0.1 GB for the 1.5B model; the rest is room)."""
    cores = cores or len(os.sched_getaffinity(0))  # the cores this process may use
    if memory_gb is None:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return max(1, min(MAX_SLOTS, 4 * cores, int(memory_gb)))


def engine_command() -> list[str]:
    """How the model process is started: ``$RAG_LLAMA_SERVER`` (a ``llama-server`` built by
    hand, for a CPU the prebuilt engine does not serve), else the prebuilt engine
    (``python -m rag.llm.engine``, llama.cpp's server from the xllamacpp wheel)."""
    configured = os.environ.get("RAG_LLAMA_SERVER")
    if not configured:
        return [sys.executable, "-m", ENGINE_MODULE]
    path = Path(configured)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ModelUnavailableError(
            f"RAG_LLAMA_SERVER names {path}, which is not an executable file; unset it to use "
            "the prebuilt engine, or build one with `make engine-from-source`."
        )
    return [str(path)]


def engine_file() -> Path:
    """The file that is the model's runtime (its identity is part of a saved state's key):
    ``$RAG_LLAMA_SERVER``, else the prebuilt engine's compiled library."""
    if configured := os.environ.get("RAG_LLAMA_SERVER"):
        return Path(configured)
    spec = importlib.util.find_spec(ENGINE_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    libraries = sorted(p for folder in folders for p in Path(folder).glob(f"{ENGINE_PACKAGE}*.so"))
    if not libraries:
        raise ModelUnavailableError(
            f"the prebuilt llama.cpp engine ({ENGINE_PACKAGE}) is not installed; run `make setup`."
        )
    return libraries[0]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: the kernel kills it when the thread that forked it ends."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _Spawner:
    """Starts children from one thread that lives as long as the process: the kernel's
    parent-death signal follows the forking *thread*, so a child started from a web
    request's short-lived worker thread would otherwise die with that thread (the model
    process here; a local Ray instance's processes in ``rag.engines.ray_engine``)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._run, daemon=True, name="model-spawner").start()

    def _run(self) -> None:
        while True:
            start, reply = self._jobs.get()
            try:
                reply.put((start(), None))
            except Exception as exc:  # handed back to the caller, raised there
                reply.put((None, exc))

    def spawn(self, start: Callable[[], T]) -> T:
        reply: queue.Queue = queue.Queue(maxsize=1)
        self._jobs.put((start, reply))
        started, error = reply.get()
        if error is not None:
            raise error
        return started


_SPAWNER: _Spawner | None = None
_SPAWNER_LOCK = threading.Lock()


def _spawner() -> _Spawner:
    global _SPAWNER
    with _SPAWNER_LOCK:
        if _SPAWNER is None:
            _SPAWNER = _Spawner()
        return _SPAWNER


def from_lasting_thread(start: Callable[[], T]) -> T:
    """``start()``, run in the thread that starts this process's children, so that what it
    starts lives as long as the process, not as long as the calling thread."""
    return _spawner().spawn(start)


class ModelServer:
    """One supervised llama-server process for one GGUF model, with ``slots`` parallel
    sequences of ``n_ctx`` tokens each."""

    def __init__(
        self,
        model_path: str | Path,
        n_ctx: int,
        threads: int | None = None,
        slots: int = 1,
        state_dir: Path | None = None,
    ):
        self.model_path = str(model_path)
        self.n_ctx = n_ctx
        self.threads = threads or len(os.sched_getaffinity(0))  # the cores it may use
        self.slots = slots
        self.state_dir = state_dir
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.restarts = 0
        self.last_failure = ""
        self.on_start: list[Callable[[ModelServer], None]] = []  # e.g. restore saved states
        self._lock = threading.RLock()
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the server)
            prefix="rag-llm-", suffix=".log", delete=False
        )
        atexit.register(self.stop)

    # -- what the backend needs ------------------------------------------------------------
    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    @property
    def log_path(self) -> Path:
        """llama-server's own log (its timings per request). ``stop`` removes it, unless
        the process failed to start, crashed or hung: then it stays for the post-mortem."""
        return Path(self._log.name)

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
                for hook in self.on_start:
                    hook(self)
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
            log.warning("the model process %s; its log: %s", what, self.log_path)
            try:
                self.ensure()
            except ModelUnavailableError as exc:
                what = f"{what.removesuffix('; it was restarted')}, and could not restart: {exc}"
                self.last_failure = what
            return what

    def stop(self) -> None:
        """End the process; its log goes too when nothing went wrong with it (a process
        that had ended unasked crashed)."""
        with self._lock:
            ended_unasked = self.process is not None and self.process.poll() is not None
            self._kill()
            if not (self.last_failure or ended_unasked):
                self.log_path.unlink(missing_ok=True)

    # -- slots and their states --------------------------------------------------------------
    def slot_states(self) -> list[dict]:
        """What each slot holds now (llama-server's ``/slots``)."""
        with urllib.request.urlopen(f"{self.root_url}/slots", timeout=10) as reply:
            return json.load(reply)

    def idle_slot(self) -> int | None:
        """A slot that is not answering anything now, or None when all are busy."""
        try:
            for slot in self.slot_states():
                if not slot.get("is_processing"):
                    return int(slot["id"])
        except (OSError, ValueError, KeyError):
            return None
        return None

    def slot_action(self, slot: int, action: str, filename: str = "") -> dict:
        """Save, restore or erase one slot's evaluated prompt (files in ``state_dir``)."""
        body = json.dumps({"filename": filename} if filename else {}).encode()
        request = urllib.request.Request(
            f"{self.root_url}/slots/{slot}?action={action}",
            body,
            {"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=SLOT_CALL_TIMEOUT_S) as reply:
                return json.load(reply)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise ModelUnavailableError(f"slot {slot} {action} failed: {detail}") from exc

    # -- process management ----------------------------------------------------------------
    def command(self) -> list[str]:
        """The model process's command line (llama-server's flags, which the engine takes too)."""
        command = [
            *engine_command(),
            "--model", self.model_path,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--threads", str(self.threads),
            "--threads-batch", str(self.threads),
            # Every slot gets the profile's whole context (no unified pool to run out of).
            "--ctx-size", str(self.n_ctx * self.slots),
            "--parallel", str(self.slots),
            "--no-kv-unified",
            "--cont-batching",
            "--batch-size", "512",
            "--no-webui",
            # No empty run at start: it costs a restarted or cold process a second of both
            # cores; the weights are memory-mapped, so the first question pays nothing more.
            "--no-warmup",
        ]  # fmt: skip
        if self.state_dir is not None:
            command += ["--slot-save-path", str(self.state_dir)]
        return command

    def _start(self) -> None:
        if not Path(self.model_path).is_file():
            raise ModelUnavailableError(
                f"no GGUF model at {self.model_path}; run `rag doctor` to see what is missing."
            )
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.process = self._spawn(self.command())
        self._wait_ready()

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        """The model process, which the kernel ends when this process ends."""
        return _spawner().spawn(lambda: self._popen(command, _die_with_parent))

    def _popen(
        self, command: list[str], preexec: Callable[[], None] | None = None
    ) -> subprocess.Popen:
        """The model process, logging to this server's log, in a session of its own (a
        Ctrl-C in the terminal reaches us, not the model)."""
        with open(self._log.name, "ab") as log_file:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=preexec,
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.last_failure = f"{describe_exit(code)} while loading"
                raise ModelUnavailableError(
                    f"the model process {describe_exit(code)} while loading {self.model_path}.\n"
                    f"{self.log_tail()}\nRun `rag doctor` for the runtime's CPU features and "
                    "the model file's state."
                )
            try:
                with urllib.request.urlopen(f"{self.root_url}/health", timeout=2) as reply:
                    if json.load(reply).get("status") == "ok":
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.05)
        self._kill()
        self.last_failure = "did not answer in time while loading"
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
            self.process.kill()  # a stopped (SIGSTOP) process only dies of SIGKILL
            self.process.wait(timeout=5)

    def log_tail(self) -> str:
        """The log's last lines, for an error message, and where the whole log is."""
        lines = self.log_path.read_text("utf-8", "replace").splitlines()
        tail = "\n".join("  " + line for line in lines[-LOG_TAIL_LINES:])
        where = f"(the whole log: {self.log_path})"
        return f"Its last log lines {where}:\n{tail}" if tail else f"It logged nothing {where}."
