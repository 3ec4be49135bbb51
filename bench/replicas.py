"""Answering on Ray Serve replicas, measured the way readers meet it (``bench.runtime``'s
``replicas`` part).

``rag serve`` on one machine (the local engine) gives each load-test question's reference
answer; then ``rag serve --engine ray`` with 1 and with 2 replicas on a local Ray instance
takes the load test (``ui.loadtest``: errors, answers that differ from the reference,
p50/p95, answers/s); then, with 2 replicas, the model process of one replica is killed
(SIGKILL) a third of the way into a load run: every question must still be answered
(``lost``: errors; ``fallback``: answered from the article's sentences, not the model).

On one 2-core machine two replicas share the cores one had, so they cannot be faster; the
README gives the scaling across machines and its arithmetic.

Doesn't: start a cluster (a local Ray instance, started by ``rag serve``), or assert.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from rag.config.settings import Settings

logger = logging.getLogger(__name__)
CLIENTS, ROUNDS = 8, 2
KILL_AT = 1 / 3  # of the two-replica run's wall time


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def model_processes(pid: int) -> list[int]:
    """The model processes (``rag.llm.engine``) started below ``rag serve``'s ``pid``."""
    out = []
    for child in descendants(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"rag.llm.engine" in command or any(c.endswith(b"llama-server") for c in command):
            out.append(child)
    return out


def _summary(result: dict) -> dict:
    answers = result.pop("answers")
    result["fallback"] = sum(1 for a in answers if a.get("fallback"))
    return result


def replicas(settings: Settings, workdir: Path, served_type) -> dict:
    """The load test on 1 and 2 replicas, and the fault run (see the module docstring).
    ``served_type``: bench.runtime's ``Served`` (``rag serve`` for as long as a block lasts)."""
    from ui.loadtest import references, run

    with served_type(settings, workdir / "serve-local.log") as single:
        reference = references(single.url)
    out: dict = {"clients": CLIENTS, "rounds": ROUNDS}
    for n in (1, 2):
        env = {"RAG_ENGINE": "ray", "RAG_REPLICAS": str(n)}
        with served_type(settings, workdir / f"serve-ray-{n}.log", env) as served:
            out[f"{n}_replicas"] = _summary(run(served.url, CLIENTS, ROUNDS, reference))
            out[f"{n}_replicas"]["ready_s"] = round(served.ready_s, 1)
            logger.info("replicas, %d: %s", n, out[f"{n}_replicas"])
            if n == 2:
                out["fault"] = fault(served, reference, out["2_replicas"])
                logger.info("replicas, fault: %s", out["fault"])
    return out


def fault(served, reference: dict, steady: dict) -> dict:
    """A load run during which one replica's model process is killed."""
    from ui.loadtest import run

    pids = model_processes(served.process.pid)
    if len(pids) < 2:
        return {"error": f"found {len(pids)} model processes below rag serve, not 2"}
    wall = steady["requests"] / max(steady["throughput_per_s"], 1e-6)
    killed: dict = {}

    def kill() -> None:
        time.sleep(wall * KILL_AT)
        os.kill(pids[0], signal.SIGKILL)
        killed["after_s"] = round(wall * KILL_AT, 1)

    timer = threading.Thread(target=kill, daemon=True)
    timer.start()
    result = _summary(run(served.url, CLIENTS, ROUNDS, reference))
    timer.join()
    result["killed_after_s"] = killed.get("after_s")
    result["lost"] = result["errors"]
    return result
