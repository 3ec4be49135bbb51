"""Doctest collection: only the modules that hold a doctest are imported for it, so that a
fast run does not pay for importing every optional part (the Ray engine, the baselines'
LangChain chains) just to find none.

Two workers (``make test`` runs ``pytest -n 2 --dist loadfile``): each test file is a group
that runs whole on one worker (its module fixtures are made once); the files that start Ray
form one group (one Ray instance at a time), and so do the browser files (they share the
app's helpers). The longest groups are handed out first, so that the two workers end
together. Each worker's model processes and torch get one thread: the two workers share the
two cores instead of contending for both.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if WORKER:  # before torch or a model process is started
    os.environ.setdefault("RAG_LLM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# after the threads are set, before any test imports Gradio (ui/__init__.py keeps it short)
import ui  # noqa: E402, F401

PACKAGES = ("rag", "ui", "eval", "bench")
ROOT = Path(__file__).parent
SHARED_GROUPS = {  # files that run one after the other on one worker
    "tests/test_cluster.py": "ray",
    "tests/test_ray_serve.py": "ray",
}
# The groups that take longest first (seconds on one of two workers, 2026-12-06: the sums
# per file of `pytest -n 2 --dist loadfile --durations=0`); the others in collection order.
LONGEST_FIRST = (
    "ray",  # 413
    "tests/e2e",  # 395
    "tests/test_bench.py",  # 215
    "tests/test_ask.py",  # 213
    "tests/test_suggestions.py",  # 176
    "tests/test_hostile.py",  # 161
    "tests/test_overview.py",  # 133
    "tests/test_runtime.py",  # 133
    "tests/test_openai_api.py",  # 88
    "tests/test_store.py",  # 61
    "tests/test_kept_model.py",  # 60
)


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    if collection_path.suffix != ".py" or collection_path.name == "conftest.py":
        return None
    try:
        package = collection_path.relative_to(ROOT).parts[0]
    except ValueError:
        return None
    if package in PACKAGES and ">>>" not in collection_path.read_text("utf-8"):
        return True
    return None


def group(path: str) -> str:
    """The group of a test file (a path relative to the repository): "ray" for the Ray
    files, "tests/e2e" for the browser files, else the file itself."""
    if path.startswith("tests/e2e/"):
        return "tests/e2e"
    return SHARED_GROUPS.get(path, path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """With ``--dist loadfile``: each group runs whole on one worker, the longest first.
    Otherwise (``make test-fast`` hands out single tests, which balance better when none
    loads a model) xdist's own scheduling."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group(nodeid.split("::")[0])

        def _assign_work_unit(self, node) -> None:
            longest = min(self.workqueue, key=lambda scope: rank.get(scope, len(rank)))
            self.workqueue.move_to_end(longest, last=False)  # the rest in collection order
            super()._assign_work_unit(node)

    config.option.loadscopereorder = False  # not by test count
    return GroupScheduling(config, log)


def pytest_collection_finish(session) -> None:
    # What collection imported (Gradio, LangChain: millions of objects) lives to the end:
    # moved out of the collector's sight, it is not traversed again by every full collection.
    gc.freeze()


def pytest_unconfigure(config) -> None:
    gc.freeze()  # and the interpreter's exit does not traverse the heap once more (seconds)
