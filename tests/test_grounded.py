"""Instruction-tuned answers: routing, model refusals, renumbered citations, follow-ups."""

from __future__ import annotations

import pytest

from rag.answer.cite import CitedAnswer, invented_facts
from rag.answer.context import build_context, chat_messages
from rag.answer.followup import accept_rewrite, needs_rewrite
from rag.answer.grounded import english_numbers, model_refused, renumber, unit_candidates
from rag.values import Citation
from tests.fakes import fake_pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """The bundled article indexed on the fakes: these tests need its passages, not a model."""
    return fake_pipeline(tmp_path_factory.mktemp("index"), [])[0]


@pytest.mark.parametrize(
    "reply",
    [
        "NOT IN ARTICLE",
        "The article does not mention Jack Ma's age.",
        "Informasi tersebut tidak disebutkan dalam artikel.",
        "Artikel tidak menyebutkan umur Jack Ma.",
        "I don't know.",
    ],
)
def test_a_model_saying_the_text_lacks_the_answer_is_a_refusal(reply):
    assert model_refused(reply)


@pytest.mark.parametrize("reply", ["Rudiantara [3].", "Lima produk akan dipasarkan [2]."])
def test_answers_are_not_refusals(reply):
    assert not model_refused(reply)


def test_indonesian_numbers_in_english_answers():
    assert english_numbers("a program of 20 ribu programmers") == "a program of 20,000 programmers"
    assert english_numbers("10 juta brand") == "10 million brand"


def test_names_spelled_the_english_way_are_not_invented():
    sources = "Menteri Komunikasi dan Informatika (Kominfo) Rudiantara menjelaskan."
    answer = "The Minister of Communication and Informatics, Rudiantara, explained it."
    assert invented_facts(answer, sources, translated=True) == set()
    assert invented_facts("Minister Budiman explained it.", sources, translated=True) == {"budiman"}
    assert invented_facts("Jack Ma is 54 years old.", sources, translated=True) == {"54"}


def test_whole_article_when_it_fits_else_the_retrieved_passages(pipeline):
    store = pipeline.store
    hits = pipeline.search("Siapa Rudiantara?", k=2).hits
    whole = build_context(store, list(hits), None, context_tokens=4096)
    assert whole.route == "article"
    assert [u.id for u in whole.units] == [p.id for p in store.passages]
    small = build_context(store, list(hits), None, context_tokens=1000)
    assert small.route == "passages" and [u.id for u in small.units] == [h.passage.id for h in hits]
    system, user = chat_messages(whole, "Siapa Rudiantara?", "id")
    assert system[0] == "system" and "[8]" in system[1] and "Siapa" not in system[1]
    assert "Siapa Rudiantara?" in user[1] and "bahasa Indonesia" in user[1]


def test_markers_count_the_answers_passages(pipeline):
    store = pipeline.store
    hits = list(pipeline.search("Siapa Rudiantara?", k=1).hits)
    context = build_context(store, hits, None, context_tokens=4096)
    candidates = unit_candidates(store, context)
    outside = next(e for e in candidates if e.hit.passage.id != hits[0].passage.id)
    s = outside.sentence
    citation = Citation(outside.marker, outside.hit.passage.id, s.doc_id, s.start, s.end, s.text)
    cited = CitedAnswer(f"Jawaban [{outside.marker}].", (citation,), 1.0, 1.0)
    renumbered, new_hits = renumber(cited, hits, context)
    assert len(new_hits) == 2 and new_hits[1].passage.id == outside.hit.passage.id
    assert renumbered.text == "Jawaban [2]." and renumbered.citations[0].marker == 2


def test_follow_ups_and_new_subjects():
    assert needs_rewrite("Kapan mulai dipasarkan?", ["Produk apa yang dijual lewat Alibaba?"])
    assert not needs_rewrite("Siapa Rudiantara?", ["Siapa Darmin Nasution?"])
    assert not needs_rewrite("Siapa Rudiantara?", [])
    assert accept_rewrite("Question: When will the products be sold?", "When?") == (
        "When will the products be sold?"
    )
    assert accept_rewrite("", "When?") == ""
