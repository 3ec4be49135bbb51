"""Retrieval on the real index: spans, fusion, modes, restriction to one article."""

from __future__ import annotations

import itertools

import pytest

from rag.errors import InputError
from rag.retrieval.retrieve import reciprocal_rank_fusion

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Siapa Menteri Komunikasi dan Informatika yang disebut?", "Rudiantara"),
        ("Kapan kelima produk mulai dipasarkan di Tiongkok?", "11 November 2018"),
        ("Which instant noodle brand will be sold through Alibaba?", "Indomie"),
        ("How many programmers does Kominfo's program aim for?", "20 ribu programmer"),
    ],
)
def test_the_passage_holding_the_answer_ranks_in_the_top_three(pipeline, question, expected):
    hits = pipeline.search(question, k=3).hits
    assert any(expected in h.passage.text for h in hits)


@pytest.mark.parametrize("mode", ["fused", "dense", "bm25"])
def test_hits_are_exact_slices_ranked_best_first(pipeline, article, mode):
    hits = pipeline.search("Jack Ma berkomitmen memberikan pelatihan", k=4, mode=mode).hits
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))
    for h in hits:
        assert article.text[h.passage.start : h.passage.end] == h.passage.text
        assert "Baca juga" not in h.passage.text


def test_boilerplate_headlines_are_never_retrieved(pipeline):
    for question in (
        "Sempat Diragukan, Ini Rahasia Jack Ma Besarkan Alibaba",
        "Bekraf Tawarkan 5 Produk Kreatif untuk Dipasarkan di Alibaba",
    ):
        for hit in pipeline.search(question, k=10).hits:
            assert "Baca juga" not in hit.passage.text
            assert "Bekraf" not in hit.passage.text and "Rahasia" not in hit.passage.text


def test_k_limits_the_number_of_hits(pipeline):
    assert len(pipeline.search("Alibaba", k=2).hits) == 2


def test_unknown_article_is_a_clear_error(pipeline):
    with pytest.raises(InputError, match="no article"):
        pipeline.search("Alibaba", doc_id="nope")


def test_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]])
    assert [row for row, _ in fused] == [1, 3, 2]


def test_sentence_vectors_saved_at_indexing_serve_a_new_process(tmp_path):
    from rag.retrieval.evidence import SENTENCE_VECTORS, document_sentences
    from tests.fakes import fake_pipeline

    pipeline, _ = fake_pipeline(tmp_path, [])
    files = pipeline.sentence_files
    doc = next(iter(pipeline.store.documents.values()))
    path = files.path(pipeline.embedder, doc)
    assert path.is_file()

    SENTENCE_VECTORS._vectors.clear()  # as in a new process
    assert files.load(pipeline.embedder, [doc]) == 1
    assert len(SENTENCE_VECTORS) == len(document_sentences(doc))

    path.write_bytes(b"damaged")  # a damaged file is passed over, then made again
    assert files.load(pipeline.embedder, [doc]) == 0
    path.unlink()
    files.save(pipeline.embedder, [doc])
    assert files.load(pipeline.embedder, [doc]) == 1
