"""What a person keeps, in headless Chromium: two answers survive a reload and a server
restart with their sources, the Markdown download resolves each marker to the right span,
and a thumbs-down lands in the feedback file. The app runs over the fake pipeline
(tests/fakes.py): the answers are scripted, everything between them and the page is real.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import feedback
from rag.pipeline import Pipeline
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, free_port
from tests.fakes import fake_pipeline
from ui.app import build_app, launch

pytestmark = pytest.mark.e2e

# Neither asks for a time, a number or a name: the scripted reply is not asked again.
QUESTIONS = ("Produk apa saja yang akan dipasarkan lewat Alibaba?", "Merek apa saja yang ikut?")
SAVED_MS = 1_500  # the conversation is saved just after the answer is shown


class Replies(list):
    """The scripted model's reply to every prompt: one sentence citing the five products."""

    def __init__(self, reply: str):
        super().__init__([reply])

    def pop(self, index: int = 0) -> str:
        return self[0]


class Server:
    """The app over one index folder on one port, which can be stopped and started again."""

    def __init__(self, index_dir: Path):
        self.index_dir, self.port, self.app = index_dir, free_port(), None
        self.pipeline: Pipeline | None = None

    def start(self) -> str:
        self.pipeline, backend = fake_pipeline(self.index_dir, [])
        unit = next(
            i for i, p in enumerate(self.pipeline.store.passages, 1) if "lima produk" in p.text
        )
        backend.replies = Replies(f"Ada lima produk yang akan dipasarkan lewat Alibaba [{unit}].")
        self.app = build_app(self.pipeline)
        return launch(self.app, "127.0.0.1", self.port, block=False, pipeline=self.pipeline)

    def stop(self) -> None:
        self.app.close()


@pytest.fixture
def server(tmp_path) -> Iterator[Server]:
    s = Server(tmp_path / "index")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def page(server):
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_context(viewport=DESKTOP, locale="en-US").new_page()
        page.goto(f"http://127.0.0.1:{server.port}/")
        page.wait_for_selector("#question textarea")
        yield page
        browser.close()


def ask(page, question: str) -> None:
    done = page.locator("#chat .timings").count()
    page.fill("#question textarea", question)
    page.click("#send")
    page.wait_for_function(f"document.querySelectorAll('#chat .timings').length > {done}")
    page.wait_for_selector("#send", state="visible")
    page.wait_for_timeout(SAVED_MS)


def reload(page, answers: int) -> None:
    page.reload()
    page.wait_for_selector("#question textarea")
    page.wait_for_function(f"document.querySelectorAll('#chat .timings').length === {answers}")


def assert_both_back(page) -> None:
    assert [q.strip() for q in page.locator("#chat .question").all_inner_texts()] == list(QUESTIONS)
    assert page.locator("#chat a.cite").count() == 2
    assert page.locator("#sources section").count() == 2  # each answer keeps its sources
    page.locator("#chat a.cite").first.click()  # a marker of the first answer finds its span
    page.wait_for_selector("#sources .source.targeted mark")


def test_a_conversation_survives_reload_and_restart_exports_and_takes_a_thumbs_down(page, server):
    for question in QUESTIONS:
        ask(page, question)
    reload(page, 2)
    assert_both_back(page)

    with page.expect_download() as download:
        page.click("#download-md")
    markdown = Path(download.value.path()).read_text("utf-8")
    article = server.pipeline.store.documents["jack-ma-bali"]
    quoted = re.findall(r"- \[(\d+)\] “(.+)” — (.+), characters (\d+)–(\d+)", markdown)
    assert len(quoted) == 2 and all(q[2] == article.name for q in quoted)
    for _, text, _, start, end in quoted:
        assert " ".join(article.text[int(start) : int(end)].split()) == text

    page.locator("#chat .rate.down").last.click()
    page.wait_for_selector("#feedback-status .status.ok")
    page.fill("#feedback-note textarea", "it does not say when")
    page.click("#feedback-save")
    page.wait_for_function("document.querySelector('#feedback-status').innerText.includes('Note')")
    [record] = feedback.read(feedback.feedback_path(server.index_dir))
    assert (record["rating"], record["note"], record["question"]) == (
        "down", "it does not say when", QUESTIONS[1],
    )  # fmt: skip
    assert json.dumps(record["citations"])

    server.stop()  # the server keeps no conversation: the browser brings it back
    time.sleep(1)
    server.start()
    reload(page, 2)
    assert_both_back(page)
    page.click("#clear")
    page.wait_for_function("document.querySelectorAll('#chat .timings').length === 0")
    page.click("#past input")
    assert page.locator("[role=option]").count() == 1  # the last conversation stays listed
