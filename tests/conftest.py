"""Shared fixtures: the bundled article, and a pipeline over a temporary index.

The real embedding model is converted once into the user's model cache (as `make run`
does) and reused; every index a test builds lives in a temporary folder. A test that is
not marked ``slow`` or ``e2e`` (``make test-fast``) may not load a model: it fails if it
tries, so the fast suite stays fast.
"""

from __future__ import annotations

import pytest

from rag.articles.corpus import default_documents
from rag.config.settings import resolve_settings
from rag.embedding.embedder import E5Embedder, SentenceTransformerEmbedder
from rag.factory import build_pipeline
from rag.llm import llamacpp
from rag.pipeline import Pipeline

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


@pytest.fixture(autouse=True)
def no_models_in_fast_tests(request, monkeypatch):
    if request.node.get_closest_marker("slow") or request.node.get_closest_marker("e2e"):
        return

    def refuse(*args, **kwargs):
        raise AssertionError("a test that loads a model must be marked slow")

    monkeypatch.setattr(SentenceTransformerEmbedder, "__init__", refuse)
    monkeypatch.setattr(E5Embedder, "__init__", refuse)
    monkeypatch.setattr(llamacpp, "model_server", refuse)


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
