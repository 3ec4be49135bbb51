"""An index cut into shards, searched by fanning out and merging.

A shard is a contiguous range of passage rows with its own FAISS index and its own BM25
matrix. Search asks every shard for its best rows and merges them, so a sharded index
answers exactly as one index would:

- dense scores are inner products of the same vectors, and the merge orders rows by
  (score, row) as ``rag.retrieve`` does for a single index;
- BM25 scores do not depend on the number of shards: a shard's matrix is the slice of the
  matrix built over the whole corpus, so term statistics (document frequencies, average
  length) are global and every (passage, term) score is the same float.

Fan-out runs in threads on one machine (``ThreadFanout``, here) or in Ray actors when the
index is served on a cluster (``rag.cluster``). An exact (flat) shard index gives the same
ranking as the single index; above ``rag.dense.EXACT_SEARCH_LIMIT`` passages a shard is an
IVF index, approximate like the single one.

>>> split_rows(10, 3)
[(0, 4), (4, 7), (7, 10)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

import bm25s
import faiss
import numpy as np


def split_rows(n: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous (start, stop) ranges covering n rows, sizes differing by one."""
    base, extra = divmod(n, shards)
    bounds = [0]
    for i in range(shards):
        bounds.append(bounds[-1] + base + (i < extra))
    return list(pairwise(bounds))


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
