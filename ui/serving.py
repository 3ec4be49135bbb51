"""Serving the app: who may connect (a non-local address needs a login unless the app
is meant to be open), launching it beside the OpenAI-compatible API, and warming up.

Doesn't: build the app (``ui.app``) or parse command-line flags (``rag serve``, in
``ui.commands``).
"""

import ipaddress
import logging

import gradio as gr

from rag.errors import ConfigError, RagError
from rag.pipeline import Pipeline
from ui import a11y, feedback, openai_api, suggestions, theme

log = logging.getLogger(__name__)
# Gradio refuses bigger uploads outright; below it, our own checks (1 MB of text, 5 MB of
# HTML, 20 MB of PDF or Word: rag.articles.formats) explain the limit.
MAX_UPLOAD = "21mb"


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
