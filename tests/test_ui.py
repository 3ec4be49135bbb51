"""The UI's pure parts: HTML rendering and escaping, marker links, highlight offsets, the
auth rule, upload checks, the interface languages, the conversation's queue, and the event
handlers over a fake pipeline: inline validation, queueing, Stop, Regenerate, adding and
removing articles, the API's one-line log (no models, no browser; tests/e2e/ drives the
real app). Pipeline.remove_document runs over a real index built with a fake embedder."""

from __future__ import annotations

import doctest
import logging
import re
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest

from rag.articles.chunking import ChunkingConfig
from rag.config.settings import Settings, resolve_settings
from rag.embedding.embedder import Embedder
from rag.errors import ConfigError, InputError
from rag.factory import build_pipeline
from rag.pipeline import Pipeline
from rag.store.index import build_index, save_index
from rag.values import Answer, Citation, Document, Event, EventKind, Hit, IndexReport, Passage
from ui import actions, app, articles, cards, conversation, i18n, render, sources
from ui.actions import ALL_ARTICLES, Actions, check_api_args, doc_filter, question_problem
from ui.app import build_app, check_bind, is_loopback, parse_auth
from ui.articles import document_from_paste, document_from_upload
from ui.conversation import DONE, FAILED, STOPPED, WAITING, Conversation, Job, Turn
from ui.render import View

TEXT = "Judul <Berita>\nJack Ma datang ke Bali. Ia menjual 5 produk & kopi.\nPenutup."
DOC = Document("berita", "<img src=x onerror=alert(1)>.txt", TEXT, "id")


def passage(text: str, pid: str, paragraph: int) -> Passage:
    start = TEXT.index(text)
    return Passage(pid, DOC.doc_id, paragraph, start, start + len(text), text)


P2 = passage("Jack Ma datang ke Bali. Ia menjual 5 produk & kopi.", "berita#2", 2)
P3 = passage("Penutup.", "berita#3", 3)


def citation(marker: int, text: str, pid: str = "berita#2") -> Citation:
    start = TEXT.index(text)
    return Citation(marker, pid, DOC.doc_id, start, start + len(text), text, 0.9)


def answer(text: str = "Ia menjual 5 produk <b>kopi</b> [1].", **changes) -> Answer:
    fields = dict(
        question="Apa <script>alert(1)</script>?",
        standalone_question="Apa yang dijual?",
        language="id",
        answer=text,
        abstained=False,
        citations=(citation(1, "Ia menjual 5 produk & kopi."),),
        hits=(Hit(P2, 0.0325, 1), Hit(P3, 0.01, 2)),
        backend="fake",
        timings_ms={"retrieve": 12.3, "generate": 456.7, "total": 470.0},
    )
    return Answer(**{**fields, **changes})


# -- escaping and markers -----------------------------------------------------------------
def test_text_is_escaped_and_keeps_no_blank_line():
    out = render.text_html('<script>alert("x")</script>\n\n# not a heading')
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "\n" not in out and out.endswith("<br><br># not a heading")


def test_markers_link_to_source_ids_and_unknown_markers_stay_text():
    out = render.linked_answer("A [1]. B [1, 2]. C [7].", {1: "d#1", 2: "d#2"}, turn=3)
    assert out.count('href="#src-3-1"') == 2 and 'href="#src-3-2"' in out
    assert 'title="d#2"' in out
    assert "C [7]." in out  # no verified citation behind it: not a link


def done(a: Answer | None = None, **changes) -> Turn:
    """A finished turn around an answer."""
    a = a or answer()
    return Turn(
        a.question, DONE, hits=a.hits, standalone=a.standalone_question, answer=a, **changes
    )


def test_answer_message_escapes_model_text_and_shows_timings():
    out = render.turn_html(done(), 1, View(), {DOC.doc_id: DOC})
    assert "&lt;b&gt;kopi&lt;/b&gt;" in out and "<b>" not in out
    assert '<a class="cite" href="#src-1-1" title="berita#2">[1]</a>' in out
    assert "retrieve 12 ms · generate 457 ms · total 470 ms" in out
    assert "Rewritten question" not in out
    assert "Apa yang dijual?" in render.turn_html(done(), 1, View(show_rewritten=True), {})


def test_answers_have_copy_with_citations_and_regenerate():
    out = render.turn_html(done(), 3, View(), {DOC.doc_id: DOC})
    assert 'class="copy-answer"' in out and 'class="regen turn-3"' in out
    lines = render.copy_text(done(), {DOC.doc_id: DOC})
    assert lines == [
        "Ia menjual 5 produk <b>kopi</b> [1].",
        "Sources:",
        "[1] <img src=x onerror=alert(1)>.txt, paragraph 2: “Ia menjual 5 produk & kopi.”",
    ]  # plain text: copied as it is, and escaped in the page
    assert "&lt;img src=x" in out and "<img" not in out


def test_refusal_looks_different_with_a_glyph_every_font_has():
    refused = answer("Artikel tidak menyebutkan <x>", abstained=True, citations=())
    out = render.turn_html(done(refused), 1, View("id"), {})
    assert 'class="refusal"' in out and '<span class="icon info">i</span>' in out
    assert "Tidak ada di artikel" in out and "&lt;x&gt;" in out
    assert "cite" not in out and "No sentence" not in out
    assert not re.search(r"[\U0001F300-\U0001FAFF\u24D8]", out)  # no emoji, no ⓘ
    fallback = render.turn_html(done(answer(fallback="cannot reach <server>")), 1, View(), {})
    assert 'class="warning"' in fallback and "cannot reach &lt;server&gt;" in fallback


def test_uncited_answer_is_flagged():
    out = render.turn_html(done(answer(citations=())), 1, View(), {})
    assert "No sentence of the articles supports" in out


def test_stopped_failed_streaming_and_waiting_turns():
    stopped = Turn("Apa?", STOPPED, partial="Ia <i>menjual")
    out = render.turn_html(stopped, 1, View(), {})
    assert "Ia &lt;i&gt;menjual" in out and 'class="stopped"' in out and "Regenerate" in out
    assert render.copy_text(stopped, {})[-1] == "(stopped before the end)"
    failed = render.turn_html(Turn("Apa?", FAILED, error="no <article>"), 1, View(), {})
    assert "No answer: no &lt;article&gt;" in failed
    assert "Searching the articles" in render.turn_html(Turn("Apa?"), 1, View(), {})
    messages = render.gradio_messages([done(), Turn("Lalu?", WAITING)])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "Waiting" in messages[-1]["content"]


def test_restricted_turns_say_so():
    out = render.turn_html(done(doc_id="berita"), 1, View(), {DOC.doc_id: DOC})
    assert "Only in: &lt;img src=x onerror=alert(1)&gt;.txt" in out
    banner = cards.restriction_html({DOC.doc_id: DOC}, "berita", "en")
    assert "restricted to one article" in banner and "&lt;img" in banner
    assert cards.restriction_html({DOC.doc_id: DOC}, None, "en") == ""


def test_chat_messages_escape_the_question():
    messages = render.gradio_messages([done(), done()])
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert "&lt;script&gt;" in messages[0]["content"] and "<script>" not in messages[0]["content"]
    assert 'href="#src-2-1"' in messages[3]["content"]  # each turn links its own sources


# -- highlighting ---------------------------------------------------------------------------
def marked(html_text: str) -> list[str]:
    return re.findall(r"<mark[^>]*>(.*?)</mark>", html_text)


def test_highlight_uses_document_offsets_inside_a_passage():
    c = citation(1, "Ia menjual 5 produk & kopi.")
    out = sources.highlight(P2.text, sources.citation_spans([c]), offset=P2.start)
    assert marked(out) == ["Ia menjual 5 produk &amp; kopi."]
    assert out.startswith("Jack Ma datang ke Bali. <mark")


def test_highlight_merges_overlaps_and_clips_to_the_text():
    spans = [
        sources.Span(2, 6, "[1]"),
        sources.Span(4, 9, "[2]"),
        sources.Span(-5, 1, "[3]"),
        sources.Span(50, 60, "[4]"),
    ]
    out = sources.highlight("abcdefghij", spans)
    assert out == ('<mark title="[3]">a</mark>b<mark title="[1] [2]">cdefghi</mark>j')


def test_sources_panel_keeps_every_turn_and_shows_the_latest():
    second = done(answer(citations=(citation(1, "Penutup.", "berita#3"),)))
    out = sources.sources_html([done(), second], {DOC.doc_id: DOC})
    sections = re.findall(r'<section class="turn-sources turn-(\d)" data-turn="\d"( hidden)?>', out)
    assert sections == [("1", " hidden"), ("2", "")]  # older turns stay, folded away
    assert 'id="src-1-1"' in out and 'id="src-2-1"' in out  # each marker finds its turn's
    assert marked(out) == ["Ia menjual 5 produk &amp; kopi.", "Penutup."]
    assert "paragraph 2" in out and "score 0.0325" in out
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in out and "<img" not in out
    assert "Other retrieved passages (1)" in out  # Penutup., retrieved but not cited by turn 1
    assert "Back to the answer" in out


def test_a_passage_cited_twice_is_found_by_both_markers():
    two = answer(
        "A [1]. B [2].",
        citations=(
            citation(1, "Jack Ma datang ke Bali."),
            citation(2, "Ia menjual 5 produk & kopi."),
        ),
    )
    out = sources.sources_html([done(two)], {DOC.doc_id: DOC})
    assert 'class="source m-1 m-2" id="src-1-1"' in out
    assert "[1] [2] " in out


def test_whole_article_highlights_cited_spans_in_place():
    out = sources.sources_html([done()], {DOC.doc_id: DOC}, View(whole_article=True))
    article = out[out.index('class="article"') :]
    assert "Judul &lt;Berita&gt;" in article  # the article's own markup-like text, escaped
    assert marked(article) == ["Ia menjual 5 produk &amp; kopi."]
    assert "Bali. <mark" in article


def test_citation_offsets_of_the_fixture_are_exact():
    c = answer().citations[0]
    assert DOC.text[c.start : c.end] == c.text


def test_articles_table_card_and_status_escape():
    table = cards.articles_html([DOC], {"berita": 3})
    assert "&lt;img" in table and "<img" not in table and "<td>3</td>" in table
    assert "&lt;b&gt;" in cards.status_html("bad <b>", "error")
    card = cards.article_card([DOC], {"berita": 3}, lang="id")
    assert "&lt;img src=x" in card and "<img" not in card
    assert "Indonesia · 14 kata · 3 bagian" in card and "Lihat artikel" in card
    assert "Judul &lt;Berita&gt;" in card  # the article itself, folded in the card
    many = [replace(DOC, doc_id=f"d{i}") for i in range(5)]
    assert "and 2 more" in cards.article_card(many, {})


# -- interface languages ---------------------------------------------------------------------
def test_both_languages_have_every_text():
    assert set(i18n.TEXT["id"]) == set(i18n.TEXT["en"])
    assert i18n.t("id", "send") == "Kirim" and i18n.t("xx", "send") == "Send"


def test_labels_relabel_every_bound_component():
    labels = i18n.Labels()
    with gr.Blocks():
        button = labels.make(gr.Button, {"value": "send"})
        radio = labels.make(gr.Radio, {"choices": actions.answer_language_choices}, value="auto")
    assert button.value == "Send"
    updates = labels.updates("id")
    assert updates[button]["value"] == "Kirim"
    assert updates[radio]["choices"][0] == ("Sama dengan pertanyaan", "auto")


# -- who may connect ---------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_auth(host):
    assert is_loopback(host)
    assert check_bind(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.org", "::"])
def test_other_hosts_need_auth_or_an_explicit_no_auth(host):
    with pytest.raises(ConfigError, match=r"--auth user:password.*--no-auth"):
        check_bind(host)
    assert check_bind(host, auth="ana:s3cret") == ("ana", "s3cret")
    assert check_bind(host, auth=("ana", "s3cret")) == ("ana", "s3cret")
    assert check_bind(host, no_auth=True) is None


@pytest.mark.parametrize("bad", ["ana", "ana:", ":pw", ("ana",), ("", "pw")])
def test_malformed_auth_is_refused(bad):
    with pytest.raises(ConfigError, match="user:password"):
        parse_auth(bad)


def test_auth_and_no_auth_together_are_refused():
    with pytest.raises(ConfigError, match="not both"):
        check_bind("0.0.0.0", auth="a:b", no_auth=True)


# -- what can be added -----------------------------------------------------------------------
def test_upload_accepts_utf8_text_and_markdown(tmp_path):
    path = tmp_path / "Toko Baru.md"
    path.write_text("# Toko\n\nPT Contoh membuka toko di Makassar.\n", "utf-8")
    doc = document_from_upload(str(path))
    assert (doc.doc_id, doc.name) == ("toko-baru", "Toko Baru.md")


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("a.doc", b"%PDF-1.4 text", r"\.doc files are not read; give UTF-8 text \(\.txt"),
        ("a.pdf", b"%PDF-1.4 text", "damaged PDF"),
        ("a.docx", b"PK\x03\x04 text", r"not a Word document \(\.docx\)"),
        ("a.txt", b"abc\x00def", "binary"),
        ("a.txt", "Berita café".encode("latin-1"), "not valid UTF-8"),
        ("a.txt", b"  \n ", "empty"),
        ("a.txt", b"a" * 1_000_001, "over the 1,000,000-byte limit"),
    ],
)
def test_upload_refuses_what_is_not_an_article(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputError, match=message):
        document_from_upload(str(path))


def test_upload_without_a_file_and_paste_without_title_are_refused():
    with pytest.raises(InputError, match=r"choose a file to upload first \(\.txt"):
        document_from_upload(None)
    with pytest.raises(InputError, match="title"):
        document_from_paste("  ", "Ada teks.")
    with pytest.raises(InputError, match="empty"):
        document_from_paste("Judul", "   ")


# -- the conversation's queue ---------------------------------------------------------------
def test_one_runner_answers_every_queued_job_in_order():
    conv = Conversation()
    assert conv.submit(Job("satu")) is False  # nothing running: not queued behind anything
    assert conv.claim() and not conv.claim()  # one runner at a time
    assert conv.next_job().question == "satu"
    assert conv.submit(Job("dua")) is True  # sent while "satu" is answered: it waits
    assert [t.state for t in conv.shown()] == [WAITING]
    assert conv.next_job().question == "dua"
    assert conv.next_job() is None and not conv.busy  # the run ends when the queue is empty
    conv.submit(Job("tiga"))  # a job arriving after that end is claimed by the next runner
    assert conv.claim()


def test_regenerated_turns_replace_their_own_place():
    conv = Conversation(turns=[Turn("a", DONE, standalone="a?"), Turn("b", DONE, standalone="b?")])
    job = Job("a", replace=0)
    assert conv.history(job.replace) == [] and conv.history() == ["a?", "b?"]
    conv.show(job, Turn("a"))
    assert [t.state for t in conv.shown()] == ["streaming", DONE]
    conv.finish(job, Turn("a", DONE, partial="new"))
    assert [t.partial for t in conv.turns] == ["new", ""] and conv.live is None


# -- handlers over a fake pipeline ------------------------------------------------------------
class FakePipeline:
    """Just enough of Pipeline for the handlers: scripted events, recorded index calls."""

    def __init__(self, events=None, error=None):
        self.settings = Settings()
        self.backend = SimpleNamespace(describe=lambda: "fake: tiny <model>")
        self.store = SimpleNamespace(documents={DOC.doc_id: DOC}, passages=[P2, P3])
        self.events, self.error, self.indexed, self.calls = events or [], error, [], []
        self.on_token = lambda: None

    def documents(self):
        return list(self.store.documents.values())

    def ask_stream(self, question, history=None, lang=None, k=None, doc_id=None):
        self.calls.append((question, history, lang, k, doc_id))
        if self.error:
            raise self.error
        for event in self.events:
            if event.kind == EventKind.TOKEN:
                self.on_token()
            yield event

    def ask(self, question, history=None, lang=None, k=None, doc_id=None):
        return list(self.ask_stream(question, history, lang, k, doc_id))[-1].answer

    def index_documents(self, docs):
        self.indexed.extend(docs)
        self.store.documents.update({d.doc_id: d for d in docs})
        return IndexReport(True, 2, 3, 1, "ok")

    def remove_document(self, doc_id):
        self.store.documents.pop(doc_id)
        return IndexReport(True, len(self.store.documents), 2, 0, "ok")


def stream_events(final: Answer) -> list[Event]:
    return [
        Event(EventKind.RETRIEVED, text=final.standalone_question, hits=final.hits),
        Event(EventKind.TOKEN, text="Ia <i>men"),
        Event(EventKind.TOKEN, text="jual"),
        Event(EventKind.FINAL, answer=final),
    ]


ASK = ("Auto", 3, "berita", False, "en")  # answer language, k, restriction, rewritten, ui


def test_a_question_is_queued_then_streamed_and_verified():
    fake = FakePipeline(stream_events(answer()))
    handlers, conv = Actions(fake), Conversation()
    box, status, chat, ticket = handlers.accept("Apa?", conv, "en", 3, "berita", False, "en")
    assert (box, status) == ("", "") and ticket  # cleared, no message, a runner is started
    assert "Apa?" in chat[-1]["content"]
    steps = list(handlers.drain(conv, False, True, "en"))
    chats = [s[0] for s in steps]
    assert "Searching the articles" in chats[0][-1]["content"]
    assert steps[0][3].visible is True and steps[0][2].visible is False  # Send became Stop
    assert any("Ia &lt;i&gt;menjual" in c[-1]["content"] for c in chats)  # streamed, escaped
    assert "[1]</a>" in chats[-1][-1]["content"]  # then the final text with linked markers
    final_sources = [s[1] for s in steps if isinstance(s[1], str)][-1]
    assert 'id="src-1-1"' in final_sources and 'class="article"' in final_sources
    assert steps[-1][2].visible is True and steps[-1][3].visible is False
    assert conv.turns[0].answer == answer() and not conv.busy
    assert fake.calls == [("Apa?", [], "en", 3, "berita")]


@pytest.mark.parametrize(
    "question, lang, message",
    [
        ("", "en", "Type a question first."),
        ("   ", "id", "Ketik pertanyaan dulu."),
        ("x" * 2_100, "en", "2,100 characters long; keep it under 2,000"),
        ("?!", "en", "no words"),
    ],
)
def test_bad_questions_get_an_inline_message_and_stay_in_the_box(question, lang, message):
    conv = Conversation()
    box, status, chat, ticket = Actions(FakePipeline()).accept(
        question, conv, "en", 4, "*", False, lang
    )
    assert message in status and 'class="status error"' in status and 'role="alert"' in status
    assert box is actions.SKIP and chat is actions.SKIP and ticket is actions.SKIP
    assert conv.waiting == []
    assert question_problem("Siapa Rudiantara?") == ""


def test_a_second_question_during_streaming_is_queued_not_lost():
    fake = FakePipeline(stream_events(answer()))
    handlers, conv = Actions(fake), Conversation()
    handlers.accept("Satu?", conv, "en", 3, "*", False, "en")
    runner = handlers.drain(conv, False, False, "en")
    next(runner)  # the first answer is being written
    _, status, chat, _ = handlers.accept("Dua?", conv, "en", 3, "*", False, "id")
    assert "Antre" in status and "Menunggu" in chat[-1]["content"]
    list(runner)
    assert [t.question for t in conv.turns] == ["Satu?", "Dua?"]
    assert [c[1] for c in fake.calls] == [[], ["Apa yang dijual?"]]  # a follow-up's history


def test_stop_keeps_the_partial_answer_marked_as_stopped():
    fake = FakePipeline(stream_events(answer()))
    handlers, conv = Actions(fake), Conversation()
    tokens = iter([None, "stop"])  # Stop pressed after the first token was shown
    fake.on_token = lambda: next(tokens) and handlers.stop(conv)
    handlers.accept("Apa?", conv, "en", 3, "*", False, "en")
    steps = list(handlers.drain(conv, False, False, "en"))
    assert conv.turns[0].state == STOPPED and conv.turns[0].partial == "Ia <i>men"
    assert 'class="stopped"' in steps[-1][0][-1]["content"]
    assert not conv.busy


def test_regenerate_answers_a_turn_again_in_place():
    fake = FakePipeline(stream_events(answer()))
    handlers = Actions(fake)
    conv = Conversation(turns=[Turn("Lama?", STOPPED, partial="x"), done()])
    status, _, ticket = handlers.regenerate(1, conv, "id", 2, "*", False, "en")
    assert status == "" and ticket
    list(handlers.drain(conv, False, False, "en"))
    assert [t.state for t in conv.turns] == [DONE, DONE] and conv.turns[0].question == "Lama?"
    assert fake.calls == [("Lama?", [], "id", 2, None)]
    assert handlers.regenerate(9, conv, "id", 2, "*", False, "en")[1] is actions.SKIP


def test_a_pipeline_error_becomes_a_failed_turn_not_an_overlay():
    fake = FakePipeline(error=InputError("no article 'gone' in the index"))
    handlers, conv = Actions(fake), Conversation()
    handlers.accept("Apa?", conv, "en", 3, "*", False, "en")
    steps = list(handlers.drain(conv, False, False, "en"))
    assert conv.turns[0].state == FAILED
    assert "No answer: no article &#x27;gone&#x27;" in steps[-1][0][-1]["content"]


def test_a_runner_with_nothing_to_do_changes_nothing():
    assert list(Actions(FakePipeline()).drain(Conversation(), False, False, "en")) == [
        (actions.SKIP,) * 6
    ]


def test_follow_ups_pass_the_previous_standalone_questions():
    fake = FakePipeline(stream_events(answer()))
    conv = Conversation(turns=[done()])
    Actions(fake).accept("Kapan?", conv, "auto", 4, ALL_ARTICLES, False, "en")
    list(Actions(fake).drain(conv, False, False, "en"))
    assert fake.calls == [("Kapan?", ["Apa yang dijual?"], "auto", 4, None)]
    assert doc_filter(ALL_ARTICLES) is None


def no_progress(*args, **kwargs):
    return None


def test_a_refused_upload_changes_nothing(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\x00\x00")
    fake = FakePipeline()
    status, *_, upload = Actions(fake).add_uploaded(str(path), "*", "en", no_progress)
    assert 'class="status error"' in status and ".png files are not read" in status
    assert fake.indexed == [] and upload is actions.SKIP  # the file stays, to be replaced


def test_a_pasted_article_is_indexed_listed_and_the_form_cleared():
    fake = FakePipeline()
    status, table, doc, _, _, banner, title, text = Actions(fake).add_pasted(
        "Toko <b>Baru</b>", "PT Contoh membuka toko di Makassar.", "berita", "en", no_progress
    )
    assert [d.doc_id for d in fake.indexed] == ["toko-b-baru-b"]  # "/" is not a folder
    assert "Added" in status and "&lt;b&gt;" in status
    assert "toko-b-baru-b" in table and isinstance(doc, gr.Dropdown)
    assert doc.value == "berita" and "restricted" in banner  # the restriction is kept
    assert (title, text) == ("", "")


def test_removing_asks_first_and_refuses_the_last_article():
    fake = FakePipeline()
    fake.store.documents["toko"] = Document("toko", "Toko", "PT Contoh membuka toko.", "id")
    handlers = Actions(fake)
    confirm, text, status = handlers.ask_remove("toko", "en")
    assert confirm.visible is True and "Remove “Toko”" in text and status == ""
    assert "toko" in fake.store.documents  # nothing removed before the confirmation
    status, _, doc, *_, confirm = handlers.remove("toko", "toko", "en", no_progress)
    assert "Removed “Toko”; 1 article(s) remain." in status and confirm.visible is False
    assert doc.value == ALL_ARTICLES  # the restriction to the removed article is lifted
    confirm, _, status = handlers.ask_remove("berita", "en")
    assert confirm.visible is False and "the only article" in status
    assert "Choose an article" in handlers.ask_remove(None, "en")[2]


def test_api_returns_the_cli_json_and_logs_rejections_in_one_line(caplog):
    fake = FakePipeline(stream_events(answer()))
    assert Actions(fake).ask_json("Apa?", "id", 2) == answer().to_json()
    with caplog.at_level(logging.WARNING, "ui.api"), pytest.raises(gr.Error) as raised:
        Actions(fake).ask_json("Apa?", "xx", 2)
    assert "lang='xx' is unknown" in str(raised.value)
    assert raised.value.print_exception is False  # no traceback in the server log
    assert [r.getMessage() for r in caplog.records] == [
        "/ask rejected: lang='xx' is unknown; use auto, id or en."
    ]
    with pytest.raises(InputError, match="out of range"):
        check_api_args("auto", 0)


def test_the_app_exposes_the_ask_endpoint():
    blocks = build_app(FakePipeline())
    endpoints = blocks.get_api_info()["named_endpoints"]
    assert list(endpoints) == ["/ask"]  # the UI's own events stay private
    params = [p["parameter_name"] for p in endpoints["/ask"]["parameters"]]
    assert params == ["question", "lang", "k"]


# -- Pipeline.remove_document over a real index (fake embedder) ------------------------------
class FakeEmbedder(Embedder):
    """Deterministic vectors, so an index can be built without the e5 model."""

    dim, fingerprint = 8, "fake-fingerprint"

    def __init__(self, model_id: str):
        self.model_id = model_id

    def embed(self, texts, kind):
        rng = np.random.default_rng(len(texts))
        vectors = rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_remove_document_rebuilds_without_it_and_keeps_the_last(tmp_path, monkeypatch):
    settings = resolve_settings(index_dir=tmp_path)
    embedder = FakeEmbedder(settings.embed_model)
    monkeypatch.setattr(Pipeline, "embedder", property(lambda self: embedder))
    other = Document("toko", "Toko", "PT Contoh membuka toko di Makassar.", "id")
    chunking = ChunkingConfig(max_chars=settings.max_chars)
    save_index(build_index([DOC, other], embedder, chunking, progress=False), tmp_path)
    pipeline = build_pipeline(settings)
    vectors = {
        p.id: v for p, v in zip(pipeline.store.passages, pipeline.store.vectors, strict=True)
    }

    report = pipeline.remove_document("toko")
    assert report.changed and report.documents == 1 and report.embedded == 0
    assert list(build_pipeline(settings).store.documents) == ["berita"]  # saved, and loads again
    kept = pipeline.store
    assert all(
        np.array_equal(vectors[p.id], v) for p, v in zip(kept.passages, kept.vectors, strict=True)
    )
    with pytest.raises(InputError, match="only article"):
        pipeline.remove_document("berita")
    with pytest.raises(InputError, match="no article 'gone'"):
        pipeline.remove_document("gone")
    assert list(build_pipeline(settings).store.documents) == ["berita"]


@pytest.mark.parametrize("module", [render, articles, actions, app, conversation, i18n])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0


STUB_OPENS = """
import sys
opened = []
sys.addaudithook(
    lambda event, args: event == "open" and str(args[0]).endswith(".pyi") and opened.append(1)
)
import ui
import gradio
print(len(opened))
"""


def test_gradio_loads_through_the_package_without_touching_its_type_stubs():
    # A new interpreter: this one imported Gradio already. Without ui/__init__.py's hook,
    # Gradio 6.31 opens its components' .pyi files (about 240) at every import.
    done = subprocess.run(
        [sys.executable, "-c", STUB_OPENS], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.split() == ["0"]
