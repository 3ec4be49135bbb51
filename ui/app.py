"""The Gradio app: a chat over the indexed articles, its sources, and an Articles tab.

What it does: lays out the components (the chat tab: article card, chat, question box,
examples, folded settings, sources panel; the Articles tab: add, list, remove), relabels
them in the interface language, wires them to ``ui.actions``, exposes the JSON endpoint
``/ask`` (the object `rag ask --json` prints), and serves the app. Serving on
anything but the loopback interface needs a login (``auth``) unless ``no_auth`` says the
app is meant to be open.

What it does not do: answer, index or render HTML itself (the pipeline, ``ui.actions`` and
``ui.render`` do), or parse command-line flags (``rag serve`` in ``rag.cli`` does).

Kept without ``from __future__ import annotations``: ``gr.api`` reads the endpoint's type
hints as real types to describe the API.
"""

import ipaddress
import logging
from dataclasses import dataclass
from functools import partial

import gradio as gr

from rag.articles.formats import suffixes
from rag.config.settings import K_RANGE, LANGUAGES
from rag.errors import ConfigError, RagError
from rag.pipeline import Pipeline
from rag.suggestions import make_in_background
from ui import a11y, feedback, history, openai_api, render, suggestions, theme
from ui.actions import ALL_ARTICLES, Actions, answer_language_choices
from ui.conversation import Conversation
from ui.i18n import DEFAULT, DETECT_JS, REMEMBER_JS, Labels, pick_language, t

# About the bundled article, each understandable without the conversation before it.
EXAMPLES = [
    "Produk apa saja yang akan dipasarkan lewat Alibaba?",
    "Kapan kelima produk Indonesia mulai dipasarkan di Tiongkok?",
    "Who is the Minister of Communication mentioned in the article?",
    "How many digital entrepreneurs will Alibaba create each year?",
]
log = logging.getLogger(__name__)
K_SLIDER = (K_RANGE[0], 10)  # the useful part of the range the API accepts
# Gradio refuses bigger uploads outright; below it, our own checks (1 MB of text, 5 MB of
# HTML: rag.articles.formats) explain the limit.
MAX_UPLOAD = "6mb"
EMPTY_SOURCES = render.sources_html([], {})


# -- who may connect ---------------------------------------------------------------------
def parse_auth(value: str | tuple[str, str] | None) -> tuple[str, str] | None:
    """'user:password' (or a (user, password) pair) -> (user, password).

    >>> parse_auth("ana:s3cret:x")
    ('ana', 's3cret:x')
    """
    if value is None:
        return None
    if isinstance(value, str):
        user, sep, password = value.partition(":")
        value = (user, password) if sep else ()
    if len(value) != 2 or not all(value):
        raise ConfigError("--auth needs user:password, both non-empty (e.g. --auth ana:s3cret).")
    return value[0], value[1]


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach a server bound to host.

    >>> is_loopback("localhost"), is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def check_bind(
    host: str, auth: str | tuple[str, str] | None = None, no_auth: bool = False
) -> tuple[str, str] | None:
    """The login to require when serving on host, or a ConfigError if one is missing."""
    credentials = parse_auth(auth)
    if credentials and no_auth:
        raise ConfigError("pass either --auth user:password or --no-auth, not both.")
    if not is_loopback(host) and not credentials and not no_auth:
        raise ConfigError(
            f"serving on {host} lets other machines reach the app; pass --auth user:password "
            "to require a login, or --no-auth to serve it without one on purpose."
        )
    return credentials


# -- layout ------------------------------------------------------------------------------
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
        models = partial(render.backend_html, pipeline.backend.describe(), settings.embed_model)
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


def _chat_tab(pipeline: Pipeline, actions: Actions, labels: Labels) -> ChatParts:
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


def _wire_chat(c: ChatParts, actions: Actions, ui_lang: gr.Radio) -> gr.events.Dependency:
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


@dataclass
class ArticleParts:
    """The Articles tab's components."""

    table: gr.HTML
    title: gr.Textbox
    text: gr.Textbox
    add_text: gr.Button
    paste_status: gr.HTML
    upload: gr.File
    add_file: gr.Button
    upload_status: gr.HTML
    url: gr.Textbox
    add_url: gr.Button
    url_status: gr.HTML
    remove_doc: gr.Dropdown
    remove: gr.Button
    confirm: gr.Column
    confirm_text: gr.HTML
    yes: gr.Button
    no: gr.Button
    remove_status: gr.HTML


def _articles_tab(actions: Actions, labels: Labels) -> ArticleParts:
    """The article list, the two ways to add one and removal; messages sit by their button."""
    table = gr.HTML(actions.listing()[0], elem_id="articles", js_on_load=None)
    with gr.Row():
        with gr.Column():
            title = labels.make(gr.Textbox, {"label": "paste_title"}, elem_id="paste-title")
            text = labels.make(gr.Textbox, {"label": "paste_text"}, lines=8, elem_id="paste-text")
            add_text = labels.make(gr.Button, {"value": "add_paste"}, elem_id="add-paste")
            paste_status = gr.HTML("", elem_id="paste-status", js_on_load=None)
        with gr.Column():
            url = labels.make(
                gr.Textbox, {"label": "url", "placeholder": "url_placeholder"}, elem_id="url"
            )
            add_url = labels.make(gr.Button, {"value": "add_url"}, elem_id="add-url")
            url_status = gr.HTML("", elem_id="url-status", js_on_load=None)
            upload = labels.make(
                gr.File,
                {"label": lambda lang: t(lang, "upload", types=" / ".join(suffixes()))},
                type="filepath",
                file_types=suffixes(),
                elem_id="upload",
            )
            add_file = labels.make(gr.Button, {"value": "add_file"}, elem_id="add-file")
            upload_status = gr.HTML("", elem_id="upload-status", js_on_load=None)
    with gr.Row(equal_height=True):
        remove_doc = gr.Dropdown(
            actions.article_choices()[1:],
            value=None,
            label=t(DEFAULT, "remove_pick"),
            elem_id="remove-doc",
            scale=3,
        )
        remove = labels.make(gr.Button, {"value": "remove"}, elem_id="remove", scale=1)
    with gr.Column(visible=False, elem_id="remove-confirm") as confirm:
        confirm_text = gr.HTML("", elem_id="remove-confirm-text", js_on_load=None)
        with gr.Row():
            yes = labels.make(
                gr.Button, {"value": "remove_yes"}, variant="stop", elem_id="remove-yes"
            )
            no = labels.make(gr.Button, {"value": "remove_no"}, elem_id="remove-no")
    remove_status = gr.HTML("", elem_id="remove-status", js_on_load=None)
    return ArticleParts(
        table, title, text, add_text, paste_status, upload, add_file, upload_status,
        url, add_url, url_status, remove_doc, remove, confirm, confirm_text, yes, no, remove_status,
    )  # fmt: skip


def _listing(c: ChatParts, a: ArticleParts) -> list:
    """The components that list the articles, in the order ``Actions.listing`` fills them."""
    return [a.table, c.doc, a.remove_doc, c.card, c.restriction]


def _wire_articles(c: ChatParts, a: ArticleParts, actions: Actions, ui_lang: gr.Radio) -> None:
    """Adding clears its form; removing asks first; each message sits by its button."""
    private = {"api_visibility": "private"}
    listing = _listing(c, a)
    a.add_text.click(
        actions.add_pasted,
        [a.title, a.text, c.doc, ui_lang],
        [a.paste_status, *listing, a.title, a.text],
        **private,
    )
    a.add_file.click(
        actions.add_uploaded,
        [a.upload, c.doc, ui_lang],
        [a.upload_status, *listing, a.upload],
        **private,
    )
    a.add_url.click(
        actions.add_url, [a.url, c.doc, ui_lang], [a.url_status, *listing, a.url], **private
    )
    a.remove.click(
        actions.ask_remove,
        [a.remove_doc, ui_lang],
        [a.confirm, a.confirm_text, a.remove_status],
        **private,
    )
    a.yes.click(
        actions.remove,
        [a.remove_doc, c.doc, ui_lang],
        [a.remove_status, *listing, a.confirm],
        **private,
    )
    a.no.click(lambda: gr.Column(visible=False), None, a.confirm, **private)


def _wire_language(
    app: gr.Blocks,
    labels: Labels,
    c: ChatParts,
    a: ArticleParts,
    actions: Actions,
    ui_lang: gr.Radio,
) -> None:
    """The interface follows the browser's language on load; the switch relabels it all."""
    listing = _listing(c, a)

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
                chat = _chat_tab(pipeline, actions, labels)
            with labels.make(gr.Tab, {"label": "tab_articles"}, id="articles-tab"):
                articles = _articles_tab(actions, labels)
        answered = _wire_chat(chat, actions, ui_lang)
        _wire_articles(chat, articles, actions, ui_lang)
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


# -- serving -----------------------------------------------------------------------------
def launch(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    block: bool = True,
    pipeline: Pipeline | None = None,
) -> str:
    """Start serving app; returns its local URL (at once when block is False). With the
    pipeline, the server also answers the OpenAI-compatible API (ui.openai_api)."""
    # Answers run concurrently: the model's own line (rag.llm.slots) decodes them together in
    # its slots, tells each reader its place, and refuses with "busy" past its bound.
    server, url, _ = app.queue(default_concurrency_limit=None).launch(
        server_name=host,
        server_port=port,
        auth=auth,
        show_error=True,
        css=theme.CSS + feedback.CSS + a11y.CSS + suggestions.CSS,
        head=theme.SCRIPT + feedback.SCRIPT + a11y.SCRIPT,
        max_file_size=MAX_UPLOAD,
        prevent_thread_lock=True,  # the API's routes are added to the running server
        quiet=not block,
    )
    if pipeline is not None:
        openai_api.mount(server, pipeline, auth)
    if block:
        app.block_thread()
    return url


def warm_up(pipeline: Pipeline) -> None:
    """Load the index and both models now, and put the articles' evaluated prefix in a slot
    of the model (restored from disk when it was saved before), so the first question is
    not the slow one."""
    try:
        pipeline.warm_up()
    except RagError as exc:  # the app still starts; the error shows again on first use
        log.warning("warm-up failed: %s", exc)


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
