"""Where articles are indexed and shards searched: on this machine (``local``, the default)
or on a Ray cluster (``ray``), as the ``engine`` setting says; with ``ray``, questions are
answered by Ray Serve replicas too (``rag.engines.ray_serve``). Only the ray engine imports
Ray (``rag.engines.ray_engine``), and it connects on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from rag.articles.chunking import ChunkingConfig
from rag.articles.formats import is_url, read_source
from rag.config.settings import Settings
from rag.embedding.embedder import Embedder
from rag.errors import ConfigError
from rag.llm.base import Backend
from rag.store.index import IndexStore, build_index
from rag.store.shards import Fanout, shard_count
from rag.values import Document


def cluster(settings: Settings) -> ModuleType:
    """``rag.engines.ray_engine``, connected to the settings' Ray cluster (or a local instance)."""
    try:
        from rag.engines import ray_engine as ray_cluster
    except ImportError as exc:
        raise ConfigError(
            f"the ray engine needs Ray ({exc}); install it with "
            "`pip install 'rag-article-assistant[cluster]'`."
        ) from exc
    ray_cluster.connect(settings.ray_address)
    return ray_cluster


def served_backend(settings: Settings) -> Backend:
    """The embedded model on ``settings.replicas`` Ray Serve replicas (rag.engines.ray_serve)."""
    try:
        from rag.engines import ray_serve
    except ImportError as exc:
        raise ConfigError(
            f"answering on the ray engine needs Ray Serve ({exc}); install it with "
            "`pip install 'rag-article-assistant[cluster]'`."
        ) from exc
    cluster(settings)  # connected, or a clear error
    return ray_serve.ServedBackend(settings)


def read_articles(settings: Settings, sources: list[str | Path]) -> list[Document]:
    """Every file or URL read by its format, checked and cleaned (files in Ray tasks on the
    ray engine; pages are fetched here); nothing is kept when one is unusable."""
    allow_private = bool(settings.allow_private_urls)
    if settings.engine != "ray":
        return [read_source(s, allow_private) for s in sources]
    files = [s for s in sources if not is_url(s)]
    from_files = iter(cluster(settings).read_articles(files))
    return [read_source(s, allow_private) if is_url(s) else next(from_files) for s in sources]


def build(
    settings: Settings,
    documents: list[Document],
    embedder: Embedder,
    chunking: ChunkingConfig,
    previous: IndexStore | None,
    progress: bool,
) -> IndexStore:
    """An index over the documents, cut into the settings' shards, built by the engine."""
    if settings.engine == "ray":
        return cluster(settings).build_index_on_cluster(
            documents, embedder, chunking, settings, previous
        )
    return build_index(
        documents, embedder, chunking, previous=previous, progress=progress, shards=settings.shards
    )


def shard_fanout(settings: Settings) -> Callable[[list], Fanout] | None:
    """Who serves the shards of a saved index: Ray actors on the ray engine (connected only
    when the index has shards), threads here otherwise (None)."""
    if settings.engine != "ray":
        return None
    return lambda folders: cluster(settings).RayFanout(folders)


def shards_as_set(settings: Settings, store: IndexStore) -> bool:
    """Whether the index is cut as the settings ask (else an unchanged index is rebuilt)."""
    wanted = shard_count(settings.shards, len(store.passages))
    return len(store.manifest.get("shards") or [0]) == wanted
