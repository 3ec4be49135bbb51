"""Accessibility in headless Chromium, over the fake pipeline: axe-core (the npm package,
injected by Playwright) finds no serious or critical violation in the chat, sources,
articles and settings views, in both themes and both interface languages; the answer is
announced through a live region; "/" focuses the question box, Shift+Enter starts a new
line in it and Esc stops the answer being written.

axe-core is installed by `make browser` into the model cache's axe/ folder (npm).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, slow_stream
from tests.e2e.test_kept import Server, ask

pytestmark = pytest.mark.e2e

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
AXE = CACHE / "rag-article-assistant" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
VIOLATIONS_JS = """async () => (await axe.run(document, {resultTypes: ['violations']}))
  .violations.map((v) => ({id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' '))}))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("a11y") / "index")
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (make browser)")
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def serious(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(VIOLATIONS_JS) if v["impact"] in SERIOUS]


def views(page, lang: str):
    """Each view in turn, named: chat with an answer, its sources, settings, articles."""
    ask(page, "Produk apa saja yang akan dipasarkan lewat Alibaba?")
    yield "chat"
    page.locator("#chat a.cite").first.click()
    page.check("#whole-article input")
    page.wait_for_selector("#sources .article mark")
    yield "sources"
    page.click("#settings button, #settings .label-wrap")
    page.wait_for_selector("#top-k")
    yield "settings"
    page.get_by_role("tab", name="Artikel" if lang == "id" else "Articles").click()
    page.wait_for_selector("#articles table")
    yield "articles"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("lang", ["en", "id"])
def test_no_serious_axe_violations_in_any_view(server, browser, scheme, lang):
    context = browser.new_context(viewport=DESKTOP, locale=lang, color_scheme=scheme)
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{server.port}/")
    page.wait_for_selector("#question textarea")
    page.wait_for_function(f"document.querySelector('#send').textContent.trim() === "
                           f"'{'Kirim' if lang == 'id' else 'Send'}'")  # fmt: skip
    found = {view: serious(page) for view in views(page, lang)}
    context.close()
    assert found == {view: [] for view in found}


def test_the_answer_is_announced_and_the_keyboard_reaches_the_question(
    server, browser, monkeypatch
):
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"http://127.0.0.1:{server.port}/")
    page.wait_for_selector("#question textarea")
    ask(page, "Produk apa saja yang akan dipasarkan lewat Alibaba?")
    live = page.locator("#answer-live")
    assert live.get_attribute("aria-live") == "polite"
    assert "lima produk" in live.text_content()
    assert page.get_attribute("#question textarea", "aria-label")

    page.click("#intro")  # the focus leaves the question box
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement === document.querySelector('#question textarea')")
    page.keyboard.type("Siapa")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Rudiantara?")
    assert page.input_value("#question textarea") == "Siapa\nRudiantara?"  # not sent

    monkeypatch.setattr(server.pipeline, "ask_stream", slow_stream(server.pipeline, 0.5))
    page.keyboard.press("Enter")
    page.wait_for_selector("#stop", state="visible")
    page.keyboard.press("Escape")
    page.wait_for_selector("#chat .answer.stopped .stopped")
    context.close()
