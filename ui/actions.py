"""What the app's buttons do: ask (streamed), re-render, add an article, the JSON API.

What it does: calls the Pipeline (the only part of ``rag`` the UI drives) and turns its
results into component values with ``ui.render``. Expected failures (``RagError``) become
a ``gr.Error`` carrying the error's own message, or a red status line in the Articles tab;
an article that fails a check changes nothing.

What it does not do: lay out components (``ui.app``) or build HTML itself (``ui.render``).
The conversation lives in the browser session (``gr.State``): a list of ``Answer``s, from
which the chatbot, the sources panel and the follow-up history are all derived.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gradio as gr

from rag.errors import InputError, RagError
from rag.pipeline import Pipeline
from rag.types import Answer, Document
from ui import render
from ui.articles import document_from_paste, document_from_upload

LANGUAGES = {"Auto": "auto", "Bahasa Indonesia": "id", "English": "en"}
ALL_ARTICLES = "*"  # dropdown value meaning "no restriction" (never a slug: slugs are [a-z0-9-])
API_K_RANGE = (1, 50)  # the same range `rag ask --k` accepts
PROGRESS = gr.Progress()  # the marker Gradio looks for; it passes a fresh tracker per call


def history_of(answers: Sequence[Answer]) -> list[str]:
    """The previous standalone questions, which the pipeline uses to rewrite follow-ups."""
    return [a.standalone_question for a in answers]


def doc_filter(choice: str | None) -> str | None:
    """Dropdown value -> the doc_id to restrict retrieval to, or None for all articles."""
    return None if choice in (None, "", ALL_ARTICLES) else choice


def check_api_args(lang: str, k: Any) -> tuple[str, int]:
    """Validate the API's lang and k, as the CLI's argument parser would.

    >>> check_api_args("en", "3")
    ('en', 3)
    """
    if lang not in ("auto", "id", "en"):
        raise InputError(f"lang={lang!r} is unknown; use auto, id or en.")
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise InputError(f"k={k!r} is not a whole number; use 1 to {API_K_RANGE[1]}.") from None
    if not API_K_RANGE[0] <= k <= API_K_RANGE[1]:
        raise InputError(f"k={k} is out of range; use a value from 1 to {API_K_RANGE[1]}.")
    return lang, k


def _assistant(content: str) -> dict:
    return {"role": "assistant", "content": content}


class Actions:
    """The app's event handlers, bound to one Pipeline shared by every browser session."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    # -- chat ------------------------------------------------------------------------------
    def respond(
        self,
        question: str,
        answers: list[Answer],
        language: str,
        k: float,
        doc_choice: str,
        show_rewritten: bool,
        whole_article: bool,
    ) -> Iterator[tuple]:
        """Stream one answer: yields (chat messages, sources html, answers, textbox value)."""
        answers = list(answers or [])
        events = self.pipeline.ask_stream(
            question,
            history_of(answers),
            LANGUAGES.get(language, "auto"),
            int(k),
            doc_filter(doc_choice),
        )
        retrieved = self._next(events)  # a bad question fails here, before the chat changes
        documents = self.pipeline.store.documents
        asked = [
            *render.chat_messages(answers, show_rewritten),
            {"role": "user", "content": render.question_html(question)},
        ]
        tokens: list[str] = []
        yield (
            [*asked, _assistant(render.streaming_html(""))],
            render.retrieved_html(retrieved.hits, documents),
            answers,
            "",
        )
        while (event := self._next(events)) is not None:
            if event.kind == "token":
                tokens.append(event.text)
                streamed = _assistant(render.streaming_html("".join(tokens)))
                yield [*asked, streamed], gr.skip(), answers, ""
            elif event.answer is not None:
                answers = [*answers, event.answer]
                yield (
                    render.chat_messages(answers, show_rewritten),
                    render.sources_html(event.answer, documents, len(answers), whole_article),
                    answers,
                    "",
                )

    @staticmethod
    def _next(events: Iterator) -> Any:
        """The next pipeline event (None at the end), with RagErrors shown to the user."""
        try:
            return next(events, None)
        except RagError as exc:
            raise gr.Error(str(exc)) from None

    def rerender(
        self, answers: list[Answer], show_rewritten: bool, whole_article: bool
    ) -> tuple[list[dict], str]:
        """The chat and sources panel again, after a display toggle changed."""
        answers = list(answers or [])
        latest = answers[-1] if answers else None
        return (
            render.chat_messages(answers, show_rewritten),
            render.sources_html(latest, self.pipeline.store.documents, len(answers), whole_article),
        )

    # -- articles --------------------------------------------------------------------------
    def article_choices(self) -> list[tuple[str, str]]:
        """Dropdown choices: every article, after the 'All articles' entry."""
        docs = self.pipeline.documents()
        return [("All articles", ALL_ARTICLES)] + [
            (f"{d.name} ({d.doc_id})", d.doc_id) for d in docs
        ]

    def articles_table(self) -> str:
        store = self.pipeline.store
        counts = Counter(p.doc_id for p in store.passages)
        return render.articles_html(list(store.documents.values()), counts)

    def refresh_articles(self, choice: str | None = ALL_ARTICLES) -> tuple[str, Any]:
        """The article table and the restriction dropdown, with the current choice kept."""
        choices = self.article_choices()
        keep = choice if choice in {value for _, value in choices} else ALL_ARTICLES
        return self.articles_table(), gr.Dropdown(choices=choices, value=keep)

    def add_pasted(
        self, title: str, text: str, choice: str, progress: gr.Progress = PROGRESS
    ) -> tuple[str, str, Any]:
        """Index a pasted article: (status, article table, dropdown)."""
        return self._add(lambda: document_from_paste(title, text), choice, progress)

    def add_uploaded(
        self, path: str | None, choice: str, progress: gr.Progress = PROGRESS
    ) -> tuple[str, str, Any]:
        """Index an uploaded .txt/.md file: (status, article table, dropdown)."""
        return self._add(lambda: document_from_upload(path), choice, progress)

    def _add(
        self, make: Callable[[], Document], choice: str, progress: Callable[..., Any]
    ) -> tuple[str, str, Any]:
        try:
            progress(0.05, desc="Checking the article…")
            doc = make()
            existed = doc.doc_id in self.pipeline.store.documents
            progress(0.3, desc=f"Embedding and indexing {doc.name}…")
            report = self.pipeline.index_documents([doc])
            progress(1.0, desc="Done")
        except RagError as exc:
            return render.status_html(str(exc), ok=False), gr.skip(), gr.skip()
        return (
            render.status_html(self._added_message(doc, existed, report.changed)),
            *self.refresh_articles(choice),
        )

    def _added_message(self, doc: Document, existed: bool, changed: bool) -> str:
        if not changed:
            return f"'{doc.name}' is already indexed with this text: nothing to do."
        count = sum(p.doc_id == doc.doc_id for p in self.pipeline.store.passages)
        verb = "Replaced" if existed else "Added"
        return (
            f"{verb} '{doc.name}' (id {doc.doc_id}, {count} passage(s), language "
            f"{doc.language or '?'}): you can ask about it now."
        )

    # -- API -------------------------------------------------------------------------------
    def ask_json(self, question: str, lang: str = "auto", k: int = 4) -> dict:
        """The `rag ask --json` object for one question (no conversation history)."""
        try:
            lang, k = check_api_args(lang, k)
            return self.pipeline.ask(question, lang=lang, k=k).to_json()
        except RagError as exc:
            raise gr.Error(str(exc)) from None
