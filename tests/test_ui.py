"""The UI's pure parts: HTML rendering and escaping, marker links, highlight offsets, the
auth rule, upload checks, and the event handlers over a fake pipeline (no models, no
browser; tests/e2e/ drives the real app)."""

from __future__ import annotations

import doctest
import re
from types import SimpleNamespace

import gradio as gr
import pytest

from rag.errors import ConfigError, InputError
from rag.pipeline import Event, IndexReport
from rag.settings import Settings
from rag.types import Answer, Citation, Document, Hit, Passage
from ui import actions, app, articles, render
from ui.actions import ALL_ARTICLES, Actions, check_api_args, doc_filter, history_of
from ui.app import build_app, check_bind, is_loopback, parse_auth
from ui.articles import document_from_paste, document_from_upload

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


def test_answer_message_escapes_model_text_and_shows_timings():
    out = render.answer_html(answer(), turn=1)
    assert "&lt;b&gt;kopi&lt;/b&gt;" in out and "<b>" not in out
    assert '<a class="cite" href="#src-1-1" title="berita#2">[1]</a>' in out
    assert "retrieve 12 ms · generate 457 ms · total 470 ms" in out
    assert "Rewritten question" not in out
    assert "Apa yang dijual?" in render.answer_html(answer(), 1, show_rewritten=True)


def test_refusal_looks_different_and_fallback_warns():
    refusal = render.answer_html(
        answer("Artikel tidak menyebutkan <x>", abstained=True, citations=()), 1
    )
    assert 'class="refusal"' in refusal and "ⓘ" in refusal and "&lt;x&gt;" in refusal
    assert "cite" not in refusal and "No sentence" not in refusal
    fallback = render.answer_html(answer(fallback="cannot reach <server>"), 1)
    assert 'class="warning"' in fallback and "cannot reach &lt;server&gt;" in fallback


def test_uncited_answer_is_flagged():
    assert "No sentence of the articles supports" in render.answer_html(answer(citations=()), 1)


def test_chat_messages_escape_the_question():
    messages = render.chat_messages([answer(), answer()])
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert "&lt;script&gt;" in messages[0]["content"] and "<script>" not in messages[0]["content"]
    assert 'href="#src-2-1"' in messages[3]["content"]  # each turn links its own sources


# -- highlighting ---------------------------------------------------------------------------
def marked(html_text: str) -> list[str]:
    return re.findall(r"<mark[^>]*>(.*?)</mark>", html_text)


def test_highlight_uses_document_offsets_inside_a_passage():
    c = citation(1, "Ia menjual 5 produk & kopi.")
    out = render.highlight(P2.text, render.citation_spans([c]), offset=P2.start)
    assert marked(out) == ["Ia menjual 5 produk &amp; kopi."]
    assert out.startswith("Jack Ma datang ke Bali. <mark")


def test_highlight_merges_overlaps_and_clips_to_the_text():
    spans = [
        render.Span(2, 6, "[1]"),
        render.Span(4, 9, "[2]"),
        render.Span(-5, 1, "[3]"),
        render.Span(50, 60, "[4]"),
    ]
    out = render.highlight("abcdefghij", spans)
    assert out == ('<mark title="[3]">a</mark>b<mark title="[1] [2]">cdefghi</mark>j')


def test_sources_panel_has_the_anchor_targets_and_highlights():
    out = render.sources_html(answer(), {DOC.doc_id: DOC}, turn=2)
    assert 'id="src-2-1"' in out
    assert marked(out) == ["Ia menjual 5 produk &amp; kopi."]
    assert "paragraph 2" in out and "score 0.0325" in out
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in out and "<img" not in out
    assert "Other retrieved passages (1)" in out  # Penutup., retrieved but not cited


def test_whole_article_highlights_cited_spans_in_place():
    out = render.sources_html(answer(), {DOC.doc_id: DOC}, turn=1, whole_article=True)
    article = out[out.index('class="article"') :]
    assert "Judul &lt;Berita&gt;" in article  # the article's own markup-like text, escaped
    assert marked(article) == ["Ia menjual 5 produk &amp; kopi."]
    assert "Bali. <mark" in article


def test_citation_offsets_of_the_fixture_are_exact():
    c = answer().citations[0]
    assert DOC.text[c.start : c.end] == c.text


def test_articles_table_and_status_escape():
    table = render.articles_html([DOC], {"berita": 3})
    assert "&lt;img" in table and "<img" not in table and "<td>3</td>" in table
    assert "&lt;b&gt;" in render.status_html("bad <b>", ok=False)


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
        ("a.pdf", b"%PDF-1.4 text", "only UTF-8 text or Markdown"),
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
    with pytest.raises(InputError, match=r"choose a \.txt or \.md file"):
        document_from_upload(None)
    with pytest.raises(InputError, match="title"):
        document_from_paste("  ", "Ada teks.")
    with pytest.raises(InputError, match="empty"):
        document_from_paste("Judul", "   ")


# -- handlers over a fake pipeline ------------------------------------------------------------
class FakePipeline:
    """Just enough of Pipeline for the handlers: scripted events, recorded index calls."""

    def __init__(self, events=None, error=None):
        self.settings = Settings()
        self.backend = SimpleNamespace(describe=lambda: "fake: tiny <model>")
        self.store = SimpleNamespace(documents={DOC.doc_id: DOC}, passages=[P2, P3])
        self.events, self.error, self.indexed, self.calls = events or [], error, [], []

    def documents(self):
        return list(self.store.documents.values())

    def ask_stream(self, question, history=None, lang=None, k=None, doc_id=None):
        self.calls.append((question, history, lang, k, doc_id))
        if self.error:
            raise self.error
        yield from self.events

    def ask(self, question, history=None, lang=None, k=None, doc_id=None):
        return list(self.ask_stream(question, history, lang, k, doc_id))[-1].answer

    def index_documents(self, docs):
        self.indexed.extend(docs)
        return IndexReport(True, 2, 3, 1, "ok")


def stream_events(final: Answer) -> list[Event]:
    return [
        Event("retrieved", text=final.standalone_question, hits=final.hits),
        Event("token", text="Ia <i>men"),
        Event("token", text="jual"),
        Event("final", answer=final),
    ]


def test_respond_streams_tokens_then_the_verified_answer():
    fake = FakePipeline(stream_events(answer()))
    steps = list(Actions(fake).respond("Apa?", [], "English", 3, "berita", False, True))
    chats = [s[0] for s in steps]
    assert "Ia &lt;i&gt;men" in chats[1][-1]["content"]  # tokens shown as they come, escaped
    assert "Ia &lt;i&gt;menjual" in chats[2][-1]["content"]
    assert "[1]</a>" in chats[-1][-1]["content"]  # then the final text with linked markers
    assert 'id="src-1-1"' in steps[-1][1] and 'class="article"' in steps[-1][1]
    assert steps[-1][2] == [answer()] and steps[-1][3] == ""
    assert fake.calls == [("Apa?", [], "en", 3, "berita")]


def test_follow_ups_pass_the_previous_standalone_questions():
    fake = FakePipeline(stream_events(answer()))
    list(Actions(fake).respond("Kapan?", [answer()], "Auto", 4, ALL_ARTICLES, False, False))
    assert fake.calls == [("Kapan?", ["Apa yang dijual?"], "auto", 4, None)]
    assert history_of([answer()]) == ["Apa yang dijual?"] and doc_filter(ALL_ARTICLES) is None


def test_bad_question_becomes_a_gradio_error_before_the_chat_changes():
    fake = FakePipeline(error=InputError("the question is empty; type a question."))
    with pytest.raises(gr.Error, match="the question is empty"):
        next(Actions(fake).respond("", [], "Auto", 4, ALL_ARTICLES, False, False))


def test_a_refused_upload_changes_nothing(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG\x00\x00")
    fake = FakePipeline()
    status, *_ = Actions(fake).add_uploaded(str(path), ALL_ARTICLES, progress=lambda *a, **k: None)
    assert 'class="status error"' in status and "only UTF-8 text or Markdown" in status
    assert fake.indexed == []


def test_a_pasted_article_is_indexed_and_listed():
    fake = FakePipeline()
    status, table, dropdown = Actions(fake).add_pasted(
        "Toko <b>Baru</b>",
        "PT Contoh membuka toko di Makassar.",
        ALL_ARTICLES,
        progress=lambda *a, **k: None,
    )
    assert [d.doc_id for d in fake.indexed] == ["toko-b-baru-b"]  # "/" is not a folder
    assert "Added" in status and "&lt;b&gt;" in status
    assert "berita" in table and isinstance(dropdown, gr.Dropdown)


def test_api_returns_the_cli_json_and_reports_bad_input():
    fake = FakePipeline(stream_events(answer()))
    assert Actions(fake).ask_json("Apa?", "id", 2) == answer().to_json()
    with pytest.raises(gr.Error, match="lang='xx' is unknown"):
        Actions(fake).ask_json("Apa?", "xx", 2)
    with pytest.raises(InputError, match="out of range"):
        check_api_args("auto", 0)


def test_the_app_exposes_the_ask_endpoint():
    blocks = build_app(FakePipeline())
    endpoints = blocks.get_api_info()["named_endpoints"]
    assert list(endpoints) == ["/ask"]  # the UI's own events stay private
    params = [p["parameter_name"] for p in endpoints["/ask"]["parameters"]]
    assert params == ["question", "lang", "k"]


@pytest.mark.parametrize("module", [render, articles, actions, app])
def test_docstring_examples(module):
    assert doctest.testmod(module).failed == 0
