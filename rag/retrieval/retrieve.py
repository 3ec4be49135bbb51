"""Find the passages that answer a question: dense (FAISS), BM25, and their fusion.

Fusion is reciprocal-rank fusion: each retriever's rank r adds 1 / (RRF_K + r). It needs
no score calibration between cosine and BM25. BM25 only votes for passages whose article
is in the question's language: across languages it matches little but names and
loan-words, and on the project's test set its vote then pulled English questions about
the Indonesian article below dense retrieval alone (see ``rag eval --retrieval-only``).

>>> reciprocal_rank_fusion([[3, 1, 2], [1, 3]], k=60)[:2]
[(1, 0.03252247488101534), (3, 0.03252247488101534)]
"""

from __future__ import annotations

import numpy as np

from rag.embedding.embedder import Embedder
from rag.store.index import IndexStore
from rag.store.shards import ShardedBM25, bm25_top
from rag.text.analyzer import analyze
from rag.text.language import question_language
from rag.values import Hit

RRF_K = 60
MODES = ("fused", "dense", "bm25")


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
    ranked: list[tuple[int, float]]
    if mode == "bm25":
        ranked = bm25_ranking(store, question, pool)
    else:
        if query_vector is None:
            query_vector = embedder.embed_query(question)
        dense = dense_ranking(store, query_vector, pool)
        if mode == "dense":
            ranked = dense
        else:
            lexical = [r for r, _ in bm25_ranking(store, question, pool)]
            lexical = same_language_rows(store, lexical, question_language(question))
            ranked = reciprocal_rank_fusion([[r for r, _ in dense], lexical])
    hits = []
    for row, score in ranked:
        passage = store.passages[row]
        if doc_id is None or passage.doc_id == doc_id:
            hits.append(Hit(passage, score, rank=len(hits) + 1))
        if len(hits) == k:
            break
    return hits
