"""The Gradio app: a chat over the indexed articles, its sources, and an Articles tab.

What it does: lays out the components, wires them to ``ui.actions``, exposes the JSON
endpoint ``/ask`` (the object `rag ask --json` prints), and serves the app. Serving on
anything but the loopback interface needs a login (``auth``) unless ``no_auth`` says the
app is meant to be open.

What it does not do: answer, index or render HTML itself (the pipeline, ``ui.actions`` and
``ui.render`` do), or parse command-line flags (``rag serve`` in ``rag.cli`` does).

Kept without ``from __future__ import annotations``: ``gr.api`` reads the endpoint's type
hints as real types to describe the API.
"""

import ipaddress
import sys

import gradio as gr

from rag.errors import ConfigError, RagError
from rag.pipeline import Pipeline
from rag.settings import Settings
from ui import render
from ui.actions import ALL_ARTICLES, LANGUAGES, Actions

EXAMPLES = [
    "Produk apa saja yang akan dipasarkan lewat Alibaba?",
    "Kapan mulai dipasarkan?",
    "Who is the Minister of Communication mentioned in the article?",
    "How many digital entrepreneurs will Alibaba create each year?",
]
K_SLIDER = (1, 10)
MAX_UPLOAD = "5mb"  # Gradio refuses bigger uploads outright; up to it, our 1 MB check explains
WARM_UP_QUESTION = "Apa isi artikel ini?"
EMPTY_SOURCES = render.sources_html(None, {}, 0)


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
def _controls(pipeline: Pipeline, actions: Actions) -> tuple[gr.Radio, gr.Slider, gr.Dropdown]:
    """Answer language, top-k, article restriction, and the models in use."""
    settings = pipeline.settings
    default_language = next(label for label, code in LANGUAGES.items() if code == settings.lang)
    with gr.Row(equal_height=True):
        language = gr.Radio(
            list(LANGUAGES), value=default_language, label="Answer language", elem_id="language"
        )
        k = gr.Slider(
            *K_SLIDER,
            value=min(max(settings.k, K_SLIDER[0]), K_SLIDER[1]),
            step=1,
            label="Passages to retrieve (top-k)",
            elem_id="top-k",
        )
        doc = gr.Dropdown(
            actions.article_choices(), value=ALL_ARTICLES, label="Ask about", elem_id="doc-filter"
        )
        gr.HTML(
            render.backend_html(pipeline.backend.describe(), settings.embed_model),
            js_on_load=None,
            elem_id="models",
        )
    return language, k, doc


def _conversation() -> tuple[gr.Chatbot, gr.Textbox, gr.Button, gr.Checkbox, gr.Button]:
    """The chat itself: messages, the question box, examples and the display toggles."""
    chatbot = gr.Chatbot(
        elem_id="chat",
        height=460,
        show_label=False,
        sanitize_html=True,  # messages are escaped already; this is the second fence
        render_markdown=True,  # each message is one HTML block, so Markdown never applies
        latex_delimiters=[],
        feedback_options=None,
        buttons=[],  # "copy" would copy the message's markup
        placeholder="Ask about the articles, in Bahasa Indonesia or English.",
    )
    with gr.Row():
        question = gr.Textbox(
            placeholder="Type a question…",
            show_label=False,
            elem_id="question",
            scale=5,
            max_lines=4,
        )
        send = gr.Button("Send", variant="primary", elem_id="send", scale=1)
    gr.Examples(EXAMPLES, inputs=question, label="Example questions")
    with gr.Row():
        show_rewritten = gr.Checkbox(label="Show rewritten question", elem_id="show-rewritten")
        clear = gr.Button("New conversation", size="sm", elem_id="clear")
    return chatbot, question, send, show_rewritten, clear


def _chat_tab(pipeline: Pipeline, actions: Actions) -> gr.Dropdown:
    """The chat, its sources panel and controls, wired; returns the article dropdown."""
    answers = gr.State([])  # the conversation: one Answer per question, oldest first
    language, k, doc = _controls(pipeline, actions)
    with gr.Row():
        with gr.Column(scale=3):
            chatbot, question, send, show_rewritten, clear = _conversation()
        with gr.Column(scale=2):
            whole_article = gr.Checkbox(label="Show the whole article", elem_id="whole-article")
            sources = gr.HTML(EMPTY_SOURCES, elem_id="sources", js_on_load=None)
    ask_inputs = [question, answers, language, k, doc, show_rewritten, whole_article]
    for trigger in (send.click, question.submit):
        trigger(
            actions.respond,
            ask_inputs,
            [chatbot, sources, answers, question],
            api_visibility="private",
        )
    for toggle in (show_rewritten, whole_article):
        toggle.change(
            actions.rerender,
            [answers, show_rewritten, whole_article],
            [chatbot, sources],
            api_visibility="private",
        )
    for reset in (clear.click, chatbot.clear):
        reset(
            lambda: ([], [], EMPTY_SOURCES),
            None,
            [answers, chatbot, sources],
            api_visibility="private",
        )
    return doc


def _articles_tab(actions: Actions, doc: gr.Dropdown) -> gr.HTML:
    """The article list and the two ways to add one; returns the list."""
    table = gr.HTML(actions.articles_table(), elem_id="articles", js_on_load=None)
    with gr.Row():
        with gr.Column():
            title = gr.Textbox(label="Title", elem_id="paste-title")
            text = gr.Textbox(label="Article text", lines=8, elem_id="paste-text")
            add_text = gr.Button("Add pasted article", elem_id="add-paste")
        with gr.Column():
            upload = gr.File(
                label="Or upload a .txt / .md file (UTF-8, up to 1 MB)",
                type="filepath",
                elem_id="upload",
            )
            add_file = gr.Button("Add uploaded file", elem_id="add-file")
    status = gr.HTML("", elem_id="article-status", js_on_load=None)
    outputs = [status, table, doc]
    add_text.click(actions.add_pasted, [title, text, doc], outputs, api_visibility="private")
    add_file.click(actions.add_uploaded, [upload, doc], outputs, api_visibility="private")
    return table


def build_app(pipeline: Pipeline) -> gr.Blocks:
    """The whole app over one pipeline (its index is loaded, or built, here)."""
    actions = Actions(pipeline)
    with gr.Blocks(title="Article assistant", analytics_enabled=False) as app:
        gr.Markdown(
            "## Ask the news articles\nAnswers cite the passages they come from; "
            "click a marker such as [1] to see its source."
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                doc = _chat_tab(pipeline, actions)
            with gr.Tab("Articles", id="articles-tab"):
                table = _articles_tab(actions, doc)
        app.load(actions.refresh_articles, doc, [table, doc], api_visibility="private")
        _api(actions, pipeline.settings.k)
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
) -> str:
    """Start serving app; returns its local URL (at once when block is False)."""
    _, url, _ = app.queue().launch(
        server_name=host,
        server_port=port,
        auth=auth,
        show_error=True,
        css=render.CSS,
        max_file_size=MAX_UPLOAD,
        prevent_thread_lock=not block,
        quiet=not block,
    )
    return url


def warm_up(pipeline: Pipeline) -> None:
    """Load the index and both models now, so the first question is not the slow one."""
    try:
        pipeline.ask(WARM_UP_QUESTION)
    except RagError as exc:  # the app still starts; the error shows again on first use
        print(f"warning: warm-up failed: {exc}", file=sys.stderr)


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | tuple[str, str] | None = None,
    no_auth: bool = False,
) -> None:
    """Serve the app until interrupted; refuses a non-local host without auth or no_auth."""
    credentials = check_bind(host, auth, no_auth)
    pipeline = Pipeline(settings, progress=True)
    print("Loading the index and the models…", file=sys.stderr)
    warm_up(pipeline)
    launch(build_app(pipeline), host, port, credentials)
