"""The pipeline's decisions on fast fakes (tests/fakes.py): routing, retry, fallback,
refusal, follow-ups and citation checks. The index, chunking, citation and refusal logic
are the real ones; only the embedder and the LLM are stand-ins. The same paths on the real
models are covered by the slow tests (test_ask, test_hostile, test_llm)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.cite import LEXICAL_MIN
from rag.answer.followup import standalone_question
from rag.answer.refusal import refusal_text
from rag.answer.verdict import FALLBACK_LABEL
from rag.errors import BackendError
from rag.retrieval.evidence import sentences_in
from rag.values import Document, EventKind
from tests.fakes import fake_pipeline

FIVE_PRODUCTS = "Ada lima produk yang akan dipasarkan lewat Alibaba"


def system_prompt(messages) -> str:
    return dict(messages)["system"]


def unit_of(prompt: str, words: str) -> int:
    """The number the prompt gives the context unit that holds the words."""
    line = next(line for line in prompt.splitlines() if words in line)
    return int(line[1 : line.index("]")])


def test_a_chat_model_reads_the_whole_article_and_its_answer_is_cited(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    context = "\n".join(f"[{i}] {p.text}" for i, p in enumerate(pipeline.store.passages, 1))
    unit = unit_of(context, "ada lima produk")
    backend.replies = [f"{FIVE_PRODUCTS} [{unit}]."]

    answer = pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")

    assert answer.route == "article"
    assert f"[1] {pipeline.store.passages[0].text[:40]}" in system_prompt(backend.prompts[0])
    assert not answer.abstained
    [citation] = answer.citations
    assert "ada lima produk" in citation.text
    cited = answer.hits[citation.marker - 1].passage
    assert cited.start <= citation.start < citation.end <= cited.end  # the marker counts hits
    assert answer.answer == f"{FIVE_PRODUCTS} [{citation.marker}]."


def test_a_marker_on_a_unit_that_does_not_hold_the_claim_is_moved_to_one_that_does(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    last = pipeline.store.passages[-1]  # Darmin's team: nothing about products
    backend.replies = [f"{FIVE_PRODUCTS} [{len(pipeline.store.passages)}]."]

    answer = pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")

    [citation] = answer.citations
    assert citation.passage_id != last.id
    assert citation.support >= LEXICAL_MIN and "dipasarkan lewat platform Alibaba" in citation.text


def test_a_sentence_with_an_invented_number_is_withdrawn(tmp_path):
    reply = f"{FIVE_PRODUCTS} [2]. Harganya 99 ribu dolar per produk [2]."
    pipeline, _ = fake_pipeline(tmp_path, [reply])

    answer = pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")

    assert not answer.abstained
    assert "99" not in answer.answer and answer.answer.startswith(FIVE_PRODUCTS)


def test_an_answer_the_article_does_not_support_is_refused(tmp_path):
    question = "Kapan Jack Ma lahir?"
    pipeline, _ = fake_pipeline(tmp_path, ["Jack Ma lahir pada 1964 di Hangzhou [1]."])

    answer = pipeline.ask(question)

    assert answer.abstained and answer.citations == ()
    assert answer.answer == refusal_text("id", question)
    assert answer.raw_answer.startswith("Jack Ma lahir pada 1964")  # kept for transparency


@pytest.mark.parametrize(
    ("question", "reply", "language"),
    [
        ("Berapa umur Jack Ma?", "Artikel tidak menyebutkan umur Jack Ma.", "id"),
        ("How old is Jack Ma?", "The article does not say how old he is.", "en"),
    ],
)
def test_a_model_that_says_the_article_does_not_say_abstains(tmp_path, question, reply, language):
    pipeline, _ = fake_pipeline(tmp_path, [reply])

    answer = pipeline.ask(question)

    assert answer.language == language
    assert answer.abstained and answer.answer == refusal_text(language, question)


def test_a_failed_model_gives_the_best_supported_sentences_labelled_as_such(tmp_path):
    pipeline, _ = fake_pipeline(tmp_path, [BackendError("the model process was killed")])

    events = list(pipeline.ask_stream("Berapa programmer yang dikembangkan lewat Kominfo?"))

    answer = events[-1].answer
    assert answer.fallback == "the model process was killed"
    assert answer.answer.startswith(FALLBACK_LABEL["id"]) and not answer.abstained
    assert answer.citations and "20 ribu programmer" in answer.answer


def test_a_base_model_gets_a_second_try_on_the_top_passage_when_unsupported(tmp_path):
    replies = ["Budi Santoso dari Surabaya.", "Pemerintah mengembangkan 20 ribu programmer."]
    pipeline, backend = fake_pipeline(tmp_path, replies, mode="completion")

    events = list(pipeline.ask_stream("Berapa programmer yang dikembangkan lewat Kominfo?"))

    kinds = [e.kind for e in events]
    assert kinds[0] == EventKind.RETRIEVED and kinds[-1] == EventKind.FINAL
    assert kinds.count(EventKind.RETRY) == 1
    assert len(backend.prompts) == 2 and backend.prompts[0] != backend.prompts[1]
    top = sentences_in(pipeline.store, events[0].hits[0])
    assert all(s.text in backend.prompts[1] for s in top)  # the top passage, whole
    assert not all(s.text in backend.prompts[0] for s in top)
    answer = events[-1].answer
    assert not answer.abstained and "20 ribu programmer" in answer.answer
    assert answer.raw_answer == replies[1]


def test_a_base_model_answer_supported_the_first_time_is_not_retried(tmp_path):
    reply = "Pemerintah mengembangkan program 20 ribu programmer."
    pipeline, backend = fake_pipeline(tmp_path, [reply], mode="completion")

    answer = pipeline.ask("Berapa programmer yang dikembangkan lewat Kominfo?")

    assert len(backend.prompts) == 1 and not answer.abstained


FIRST = "Produk apa saja yang akan dipasarkan lewat Alibaba?"


def test_a_follow_up_is_rewritten_by_the_chat_model(tmp_path):
    rewrite = "Kapan produk Indonesia mulai dipasarkan lewat Alibaba?"
    pipeline, backend = fake_pipeline(tmp_path, [rewrite, "Mulai 11 November 2018."])

    answer = pipeline.ask("Kapan mulai dipasarkan?", history=[FIRST])

    assert answer.standalone_question == rewrite
    assert FIRST in str(backend.prompts[0])  # the rewrite prompt holds the conversation
    assert not answer.abstained and "11 November 2018" in answer.answer


def test_a_rewrite_that_answers_instead_of_asking_falls_back_to_the_rules(tmp_path):
    replies = ["Produk itu dipasarkan pada 11 November 2018.", "Mulai 11 November 2018."]
    pipeline, _ = fake_pipeline(tmp_path, replies)

    answer = pipeline.ask("Kapan mulai dipasarkan?", history=[FIRST])

    assert answer.standalone_question == standalone_question("Kapan mulai dipasarkan?", [FIRST])


def test_a_question_with_a_new_subject_is_not_rewritten(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, ["Rudiantara adalah Menteri Kominfo."])

    answer = pipeline.ask("Siapa Rudiantara?", history=["Siapa Darmin Nasution?"])

    assert answer.standalone_question == "Siapa Rudiantara?"
    assert len(backend.prompts) == 1  # the answer only: no rewrite was asked for


def test_a_base_model_follow_up_is_rewritten_by_the_rules(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, ["Pada 11 November 2018."], mode="completion")

    answer = pipeline.ask("Kapan mulai dipasarkan?", history=[FIRST])

    assert answer.standalone_question == standalone_question("Kapan mulai dipasarkan?", [FIRST])
    assert len(backend.prompts) == 1


def long_article(paragraphs: int) -> Document:
    text = "\n".join(
        f"Paragraf {i}: Koperasi desa nomor {i} menjual {i * 7} karung beras ke pasar kota. "
        f"Ketua koperasi itu berkata hasil panen tahun ini naik {i} persen."
        for i in range(1, paragraphs + 1)
    )
    return Document("koperasi", "koperasi.txt", text, "id")


def test_articles_too_long_for_the_context_route_to_the_retrieved_passages(tmp_path):
    doc = long_article(120)  # about 16,000 characters: more than the 4,096-token context
    pipeline, backend = fake_pipeline(tmp_path, [], documents=[doc])
    backend.replies = ["Koperasi desa nomor 42 menjual 294 karung beras [1]."]

    answer = pipeline.ask("Berapa karung beras yang dijual koperasi desa nomor 42?", k=3)

    assert answer.route == "passages"
    units = [line for line in system_prompt(backend.prompts[0]).splitlines() if line[:1] == "["]
    assert len(units) == pipeline.profile.passages == 1  # the best retrieved, not the article
    assert not answer.abstained and "294" in answer.answer


@pytest.mark.parametrize(
    "first_reply", ["NOT IN ARTICLE", "Presiden membuka pabrik gandum di Surabaya [1]."]
)
def test_passages_that_do_not_answer_are_followed_by_every_retrieved_one(tmp_path, first_reply):
    doc = long_article(120)
    pipeline, backend = fake_pipeline(tmp_path, [], documents=[doc])
    backend.replies = [first_reply, "Koperasi desa nomor 42 menjual 294 karung beras [4]."]

    events = list(pipeline.ask_stream("Berapa karung beras dijual koperasi nomor 42?", k=4))

    first, wide = (system_prompt(prompt) for prompt in backend.prompts)
    assert wide.startswith(first)  # the passages read first, then the others after them
    assert [line[:3] for line in wide.splitlines() if line[:1] == "["] == [
        "[1]",
        "[2]",
        "[3]",
        "[4]",
    ]
    assert [e.kind for e in events].count(EventKind.RETRY) == 1
    answer = events[-1].answer
    assert not answer.abstained and "294" in answer.answer and answer.signals["wider_look"]


def test_a_question_about_one_article_sees_only_that_article(tmp_path):
    other = Document("toko", "toko.txt", "PT Contoh membuka toko baru di Makassar.", "id")
    pipeline, backend = fake_pipeline(tmp_path, [], documents=[other])
    pipeline.index([])  # the bundled article beside it
    backend.replies = ["PT Contoh membuka toko baru di Makassar [1]."]

    answer = pipeline.ask("Di mana PT Contoh membuka toko?", doc_id="toko")

    prompt = system_prompt(backend.prompts[0])
    assert "Makassar" in prompt and "Jack Ma" not in prompt
    assert {c.doc_id for c in answer.citations} == {"toko"}


FILM = Document(
    "palupi",
    "palupi.txt",
    "Film Apa Jang Kau Tjari, Palupi? karya Asrul Sani terpilih sebagai film terbaik "
    "Festival Film Asia pada 1970.",
    "id",
)


@pytest.mark.parametrize(
    ("reply", "answered"),
    [
        ("Film itu adalah Apa Jang Kau Tjari, Palupi? [1]", True),  # a title ending in "?"
        ("Apa nama film terbaik Festival Film Asia pada 1970?", False),  # the question given back
    ],
)
def test_a_title_ending_in_a_question_mark_answers_and_the_question_given_back_does_not(
    tmp_path, reply, answered
):
    pipeline, backend = fake_pipeline(tmp_path, [], documents=[FILM])
    backend.replies = [reply] * 2

    answer = pipeline.ask("Apa nama film terbaik Festival Film Asia pada 1970?", doc_id="palupi")

    assert answer.abstained is not answered
    if answered:
        assert "Palupi?" in answer.answer and answer.citations[0].doc_id == "palupi"


def test_a_likely_refusal_is_a_refusal_even_when_the_model_answers(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    unit = unit_of(system_prompt(chat_prompt(pipeline)), "ada lima produk")
    backend.replies = [f"{FIVE_PRODUCTS} [{unit}]."] * 2
    backend.first_tokens = [{"Ada": 0.6, "NOT": 0.35}, {"Ada": 0.97, "NOT": 0.01}]
    pipeline.refusal = replace(pipeline.refusal, max_p_refuse=0.2)

    doubted = pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")
    sure = pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")

    assert doubted.abstained and doubted.signals["refusal_reasons"] == ["p_refuse"]
    assert doubted.signals["p_refuse"] == pytest.approx(0.35)
    assert doubted.signals["probabilities"] is True
    assert not sure.abstained and sure.signals["refusal_reasons"] == []


def test_an_answer_says_when_the_backend_gave_no_probabilities(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    unit = unit_of(system_prompt(chat_prompt(pipeline)), "ada lima produk")
    backend.replies = [f"{FIVE_PRODUCTS} [{unit}]."]  # and no first tokens reported
    pipeline.refusal = replace(pipeline.refusal, max_p_refuse=0.2)

    answer = pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")

    assert answer.signals["probabilities"] is False and answer.signals["p_refuse"] == 0.0
    assert not answer.abstained


def test_an_answer_without_the_kind_asked_for_is_tried_again_then_refused(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    unit = unit_of(system_prompt(chat_prompt(pipeline)), "ada lima produk")
    backend.replies = [f"{FIVE_PRODUCTS} [{unit}]."] * 2  # a when-question, no time given

    answer = pipeline.ask("Kapan produk itu mulai dijual lewat Alibaba?")

    assert len(backend.prompts) == 2
    assert "harus menyebut waktu" in dict(backend.prompts[1])["user"]
    assert answer.abstained and "kind" in answer.signals["refusal_reasons"]


def test_a_second_try_that_answers_the_kind_asked_for_is_kept(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    unit = unit_of(system_prompt(chat_prompt(pipeline)), "11 November 2018")
    backend.replies = [
        "Lewat kampanye Alibaba [1].",
        f"Pada kampanye Single’s Day Alibaba, 11 November 2018 mendatang [{unit}].",
    ]

    # the second try's line invites NOT IN ARTICLE: its first token's doubt is not counted
    backend.first_tokens = [{"NOT": 0.01, "Lew": 0.9}, {"NOT": 0.6, "Pada": 0.4}]

    answer = pipeline.ask("Kapan kelima produk itu mulai dipasarkan di Tiongkok?")

    assert not answer.abstained and "11 November 2018" in answer.answer
    assert answer.signals["p_refuse"] == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("question", "reply", "asked_for"),
    [
        ("Di kota mana kantor pusat Alibaba berada?", "Kantor pusat Alibaba di Tiongkok", "kota"),
        (
            "Which Indonesian e-commerce company has Alibaba invested in?",
            "Alibaba has invested in e-commerce companies in Indonesia",
            "not repeat the question",
        ),
    ],
)
def test_an_answer_that_names_no_city_or_only_repeats_the_question_is_refused(
    tmp_path, question, reply, asked_for
):
    pipeline, backend = fake_pipeline(tmp_path, [])
    unit = unit_of(system_prompt(chat_prompt(pipeline)), "Alibaba")
    backend.replies = [f"{reply} [{unit}]."] * 2

    answer = pipeline.ask(question)

    assert len(backend.prompts) == 2 and asked_for in dict(backend.prompts[1])["user"]
    assert answer.abstained and "kind" in answer.signals["refusal_reasons"]


def test_an_answer_the_model_doubts_the_article_states_is_refused(tmp_path):
    from dataclasses import replace as with_fields

    pipeline, backend = fake_pipeline(tmp_path, [])
    pipeline.refusal = with_fields(pipeline.refusal, max_p_unstated=0.01)
    backend.reports_probabilities = True
    unit = unit_of(system_prompt(chat_prompt(pipeline)), "Alibaba")
    backend.replies = [f"Alibaba [{unit}].", "Ya", f"Alibaba [{unit}].", "Ya"]
    backend.first_tokens = [{}, {"Ya": 0.9, "TID": 0.05}, {}, {"Ya": 0.999, "TID": 0.001}]

    doubted = pipeline.ask("Perusahaan apa yang memasarkan produk Indonesia di Tiongkok?")
    sure = pipeline.ask("Perusahaan apa yang memasarkan produk Indonesia di Tiongkok?")

    assert "secara persis" in dict(backend.prompts[1])["user"]
    assert doubted.abstained and doubted.signals["refusal_reasons"] == ["unstated"]
    assert doubted.signals["p_unstated"] == pytest.approx(0.05 / 0.95, abs=1e-4)
    assert not sure.abstained


def chat_prompt(pipeline):
    """The chat messages the pipeline gives the model for a question about all articles."""
    from rag.answer.context import build_context, chat_messages

    return chat_messages(build_context(pipeline.store, [], None, 4096), "?", "id")


def test_a_question_about_someone_the_article_never_names_is_refused(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    unit = unit_of(system_prompt(chat_prompt(pipeline)), "ada lima produk")
    backend.replies = [f"{FIVE_PRODUCTS} [{unit}]."] * 2
    pipeline.refusal = replace(pipeline.refusal, subject_p_refuse=0.0)

    unknown = pipeline.ask("Produk apa yang dipasarkan Hayam Wuruk lewat Alibaba?")
    known = pipeline.ask("Produk apa yang dipasarkan Jack Ma lewat Alibaba?")

    assert unknown.abstained and unknown.signals["refusal_reasons"] == ["subject"]
    assert not known.abstained


def test_a_first_question_is_retrieved_without_waiting_for_the_model(tmp_path):
    pipeline, _ = fake_pipeline(tmp_path, [])
    assert pipeline._backend is None and pipeline._backend_start is None

    def model_not_ready():
        raise AssertionError("retrieval asked for the model")

    pipeline._make_backend = model_not_ready
    grounds = pipeline.ground("Siapa Menteri Komunikasi dan Informatika?")
    assert grounds.hits and grounds.question == "Siapa Menteri Komunikasi dan Informatika?"
    with pytest.raises(AssertionError, match="asked for the model"):
        pipeline.ground("Apa lagi yang dia katakan?", history=[grounds.question])
