"""The real app in headless Chromium: ask in Indonesian and English, see the cited span
highlighted, add an article and ask about it, and check that markup in an article or a
question is shown as text and never runs. Also the /ask API through gradio_client.

One app over one temporary index serves the whole module (the models load once). The
answers come from a 270M model, so the checks are about structure, not wording.
Screenshots go to tests/e2e/screenshots/ (git-ignored) and one to docs/screenshot.png.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.pipeline import Pipeline
from rag.settings import resolve_settings
from tests.conftest import ANSWER_KEYS
from ui.app import build_app, launch, warm_up

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(__file__).parent / "screenshots"
README_SHOT = ROOT / "docs" / "screenshot.png"
ANSWER_TIMEOUT_MS = 90_000

UPLOADED = (
    "PT Sinar Kopi Nusantara membuka kedai kopi pertamanya di Makassar pada "
    "3 Maret 2031. Kedai itu berada di Jalan Pettarani dan mempekerjakan 45 barista "
    "lokal.\n"
)
HOSTILE = (
    "Koperasi Angin Timur meresmikan kincir angin di Sumba pada 9 Juni 2032.\n"
    "<script>window.__xss = 1; alert('script')</script> "
    "<img src=x onerror=\"window.__xss = 2; alert('img')\"> Teks ini tampil apa adanya.\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Pipeline]]:
    """The app over a fresh index of the bundled article, on a free local port."""
    pipeline = Pipeline(resolve_settings(index_dir=tmp_path_factory.mktemp("e2e-index")))
    warm_up(pipeline)
    app = build_app(pipeline)
    url = launch(app, "127.0.0.1", free_port(), block=False)
    yield url, pipeline
    app.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(served, browser):
    """A fresh browser session on the app; records any dialog a script would open."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(served[0])
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def ask(page, question: str) -> str:
    """Type a question, send it, wait for the verified answer; its message's text."""
    done = page.locator("#chat .timings").count()
    page.evaluate("""() => { window.__streamed = false;
        new MutationObserver(() => { if (document.querySelector('#chat .streaming'))
          window.__streamed = true; }).observe(document.body, {childList: true, subtree: true});
    }""")
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(
        f"document.querySelectorAll('#chat .timings').length > {done}", timeout=ANSWER_TIMEOUT_MS
    )
    assert page.evaluate("window.__streamed"), "the answer was not streamed"
    return page.locator("#chat .answer").last.inner_text()


def assert_well_formed(page) -> None:
    """The last answer is a refusal, a cited answer with highlighted sources, or flagged."""
    last = page.locator("#chat .answer").last
    refused = last.locator(".refusal").count() > 0
    cited = last.locator("a.cite").count() > 0
    flagged = "No sentence of the articles supports" in last.inner_text()
    assert [refused, cited, flagged].count(True) == 1
    if cited:
        href = last.locator("a.cite").first.get_attribute("href")
        assert page.locator(f"#sources {href} mark").count() > 0


def test_chat_in_indonesian_and_english_with_highlighted_sources(page):
    answer = ask(page, "Produk apa saja yang akan dipasarkan lewat Alibaba?")
    assert answer.strip()
    assert page.locator("#chat .answer").last.locator("a.cite").count() > 0
    mark = page.locator("#sources mark").first
    assert mark.inner_text().strip() in page.locator("#sources .source").first.inner_text()
    page.check("#whole-article input")
    page.wait_for_selector("#sources .article mark")
    README_SHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(README_SHOT), clip={"x": 0, "y": 0, "width": 1280, "height": 900})
    shoot(page, "1-indonesian")

    ask(page, "Kapan mulai dipasarkan?")  # a follow-up: rewritten with the first question
    page.check("#show-rewritten input")
    rewritten = page.locator("#chat .rewritten").last
    rewritten.wait_for()
    assert "Alibaba" in rewritten.inner_text()
    assert_well_formed(page)

    assert ask(page, "Which products will be sold through Alibaba?").strip()
    assert_well_formed(page)
    shoot(page, "2-english")


def test_uploaded_article_is_searchable_at_once(page, tmp_path):
    article = tmp_path / "kopi-makassar.txt"
    article.write_text(UPLOADED, "utf-8")
    page.get_by_role("tab", name="Articles").click()
    page.set_input_files("#upload input[type=file]", str(article))
    page.wait_for_selector("#upload td.filename[aria-label='kopi-makassar.txt']")
    page.click("#add-file")
    page.wait_for_selector("#article-status .status.ok", timeout=ANSWER_TIMEOUT_MS)
    assert "kopi-makassar" in page.inner_text("#articles")
    shoot(page, "3-upload")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "Di kota mana PT Sinar Kopi Nusantara membuka kedai kopi pertamanya?")
    assert_well_formed(page)
    assert "kopi-makassar" in page.inner_text("#sources")
    assert "Makassar" in page.locator("#sources mark").first.inner_text()
    shoot(page, "4-uploaded-answer")


def test_markup_in_articles_and_questions_is_shown_as_text(page):
    page.get_by_role("tab", name="Articles").click()
    page.fill("#paste-title textarea", "<img src=x onerror=alert(1)> Sumba")
    page.fill("#paste-text textarea", HOSTILE)
    page.click("#add-paste")
    page.wait_for_selector("#article-status .status.ok", timeout=ANSWER_TIMEOUT_MS)
    assert "<img src=x onerror=alert(1)> Sumba" in page.inner_text("#articles")

    page.get_by_role("tab", name="Chat").click()
    question = (
        "Kapan Koperasi Angin Timur meresmikan kincir angin di Sumba? <b>x</b><script>1</script>"
    )
    ask(page, question)
    page.check("#whole-article input")
    page.wait_for_selector("#sources .article")
    sources = page.text_content("#sources")
    assert "<script>window.__xss = 1; alert('script')</script>" in sources
    assert "<img src=x onerror=" in sources
    assert "<b>x</b><script>1</script>" in page.inner_text("#chat")
    assert page.locator("#chat script, #chat b, #sources script, #sources img").count() == 0
    assert page.evaluate("window.__xss") is None and page.dialogs == []
    shoot(page, "5-markup-as-text")


def test_api_returns_the_cli_json(served):
    from gradio_client import Client

    url, pipeline = served
    client = Client(url, verbose=False)
    result = client.predict(
        "Produk apa saja yang akan dipasarkan lewat Alibaba?", "auto", 4, api_name="/ask"
    )
    assert set(result) >= ANSWER_KEYS  # the `rag ask --json` contract and result["answer"].strip()
    assert result["abstained"] or result["citations"]
    for c in result["citations"]:
        assert pipeline.store.documents[c["doc_id"]].text[c["start"] : c["end"]] == c["text"]
    with pytest.raises(Exception, match="the question is empty"):
        client.predict("   ", "auto", 4, api_name="/ask")


def test_eight_concurrent_clients_get_the_single_client_answers(served):
    from ui.load import run

    url, _ = served
    result = run(url, clients=8, rounds=1)
    assert result["errors"] == 0, result["error_samples"]
    assert result["differing_answers"] == 0
    assert result["requests"] == 8
