"""The LLM backends by name: the one list the settings, the CLI help and the factory read.

A new backend is one module (its class with a ``name``, nested ``Options`` and ``stream``)
and one entry in ``BACKENDS``.

>>> list(BACKENDS)
['llamacpp', 'openai']
"""

from __future__ import annotations

from pathlib import Path

from rag.checks import check_choice
from rag.llm.base import Backend, BackendOptions
from rag.llm.llamacpp import LlamaCppBackend
from rag.llm.openai_server import OpenAIBackend
from rag.llm.profiles import Profile

BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (LlamaCppBackend, OpenAIBackend)}


def backend_class(name: str) -> type[Backend]:
    """The backend called ``name``; an unknown name is a ConfigError listing the known ones."""
    check_choice("llm_backend", name, tuple(BACKENDS))
    return BACKENDS[name]


def make_backend(
    name: str, options: BackendOptions, profile: Profile, model_cache: Path
) -> Backend:
    """The backend called ``name``, made from its options."""
    return backend_class(name)(options, profile, model_cache)
