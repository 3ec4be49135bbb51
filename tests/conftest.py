"""Shared fixtures: the bundled article, and a pipeline over a temporary index.

The real embedding model is converted once into the user's model cache (as `make run`
does) and reused; every index a test builds lives in a temporary folder.
"""

from __future__ import annotations

import pytest

from rag.corpus import default_documents
from rag.factory import build_pipeline
from rag.pipeline import Pipeline
from rag.settings import resolve_settings

# The keys of `rag ask --json`, which the Gradio `ask` endpoint returns too.
ANSWER_KEYS = frozenset(
    {
        "question",
        "standalone_question",
        "language",
        "answer",
        "abstained",
        "citations",
        "passages",
        "backend",
        "timings_ms",
    }
)


@pytest.fixture(scope="session")
def article():
    return default_documents()[0]


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def pipeline(index_dir) -> Pipeline:
    """A pipeline over the bundled article, indexed once for the whole session."""
    p = build_pipeline(resolve_settings(index_dir=index_dir))
    p.index([])
    return p


def make_pipeline(index_dir, **flags) -> Pipeline:
    return build_pipeline(resolve_settings(index_dir=index_dir, **flags))
