"""Doctest collection: only the modules that hold a doctest are imported for it, so that a
fast run does not pay for importing every optional part (the Ray engine, the baselines'
LangChain chains) just to find none."""

from __future__ import annotations

import gc
from pathlib import Path

import ui  # noqa: F401  (before any test imports Gradio: ui/__init__.py keeps its import short)

PACKAGES = ("rag", "ui", "eval", "bench")
ROOT = Path(__file__).parent


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


def pytest_collection_finish(session) -> None:
    # What collection imported (Gradio, LangChain: millions of objects) lives to the end:
    # moved out of the collector's sight, it is not traversed again by every full collection.
    gc.freeze()


def pytest_unconfigure(config) -> None:
    gc.freeze()  # and the interpreter's exit does not traverse the heap once more (seconds)
