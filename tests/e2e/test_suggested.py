"""Suggested questions in headless Chromium over the fake pipeline (tests/fakes.py): after an
answer up to three show under the chat, in the answer's language and without the question
just asked; a click asks one as if typed; "New conversation" hides them; the heading follows
the interface language. tests/e2e/test_browser.py does the same with the real model.
"""

from __future__ import annotations

import pytest

from rag.suggestions import Pool, Suggestion, pool_key, pool_path, write_pool
from tests.e2e.test_kept import Server, ask
from tests.e2e.test_kept import page as page  # the fixture

pytestmark = pytest.mark.e2e

ASKED = "Produk apa saja yang akan dipasarkan lewat Alibaba?"
POOL = [
    ("Produk apa saja yang akan dipasarkan lewat Alibaba?", "id"),  # the question asked
    ("Merek apa saja yang akan dipasarkan lewat Alibaba?", "id"),
    ("Kapan kelima produk Indonesia mulai dipasarkan di Tiongkok?", "id"),
    ("Berapa brand ada di dalam satu platform Alibaba?", "id"),
    ("Which products will be sold through Alibaba?", "en"),
]


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "index")
    s.start()
    doc = s.pipeline.store.documents["jack-ma-bali"]
    pool = [Suggestion(q, lang, doc.doc_id, "") for q, lang in POOL]
    write_pool(
        pool_path(s.index_dir, doc.doc_id),
        Pool(doc.doc_id, pool_key(doc, s.pipeline.settings), pool),
    )
    yield s
    s.stop()


def offered(page) -> list[str]:
    page.wait_for_selector("#suggestion-0", state="visible")
    return [b.strip() for b in page.locator("#suggestions button.suggestion").all_inner_texts()]


def test_suggestions_follow_an_answer_and_a_click_asks_one(page, server):
    assert not page.locator("#suggestion-0").is_visible()  # nothing before an answer
    ask(page, ASKED)
    first = offered(page)
    assert len(first) == 3 and ASKED not in first
    assert all(q in {q for q, lang in POOL if lang == "id"} for q in first)
    assert page.inner_text("#suggestions-head").strip() == "Suggested questions"

    page.fill("#question textarea", "a draft")
    page.click("#suggestion-1")
    page.wait_for_function("document.querySelectorAll('#chat .timings').length === 2")
    assert page.locator("#chat .question").last.inner_text().strip() == first[1]
    assert page.input_value("#question textarea") == "a draft"  # the draft is left alone
    second = offered(page)
    assert first[1] not in second and ASKED not in second

    page.get_by_role(
        "radio", name="Indonesia"
    ).check()  # the interface language, not the suggestions'
    page.wait_for_function(
        "document.querySelector('#suggestions-head').innerText.includes('Pertanyaan')"
    )
    page.click("#clear")
    page.wait_for_selector("#suggestion-0", state="hidden")
