"""A model process that outlives the command that started it, for ``rag ask`` from a shell.

Does: with ``llm_keep_alive`` seconds set, the embedded model's process is started in
a session of its own (it does not die with ``rag ask``) and noted in a small file under
the model cache, ``servers/<identity>.json`` (its pid and port). The next command with the
same model, runtime, context, slots and threads finds it there, checks that it answers,
and uses it: no model load, no state to restore more than once. A keeper process (this
module run as ``python -m rag.llm.kept``) stops the server once it has gone unused for
``llm_keep_alive`` seconds (a command touches the file whenever it asks the model, and the
keeper counts a busy slot as use), or when the file no longer names it.

Doesn't: share a server between users (the file is the user's, in the user's model cache;
the port is on 127.0.0.1 as always), or keep a server of the ``rag serve``/``rag chat``
kind, which live as long as their process anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rag.llm.runtime import ModelServer, engine_file

KEEPER_POLL_S = 2.0


def alive(pid: int) -> bool:
    """Whether a process of this pid exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when it is our exited child
        return done == 0
    return True


def _stat_identity(path: str | Path) -> str:
    stat = Path(path).stat()
    return f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


class KeptServer(ModelServer):
    """A ModelServer whose process is kept ``keep_alive`` seconds after its last use and
    reused by later commands (see the module docstring)."""

    def __init__(self, *args, keep_alive: float, servers_dir: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep_alive = keep_alive
        self.identity = self._identity()
        key = hashlib.sha256(self.identity.encode()).hexdigest()[:16]
        self.note = servers_dir / f"{key}.json"
        self.adopted: int | None = None

    def _identity(self) -> str:
        """What the process was started with, but its port: what makes it reusable."""
        command = self.command()
        command[command.index("--port") + 1] = "?"
        files = [_stat_identity(engine_file()), _stat_identity(self.model_path)]
        return json.dumps([*files, *command])

    # -- the process: adopted, or started in a session of its own ---------------------------
    @property
    def pid(self) -> int | None:
        return self.adopted if self.adopted is not None else super().pid

    def running(self) -> bool:
        if self.adopted is not None:
            return alive(self.adopted)
        return super().running()

    def ensure(self) -> str:
        url = super().ensure()
        with contextlib.suppress(OSError):
            os.utime(self.note)  # used now: the keeper counts from here
        return url

    def _start(self) -> None:
        self.adopted = None
        if self._adopt():
            return
        super()._start()
        self._write_note()
        subprocess.Popen(
            [sys.executable, "-m", "rag.llm.kept", str(self.process.pid), str(self.note),
             str(self.keep_alive), str(self.log_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        return self._popen(command)  # not ended with this process: the keeper ends it

    def _adopt(self) -> bool:
        """Use the process the note names, when it is alive, ours and answering."""
        try:
            note = json.loads(self.note.read_text("utf-8"))
            pid, port = int(note["pid"]), int(note["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return False
        if note.get("identity") != self.identity or not alive(pid):
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                if json.load(reply).get("status") != "ok":
                    return False
        except (OSError, ValueError):
            return False
        self.adopted, self.port, self.process = pid, port, None
        return True

    def _write_note(self) -> None:
        self.note.parent.mkdir(parents=True, exist_ok=True)
        partial = self.note.with_suffix(f".{os.getpid()}.partial")
        note = {"pid": self.process.pid, "port": self.port, "identity": self.identity}
        partial.write_text(json.dumps(note), "utf-8")
        os.replace(partial, self.note)

    def _kill(self) -> None:
        if self.adopted is None:
            super()._kill()
        else:
            with contextlib.suppress(OSError):
                os.kill(self.adopted, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while alive(self.adopted) and time.monotonic() < deadline:
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            self.note.unlink()

    def stop(self) -> None:
        """At the command's end the process stays: the keeper stops it when unused, and
        then removes its log. A command that used a running process wrote no log."""
        if self.process is None and not self.last_failure:
            self.log_path.unlink(missing_ok=True)


def busy(port: int) -> bool:
    """Whether the server at ``port`` is answering a request now."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/slots", timeout=2) as reply:
            return any(slot.get("is_processing") for slot in json.load(reply))
    except (OSError, ValueError, TypeError, AttributeError):
        return False


def keep(pid: int, note: Path, keep_alive: float, log: Path | None = None) -> None:
    """Stop the server ``pid`` once the note has not been touched for ``keep_alive``
    seconds while it was idle (then its ``log`` goes too), or once the note names another
    process (a command that found it hanging or dead: the log stays for the post-mortem)."""
    unused = False
    while alive(pid):
        try:
            named = json.loads(note.read_text("utf-8"))
            used = note.stat().st_mtime
        except (OSError, ValueError):
            named, used = {}, 0.0
        if named.get("pid") != pid:
            break  # forgotten, or replaced by another server
        if busy(int(named["port"])):
            os.utime(note)
        elif time.time() - used > keep_alive:
            with contextlib.suppress(OSError):
                note.unlink()
            unused = True
            break
        time.sleep(min(KEEPER_POLL_S, keep_alive / 4))
    else:
        return  # it ended by itself (a crash): the next command starts another
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    if unused and log is not None:
        log.unlink(missing_ok=True)


if __name__ == "__main__":
    keep(int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
