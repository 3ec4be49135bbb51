"""Running one measurement job in a fresh process of its own, through a process pool.

Every job gets a new "spawn" process (``max_tasks_per_child=1``), and jobs run one at a
time: memory peaks and load-time figures belong to that job alone, and no job's threads
compete with another's. A worker's standard output goes to its standard error (standard
output carries only the report); without progress, its standard error goes to a log file
whose last lines are reported when the worker dies.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
TAIL_LINES = 5
LOG_FORMAT = "  [%(asctime)s] %(message)s"
QUOTES = '"' * 3  # around the worker's traceback in the exception's cause


def configure_logging(progress: bool) -> None:
    """Time-stamped lines on standard error: the benchmark's progress (only its warnings
    without progress), and other libraries' warnings and errors."""
    formatter = logging.Formatter(LOG_FORMAT, datefmt="%H:%M:%S")
    others = logging.StreamHandler(sys.stderr)
    others.setLevel(logging.WARNING)
    others.setFormatter(formatter)
    logging.basicConfig(level=logging.WARNING, handlers=[others], force=True)
    ours = logging.StreamHandler(sys.stderr)
    ours.setFormatter(formatter)
    logger = logging.getLogger("bench")
    logger.handlers[:] = [ours]
    logger.propagate = False
    logger.setLevel(logging.INFO if progress else logging.WARNING)


class WorkerFailed(Exception):
    """A job raised, or its process died; ``figures`` is what the report shows instead."""

    def __init__(self, message: str, tail: list[str]):
        super().__init__(message)
        self.figures = {"error": message, "stderr": tail}


def _start_worker(progress: bool, log_path: str) -> None:
    """Set up a fresh worker process before its job runs."""
    if not progress:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    os.dup2(2, 1)
    configure_logging(progress=True)  # to the terminal, or to the log file


def _tail(text: str) -> list[str]:
    """The last lines of a text that say something (a remote traceback comes quoted).

    >>> _tail("x\\n1\\n\\n2\\n3\\n4\\n5\\n" + QUOTES)
    ['1', '2', '3', '4', '5']
    """
    lines = [line for line in text.splitlines() if line.strip() not in ("", QUOTES)]
    return lines[-TAIL_LINES:]


def _log_tail(path: Path) -> list[str]:
    return _tail(path.read_text("utf-8", "replace")) if path.is_file() else []


def run_isolated(
    work: Callable[..., T], job: object, name: str, progress: bool, log_dir: Path
) -> tuple[T, float]:
    """``work(job)`` in a new process; its value and the wall seconds the process took.

    Raises WorkerFailed when the job raises or its process dies (a crash, an OOM kill).
    """
    log_path = log_dir / f"{name}.log"
    start = time.perf_counter()
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        max_tasks_per_child=1,
        initializer=_start_worker,
        initargs=(progress, str(log_path)),
    ) as pool:
        try:
            value = pool.submit(work, job).result()
        except BrokenProcessPool as exc:
            message = f"the {name} worker process died (a crash, or killed: out of memory?)"
            raise WorkerFailed(message, _log_tail(log_path)) from exc
        except Exception as exc:
            remote = str(exc.__cause__ or "")  # the worker's formatted traceback
            message = f"{name} worker failed: {type(exc).__name__}: {exc}"
            raise WorkerFailed(message, _tail(remote)) from exc
    return value, time.perf_counter() - start
