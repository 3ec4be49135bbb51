"""The production parts of a Pipeline, built from Settings: the one place that knows them.

``build_pipeline`` is what the CLI, the UI, eval and the benchmark use; tests compose a
``Pipeline`` from fakes instead (``tests/fakes.py``). The embedder and the LLM backend are
made on first use, so a command that only searches never starts the language model.
"""

from __future__ import annotations

from rag.config.settings import Settings, resolve_settings
from rag.embedding.embedder import Embedder, load_embedder
from rag.llm.backends import Backend, get_backend
from rag.pipeline import Pipeline


def make_embedder(settings: Settings) -> Embedder:
    """The settings' sentence-transformers embedder (loaded once per process and model)."""
    return load_embedder(settings.embed_model, settings.model_cache)


def make_backend(settings: Settings) -> Backend:
    """The settings' LLM backend: the profile's embedded model or an OpenAI-compatible server."""
    return get_backend(settings)


def build_pipeline(settings: Settings | None = None, progress: bool = False) -> Pipeline:
    """The assistant on the real models, over the settings' index directory."""
    settings = settings or resolve_settings()
    return Pipeline(
        settings,
        make_embedder=lambda: make_embedder(settings),
        make_backend=lambda: make_backend(settings),
        progress=progress,
    )
