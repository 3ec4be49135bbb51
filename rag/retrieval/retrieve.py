"""Find the passages that answer a question: dense (FAISS), BM25, and their fusion.

The modes are a registry (``MODES``: name -> ranker); the CLI's ``--mode``, the evaluation
and the benchmark list what it holds, so a new mode is one ranker and one entry.

Fusion is reciprocal-rank fusion: each retriever's rank r adds 1 / (RRF_K + r). It needs
no score calibration between cosine and BM25. BM25 only votes for passages whose article
is in the question's language: across languages it matches little but names and
loan-words, and on the project's test set its vote then pulled English questions about
the Indonesian article below dense retrieval alone (see ``rag eval --retrieval-only``).

>>> reciprocal_rank_fusion([[3, 1, 2], [1, 3]], k=60)[:2]
[(1, 0.03252247488101534), (3, 0.03252247488101534)]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rag.embedding.embedder import Embedder
from rag.errors import InputError
from rag.store.index import IndexStore
from rag.store.shards import ShardedBM25, bm25_top
from rag.text.analyzer import analyze
from rag.text.language import question_language
from rag.values import Hit

RRF_K = 60
# (store, embedder, question, how many, the question's vector or None) -> (row, score), best first
Ranker = Callable[[IndexStore, Embedder, str, int, np.ndarray | None], list[tuple[int, float]]]


def dense_ranking(store: IndexStore, query_vector: np.ndarray, n: int) -> list[tuple[int, float]]:
    """Passage rows by cosine similarity, best first (equal scores: the lower row first, so
    that an index cut into shards ranks exactly as a single one)."""
    n = min(n, len(store.passages))
    scores, rows = store.dense.search(query_vector.reshape(1, -1).astype(np.float32), n)
    found = rows[0] >= 0
    scores, rows = scores[0][found], rows[0][found]
    order = np.lexsort((rows, -scores))
    return [(int(rows[i]), float(scores[i])) for i in order]


def bm25_ranking(store: IndexStore, question: str, n: int) -> list[tuple[int, float]]:
    """Passage rows by BM25 score, best first; passages sharing no term are left out."""
    terms = [t for t in analyze(question) if t in store.bm25.vocab_dict]
    if not terms:
        return []
    if isinstance(store.bm25, ShardedBM25):
        scores, rows = store.bm25.top(terms, n)
    else:
        scores, rows = bm25_top(store.bm25, terms, n)
    return [(int(r), float(s)) for r, s in zip(rows, scores, strict=True)]


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Lists of rows, best first -> fused (row, score), best first; ties keep row order."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, start=1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def same_language_rows(store: IndexStore, rows: list[int], language: str) -> list[int]:
    """The rows whose article is in ``language`` (articles of unknown language count too)."""
    docs = store.documents
    return [r for r in rows if docs[store.passages[r].doc_id].language in (language, "")]


def _vector(embedder: Embedder, question: str, query_vector: np.ndarray | None) -> np.ndarray:
    return embedder.embed_query(question) if query_vector is None else query_vector


def dense_mode(store, embedder, question, n, query_vector) -> list[tuple[int, float]]:
    """Cosine similarity of the question's vector alone."""
    return dense_ranking(store, _vector(embedder, question, query_vector), n)


def bm25_mode(store, embedder, question, n, query_vector) -> list[tuple[int, float]]:
    """BM25 alone (no embedding)."""
    return bm25_ranking(store, question, n)


def fused_mode(store, embedder, question, n, query_vector) -> list[tuple[int, float]]:
    """Dense and BM25 fused by reciprocal rank; BM25 votes only in the question's language."""
    dense = dense_ranking(store, _vector(embedder, question, query_vector), n)
    lexical = [r for r, _ in bm25_ranking(store, question, n)]
    lexical = same_language_rows(store, lexical, question_language(question))
    return reciprocal_rank_fusion([[r for r, _ in dense], lexical])


MODES: dict[str, Ranker] = {"fused": fused_mode, "dense": dense_mode, "bm25": bm25_mode}


def ranker(mode: str) -> Ranker:
    """The mode's ranker, or an InputError listing the modes."""
    if mode not in MODES:
        raise InputError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}.")
    return MODES[mode]


def retrieve(
    store: IndexStore,
    embedder: Embedder,
    question: str,
    k: int = 4,
    mode: str = "fused",
    doc_id: str | None = None,
    query_vector: np.ndarray | None = None,
) -> list[Hit]:
    """The k best passages for a question, optionally within one document."""
    pool = max(4 * k, 50)
    if doc_id is not None:  # filter after ranking: widen the pool to the whole corpus
        pool = len(store.passages)
    ranked = ranker(mode)(store, embedder, question, pool, query_vector)
    hits = []
    for row, score in ranked:
        passage = store.passages[row]
        if doc_id is None or passage.doc_id == doc_id:
            hits.append(Hit(passage, score, rank=len(hits) + 1))
        if len(hits) == k:
            break
    return hits
