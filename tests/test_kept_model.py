"""A model process kept between `rag ask` commands (rag.llm.kept), on the real tiny model:
the next command uses it, a dead one is replaced, and the keeper stops it once unused and
removes its log (one sequence of three commands over one index: each command costs a
process start)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.config.settings import resolve_settings
from rag.llm.kept import alive

pytestmark = pytest.mark.slow

RAG = str(Path(sys.executable).with_name("rag"))
QUESTION = "Siapa Menteri Komunikasi dan Informatika?"
KEEP_ALIVE_S = 20  # long enough for a command's end on a loaded machine, short to wait out
# The first process is kept long enough that its keeper cannot stop it unused while the test
# kills it: a slow second command can leave it idle past a short keep-alive, and the keeper
# that stops a process unused removes its log, the one the test expects to stay.
KEPT_LONG_S = 600


def ask(index_dir: Path, keep_alive: float = KEEP_ALIVE_S) -> subprocess.CompletedProcess:
    """`rag ask` with the kept process; its temporary files (the model's log) in logs()."""
    env = {
        **os.environ,
        "TMPDIR": str(logs_dir(index_dir)),
        "RAG_PROFILE": "tiny",
        "RAG_INDEX_DIR": str(index_dir),
        "RAG_LLM_KEEP_ALIVE": str(keep_alive),
        "RAG_LLM_SLOTS": "1",  # a kept process of its own: no other test's identity
    }
    done = subprocess.run([RAG, "ask", QUESTION], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def logs_dir(index_dir: Path) -> Path:
    folder = index_dir.parent / "tmp"
    folder.mkdir(exist_ok=True)
    return folder


def logs(index_dir: Path) -> set[Path]:
    return set(logs_dir(index_dir).glob("rag-llm-*.log"))


def kept_pids() -> dict[Path, int]:
    """The kept model processes the notes name: {note: pid}, for this test's slot count."""
    servers = resolve_settings().model_cache / "servers"
    found = {}
    for note in servers.glob("*.json"):
        named = json.loads(note.read_text("utf-8"))
        command = json.loads(named["identity"])
        one_slot = command[command.index("--parallel") + 1] == "1"
        if one_slot and "gemma" in command[command.index("--model") + 1]:
            found[note] = named["pid"]
    return found


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


@pytest.fixture
def clean():
    for pid in kept_pids().values():  # a process left by an interrupted run
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    yield
    for note, pid in kept_pids().items():
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
        note.unlink(missing_ok=True)


def test_the_next_rag_ask_uses_the_kept_process_a_dead_one_is_replaced_and_the_keeper_stops_it(
    tmp_path, clean
):
    index = tmp_path / "index"
    ask(index, keep_alive=KEPT_LONG_S)
    [(note, pid)] = kept_pids().items()
    assert alive(pid), "the model process ended with the command"
    [first_log] = logs(index)  # the kept process writes it

    second = ask(index)  # it uses the kept process: the first command's keeper stays in charge
    assert "Rudiantara" in second.stdout or "tidak" in second.stdout.lower()
    assert kept_pids() == {note: pid}, "the second command started a process of its own"
    assert logs(index) == {first_log}, "the command that used the kept process left a log"

    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(pid), 10)
    ask(index)
    [(note, new_pid)] = kept_pids().items()
    assert new_pid != pid and alive(new_pid)

    assert wait_until(lambda: not alive(new_pid), KEEP_ALIVE_S + 15), "the keeper left it running"
    assert not note.exists()
    # the killed process's log stays for the post-mortem; the one stopped unused goes
    assert wait_until(lambda: logs(index) == {first_log}, 10), logs(index)
