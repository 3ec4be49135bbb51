"""An index cut into shards, searched by fanning out and merging.

A shard is a contiguous range of passage rows with its own FAISS index and its own BM25
matrix. Search asks every shard for its best rows and merges them, so a sharded index
answers exactly as one index would:

- dense scores are inner products of the same vectors, and the merge orders rows by
  (score, row) as ``rag.retrieval.retrieve`` does for a single index;
- BM25 scores do not depend on the number of shards: term statistics (document
  frequencies, passages, average length) are the whole corpus', so every (passage, term)
  score is the same float. A shard's matrix is either the slice of the matrix built over
  the whole corpus (``slice_bm25``), or built on its own from the summed statistics of all
  shards (``term_stats``, ``bm25_part``: what a cluster does, shard by shard).

Fan-out runs in threads on one machine (``ThreadFanout``, here) or in Ray actors when the
index is served on a cluster (``rag.engines.ray_engine``). An exact (flat) shard index gives
the same ranking as the single index; above ``rag.store.dense.EXACT_SEARCH_LIMIT`` passages a
shard is an IVF index, approximate like the single one.

>>> split_rows(10, 3)
[(0, 4), (4, 7), (7, 10)]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Protocol

import bm25s
import faiss
import numpy as np
from bm25s import scoring

from rag.text.analyzer import analyze

NO_TERMS = "\u2205"  # the term of a passage that has none


def split_rows(n: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous (start, stop) ranges covering n rows, sizes differing by one."""
    base, extra = divmod(n, shards)
    bounds = [0]
    for i in range(shards):
        bounds.append(bounds[-1] + base + (i < extra))
    return list(pairwise(bounds))


def shard_count(wanted: int, passages: int) -> int:
    """The shards an index of ``passages`` is cut into: as wanted, never an empty one.

    >>> shard_count(4, 10), shard_count(4, 2), shard_count(3, 0)
    (4, 2, 1)
    """
    return max(1, min(wanted, passages))


def slice_bm25(bm25: bm25s.BM25, start: int, stop: int) -> bm25s.BM25:
    """The BM25 index of rows [start, stop) with the whole corpus' term statistics: the
    columns of the global score matrix for those rows, renumbered from 0."""
    indptr, indices, data = (bm25.scores[k] for k in ("indptr", "indices", "data"))
    keep = (indices >= start) & (indices < stop)
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    part = bm25s.BM25(k1=bm25.k1, b=bm25.b, delta=bm25.delta, method=bm25.method)
    part.scores = {
        "data": data[keep],
        "indices": (indices[keep] - start).astype(indices.dtype),
        "indptr": kept_before[indptr].astype(indptr.dtype),
        "num_docs": stop - start,
    }
    part.vocab_dict = bm25.vocab_dict
    part.nonoccurrence_array = None  # lucene scoring: a missing term adds nothing
    return part


def bm25_top(
    bm25: bm25s.BM25, terms: list[str] | list[int], n: int, offset: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The n best (scores, rows + offset) of a BM25 index for the terms, by score then row
    (equal scores at the cut: the lowest rows), positive scores only. Partitioning, not a
    full sort: bm25s's own top-k took ~35 ms at a million passages when many scores tie.

    >>> index = bm25s.BM25(); index.index([["a"], ["a", "b"], ["b"], ["a"]], show_progress=False)
    >>> bm25_top(index, ["a"], 2)[1]
    array([0, 3])
    """
    scores = bm25.get_scores(terms)
    n = min(n, len(scores))
    if n == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    cut = scores[np.argpartition(-scores, n - 1)[n - 1]]  # the n-th best score
    above = np.flatnonzero(scores > cut)
    top = np.concatenate([above, np.flatnonzero(scores == cut)[: n - len(above)]])
    top = top[np.lexsort((top, -scores[top]))]
    top = top[scores[top] > 0]
    return scores[top], top.astype(np.int64) + offset


def merge_top(parts: list[tuple[np.ndarray, np.ndarray]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """The n best (scores, rows) of the shards' own best, by score then row."""
    scores = np.concatenate([s for s, _ in parts])
    rows = np.concatenate([r for _, r in parts])
    best = np.lexsort((rows, -scores))[:n]
    return scores[best], rows[best]


@dataclass(frozen=True)
class TermStats:
    """What BM25 needs to know of a whole corpus: document frequencies, passages, length."""

    document_frequencies: Counter = field(default_factory=Counter)
    passages: int = 0
    tokens: int = 0

    def __add__(self, other: TermStats) -> TermStats:
        return TermStats(
            self.document_frequencies + other.document_frequencies,
            self.passages + other.passages,
            self.tokens + other.tokens,
        )


def passage_terms(text: str) -> list[str]:
    """The BM25 terms of a passage (a placeholder for one with none: bm25s needs one)."""
    return analyze(text) or [NO_TERMS]


def term_stats(texts: list[str]) -> TermStats:
    """The term statistics of some passages (add them up over a corpus)."""
    frequencies: Counter = Counter()
    tokens = 0
    for text in texts:
        terms = passage_terms(text)
        frequencies.update(set(terms))
        tokens += len(terms)
    return TermStats(frequencies, len(texts), tokens)


def vocabulary(stats: TermStats) -> dict[str, int]:
    """Term ids for a whole corpus: its terms in sorted order, then bm25s's empty token."""
    vocab = {term: i for i, term in enumerate(sorted(stats.document_frequencies))}
    vocab[""] = len(vocab)
    return vocab


def bm25_part(texts: list[str], stats: TermStats, vocab: dict[str, int]) -> bm25s.BM25:
    """The BM25 index of some passages with the whole corpus' statistics: the same scores
    as their rows of an index built over the whole corpus (bm25s's own scoring functions,
    given the global document frequencies and average length)."""
    part = bm25s.BM25()
    frequencies = {vocab[t]: df for t, df in stats.document_frequencies.items()}
    frequencies[vocab[""]] = 0
    idf = scoring._build_idf_array(
        frequencies, stats.passages, scoring._select_idf_scorer(part.idf_method), part.dtype
    )
    ids = [[vocab[t] for t in passage_terms(text)] for text in texts]
    here = Counter(i for doc in ids for i in set(doc))  # sizes the arrays to these passages
    average = np.float64(stats.tokens / stats.passages)  # a NumPy float, as bm25s computes it
    data, rows, cols = scoring._build_scores_and_indices_for_matrix(
        ids,
        idf,
        average,
        dict(here),
        part.k1,
        part.b,
        part.delta,
        None,
        method=part.method,
        dtype=part.dtype,
        int_dtype=part.int_dtype,
        show_progress=False,
    )
    shape = (len(texts), len(vocab))
    data, indices, indptr = part._np_csc(data=data, rows=rows, cols=cols, shape=shape)
    part.scores = {
        "data": data.astype(part.dtype),
        "indices": indices,
        "indptr": indptr,
        "num_docs": len(texts),
    }
    part.vocab_dict = vocab
    part.nonoccurrence_array = None
    part.unique_token_ids_set = set(vocab.values())
    return part


@dataclass(frozen=True)
class Shard:
    """Rows [start, stop) of the index, with their dense and BM25 indexes."""

    start: int
    stop: int
    dense: faiss.Index
    bm25: bm25s.BM25

    def search(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The shard's n best (scores, global rows) for one query vector."""
        n = min(n, self.stop - self.start)
        scores, rows = self.dense.search(query.reshape(1, -1).astype(np.float32), n)
        found = rows[0] >= 0
        return scores[0][found], rows[0][found].astype(np.int64) + self.start

    def bm25_top(self, term_ids: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
        """The shard's n best (BM25 scores, global rows)."""
        return bm25_top(self.bm25, term_ids, n, self.start)


class Fanout(Protocol):
    """Runs one call on every shard and returns the results in shard order."""

    def search(self, query: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]: ...

    def bm25_top(self, term_ids: list[int], n: int) -> list[tuple[np.ndarray, np.ndarray]]: ...


class ThreadFanout:
    """Every shard in memory here, searched in parallel threads (FAISS and NumPy release
    the GIL)."""

    def __init__(self, shards: Sequence[Shard]):
        self.shards = list(shards)
        self._pool = ThreadPoolExecutor(max_workers=len(self.shards), thread_name_prefix="shard")

    def _each(self, call: Callable[[Shard], object]) -> list:
        return list(self._pool.map(call, self.shards))

    def search(self, query: np.ndarray, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return self._each(lambda shard: shard.search(query, n))

    def bm25_top(self, term_ids: list[int], n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return self._each(lambda shard: shard.bm25_top(term_ids, n))


class ShardedDense:
    """The FAISS calls retrieval makes (``search``, ``ntotal``), over every shard."""

    def __init__(self, fanout: Fanout, ntotal: int):
        self.fanout, self.ntotal = fanout, ntotal

    def search(self, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The n best (scores, rows) over all shards, for one query, best first."""
        scores, rows = merge_top(self.fanout.search(queries[0], n), n)
        return scores[None, :], rows[None, :]


class ShardedBM25:
    """BM25 over every shard: the vocabulary, and the best rows for some terms."""

    def __init__(self, fanout: Fanout, vocab_dict: dict[str, int]):
        self.fanout, self.vocab_dict = fanout, vocab_dict

    def top(self, terms: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
        """The n best (scores, rows) over all shards: each shard sends only its own n best."""
        term_ids = [self.vocab_dict[t] for t in terms]
        return merge_top(self.fanout.bm25_top(term_ids, n), n)
