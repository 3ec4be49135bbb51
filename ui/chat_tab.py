"""The chat tab: its components (article card, chat, question box, examples, folded
settings, sources panel) and their events, wired to ``ui.actions``.

Kept without ``from __future__ import annotations``, like ``ui.app``: Gradio reads some
handlers' type hints as real types.
"""

from dataclasses import dataclass
from functools import partial

import gradio as gr

from rag.config.settings import K_RANGE, LANGUAGES
from rag.pipeline import Pipeline
from ui import cards, feedback, history, sources, suggestions, theme
from ui.actions import ALL_ARTICLES, Actions, answer_language_choices
from ui.conversation import Conversation
from ui.i18n import DEFAULT, Labels, t

# About the bundled article, each understandable without the conversation before it.
EXAMPLES = [
    "Produk apa saja yang akan dipasarkan lewat Alibaba?",
    "Kapan kelima produk Indonesia mulai dipasarkan di Tiongkok?",
    "Who is the Minister of Communication mentioned in the article?",
    "How many digital entrepreneurs will Alibaba create each year?",
]
K_SLIDER = (K_RANGE[0], 10)  # the useful part of the range the API accepts
EMPTY_SOURCES = sources.sources_html([], {})


@dataclass
class ChatParts:
    """The chat tab's components that events read or write."""

    conv: gr.State
    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    stop: gr.Button
    status: gr.HTML
    clear: gr.Button
    language: gr.Radio
    k: gr.Slider
    doc: gr.Dropdown
    show_rewritten: gr.Checkbox
    whole_article: gr.Checkbox
    sources: gr.HTML
    card: gr.HTML
    restriction: gr.HTML
    regen_turn: gr.Number
    regen_go: gr.Button
    ticket: gr.Textbox
    rating: feedback.FeedbackParts | None = None
    kept: history.HistoryParts | None = None
    summarize: gr.Button | None = None  # the article card's Summarize button
    suggested: suggestions.SuggestionParts | None = None


def _settings(pipeline: Pipeline, labels: Labels) -> tuple[gr.Radio, gr.Slider, gr.Checkbox]:
    """The advanced controls, folded away: answer language, top-k, rewritten question, models."""
    settings = pipeline.settings
    with labels.make(gr.Accordion, {"label": "settings"}, open=False, elem_id="settings"):
        language = labels.make(
            gr.Radio,
            {"label": "answer_lang", "choices": answer_language_choices},
            value=settings.lang if settings.lang in LANGUAGES else "auto",
            elem_id="language",
        )
        k = labels.make(
            gr.Slider,
            {"label": "top_k"},
            minimum=K_SLIDER[0],
            maximum=K_SLIDER[1],
            value=min(max(settings.k, K_SLIDER[0]), K_SLIDER[1]),
            step=1,
            elem_id="top-k",
        )
        show_rewritten = labels.make(
            gr.Checkbox, {"label": "show_rewritten"}, elem_id="show-rewritten"
        )
        models = partial(cards.backend_html, pipeline.backend.describe(), settings.embed_model)
        labels.make(gr.HTML, {"value": models}, elem_id="models")
    return language, k, show_rewritten


def _question_box(labels: Labels) -> tuple[gr.Textbox, gr.Button, gr.Button, gr.HTML]:
    """The question box, Send (Stop while an answer is written) and the inline message."""
    with gr.Row(equal_height=True, elem_id="ask-row"):
        question = labels.make(
            gr.Textbox,
            {"placeholder": "placeholder"},
            show_label=False,
            elem_id="question",
            scale=5,
            max_lines=4,
        )
        send = labels.make(
            gr.Button, {"value": "send"}, variant="primary", elem_id="send", scale=1, min_width=90
        )
        stop = labels.make(
            gr.Button,
            {"value": "stop"},
            variant="stop",
            elem_id="stop",
            scale=1,
            min_width=90,
            visible=False,
        )
    status = gr.HTML("", elem_id="question-status", js_on_load=None)
    return question, send, stop, status


def _examples(labels: Labels, question: gr.Textbox) -> None:
    """Example questions that stand on their own; a click puts one in the question box."""
    labels.make(gr.HTML, {"value": lambda lang: f'<div class="meta">{t(lang, "examples")}</div>'})
    with gr.Row(elem_id="examples"):
        for text in EXAMPLES:
            button = gr.Button(text, size="sm", variant="secondary", min_width=200)
            button.click(lambda q=text: q, None, question, api_visibility="private")


def layout(pipeline: Pipeline, actions: Actions, labels: Labels) -> ChatParts:
    """The chat, the article card, its sources panel and the folded settings."""
    conv = gr.State(Conversation())  # Gradio gives each session a deep copy
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Row(equal_height=False):
                card = gr.HTML(actions.card(ALL_ARTICLES)[0], elem_id="article-card", scale=3)
                with gr.Column(scale=1, min_width=180):
                    doc = gr.Dropdown(
                        actions.article_choices(),
                        value=ALL_ARTICLES,
                        label=t(DEFAULT, "ask_about"),
                        elem_id="doc-filter",
                    )
                    summarize = labels.make(
                        gr.Button, {"value": "summarize"}, size="sm", elem_id="summarize"
                    )
            chatbot = gr.Chatbot(
                placeholder=t(DEFAULT, "chat_placeholder"),
                elem_id="chat",
                height=440,
                show_label=False,
                sanitize_html=True,  # messages are escaped already; this is the second fence
                render_markdown=True,  # each message is one HTML block, so Markdown never applies
                latex_delimiters=[],
                feedback_options=None,
                buttons=[],  # the built-in "copy" would copy markup; each answer has its own
            )
            rating = feedback.layout(labels)
            suggested = suggestions.layout(labels)
            restriction = gr.HTML("", elem_id="restriction", js_on_load=None)
            question, send, stop, status = _question_box(labels)
            _examples(labels, question)
            language, k, show_rewritten = _settings(pipeline, labels)
            clear = labels.make(
                gr.Button, {"value": "new_conversation"}, size="sm", elem_id="clear"
            )
            kept = history.layout(labels, pipeline.settings.index_dir)
        with gr.Column(scale=2):
            whole_article = labels.make(
                gr.Checkbox, {"label": "whole_article"}, elem_id="whole-article"
            )
            sources = gr.HTML(EMPTY_SOURCES, elem_id="sources", js_on_load=None)
    # Regenerate buttons live inside chat messages; the browser script clicks this one.
    regen_turn = gr.Number(visible="hidden", elem_id="regen-turn")
    regen_go = gr.Button("regenerate", visible="hidden", elem_id="regen-go")
    # Each accepted job changes this, which starts a runner: one event for all of them, so
    # the browser holds a new runner back until the running one ends (``always_last``).
    ticket = gr.Textbox(visible="hidden", elem_id="ticket")
    return ChatParts(
        conv, chatbot, question, send, stop, status, clear, language, k, doc, show_rewritten,
        whole_article, sources, card, restriction, regen_turn, regen_go, ticket, rating, kept,
        summarize, suggested,
    )  # fmt: skip


def wire(c: ChatParts, actions: Actions, ui_lang: gr.Radio) -> gr.events.Dependency:
    """Questions are accepted (or refused inline) at once, then answered by one runner
    (returned: the runner's event, which later steps follow)."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    asked_with = [c.conv, c.language, c.k, c.doc, c.show_rewritten, ui_lang]
    accepted = [c.question, c.status, c.chatbot, c.ticket]
    for trigger in (c.send.click, c.question.submit):
        trigger(
            actions.accept, [c.question, *asked_with], accepted, concurrency_limit=None, **private
        )
    if c.summarize is not None:  # asks about the card's article(s), like a sent question
        c.summarize.click(
            actions.summarize, asked_with, accepted[1:], concurrency_limit=None, **private
        )
    c.regen_go.click(
        actions.regenerate,
        [c.regen_turn, *asked_with],
        [c.status, c.chatbot, c.ticket],
        js=theme.REGEN_JS,
        concurrency_limit=None,
        **private,
    )
    answered = c.ticket.change(
        actions.drain,
        [c.conv, c.show_rewritten, c.whole_article, ui_lang],
        [c.chatbot, c.sources, c.send, c.stop, c.clear, c.status],
        trigger_mode="always_last",
        **private,
    )
    c.stop.click(actions.stop, c.conv, None, concurrency_limit=None, **private)
    c.clear.click(actions.reset, [c.conv, ui_lang], [c.chatbot, c.sources, c.status], **private)
    for toggle in (c.show_rewritten, c.whole_article):
        toggle.change(
            actions.rerender,
            [c.conv, c.show_rewritten, c.whole_article, ui_lang],
            [c.chatbot, c.sources],
            **private,
        )
    c.doc.change(actions.card, [c.doc, ui_lang], [c.card, c.restriction], **private)
    return answered
