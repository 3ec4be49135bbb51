"""Scale-out figures: embedding on one machine and on Ray, and search over shards.

- ``work_scale``: ``job.size`` synthetic passages embedded for real, by the local build's
  embedding step (``rag.store.index.embed_passages``), then by a pool of 1 and of 2 Ray
  embedding actors (``rag.engines.ray_engine.embed_on_cluster``, which also starts the actors and
  loads the model in each) on a local Ray instance. One run holds all three, so the
  ratios share the machine's load; the Ray vectors are checked against the local ones.
- ``work_shards``: a saved synthetic index loaded, then cut into 2 and 4 shards as
  ``rag index --shards`` cuts them (the same vectors, a dense index per shard, BM25
  sliced), and queried in threads, and once saved by Ray actors: latency per mode, the
  share of questions whose fused top 10 is the single index's, and dense recall@10
  against exact search (shards above ``rag.store.dense.EXACT_SEARCH_LIMIT`` passages are IVF
  indexes, approximate as the single one).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.jobs import Job
from bench.measure import rss_mb
from bench.retrieval import retrieval_latency
from bench.synthetic import CORPUS_SEED, sentence_pool, synthetic_corpus
from rag.factory import make_embedder
from rag.retrieval.retrieve import dense_ranking, retrieve
from rag.store.index import (
    IndexStore,
    dense_indexes,
    embed_passages,
    load_index,
    save_index,
    with_shards,
)

logger = logging.getLogger(__name__)
SHARD_COUNTS = (1, 2, 4)
RAY_WORKERS = (1, 2)


def _rate(n: int, seconds: float) -> dict:
    return {"seconds": round(seconds, 1), "passages_per_s": round(n / seconds, 1)}


def work_scale(job: Job) -> dict:
    """Passages/s of real embedding: local, then Ray with 1 and 2 workers."""
    import ray

    from rag.engines.ray_engine import embed_on_cluster

    n = job.size
    passages = synthetic_corpus(sentence_pool(), n, seed=CORPUS_SEED).passages
    embedder = make_embedder(job.settings)
    embedder.embed_many([p.text for p in passages[:8]], "passage")  # the first call pays set-up
    start = time.perf_counter()
    local = embed_passages(embedder, passages)
    out: dict[str, Any] = {"passages": n, "local": _rate(n, time.perf_counter() - start)}
    logger.info("local: %s passages/s", out["local"]["passages_per_s"])
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        for workers in RAY_WORKERS:
            start = time.perf_counter()
            vectors = embed_on_cluster(job.settings, [p.text for p in passages], workers)
            figures = _rate(n, time.perf_counter() - start)
            figures["max_abs_difference_from_local"] = float(np.abs(vectors - local).max())
            out[f"ray_{workers}_workers"] = figures
            logger.info("ray, %d worker(s): %s passages/s", workers, figures["passages_per_s"])
        out["cpus"] = int(ray.cluster_resources().get("CPU", 0))
    finally:
        ray.shutdown()
    rate = {k: v["passages_per_s"] for k, v in out.items() if isinstance(v, dict)}
    out["ratios"] = {
        "ray_1_worker_vs_local": round(rate["ray_1_workers"] / rate["local"], 2),
        "ray_2_workers_vs_local": round(rate["ray_2_workers"] / rate["local"], 2),
        "ray_2_workers_vs_1": round(rate["ray_2_workers"] / rate["ray_1_workers"], 2),
    }
    return out


def cut(store: IndexStore, shards: int) -> tuple[IndexStore, float]:
    """The index cut into shards (dense indexes built anew, BM25 sliced), and the seconds."""
    start = time.perf_counter()
    denses = dense_indexes(np.asarray(store.vectors), shards)
    return with_shards(store, denses), time.perf_counter() - start


def top10(store: IndexStore, questions: list[str], vectors: np.ndarray) -> list[list[str]]:
    return [
        [h.passage.id for h in retrieve(store, None, q, 10, "fused", None, v)]  # type: ignore[arg-type]
        for q, v in zip(questions, vectors, strict=True)
    ]


def dense_recall(store: IndexStore, vectors: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of the exact dense top 10 that the index's dense search returns."""
    found = [{r for r, _ in dense_ranking(store, v, 10)} for v in vectors]
    return float(np.mean([len(f & set(e)) / 10 for f, e in zip(found, exact, strict=True)]))


def served_by_ray(store: IndexStore, job: Job, q: list[str], v: np.ndarray) -> dict:
    """Retrieval latency of the sharded index saved, then served by Ray actors (one per
    shard, on a local Ray instance): the fan-out's round trips included."""
    import ray

    from rag.engines.ray_engine import RayFanout

    with tempfile.TemporaryDirectory(dir=job.workdir) as folder:
        save_index(store, Path(folder))
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            served = load_index(Path(folder), RayFanout)
            return retrieval_latency(served, q, v, job.runs, job.settings.k)
        finally:
            ray.shutdown()


def work_shards(job: Job) -> dict:
    """Retrieval latency over 1, 2 and 4 shards of the saved index of job.size passages."""
    shared = job.shared_vectors
    q, v = shared.questions, shared.question_vectors
    single = load_index(job.index_dir)
    reference = top10(single, q, v)
    _, exact = faiss.knn(v, np.asarray(single.vectors), 10, metric=faiss.METRIC_INNER_PRODUCT)
    out: dict[str, Any] = {"passages": len(single.passages), "threads": "one per shard"}
    for count in SHARD_COUNTS:
        store, build_s = (single, 0.0) if count == 1 else cut(single, count)
        same = np.mean([a == b for a, b in zip(top10(store, q, v), reference, strict=True)])
        out[str(count)] = {
            "cut_s": round(build_s, 1),
            "rss_mb": round(rss_mb(), 1),
            "retrieval_ms": retrieval_latency(store, q, v, job.runs, job.settings.k),
            "same_top10_as_single": round(float(same), 3),
            "dense_recall_at_10_vs_exact": round(dense_recall(store, v, exact), 3),
        }
        if count > 1 and job.ray:
            out[str(count)]["ray_actors_retrieval_ms"] = served_by_ray(store, job, q, v)
        logger.info("%d shard(s): fused %s ms", count, out[str(count)]["retrieval_ms"]["fused"])
    return out
