"""The Gradio app: a chat over the indexed articles, its sources, and an Articles tab.

What it does: puts the two tabs together (``ui.chat_tab``: article card, chat, question
box, examples, folded settings, sources panel; ``ui.articles_tab``: add, list, remove),
relabels them in the interface language, wires ratings, kept conversations and suggested
questions, exposes the JSON endpoint ``/ask`` (the object `rag ask --json` prints), and
serves the app (``ui.serving``: who may connect, launch).

What it does not do: answer, index or render HTML itself (the pipeline, ``ui.actions`` and
``ui.render`` do), or parse command-line flags (``rag serve``, in ``ui.commands``, does).

Kept without ``from __future__ import annotations``: ``gr.api`` reads the endpoint's type
hints as real types to describe the API.
"""

import gradio as gr

from rag.pipeline import Pipeline
from rag.suggestions import make_in_background
from ui import articles_tab, chat_tab, feedback, history, suggestions
from ui.actions import Actions
from ui.i18n import DEFAULT, DETECT_JS, REMEMBER_JS, Labels, pick_language, t
from ui.serving import check_bind, is_loopback, launch, parse_auth, warm_up

__all__ = ["build_app", "check_bind", "is_loopback", "launch", "parse_auth", "serve", "warm_up"]


def _wire_language(
    app: gr.Blocks,
    labels: Labels,
    c: chat_tab.ChatParts,
    a: articles_tab.ArticleParts,
    actions: Actions,
    ui_lang: gr.Radio,
) -> None:
    """The interface follows the browser's language on load; the switch relabels it all."""
    listing = articles_tab.listing_of(c, a)

    def on_load(lang: str, choice: str) -> tuple:
        return (pick_language(lang), *actions.listing(choice, pick_language(lang)))

    def relabel(lang: str, conv, show_rewritten: bool, whole_article: bool, choice: str):
        chat, sources = actions.rerender(conv, show_rewritten, whole_article, lang)
        listed = dict(zip(listing, actions.listing(choice, lang), strict=True))
        chatbot = gr.Chatbot(value=chat, placeholder=t(lang, "chat_placeholder"))
        return {**labels.updates(lang), **listed, c.chatbot: chatbot, c.sources: sources}

    private = {"api_visibility": "private", "show_progress": "hidden"}
    app.load(on_load, [ui_lang, c.doc], [ui_lang, *listing], js=DETECT_JS, **private)
    ui_lang.change(
        relabel,
        [ui_lang, c.conv, c.show_rewritten, c.whole_article, c.doc],
        [*labels.components(), *listing, c.chatbot, c.sources],
        **private,
    )
    ui_lang.input(None, ui_lang, None, js=REMEMBER_JS, **private)


def build_app(pipeline: Pipeline) -> gr.Blocks:
    """The whole app over one pipeline (its index is loaded, or built, here)."""
    actions = Actions(pipeline)
    labels = Labels()
    with gr.Blocks(title="Article assistant", analytics_enabled=False) as app:
        with gr.Row(elem_id="header", equal_height=True):
            labels.make(gr.Markdown, {"value": "title"}, elem_id="title", scale=3)
            ui_lang = labels.make(
                gr.Radio,
                {"label": "ui_lang"},
                choices=[("Indonesia", "id"), ("English", "en")],
                value=DEFAULT,
                show_label=False,
                container=False,
                elem_id="ui-lang",
                scale=1,
                min_width=150,
            )
        labels.make(gr.Markdown, {"value": "intro"}, elem_id="intro")
        with gr.Tabs():
            with labels.make(gr.Tab, {"label": "tab_chat"}, id="chat-tab"):
                chat = chat_tab.layout(pipeline, actions, labels)
            with labels.make(gr.Tab, {"label": "tab_articles"}, id="articles-tab"):
                articles = articles_tab.layout(actions, labels)
        answered = chat_tab.wire(chat, actions, ui_lang)
        articles_tab.wire(chat, articles, actions, ui_lang)
        _wire_language(app, labels, chat, articles, actions, ui_lang)
        _api(actions, pipeline.settings.k)
        ratings = feedback.Ratings(pipeline.settings.index_dir)
        feedback.wire(chat.rating, ratings, chat.conv, ui_lang)
        view, shown = [chat.show_rewritten, chat.whole_article], [chat.chatbot, chat.sources]
        keeper = history.Keeper(actions)
        history.wire(chat.kept, keeper, app, answered, chat.conv, view, shown, chat.clear, ui_lang)
        offer = suggestions.Offer(pipeline, actions)
        suggestions.wire(chat.suggested, offer, answered, chat, ui_lang)
    return app


def _api(actions: Actions, default_k: int) -> None:
    """The /ask endpoint (gradio_client: ``predict(q, "auto", 4, api_name="/ask")``)."""

    def ask(question: str, lang: str = "auto", k: int = default_k) -> dict:
        """Answer one question about the indexed articles; the `rag ask --json` object."""
        return actions.ask_json(question, lang, k)

    gr.api(ask, api_name="ask")


def serve(
    pipeline: Pipeline,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | tuple[str, str] | None = None,
    no_auth: bool = False,
) -> None:
    """Serve the app over a warmed-up pipeline until interrupted; refuses a non-local host
    without auth or no_auth."""
    credentials = check_bind(host, auth, no_auth)
    make_in_background(pipeline)  # suggested questions of articles that have none yet
    launch(build_app(pipeline), host, port, credentials, pipeline=pipeline)
