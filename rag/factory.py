"""The production parts of a Pipeline, built from Settings: the one place that knows them.

``build_pipeline`` is what the CLI, the UI, eval and the benchmark use; tests compose a
``Pipeline`` from fakes instead (``tests/fakes.py``). The embedder and the LLM backend are
made on first use, so a command that only searches never starts the language model.
"""

from __future__ import annotations

from rag import engines
from rag.config.settings import Settings, resolve_settings
from rag.embedding.embedder import Embedder, load_embedder
from rag.llm.base import Backend
from rag.llm.profiles import get_profile
from rag.llm.registry import make_backend as registered_backend
from rag.pipeline import Pipeline


def make_embedder(settings: Settings) -> Embedder:
    """The settings' sentence-transformers embedder (loaded once per process and model)."""
    return load_embedder(settings.embed_model, settings.model_cache)


def make_backend(settings: Settings) -> Backend:
    """The settings' LLM backend: the profile's embedded model (on Ray Serve replicas with
    the ray engine) or an OpenAI-compatible server."""
    if settings.engine == "ray" and settings.llm_backend == "llamacpp":
        return engines.served_backend(settings)
    return registered_backend(
        settings.llm_backend,
        settings.options(),
        get_profile(settings.profile),
        settings.model_cache,
    )


def build_pipeline(settings: Settings | None = None, progress: bool = False) -> Pipeline:
    """The assistant on the real models, over the settings' index directory."""
    settings = settings or resolve_settings()
    return Pipeline(
        settings,
        make_embedder=lambda: make_embedder(settings),
        make_backend=lambda: make_backend(settings),
        progress=progress,
    )
