"""Overview questions ("Ringkas artikel ini", "Who is mentioned?"): recognised by rule,
answered over the shared whole-article system message with the summary prompt, cited
sentence by sentence and never refused (rag.answer.overview, rag.answer.summaries). The fast
tests run
on tests/fakes.py; the last one asks the real model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.cite import MARKER, answer_sentences
from rag.answer.context import load_prompt
from rag.answer.overview import Overview, match_overview, overview_sentences
from rag.articles.corpus import default_documents
from rag.values import Document
from tests.fakes import fake_pipeline

ARTICLE_SENTENCES = [
    "Jack Ma mengadakan beberapa pertemuan bisnis di sela kunjungannya ke Bali.",
    "Ada lima produk yang akan dipasarkan lewat Alibaba.",
    "Perusahaannya berkomitmen untuk berinvestasi di Indonesia.",
    "Pemerintah lewat Kominfo mengembangkan program 20 ribu programmer.",
]


def units(prompt: str) -> dict[str, int]:
    """Each scripted sentence -> the number of the context unit that holds its words."""
    lines = prompt.splitlines()
    keys = {
        ARTICLE_SENTENCES[0]: "pertemuan bisnis",
        ARTICLE_SENTENCES[1]: "ada lima produk",
        ARTICLE_SENTENCES[2]: "berinvestasi di Indonesia",
        ARTICLE_SENTENCES[3]: "20 ribu programmer",
    }
    found = {}
    for sentence, words in keys.items():
        line = next(line for line in lines if words in line)
        found[sentence] = int(line[1 : line.index("]")])
    return found


def summary_reply(pipeline) -> str:
    """A summary in bullets whose sentences the article supports, with unit markers."""
    from rag.answer.context import build_context, chat_messages

    system = dict(chat_messages(build_context(pipeline.store, [], None, 4096), "?", "id"))
    numbers = units(system["system"])
    bullets = [f"- {s[:-1]} [{numbers[s]}]" for s in ARTICLE_SENTENCES]
    return "Berikut ringkasannya:\n" + "\n".join(bullets)


@pytest.mark.parametrize(
    "question, kind, language",
    [
        ("Ringkas artikel ini", "summary", "id"),
        ("Apa isi artikel ini?", "summary", "id"),
        ("Apa inti berita ini?", "summary", "id"),
        ("Rangkumkan berita ini dalam tiga kalimat.", "summary", "id"),
        ("Summarize the article", "summary", "en"),
        ("What is this article about?", "summary", "en"),
        ("What are the main points?", "summary", "en"),
        ("Summarize the article in three points.", "summary", "en"),
        ("Siapa saja yang disebut dalam artikel?", "people", "id"),
        ("Siapa saja yang disebut?", "people", "id"),
        ("Who is mentioned?", "people", "en"),
        ("Which people are mentioned in the article?", "people", "en"),
    ],
)
def test_overview_questions_are_recognised_with_their_language(question, kind, language):
    assert match_overview(question) == Overview(kind, language)


@pytest.mark.parametrize(
    "question",
    [
        "Apa isi proposal Alibaba?",
        "Siapa Rudiantara?",
        "Siapa saja menteri yang hadir?",
        "Who is the Minister of Communication mentioned in the article?",
        "What will Alibaba invest in?",
        "Produk apa saja yang akan dipasarkan lewat Alibaba?",
    ],
)
def test_questions_with_a_subject_of_their_own_are_not_overviews(question):
    assert match_overview(question) is None


def test_bullets_become_sentences_and_at_most_five_are_kept():
    reply = "Ringkasan:\n" + "\n".join(f"{i}. Kalimat nomor {i} [{i}]" for i in range(1, 8))
    kept = overview_sentences(reply)
    assert len(answer_sentences(kept)) == 5 and kept.startswith("Kalimat nomor 1 [1].")


def test_a_summary_uses_the_shared_system_message_and_the_summary_prompt(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    backend.replies = ["Ada lima produk yang akan dipasarkan lewat Alibaba [2].", ""]
    backend.replies[1] = summary_reply(pipeline)

    pipeline.ask("Produk apa saja yang akan dipasarkan lewat Alibaba?")
    pipeline.ask("Ringkas artikel ini")

    question, summary = (dict(p) for p in backend.prompts)
    assert summary["system"] == question["system"]  # the article's evaluated prefix is shared
    instruction = load_prompt("summary-user-id.txt").splitlines()[1]
    assert instruction in summary["user"] and instruction not in question["user"]


def test_a_summary_is_cited_sentence_by_sentence_and_not_refused_however_doubtful(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    backend.replies = [summary_reply(pipeline)]
    backend.first_tokens = [{"NOT": 0.9, "Jack": 0.1}]
    pipeline.refusal = replace(pipeline.refusal, max_p_refuse=0.2, min_relevance=0.99)

    answer = pipeline.ask("Apa isi artikel ini?")  # a detector takes it for Dutch

    assert not answer.abstained and answer.language == "id" and not answer.fallback
    sentences = answer_sentences(answer.answer)
    assert len(sentences) == 4 and all(MARKER.search(s) for s in sentences)
    assert answer.signals["p_refuse"] == pytest.approx(0.9)
    assert answer.signals["refusal_reasons"] == []
    text = pipeline.store.documents["jack-ma-bali"].text
    assert all(text[c.start : c.end] == c.text for c in answer.citations)
    assert len(backend.prompts) == 1  # no second look


def test_an_unsupported_sentence_of_a_summary_is_withdrawn(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    backend.replies = [summary_reply(pipeline) + "\n- Harganya 99 ribu dolar per produk [2]"]

    answer = pipeline.ask("Ringkas artikel ini")

    assert "99" not in answer.answer
    assert all(s[:-1] in answer.answer for s in ARTICLE_SENTENCES)  # the supported ones stay


def test_an_unsupported_summary_falls_back_to_the_articles_first_sentences(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    backend.replies = ["Artikel ini membahas harga emas dan saham Apple yang naik 99 persen."]

    answer = pipeline.ask("Summarize the article")

    assert not answer.abstained and "first sentences" in answer.fallback
    doc = pipeline.store.documents["jack-ma-bali"]
    note = "The article's first sentences, quoted in the article's own language: "
    assert answer.answer.startswith(note + doc.text[:60]) and len(answer.citations) == 3
    assert MARKER.search(answer.answer).group(0) == "[1]"  # numbered as they appear
    assert all(doc.text[c.start : c.end] == c.text for c in answer.citations)
    assert all(f"[{c.marker}]" in answer.answer for c in answer.citations)
    for c in answer.citations:  # each marker leads to the passage that holds its sentence
        passage = answer.hits[c.marker - 1].passage
        assert passage.start <= c.start < c.end <= passage.end


def bullets(pipeline, sentences: list[str]) -> str:
    from rag.answer.context import build_context, chat_messages

    system = dict(chat_messages(build_context(pipeline.store, [], None, 4096), "?", "id"))
    numbers = units(system["system"])
    return "\n".join(f"- {s[:-1]} [{numbers.get(s, 1)}]" for s in sentences)


@pytest.mark.parametrize(
    "question, language, words",
    [
        ("What is this article about?", "en", "paragraphs"),
        ("Apa isi artikel ini?", "id", "paragraf"),
    ],
)
def test_a_summary_asks_for_one_sentence_per_stretch_of_the_article(
    tmp_path, question, language, words
):
    from rag.answer.context import build_context, spread

    pipeline, backend = fake_pipeline(tmp_path, [])
    backend.replies = [summary_reply(pipeline)]

    pipeline.ask(question)

    user = dict(backend.prompts[0])["user"]
    # asked in English for both: in Indonesian, the 1.5B model copied the opening paragraphs
    assert user.startswith("Question:")
    assert {"en": "in English", "id": "in Indonesian"}[language] in user
    n = len(build_context(pipeline.store, [], None, 4096).units)
    parts = spread(n)
    assert len(parts) >= 3 and parts[0][0] == 1 and parts[-1][-1] == n
    for i, part in enumerate(parts, 1):  # every stretch is named, to the last unit
        assert f"{i}. {words} [{part[0]}]-[{part[-1]}]" in user


def test_a_summary_sentence_is_checked_against_its_own_part_only(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    first, second, third, last = ARTICLE_SENTENCES
    backend.replies = [bullets(pipeline, [last, second, third, first])]  # 1 and 4 swapped

    answer = pipeline.ask("Ringkas artikel ini")

    assert "20 ribu" not in answer.answer and first[:-1] not in answer.answer
    sentences = answer_sentences(answer.answer)
    assert len(sentences) == 4 and not answer.fallback
    # the first and the last stretch, which the withdrawn sentences left, are quoted
    text = " ".join(pipeline.store.documents["jack-ma-bali"].text.split())
    for quoted in (sentences[0], sentences[-1]):
        assert MARKER.sub("", quoted).strip()[:-1].rstrip() in text


def test_summary_sentences_are_put_in_the_articles_order_and_numbered_from_1(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    extra = "Jack Ma akan mendukung pengembangan sumber daya manusia Indonesia di bidang digital."
    first, second, third, last = ARTICLE_SENTENCES
    backend.replies = [bullets(pipeline, [first, second, extra, third, last])]  # extra: part 1

    answer = pipeline.ask("Apa isi artikel ini?")

    text = answer.answer
    assert (
        text.index("pertemuan bisnis")
        < text.index("sumber daya manusia")
        < text.index("benar-benar baik")  # quoted: the model's sentences skip its stretch
        < text.index("berinvestasi")
    )
    assert MARKER.search(text).group(0) == "[1]"
    doc = pipeline.store.documents["jack-ma-bali"]
    starts = [c.start for c in sorted(answer.citations, key=lambda c: c.marker)]
    assert starts == sorted(starts)  # markers follow the article's order here
    assert all(doc.text[c.start : c.end] == c.text for c in answer.citations)


def test_one_supported_sentence_is_no_summary_and_no_stretch_is_quoted_for_it(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    first = ARTICLE_SENTENCES[0]
    backend.replies = [bullets(pipeline, [first]) + "\n- Harganya 99 ribu dolar per produk [2]"]

    answer = pipeline.ask("Ringkas artikel ini")

    assert "kalimat-kalimat pertama" in answer.fallback and "99" not in answer.answer


def test_a_summary_in_another_language_than_the_article_quotes_nothing(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    first, second, third, last = ARTICLE_SENTENCES
    extra = "Jack Ma akan mendukung pengembangan sumber daya manusia Indonesia di bidang digital."
    backend.replies = [bullets(pipeline, [first, second, extra, third, last])]

    answer = pipeline.ask("What is this article about?")

    assert not answer.fallback and "benar-benar baik" not in answer.answer  # no quote


def test_who_is_mentioned_is_answered_without_the_second_look(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [])
    from rag.answer.context import build_context, chat_messages

    system = dict(chat_messages(build_context(pipeline.store, [], None, 4096), "?", "id"))
    lines = system["system"].splitlines()

    def unit(words: str) -> int:
        line = next(line for line in lines if words in line)
        return int(line[1 : line.index("]")])

    backend.replies = [
        f"Jack Ma berkomitmen memasarkan beberapa produk Indonesia [{unit('pertemuan bisnis')}].\n"
        f"Rudiantara menjelaskan bahwa Alibaba akan memberikan pelatihan manajemen "
        f"[{unit('pelatihan manajemen')}].\n"
        f"Darmin Nasution menjelaskan bahwa Alibaba tengah menyiapkan proposal "
        f"[{unit('menyiapkan proposal')}]."
    ]

    answer = pipeline.ask("Siapa saja yang disebut dalam artikel?", history=["Siapa Rudiantara?"])

    assert len(backend.prompts) == 1 and "orang-orang" in dict(backend.prompts[0])["user"]
    assert not answer.abstained and answer.standalone_question == answer.question
    assert all(name in answer.answer for name in ("Jack Ma", "Rudiantara", "Darmin"))


def test_a_base_model_answers_an_overview_with_the_first_sentences(tmp_path):
    pipeline, backend = fake_pipeline(tmp_path, [], mode="completion")

    answer = pipeline.ask("Ringkas artikel ini")

    assert backend.prompts == [] and not answer.abstained
    assert len(answer.citations) == 3 and "tidak dapat meringkas" in answer.fallback


def test_several_articles_are_summarised_one_paragraph_each(tmp_path):
    toko = Document(
        "toko",
        "Toko Makassar",
        "PT Contoh membuka toko baru di Makassar. Toko itu mempekerjakan 40 orang.",
        "id",
    )
    pipeline, backend = fake_pipeline(tmp_path, [], documents=[toko, *default_documents()])
    backend.replies = [
        "PT Contoh membuka toko baru di Makassar [1]. Toko itu mempekerjakan 40 orang [1].",
        "Tidak ada apa-apa di sini.",  # unsupported: that article's opening instead
    ]

    answer = pipeline.ask("Ringkas artikel ini")

    systems = [dict(p)["system"] for p in backend.prompts]
    assert len(systems) == 2 and all(("Makassar" in s) != ("Jack Ma" in s) for s in systems)
    paragraphs = answer.answer.split("\n\n")
    assert len(paragraphs) == 2 and not answer.abstained
    assert {p.split(":")[0] for p in paragraphs} == {"Toko Makassar", "jack-ma-bali.txt"}
    assert {c.doc_id for c in answer.citations} == {"toko", "jack-ma-bali"}
    for c in answer.citations:
        assert answer.hits[c.marker - 1].passage.doc_id == c.doc_id


@pytest.mark.slow
@pytest.mark.parametrize(
    "question, language", [("Apa isi artikel ini?", "id"), ("What is this article about?", "en")]
)
def test_the_real_model_summarises_the_whole_article_in_the_question_language(
    pipeline, question, language
):
    from rag.text.language import document_language

    answer = pipeline.ask(question)

    shown = f"{answer.answer}\nraw: {answer.raw_answer}\nfallback: {answer.fallback}"
    assert not answer.abstained and not answer.fallback, shown
    cited = [s for s in answer_sentences(answer.answer) if MARKER.search(s)]
    assert len(cited) >= 3, shown
    assert len({c.passage_id for c in answer.citations}) >= 3, shown
    assert MARKER.search(answer.answer).group(0) == "[1]", shown
    words = MARKER.sub("", answer.answer)  # the answer's own words, not its language field
    assert document_language(words) == language, shown


def test_the_summarize_button_asks_in_the_interface_language_about_the_cards_article(tmp_path):
    from ui.actions import Actions
    from ui.conversation import Conversation

    pipeline, backend = fake_pipeline(tmp_path, [])
    backend.replies = [summary_reply(pipeline)]
    actions, conv = Actions(pipeline), Conversation()

    status, _, ticket = actions.summarize(conv, "auto", 4, "jack-ma-bali", False, "id")
    list(actions.drain(conv, False, False, "id"))

    [turn] = conv.turns
    assert status == "" and ticket
    assert turn.question == "Ringkas artikel ini" and turn.doc_id == "jack-ma-bali"
    assert not turn.answer.abstained and len(turn.answer.citations) == 4
