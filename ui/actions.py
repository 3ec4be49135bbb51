"""What the app's buttons do: queue and stream answers, stop, regenerate, manage articles.

What it does: calls the Pipeline (the only part of ``rag`` the UI drives) and turns its
results into component values with ``ui.render``, ``ui.sources`` and ``ui.cards``. A
question goes through two events: ``accept`` checks it (a problem becomes an inline message
next to the box, which keeps the text) and queues it in the session's ``Conversation``;
``drain`` then answers the queue, streaming each answer, until it is empty. A question sent
while an answer streams waits in that queue; Stop ends the answer being written and keeps
what was written so far, marked as stopped. Expected failures (``RagError``) become messages
next to the action that caused them, never an overlay; an article that fails a check changes
nothing.

What it does not do: lay out components (``ui.chat_tab``, ``ui.articles_tab``) or build HTML
itself (``ui.render``, ``ui.sources``, ``ui.cards``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from rag.answer.overview import button_question
from rag.answer.questions import MAX_QUESTION_CHARS, clean_question
from rag.config.settings import K_RANGE, LANGUAGES, check_choice, check_range
from rag.errors import InputError, RagError
from rag.pipeline import Pipeline
from rag.values import Document, Event, EventKind
from ui import cards, render, sources
from ui.articles import document_from_paste, document_from_upload, document_from_url
from ui.conversation import DONE, Conversation, Job, Turn
from ui.i18n import t
from ui.render import View

ALL_ARTICLES = "*"  # dropdown value meaning "no restriction" (never a slug: slugs are [a-z0-9-])
PROGRESS = gr.Progress()  # the marker Gradio looks for; it passes a fresh tracker per call
LOG = logging.getLogger("ui.api")
SKIP = gr.skip()


def answer_language_choices(lang: str) -> list[tuple[str, str]]:
    """The answer-language radio's (label, value) pairs in the interface language."""
    return [(t(lang, "lang_auto"), "auto"), ("Bahasa Indonesia", "id"), ("English", "en")]


def doc_filter(choice: str | None) -> str | None:
    """Dropdown value -> the doc_id to restrict retrieval to, or None for all articles."""
    return None if choice in (None, "", ALL_ARTICLES) else choice


def question_problem(question: str | None, lang: str = "en") -> str:
    """Why a question cannot be asked, in the interface language ('' when it can).

    >>> question_problem("   "), question_problem("Siapa Rudiantara?")
    ('Type a question first.', '')
    """
    text = (question or "").strip()
    if not text:
        return t(lang, "empty")
    if len(text) > MAX_QUESTION_CHARS:
        return t(lang, "too_long", n=len(text), limit=MAX_QUESTION_CHARS)
    try:
        clean_question(text)
    except InputError as exc:  # the pipeline's own rules (e.g. no words at all), in English
        return str(exc)
    return ""


def check_api_args(lang: str, k: Any) -> tuple[str, int]:
    """Validate the API's lang and k, as the CLI's argument parser would.

    >>> check_api_args("en", "3")
    ('en', 3)
    """
    check_choice("lang", lang, LANGUAGES, InputError)
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise InputError(f"k={k!r} is not a whole number; use 1 to {K_RANGE[1]}.") from None
    check_range("k", k, K_RANGE, InputError)
    return lang, k


@dataclass(frozen=True)
class Options:
    """The settings a question is asked with, taken when it is sent."""

    lang: str = "auto"
    k: int = 4
    doc_id: str | None = None


@dataclass(frozen=True)
class AskJob(Job):
    options: Options = Options()


def advance(turn: Turn, event: Event) -> Turn:
    """A turn after one pipeline event: passages found, a token, a restart, the answer."""
    if event.kind == EventKind.RETRIEVED:
        return replace(turn, hits=event.hits, standalone=event.text)
    if event.kind == EventKind.QUEUED:
        return replace(turn, ahead=int(event.text))
    if event.kind == EventKind.TOKEN:
        return replace(turn, partial=turn.partial + event.text, ahead=-1)
    if event.kind == EventKind.RETRY:  # the pipeline asks again on the top passage: new text
        return replace(turn, partial="")
    if event.answer is not None:
        answer = event.answer
        return replace(
            turn, state=DONE, answer=answer, hits=answer.hits, standalone=answer.standalone_question
        )
    return turn


def _options(language: str, k: float, doc_choice: str | None) -> Options:
    lang = language if language in LANGUAGES else "auto"
    return Options(lang, int(k), doc_filter(doc_choice))


def _queued_note(conv: Conversation, behind: bool, lang: str) -> str:
    """The inline message for a job that waits behind the answer being written."""
    if not behind:
        return ""
    return cards.status_html(t(lang, "queued", n=sum(j.queued for j in conv.waiting)), "info")


def _ticket() -> str:
    """A new value for the hidden ticket box, whose change starts a runner."""
    return str(time.monotonic_ns())


def _buttons(busy: bool) -> tuple[Any, Any, Any]:
    """Send, Stop and New conversation while an answer is (not) being written."""
    return gr.Button(visible=not busy), gr.Button(visible=busy), gr.Button(interactive=not busy)


class Actions:
    """The app's event handlers, bound to one Pipeline shared by every browser session."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    @property
    def documents(self) -> dict[str, Document]:
        return self.pipeline.store.documents

    def passage_counts(self) -> Counter:
        return Counter(p.doc_id for p in self.pipeline.store.passages)

    # -- chat: queueing ----------------------------------------------------------------------
    def accept(
        self,
        question: str,
        conv: Conversation,
        language: str,
        k: float,
        doc_choice: str,
        show_rewritten: bool,
        lang: str,
    ) -> tuple[Any, str, Any, Any]:
        """Check and queue a question: (question box, inline message, chat, runner ticket).

        A question that cannot be asked stays in the box, with the reason next to it.
        """
        problem = question_problem(question, lang)
        if problem:
            return SKIP, cards.status_html(problem, "error"), SKIP, SKIP
        behind = conv.submit(AskJob(question.strip(), options=_options(language, k, doc_choice)))
        chat = self._chat(conv, View(lang, show_rewritten))
        return "", _queued_note(conv, behind, lang), chat, _ticket()

    def regenerate(
        self,
        turn_number: float | None,
        conv: Conversation,
        language: str,
        k: float,
        doc_choice: str,
        show_rewritten: bool,
        lang: str,
    ) -> tuple[str, Any, Any]:
        """Queue turn n (1-based) to be answered again, in place:
        (inline message, chat, runner ticket)."""
        index = int(turn_number or 0) - 1
        if not 0 <= index < len(conv.turns):
            return "", SKIP, SKIP
        job = AskJob(conv.turns[index].question, index, options=_options(language, k, doc_choice))
        behind = conv.submit(job)
        chat = self._chat(conv, View(lang, show_rewritten))
        return _queued_note(conv, behind, lang), chat, _ticket()

    def summarize(
        self,
        conv: Conversation,
        language: str,
        k: float,
        doc_choice: str,
        show_rewritten: bool,
        lang: str,
    ) -> tuple[str, Any, Any]:
        """The article card's Summarize button: queue the overview question in the
        interface language about the card's article(s): (inline message, chat, ticket)."""
        question = button_question(lang)
        behind = conv.submit(AskJob(question, options=_options(language, k, doc_choice)))
        chat = self._chat(conv, View(lang, show_rewritten))
        return _queued_note(conv, behind, lang), chat, _ticket()

    def stop(self, conv: Conversation) -> None:
        """Ask the runner to end the answer being written (it keeps what was written)."""
        if conv.busy:
            conv.stop_requested = True

    def reset(self, conv: Conversation, lang: str) -> tuple[list, str, str]:
        """A new conversation (refused while an answer is written: its button is disabled)."""
        if not conv.busy:
            conv.turns.clear()
        return self._chat(conv, View(lang)), self._sources(conv, View(lang)), ""

    # -- chat: answering ---------------------------------------------------------------------
    def drain(
        self, conv: Conversation, show_rewritten: bool, whole_article: bool, lang: str
    ) -> Iterator[tuple]:
        """Answer every queued question in turn, streaming; yields
        (chat, sources, send, stop, new conversation, inline message)."""
        if not conv.claim():  # nothing queued, or this session's runner is at work already
            yield (SKIP,) * 6
            return
        view = View(lang, show_rewritten, whole_article)
        try:
            while (job := conv.next_job()) is not None:
                yield from self._answer(conv, job, view)
        finally:
            if conv.busy:  # cut off (the page was closed): leave the session usable
                conv.abandon()
        yield self._chat(conv, view), SKIP, *_buttons(False), SKIP

    def _answer(self, conv: Conversation, job: AskJob, view: View) -> Iterator[tuple]:
        """Stream one job's answer into the conversation; stops when asked to."""
        turn = Turn(job.question, doc_id=job.options.doc_id)
        conv.show(job, turn)
        status = "" if job.queued else SKIP
        yield self._chat(conv, view), self._sources(conv, view), *_buttons(True), status
        o = job.options
        try:
            events = self.pipeline.ask_stream(
                job.question, conv.history(job.replace), o.lang, o.k, o.doc_id
            )
            for event in events:
                if conv.stop_requested and event.kind != EventKind.FINAL:
                    events.close()  # ends the LLM stream now, not when the answer is done
                    turn = turn.stopped()
                    break
                turn = advance(turn, event)
                conv.show(job, turn)
                sources = SKIP if event.kind == EventKind.TOKEN else self._sources(conv, view)
                yield self._chat(conv, view), sources, SKIP, SKIP, SKIP, SKIP
        except RagError as exc:
            turn = turn.failed(str(exc))
        conv.finish(job, turn)
        yield self._chat(conv, view), self._sources(conv, view), SKIP, SKIP, SKIP, SKIP

    def _chat(self, conv: Conversation, view: View) -> list[dict]:
        return render.gradio_messages(conv.shown(), view, self.documents)

    def _sources(self, conv: Conversation, view: View) -> str:
        return sources.sources_html(conv.shown(), self.documents, view)

    def rerender(
        self, conv: Conversation, show_rewritten: bool, whole_article: bool, lang: str
    ) -> tuple[list[dict], str]:
        """The chat and sources panel again, after a display toggle or the language changed."""
        view = View(lang, show_rewritten, whole_article)
        return self._chat(conv, view), self._sources(conv, view)

    # -- articles --------------------------------------------------------------------------
    def article_choices(self, lang: str = "en") -> list[tuple[str, str]]:
        """Restriction choices: every article, after the 'All articles' entry."""
        docs = self.pipeline.documents()
        return [(t(lang, "all_articles"), ALL_ARTICLES)] + [
            (f"{d.name} ({d.doc_id})", d.doc_id) for d in docs
        ]

    def listing(self, choice: str | None = ALL_ARTICLES, lang: str = "en") -> tuple:
        """Everything that lists the articles: (table, restriction dropdown, removal
        dropdown, chat card, restriction notice); the current restriction is kept."""
        choices = self.article_choices(lang)
        keep = choice if choice in {value for _, value in choices} else ALL_ARTICLES
        counts = self.passage_counts()
        docs = self.pipeline.documents()
        return (
            cards.articles_html(docs, counts, lang),
            gr.Dropdown(choices=choices, value=keep, label=t(lang, "ask_about")),
            gr.Dropdown(choices=choices[1:], value=None, label=t(lang, "remove_pick")),
            *self.card(keep, lang),
        )

    def card(self, choice: str | None, lang: str = "en") -> tuple[str, str]:
        """The chat tab's article card and restriction notice for a restriction choice."""
        restricted = doc_filter(choice)
        if restricted not in self.documents:
            restricted = None
        card = cards.article_card(
            self.pipeline.documents(), self.passage_counts(), restricted, lang
        )
        return card, cards.restriction_html(self.documents, restricted, lang)

    def add_pasted(
        self, title: str, text: str, choice: str, lang: str, progress: gr.Progress = PROGRESS
    ) -> tuple:
        """Index a pasted article: (message, *listing, title, text); the form is cleared."""
        status, listing, ok = self._add(
            lambda: document_from_paste(title, text), choice, lang, progress
        )
        return (status, *listing, *(("", "") if ok else (SKIP, SKIP)))

    def add_uploaded(
        self, path: str | None, choice: str, lang: str, progress: gr.Progress = PROGRESS
    ) -> tuple:
        """Index an uploaded article file (any format ``FORMATS`` reads): (message, *listing,
        file); the file is cleared."""
        status, listing, ok = self._add(lambda: document_from_upload(path), choice, lang, progress)
        return (status, *listing, None if ok else SKIP)

    def add_url(self, url: str, choice: str, lang: str, progress: gr.Progress = PROGRESS) -> tuple:
        """Read and index the page at a pasted URL: (message, *listing, URL); the box is
        cleared once it is added."""
        allow_private = bool(self.pipeline.settings.allow_private_urls)
        status, listing, ok = self._add(
            lambda: document_from_url(url, allow_private), choice, lang, progress
        )
        return (status, *listing, "" if ok else SKIP)

    def _add(
        self, make: Callable[[], Document], choice: str, lang: str, progress: Callable[..., Any]
    ) -> tuple[str, tuple, bool]:
        try:
            progress(0.05, desc="…")
            doc = make()
            existed = doc.doc_id in self.documents
            progress(0.3, desc=doc.name)
            report = self.pipeline.index_documents([doc])
            progress(1.0)
        except RagError as exc:
            return cards.status_html(str(exc), "error"), (SKIP,) * 5, False
        message = self._added_message(doc, existed, report.changed, lang)
        return cards.status_html(message), self.listing(choice, lang), True

    def _added_message(self, doc: Document, existed: bool, changed: bool, lang: str) -> str:
        if not changed:
            return t(lang, "unchanged", name=doc.name)
        verb = t(lang, "verb_replaced" if existed else "verb_added")
        count = self.passage_counts()[doc.doc_id]
        return t(
            lang,
            "added",
            verb=verb,
            name=doc.name,
            id=doc.doc_id,
            n=count,
            language=doc.language or "?",
        )

    def ask_remove(self, doc_id: str | None, lang: str) -> tuple[Any, str, str]:
        """Ask to confirm removing an article: (confirmation box, its text, message)."""
        doc = self.documents.get(doc_id or "")
        if doc is None:
            return (
                gr.Column(visible=False),
                SKIP,
                cards.status_html(t(lang, "remove_none"), "error"),
            )
        if len(self.documents) == 1:
            message = t(lang, "remove_last", name=doc.name)
            return gr.Column(visible=False), SKIP, cards.status_html(message, "error")
        text = t(lang, "remove_confirm", name=doc.name, n=self.passage_counts()[doc.doc_id])
        return gr.Column(visible=True), cards.status_html(text, "info"), ""

    def remove(
        self, doc_id: str | None, choice: str, lang: str, progress: gr.Progress = PROGRESS
    ) -> tuple:
        """Remove the article after confirmation: (message, *listing, confirmation box)."""
        hide = gr.Column(visible=False)
        name = self.documents[doc_id].name if doc_id in self.documents else str(doc_id)
        try:
            progress(0.3, desc=name)
            report = self.pipeline.remove_document(doc_id or "")
        except RagError as exc:
            return cards.status_html(str(exc), "error"), *(SKIP,) * 5, hide
        message = t(lang, "removed", name=name, docs=report.documents)
        return cards.status_html(message), *self.listing(choice, lang), hide

    # -- API -------------------------------------------------------------------------------
    def ask_json(self, question: str, lang: str = "auto", k: int = 4) -> dict:
        """The `rag ask --json` object for one question (no conversation history).

        A rejected request is logged as one line; the client gets the message.
        """
        try:
            lang, k = check_api_args(lang, k)
            return self.pipeline.ask(question, lang=lang, k=k).to_json()
        except RagError as exc:
            LOG.warning("/ask rejected: %s", exc)
            raise gr.Error(str(exc), print_exception=False) from None
