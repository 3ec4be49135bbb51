"""Suggested questions under the chat: up to three, after each answer; a click asks one.

What it does: once an answer is complete, ``rag.suggestions.Suggester`` picks up to three
questions of the article's checked pool, in the answer's language, closest to that answer
and not asked yet in the conversation; they show as buttons under the chat, after a
heading in the interface language. A click asks the button's question exactly as if it had
been typed and sent (the same queue, streaming, sources and history), and hides the
buttons until the next answer. "New conversation" hides them too.

What it does not do: make suggestions (``rag.suggestions``), or wait for them: an article
whose pool is not made yet shows none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.pipeline import Pipeline
from rag.suggestions import SHOWN, Suggester
from ui.actions import Actions
from ui.conversation import DONE, Conversation
from ui.i18n import Labels

HEADING = {"en": "Suggested questions", "id": "Pertanyaan yang bisa diajukan"}
CSS = """
#suggestions-head .meta { margin-top: 4px; }
#suggestions button.suggestion { text-align: left; white-space: normal; }
"""


@dataclass
class SuggestionParts:
    heading: gr.HTML
    buttons: list[gr.Button]


def heading_html(lang: str) -> str:
    return (
        f'<div class="meta" role="heading" aria-level="3">{HEADING.get(lang, HEADING["en"])}</div>'
    )


def layout(labels: Labels) -> SuggestionParts:
    """The heading and the buttons, hidden until an answer has suggestions."""
    with gr.Column(elem_id="suggestions"):
        heading = labels.make(
            gr.HTML, {"value": heading_html}, visible=False, elem_id="suggestions-head"
        )
        with gr.Row(elem_id="suggestion-buttons"):
            buttons = [
                gr.Button(
                    "",
                    visible=False,
                    size="sm",
                    variant="secondary",
                    min_width=200,
                    elem_id=f"suggestion-{i}",
                    elem_classes=["suggestion"],
                )
                for i in range(SHOWN)
            ]
    return SuggestionParts(heading, buttons)


def shown(questions: list[str]) -> tuple:
    """Updates of (heading, *buttons) showing these questions (none: all hidden)."""
    buttons = [
        gr.Button(value=questions[i], visible=True)
        if i < len(questions)
        else gr.Button(value="", visible=False)
        for i in range(SHOWN)
    ]
    return gr.HTML(visible=bool(questions)), *buttons


class Offer:
    """What the suggestion buttons show and do, over one pipeline's pools."""

    def __init__(self, pipeline: Pipeline, actions: Actions):
        self.suggester = Suggester(pipeline)
        self.actions = actions

    def after_answer(self, conv: Conversation) -> tuple:
        """The suggestions for the conversation's last answer (none while one is written,
        after a stopped or failed turn, or when its article has no pool)."""
        last = conv.turns[-1] if conv.turns else None
        if conv.busy or last is None or last.state != DONE or last.answer is None:
            return shown([])
        asked = [q for t in conv.turns for q in (t.question, t.standalone) if q]
        return shown(self.suggester.suggest(last.answer, asked, last.doc_id))

    def ask(self, question: str, conv: Conversation, *options: Any) -> tuple:
        """Queue the clicked question as if sent from the box (whose draft is left alone)."""
        _, status, chat, ticket = self.actions.accept(question, conv, *options)
        return status, chat, ticket, *shown([])


def wire(parts: SuggestionParts, offer: Offer, answered: Any, chat: Any, ui_lang: gr.Radio) -> None:
    """answered: the answer runner's event; chat: the chat tab's parts (ui.app.ChatParts)."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    outputs = [parts.heading, *parts.buttons]
    answered.then(offer.after_answer, chat.conv, outputs, **private)
    asked_with = [chat.conv, chat.language, chat.k, chat.doc, chat.show_rewritten, ui_lang]
    for button in parts.buttons:
        button.click(
            offer.ask,
            [button, *asked_with],
            [chat.status, chat.chatbot, chat.ticket, *outputs],
            concurrency_limit=None,
            **private,
        )
    chat.clear.click(lambda: shown([]), None, outputs, **private)
