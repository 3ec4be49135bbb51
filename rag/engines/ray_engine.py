"""Indexing and search on a Ray cluster: the same stages as the local build, spread out.

- Reading and cleaning: one task per article file (the bytes travel with the task, so the
  files need only be on the machine that runs ``rag index``), then one chunking task per
  article.
- Embedding: a pool of actors, each loading the embedding model once (``rag.factory``)
  and taking batches of passages; vectors of unchanged articles are reused, as locally.
- Writing: each shard's dense index is built in a task, and its BM25 index too, from the
  term statistics of all shards summed first (``rag.store.shards``: the scores of an index built
  over the whole corpus). The index is then saved and committed atomically by the caller,
  exactly like a local build.
- Search: one actor per shard holds it (it loads its folder, so the index directory must
  be reachable from the nodes: one machine, or shared storage), and a query fans out to
  them and merges (``RayFanout``).

Faults: a worker process that dies is replaced by Ray and its work retried (tasks and
actor calls are retried up to ``RETRIES`` times); a build that still fails raises an
IndexBuildError and leaves the previous index as it was, since nothing is written before
the whole index is built.

Ray is optional: only ``--engine ray`` imports this module.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import bm25s
import faiss
import numpy as np
import ray
from ray.util import ActorPool

from rag.articles.chunking import ChunkingConfig, chunk_document
from rag.articles.corpus import read_article_file
from rag.articles.formats import read_file_bytes
from rag.config.settings import Settings
from rag.embedding.embedder import Embedder, load_embedder
from rag.errors import ConfigError, IndexBuildError
from rag.llm.runtime import from_lasting_thread
from rag.store.dense import build_dense_index
from rag.store.index import (
    EMBED_BATCH,
    IndexStore,
    from_parts,
    index_manifest,
    load_shard,
    passage_matrix,
    reusable_vectors,
)
from rag.store.shards import TermStats, bm25_part, shard_count, split_rows, term_stats, vocabulary
from rag.values import Document, Passage

log = logging.getLogger(__name__)
RETRIES = 3  # how often Ray retries the work of a worker process that died
_CONNECTING = threading.Lock()


def connect(address: str) -> None:
    """Join the cluster at ``address`` (``host:port`` of ``ray start --head``), or start a
    local Ray instance when it is empty. Idempotent within a process, and safe to call from
    several threads at once (``rag serve`` makes its backend while it indexes)."""
    with _CONNECTING:
        if ray.is_initialized():
            return
        if address:
            _check_reachable(address)
        options = dict(
            address=address or "local",  # not a cluster `ray start` runs on this machine
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        try:
            if threading.current_thread() is threading.main_thread():
                ray.init(**options)
            else:  # a local instance dies with the thread that started it
                from_lasting_thread(lambda: ray.init(**options))
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise _unreachable(address, exc) from exc
    log.info("Ray: %s", describe())


def _check_reachable(address: str) -> None:
    """Fail in seconds, with the fix, where Ray would retry for minutes."""
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise _unreachable(address, exc) from exc


def _unreachable(address: str, exc: Exception) -> ConfigError:
    return ConfigError(
        f"cannot reach the Ray cluster at {address!r} ({exc}); start one with "
        "`ray start --head` and pass the address it prints (host:port), or leave "
        "--address out for a local instance."
    )


def _build_failed(what: str, exc: Exception) -> IndexBuildError:
    return IndexBuildError(
        f"{what} failed ({type(exc).__name__}: {exc}); the previous index is unchanged. "
        "Check `ray status` and run the command again."
    )


def describe() -> str:
    nodes = [n for n in ray.nodes() if n["Alive"]]
    cpus = int(ray.cluster_resources().get("CPU", 0))
    return f"{len(nodes)} node(s), {cpus} CPU(s)"


@ray.remote(max_retries=RETRIES)
def _read(path: str, data: bytes) -> Document:
    return read_file_bytes(path, data)


@ray.remote(max_retries=RETRIES)
def _chunk(document: Document, chunking: ChunkingConfig) -> list[Passage]:
    return chunk_document(document, chunking)


@ray.remote(max_retries=RETRIES)
def _term_stats(texts: list[str]) -> TermStats:
    return term_stats(texts)


@ray.remote(max_retries=RETRIES)
def _bm25_part(texts: list[str], stats: TermStats, vocab: dict[str, int]) -> bm25s.BM25:
    return bm25_part(texts, stats, vocab)


@ray.remote(max_retries=RETRIES)
def _dense_shard(vectors: np.ndarray) -> np.ndarray:
    return faiss.serialize_index(build_dense_index(vectors))


@ray.remote(num_cpus=1, max_restarts=RETRIES, max_task_retries=RETRIES)
class PassageEmbedder:
    """One embedding model, loaded once, embedding batches of passages."""

    def __init__(self, settings: Settings):
        import torch

        torch.set_num_threads(1)  # one CPU per actor: more threads would only contend
        self.embedder = load_embedder(settings.embed_model, settings.model_cache)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed_many(texts, "passage")


def _gather(refs: list) -> list:
    """The results of remote work, or an IndexBuildError once Ray gave up on it."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayError as exc:
        cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else None
        if cause is not None and not isinstance(cause, ray.exceptions.RayError):
            raise cause from exc  # the work's own error (a bad article, say), as it is
        raise _build_failed("the distributed build", exc) from exc


def read_articles(files: list[str | Path]) -> list[Document]:
    """Every file read here and checked, cleaned and split in tasks."""
    raw = [read_article_file(f) for f in files]
    read = _read.options(num_cpus=_task_cpus())
    return _gather([read.remote(path, data) for path, data in raw])


def embedding_workers(settings: Settings) -> int:
    """Actors in the embedding pool: the setting, or one per CPU of the cluster; one when
    none is free (answering replicas hold them)."""
    if settings.workers:
        return settings.workers
    if free_cpus() < 1:
        return 1
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def free_cpus() -> float:
    return ray.available_resources().get("CPU", 0.0)


def _task_cpus() -> float:
    """A build task's CPUs, read when its stage starts (tasks end and queue for a CPU,
    but none frees while every CPU is held by a replica)."""
    return cpus_each(1, free_cpus())


def cpus_each(count: int, free: float) -> float:
    """The CPUs each of ``count`` workers or tasks running at once asks Ray for: one when
    that many are free, else none (they share the cores), so that the build starts at once
    rather than waiting for CPUs that answering replicas hold for as long as they serve.
    (Shares of the free CPUs could still not fit: Ray places each on one node.)

    >>> cpus_each(2, 4.0), cpus_each(3, 2.0), cpus_each(1, 0.0)
    (1.0, 0.0, 0.0)
    """
    return 1.0 if free >= count else 0.0


def embed_on_cluster(settings: Settings, texts: list[str], workers: int) -> np.ndarray:
    """Passage vectors, in order, from a pool of ``workers`` embedding actors."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    cpus = cpus_each(workers, free_cpus())
    if not cpus:
        log.info("%d embedding worker(s) share the cores: no CPU is free for them", workers)
    actors = [PassageEmbedder.options(num_cpus=cpus).remote(settings) for _ in range(workers)]
    batches = [texts[i : i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
    pool = ActorPool(actors)
    try:
        return np.vstack(list(pool.map(lambda actor, batch: actor.embed.remote(batch), batches)))
    except ray.exceptions.RayError as exc:
        raise _build_failed("the embedding workers", exc) from exc
    finally:
        for actor in actors:
            ray.kill(actor)


def build_index_on_cluster(
    documents: list[Document],
    embedder: Embedder,
    chunking: ChunkingConfig,
    settings: Settings,
    previous: IndexStore | None = None,
) -> IndexStore:
    """``rag.store.index.build_index`` on the cluster: the same passages, vectors and manifest.

    ``embedder`` describes the model in the manifest (id, fingerprint, dimension); the
    vectors come from the cluster's embedding actors."""
    chunk = _chunk.options(num_cpus=_task_cpus())
    per_document = _gather([chunk.remote(d, chunking) for d in documents])
    passages = [p for chunked in per_document for p in chunked]
    reusable = reusable_vectors(previous, documents)
    fresh = [p for p in passages if p.id not in reusable]
    workers = embedding_workers(settings)
    log.info("Embedding %d passages on %d worker(s) (%s)", len(fresh), workers, describe())
    embedded = embed_on_cluster(settings, [p.text for p in fresh], workers)
    new_vectors = dict(zip((p.id for p in fresh), embedded, strict=True))
    vectors = passage_matrix(passages, reusable, new_vectors, dim=embedder.dim)
    manifest = index_manifest(documents, passages, embedder, chunking, len(fresh))
    ranges = split_rows(len(passages), shard_count(settings.shards, len(passages)))
    texts = [ray.put([p.text for p in passages[start:stop]]) for start, stop in ranges]
    count = _term_stats.options(num_cpus=_task_cpus())
    stats = sum(_gather([count.remote(part) for part in texts]), start=TermStats())
    shared, vocab = ray.put(stats), ray.put(vocabulary(stats))
    cpus = _task_cpus()
    bm25_parts = [_bm25_part.options(num_cpus=cpus).remote(p, shared, vocab) for p in texts]
    dense = _dense_shard.options(num_cpus=cpus)
    dense_parts = [dense.remote(vectors[start:stop]) for start, stop in ranges]
    denses = [faiss.deserialize_index(blob) for blob in _gather(dense_parts)]
    docs = {d.doc_id: d for d in documents}
    return from_parts(docs, passages, vectors, manifest, denses, _gather(bm25_parts))


@ray.remote(num_cpus=0)
class ShardServer:
    """One shard of a saved index, loaded from its folder and searched on request."""

    def __init__(self, folder: str, start: int, stop: int):
        self.shard = load_shard(Path(folder), start, stop)

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.shard.search(query, n)

    def bm25_top(self, term_ids: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
        return self.shard.bm25_top(term_ids, n)


class RayFanout:
    """The shards of a saved index served by Ray actors, one each; a search asks them all
    at once and waits for every answer."""

    def __init__(self, folders: list[tuple[Path, int, int]]):
        self.servers = [ShardServer.remote(str(f), start, stop) for f, start, stop in folders]

    def search(self, query: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return ray.get([s.search.remote(query, n) for s in self.servers])

    def bm25_top(self, term_ids: list[int], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return ray.get([s.bm25_top.remote(term_ids, n) for s in self.servers])
