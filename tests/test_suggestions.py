"""Suggested questions: parsing the model's list, the pool on disk, picking, the chat's
buttons, and a pool made and checked by the scripted model (no model loads here)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag import cli, suggestions
from rag.errors import BackendError
from rag.suggestions import (
    Pool,
    PoolMaker,
    Suggester,
    Suggestion,
    normalise,
    parse_questions,
    pick,
    pool_key,
    pool_path,
    read_pool,
    write_pool,
)
from rag.values import Document
from tests.conftest import make_pipeline
from tests.fakes import HashingEmbedder, fake_pipeline
from tests.test_ui import FakePipeline
from ui.actions import Actions
from ui.app import build_app
from ui.conversation import DONE, Conversation, Turn
from ui.suggestions import Offer

POOL = [
    Suggestion("Kapan kelima produk mulai dipasarkan di Tiongkok?", "id", "jack-ma-bali", "p4"),
    Suggestion("Berapa brand ada di platform Alibaba?", "id", "jack-ma-bali", "p5"),
    Suggestion("Siapa Menteri Kominfo yang disebut?", "id", "jack-ma-bali", "p10"),
    Suggestion(
        "Program apa yang dikembangkan Kominfo untuk programmer?", "id", "jack-ma-bali", "p11"
    ),
    Suggestion("When will the five products go on sale in China?", "en", "jack-ma-bali", "p4"),
]


@pytest.fixture(autouse=True)
def no_shipped_pool(tmp_path_factory, monkeypatch):
    """The bundled article's shipped pool would stand in for the ones the tests write."""
    monkeypatch.setattr(suggestions, "BUNDLED", tmp_path_factory.mktemp("shipped") / "suggestions")


def vectors(texts: list[str]) -> np.ndarray:
    return HashingEmbedder().embed(texts, "query")


def test_the_models_list_becomes_standalone_questions_in_its_language():
    reply = (
        "1. Siapa Menteri Kominfo yang disebut dalam artikel?\n"
        "2) Kapan itu terjadi?\n"  # leans on an earlier question
        "- Who is Rudiantara?\n"  # the other language
        "Siapa yang disebut di paragraf [8]?\n"  # the reader sees no numbered paragraphs
        "Jawaban: Rudiantara\n"  # not a question
        "* Siapa menteri Kominfo yang disebut dalam artikel??\n"  # the same words again
        '"Berapa programmer yang dikembangkan pemerintah lewat Kominfo?"\n'
    )
    assert parse_questions(reply, "id") == [
        "Siapa Menteri Kominfo yang disebut dalam artikel?",
        "Berapa programmer yang dikembangkan pemerintah lewat Kominfo?",
    ]
    assert parse_questions("", "en") == []


def test_picking_follows_the_last_exchange_and_skips_what_was_asked():
    vecs = vectors([s.question for s in POOL])
    exchange = vectors(["Siapa Rudiantara? Rudiantara adalah Menteri Kominfo."])[0]
    picked = pick(POOL, vecs, exchange, [], np.zeros((0, 0)), "id", 3)
    assert picked[0] == "Siapa Menteri Kominfo yang disebut?" and len(picked) == 3
    assert all(q in {s.question for s in POOL if s.language == "id"} for q in picked)
    asked = [
        "siapa  menteri KOMINFO yang disebut",
        "Kapan kelima produk mulai dipasarkan di Tiongkok",
    ]
    picked = pick(POOL, vecs, exchange, asked, vectors(asked), "id", 3)
    assert picked == [
        "Program apa yang dikembangkan Kominfo untuk programmer?",
        "Berapa brand ada di platform Alibaba?",
    ]
    assert pick(POOL, vecs, exchange, [], np.zeros((0, 0)), "en", 3) == [POOL[4].question]
    assert pick(POOL, vecs, exchange, [], np.zeros((0, 0)), "id", 1) == [POOL[2].question]


def test_a_near_copy_of_an_asked_question_is_not_offered(monkeypatch):
    monkeypatch.setattr(suggestions, "SAME_QUESTION", 0.8)
    vecs = vectors([s.question for s in POOL])
    asked = ["Menteri Kominfo siapa yang disebut di sini?"]
    picked = pick(POOL, vecs, vecs[2], asked, vectors(asked), "id", 3)
    assert POOL[2].question not in picked and len(picked) == 3


def test_the_pool_is_kept_under_its_key_and_a_damaged_one_is_made_again(tmp_path, article):
    settings = fake_pipeline(tmp_path, [])[0].settings
    key = pool_key(article, settings)
    changed = Document(article.doc_id, article.name, article.text + " Tambahan.", "id")
    assert pool_key(changed, settings) != key
    assert pool_key(article, settings.__class__(**{**vars(settings), "profile": "fast"})) != key
    path = pool_path(tmp_path, article.doc_id)
    assert read_pool(path, key) is None  # none yet
    write_pool(path, Pool(article.doc_id, key, POOL[:2], [{"question": "x", "reason": "refused"}]))
    assert read_pool(path, key).questions == POOL[:2]
    assert read_pool(path, "another-key") is None
    path.write_text('{"format": 1, "key": "' + key + '", "questions": [{"q": 1}]', "utf-8")
    assert read_pool(path, key) is None
    assert normalise("Kapan, kelima   produk?") == "kapan kelima produk"


def stored_pool(pipeline, questions=POOL) -> None:
    doc = pipeline.store.documents["jack-ma-bali"]
    path = pool_path(pipeline.settings.index_dir, doc.doc_id)
    write_pool(path, Pool(doc.doc_id, pool_key(doc, pipeline.settings), list(questions)))


def products_unit(pipeline) -> int:
    return next(i for i, p in enumerate(pipeline.store.passages, 1) if "lima produk" in p.text)


def test_the_chat_offers_suggestions_after_an_answer_and_a_click_asks_one(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    unit = products_unit(pipeline)
    backend.replies = [f"Ada lima produk yang akan dipasarkan lewat Alibaba [{unit}]."]
    answer = pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")
    assert not answer.abstained
    offer = Offer(pipeline, actions=None)
    conv = Conversation(
        turns=[Turn(answer.question, DONE, answer=answer, standalone=answer.question)]
    )
    heading, *buttons = offer.after_answer(conv)
    assert not heading.visible and not any(b.visible for b in buttons)  # no pool: nothing

    stored_pool(pipeline)
    heading, *buttons = offer.after_answer(conv)
    shown = [b.value for b in buttons if b.visible]
    assert heading.visible and len(shown) == 3
    assert set(shown) <= {s.question for s in POOL if s.language == "id"}
    assert Suggester(pipeline).suggest(answer, [answer.question], "no-such-article") == []

    conv.busy = True  # an answer is being written: nothing is offered meanwhile
    assert not offer.after_answer(conv)[0].visible


def test_a_click_queues_the_question_as_typed(tmp_path):
    pipeline, _ = fake_pipeline(tmp_path, [])
    offer = Offer(pipeline, Actions(pipeline))
    conv = Conversation()
    _, _, ticket, heading, *buttons = offer.ask(POOL[1].question, conv, "auto", 4, "*", False, "en")
    assert [j.question for j in conv.waiting] == [POOL[1].question] and ticket
    assert not heading.visible and not any(b.visible for b in buttons)


def test_a_pool_is_written_checked_and_stored(tmp_path):
    doc = Document(
        "pasar",
        "pasar.txt",
        "Pemerintah Kota Makassar meresmikan Pasar Digital Makassar pada 12 Maret 2024. "
        "Pasar itu menampung 1.200 UMKM.",
        "id",
    )
    generated = [
        "1. Kapan Pasar Digital Makassar diresmikan?\n"
        "2. Berapa UMKM yang ditampung Pasar Digital Makassar?\n"
        "3. Siapa wali kota Makassar?",
        "When was the Makassar Digital Market opened?",
    ]
    checks = {  # the scripted model answers every check in the order they are asked
        "Kapan Pasar Digital Makassar diresmikan?": "Pasar itu diresmikan pada 12 Maret 2024 [1].",
        "Berapa UMKM yang ditampung Pasar Digital Makassar?": "Pasar itu menampung 1.200 UMKM [1].",
        "Siapa wali kota Makassar?": "NOT IN ARTICLE",
        "When was the Makassar Digital Market opened?": "It was opened on 12 March 2024 [1].",
    }
    pipeline, backend = fake_pipeline(tmp_path, [], documents=[doc])
    backend.replies = [*generated, *checks.values()]
    pool = PoolMaker(pipeline, workers=1, say=lambda _: None).make("pasar")
    kept = {s.question for s in pool.questions}
    assert "Kapan Pasar Digital Makassar diresmikan?" in kept
    assert "Siapa wali kota Makassar?" not in kept
    assert any(r["question"] == "Siapa wali kota Makassar?" for r in pool.rejected)
    assert all(s.doc_id == "pasar" and s.answer for s in pool.questions)
    stored = json.loads(pool_path(tmp_path, "pasar").read_text("utf-8"))
    assert stored["key"] == pool_key(doc, pipeline.settings)
    assert PoolMaker(pipeline).missing() == []  # made once; not again


def test_the_shipped_pool_stands_in_when_its_key_matches(tmp_path, monkeypatch):
    pipeline, _ = fake_pipeline(tmp_path / "index", [])
    doc = pipeline.store.documents["jack-ma-bali"]
    shipped = tmp_path / "data" / "suggestions"
    monkeypatch.setattr(suggestions, "BUNDLED", shipped)
    assert PoolMaker(pipeline).missing() == ["jack-ma-bali"]
    write_pool(
        pool_path(shipped.parent, doc.doc_id),
        Pool(doc.doc_id, pool_key(doc, pipeline.settings), POOL),
    )
    assert PoolMaker(pipeline).missing() == []
    assert Suggester(pipeline).pool(doc.doc_id)[0] == POOL


def test_a_failed_check_is_recorded_and_the_others_go_on(tmp_path):
    doc = Document("pasar", "pasar.txt", "Pasar Digital Makassar menampung 1.200 UMKM.", "id")
    pipeline, backend = fake_pipeline(tmp_path, [], documents=[doc])
    backend.replies = [
        "Berapa UMKM yang ditampung Pasar Digital Makassar?",
        BackendError("the model process crashed"),  # the English list
        BackendError("the model process crashed"),  # the check
    ]
    pool = PoolMaker(pipeline, workers=1, say=lambda _: None).make("pasar")
    assert pool.questions == [] and pool.rejected[0]["reason"].startswith("failed")


SHORT = Document(
    "kopi-makassar",
    "kopi-makassar.txt",
    "PT Sinar Kopi Nusantara membuka kedai kopi pertamanya di Makassar pada 3 Maret 2031. "
    "Kedai itu berada di Jalan Pettarani dan mempekerjakan 45 barista lokal.\n"
    "Direktur utama perusahaan, Andi Rahmawati, mengatakan kopi yang dijual berasal dari "
    "petani di Toraja. Perusahaan berencana membuka sepuluh kedai lagi di Sulawesi tahun depan.",
    "id",
)


@pytest.mark.slow
def test_the_real_model_writes_checked_suggestions_and_answers_one(tmp_path):
    pipeline = make_pipeline(tmp_path)
    pipeline.index_documents([SHORT])
    pool = PoolMaker(pipeline).make(SHORT.doc_id)
    print({"kept": [s.question for s in pool.questions], "rejected": pool.rejected})
    assert pool.questions, pool.rejected
    assert {s.language for s in pool.questions} <= {"id", "en"}
    answer = pipeline.ask("Di mana kedai kopi pertama PT Sinar Kopi Nusantara dibuka?")
    offered = Suggester(pipeline).suggest(answer, [answer.question], SHORT.doc_id)
    assert offered, "no suggestion in the answer's language"
    clicked = pipeline.ask(offered[0], history=[answer.standalone_question])
    assert not clicked.abstained and clicked.citations, clicked


def test_the_app_has_the_suggestion_buttons_and_no_new_public_endpoint(tmp_path):
    fake = FakePipeline()
    fake.settings = fake.settings.__class__(index_dir=tmp_path)
    blocks = build_app(fake)
    assert list(blocks.get_api_info()["named_endpoints"]) == ["/ask"]
    ids = {getattr(b, "elem_id", None) for b in blocks.blocks.values()}
    assert {"suggestions-head", "suggestion-0", "suggestion-1", "suggestion-2"} <= ids


def test_rag_index_makes_pools_only_when_asked(tmp_path, monkeypatch):
    pipeline, _ = fake_pipeline(tmp_path, [])
    made = []
    monkeypatch.setattr(cli, "pipeline_for", lambda args: pipeline)
    monkeypatch.setattr(PoolMaker, "make_missing", lambda self: made.append(self.missing()))
    assert cli.main(["index"]) == 0 and made == []
    assert cli.main(["index", "--suggestions"]) == 0 and made == [["jack-ma-bali"]]
