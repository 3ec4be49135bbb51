"""An index cut into shards ranks exactly as a single one (fast: the hashing embedder,
whose many equal scores also check the merge order). The real embedder and Ray actors are
in test_cluster.py."""

from __future__ import annotations

import numpy as np
import pytest

from rag.articles.chunking import ChunkingConfig
from rag.articles.corpus import default_documents
from rag.retrieval.retrieve import MODES, retrieve
from rag.store.index import build_index, load_index, save_index
from rag.store.shards import (
    TermStats,
    bm25_part,
    slice_bm25,
    split_rows,
    term_stats,
    vocabulary,
)
from rag.values import Document
from tests.fakes import HashingEmbedder, fake_pipeline

QUERIES = ["Produk apa saja yang dipasarkan Alibaba?", "Siapa Rudiantara?", "20 ribu programmer"]


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    article = default_documents()[0]
    return [article] + [
        Document(f"b{i}", f"b{i}.txt", article.text.replace("Bali", f"Kota {i}"), "id")
        for i in range(12)
    ]


def ranking(store, embedder) -> list:
    return [
        [(h.passage.id, h.score) for h in retrieve(store, embedder, q, 10, mode)]
        for q in QUERIES
        for mode in MODES
    ]


@pytest.mark.parametrize("shards", [2, 3, 4])
def test_a_sharded_index_ranks_as_a_single_one_saved_or_not(documents, tmp_path, shards):
    embedder = HashingEmbedder()
    single = build_index(documents, embedder, ChunkingConfig(), progress=False)
    sharded = build_index(documents, embedder, ChunkingConfig(), progress=False, shards=shards)
    save_index(sharded, tmp_path)
    loaded = load_index(tmp_path)

    assert [p.id for p in loaded.passages] == [p.id for p in single.passages]
    assert np.array_equal(loaded.vectors, single.vectors)
    assert len(loaded.shards) == shards == len(loaded.manifest["shards"])
    assert ranking(sharded, embedder) == ranking(loaded, embedder) == ranking(single, embedder)


def test_bm25_scores_do_not_depend_on_the_number_of_shards(documents):
    store = build_index(documents, HashingEmbedder(), ChunkingConfig(), progress=False)
    terms = ["alibaba", "produk", "bali"]
    whole = store.bm25.get_scores(terms)
    for shards in (2, 5):
        parts = [slice_bm25(store.bm25, a, b) for a, b in split_rows(len(whole), shards)]
        assert np.array_equal(np.concatenate([p.get_scores(terms) for p in parts]), whole)


def test_split_rows_covers_every_row_once():
    assert split_rows(10, 4) == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert split_rows(1, 1) == [(0, 1)]


def test_the_shard_setting_cuts_the_pipeline_index_and_a_change_rebuilds_it(tmp_path):
    pipeline, _ = fake_pipeline(tmp_path, [], shards=3)
    assert len(pipeline.store.manifest["shards"]) == 3
    again, _ = fake_pipeline(tmp_path, [], shards=1)
    assert "shards" not in again.store.manifest


@pytest.mark.parametrize("shards", [1, 3])
def test_shards_built_on_their_own_from_summed_statistics_score_as_one_index(documents, shards):
    store = build_index(documents, HashingEmbedder(), ChunkingConfig(), progress=False)
    texts = [p.text for p in store.passages]
    ranges = split_rows(len(texts), shards)
    stats = sum((term_stats(texts[a:b]) for a, b in ranges), start=TermStats())
    vocab = vocabulary(stats)
    parts = [bm25_part(texts[a:b], stats, vocab) for a, b in ranges]
    for terms in (["alibaba", "produk"], ["rudiantara"], ["bali", "jack", "ma", "kota"]):
        terms = [t for t in terms if t in store.bm25.vocab_dict]
        whole = store.bm25.get_scores(terms)
        apart = np.concatenate([p.get_scores([vocab[t] for t in terms]) for p in parts])
        assert np.array_equal(apart, whole), terms
