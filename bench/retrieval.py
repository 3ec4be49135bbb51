"""Measurements of the index: retrieval latency per mode, and the dense index's recall.

Latency is timed on ``rag.retrieval.retrieve.retrieve`` itself over a
``rag.store.index.IndexStore``, the
query vector given so that embedding is left out; exact (brute-force) search is timed
beside it, to show what the FAISS index saves. Recall@10 compares an index's top 10 with
exact search over the same vectors.
"""

from __future__ import annotations

import time

import faiss
import numpy as np

from bench.measure import ms_since
from eval.stats import percentile, summarize
from rag.retrieval.retrieve import MODES, retrieve
from rag.store.dense import build_dense_index
from rag.store.index import IndexStore
from rag.text.analyzer import analyze
from rag.text.language import text_language

RECALL_K = 10


def describe_index(index: faiss.Index) -> str:
    """'flat (exact)', 'HNSW M=32 efConstruction=80 efSearch=128', 'IVF4096 nprobe=32'...

    >>> describe_index(faiss.IndexFlatIP(4))
    'flat (exact)'
    """
    if isinstance(index, faiss.IndexHNSW):
        h = index.hnsw
        return f"HNSW M={h.nb_neighbors(1)} efConstruction={h.efConstruction} efSearch={h.efSearch}"
    if isinstance(index, faiss.IndexIVF):
        return f"IVF{index.nlist},Flat nprobe={index.nprobe}"
    if isinstance(index, faiss.IndexFlat):
        return "flat (exact)"
    return type(index).__name__


def recall_at_k(
    index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, k: int = RECALL_K
) -> float:
    """Mean share of the exact top-k (brute force over ``vectors``) the index returns."""
    _, exact = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = index.search(queries, k)
    return round(
        float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, found, strict=True)])), 4
    )


def dense_quality(index: faiss.Index, vectors: np.ndarray, queries: dict[str, np.ndarray]) -> dict:
    """Recall@10 of a FAISS index per query set (1.0 by construction for flat search)."""
    return {name: recall_at_k(index, vectors, q) for name, q in queries.items()}


def recall_curve(vectors: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """Recall@10 of the approximate index (forced, whatever the size) as nprobe doubles;
    'default' is the nprobe rag.store.index chooses."""
    index = build_dense_index(vectors, exact_limit=0)
    default = index.nprobe
    curve = {}
    for nprobe in [1 << i for i in range(int(np.log2(index.nlist)) + 1)]:
        index.nprobe = nprobe
        curve[str(nprobe)] = recall_at_k(index, vectors, queries)
    index.nprobe = default
    curve["default"] = recall_at_k(index, vectors, queries)
    return {"index": describe_index(index), **curve}


def retrieval_latency(
    store: IndexStore, questions: list[str], vectors: np.ndarray, runs: int, k: int
) -> dict[str, dict]:
    """ms per ``rag.retrieval.retrieve.retrieve`` call and mode, the query vector given (so
    embedding is excluded); the first pass warms caches and is not counted."""
    out = {}
    for mode in MODES:
        samples = []
        for run in range(runs + 1):
            for q, v in zip(questions, vectors, strict=True):
                start = time.perf_counter()
                retrieve(store, None, q, k=k, mode=mode, query_vector=v)  # type: ignore[arg-type]
                if run:
                    samples.append(ms_since(start))
        out[mode] = summarize(samples)
    return out


def exact_latency(store: IndexStore, vectors: np.ndarray, runs: int, pool: int = 50) -> dict:
    """ms of brute-force search over the same vectors: what the FAISS index saves."""
    samples = []
    for run in range(runs + 1):
        for v in vectors:
            start = time.perf_counter()
            faiss.knn(
                v[None],
                store.vectors,
                min(pool, len(store.vectors)),
                metric=faiss.METRIC_INNER_PRODUCT,
            )
            if run:
                samples.append(ms_since(start))
    return summarize(samples)


def bm25_breakdown(store: IndexStore, questions: list[str], pool: int = 50) -> dict:
    """Where a BM25 query's time goes: analysing the question (with the vocabulary filter),
    bm25s scoring and top-k, and language detection (fused mode); and how many postings
    a query touches. Medians in ms."""
    vocab, indptr = store.bm25.vocab_dict, store.bm25.scores["indptr"]
    parts: dict[str, list[float]] = {"analyze": [], "bm25s_retrieve": [], "language": []}
    postings = []
    for q in questions:
        start = time.perf_counter()
        terms = [t for t in analyze(q) if t in vocab]
        parts["analyze"].append(ms_since(start))
        if terms:
            start = time.perf_counter()
            store.bm25.retrieve(
                [terms], k=min(pool, len(store.passages)), show_progress=False, n_threads=1
            )
            parts["bm25s_retrieve"].append(ms_since(start))
        start = time.perf_counter()
        text_language(q)
        parts["language"].append(ms_since(start))
        postings.append(sum(int(indptr[vocab[t] + 1] - indptr[vocab[t]]) for t in terms))
    out: dict = {name: round(percentile(v, 50), 3) for name, v in parts.items() if v}
    out["postings_per_query"] = int(np.median(postings))
    out["vocabulary"] = len(vocab)
    return out
