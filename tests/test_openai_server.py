"""The ``openai`` backend's token probabilities and prompt cache, against tiny local servers.

A fake OpenAI-compatible server (the standard library's http.server on 127.0.0.1) lists
its models with an ``owned_by`` and streams chat replies with the first token's logprobs,
without them, or refuses a request that asks for them; it keeps every request body, so the
tests see what the backend asked. The real server is tested in tests/test_llm.py (slow).
"""

from __future__ import annotations

import http.server
import json
import threading
from contextlib import contextmanager

import pytest

from rag.config.settings import resolve_settings
from rag.doctor import check_openai_server
from rag.errors import BackendError
from rag.factory import make_backend
from rag.llm.base import PROBABLE_TOKENS, Report, text_of

MESSAGES = [("system", "The article."), ("user", "Who?")]


class FakeServer(http.server.BaseHTTPRequestHandler):
    """``logprobs``: "send" them, "omit" them, or "refuse" a request asking for them."""

    logprobs = "send"
    owner = "llamacpp"
    bodies: list[dict]

    def do_GET(self):
        models = {"object": "list", "data": [{"id": "m", "owned_by": self.owner}]}
        self._reply(200, "application/json", json.dumps(models))

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.bodies.append(body)
        if self.logprobs == "refuse" and "logprobs" in body:
            error = {"error": {"message": "Unrecognized request argument: logprobs"}}
            self._reply(400, "application/json", json.dumps(error))
            return
        chunks = [self._chunk("Jack", top={"Jack": -0.1, "NOT": -2.5}), self._chunk(" Ma.")]
        chunks.append(self._chunk("", finish="stop"))
        events = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        self._reply(200, "text/event-stream", events)

    def _chunk(self, text: str, top: dict | None = None, finish: str | None = None) -> dict:
        choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
        if top and self.logprobs == "send":
            alternatives = [{"token": t, "logprob": lp} for t, lp in top.items()]
            entry = {"token": text, "logprob": -0.1, "top_logprobs": alternatives}
            choice["logprobs"] = {"content": [entry]}
        return {"id": "1", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}

    def _reply(self, status: int, kind: str, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@contextmanager
def fake_server(logprobs: str = "send", owner: str = "llamacpp"):
    """The server's URL and the list its request bodies go to."""
    bodies: list[dict] = []
    fields = {"logprobs": logprobs, "owner": owner, "bodies": bodies}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (FakeServer,), fields))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", bodies
    finally:
        server.shutdown()
        server.server_close()


def backend_at(url: str, **flags):
    flags = {"openai_mode": "chat", "openai_model": "m", **flags}
    return make_backend(resolve_settings(llm_backend="openai", openai_base_url=url, **flags))


def test_a_server_that_sends_probabilities_feeds_the_calibrated_refusals():
    with fake_server("send") as (url, bodies):
        backend = backend_at(url)
        report = Report()
        assert text_of(backend.stream(MESSAGES, [], 8, report=report)) == "Jack Ma."
    assert backend.reports_probabilities
    assert report.first_tokens["NOT"] == pytest.approx(0.0821, abs=1e-4)
    assert bodies[0]["logprobs"] is True and bodies[0]["top_logprobs"] == PROBABLE_TOKENS


def test_a_server_that_sends_none_is_not_asked_again():
    with fake_server("omit") as (url, bodies):
        backend = backend_at(url)
        assert backend.extra_body()["logprobs"] is True  # not known before the first reply
        report = Report()
        assert text_of(backend.stream(MESSAGES, [], 8, report=report)) == "Jack Ma."
        assert not backend.reports_probabilities and report.first_tokens == {}
        text_of(backend.stream(MESSAGES, [], 8))
    assert "logprobs" in bodies[0] and "logprobs" not in bodies[1]


def test_a_server_that_refuses_the_fields_answers_without_them():
    with fake_server("refuse") as (url, bodies):
        backend = backend_at(url)
        assert text_of(backend.stream(MESSAGES, [], 8)) == "Jack Ma."
        text_of(backend.stream(MESSAGES, [], 8))
    assert not backend.reports_probabilities
    assert ["logprobs" in b for b in bodies] == [True, False, False]


def test_logprobs_on_with_a_server_that_refuses_them_says_what_to_set():
    with fake_server("refuse") as (url, _):
        backend = backend_at(url, openai_logprobs="on")
        with pytest.raises(BackendError, match=r"answered 400.*RAG_OPENAI_LOGPROBS=auto or off"):
            text_of(backend.stream(MESSAGES, [], 8))


@pytest.mark.parametrize(("setting", "asked"), [("off", False), ("auto", True), ("on", True)])
def test_probabilities_are_asked_unless_turned_off(setting, asked):
    with fake_server("send") as (url, bodies):
        backend = backend_at(url, openai_logprobs=setting)
        text_of(backend.stream(MESSAGES, [], 8))
    assert ("logprobs" in bodies[0]) is asked
    assert backend.reports_probabilities is asked


def test_completion_mode_asks_for_no_probabilities():
    backend = backend_at("http://127.0.0.1:9/v1", openai_mode="completion", openai_logprobs="on")
    assert "logprobs" not in backend.extra_body() and not backend.reports_probabilities


@pytest.mark.parametrize(
    ("owner", "setting", "sent"),
    [
        ("llamacpp", "auto", True),
        ("vllm", "auto", False),
        ("openai", "auto", False),
        ("vllm", "on", True),
        ("llamacpp", "off", False),
    ],
)
def test_cache_prompt_goes_only_to_servers_that_take_it(owner, setting, sent):
    with fake_server("send", owner) as (url, bodies):
        backend = backend_at(url, openai_cache_prompt=setting)
        text_of(backend.stream(MESSAGES, [], 8))
    assert bodies[0].get("cache_prompt", False) is sent


@pytest.mark.parametrize(
    ("logprobs", "says"),
    [("send", "token probabilities: yes"), ("omit", "token probabilities: NO")],
)
def test_doctor_says_whether_the_server_gives_probabilities(logprobs, says):
    with fake_server(logprobs, "vllm") as (url, _):
        settings = resolve_settings(
            llm_backend="openai", openai_base_url=url, openai_mode="chat", openai_model="m"
        )
        check = check_openai_server(settings)
    assert check.ok and says in check.detail and "(vllm): model m;" in check.detail


def test_doctor_fails_on_an_unreachable_server_with_the_fix():
    with fake_server() as (url, _):
        pass  # closed: nothing listens there any more
    check = check_openai_server(resolve_settings(llm_backend="openai", openai_base_url=url))
    assert not check.ok and "cannot reach the LLM server" in check.detail
    assert "RAG_OPENAI_BASE_URL" in check.fix


@pytest.mark.parametrize(("owner", "reset"), [("llamacpp", True), ("vllm", False)])
def test_a_new_question_is_read_from_the_article_on_a_prompt_cache(owner, reset):
    with fake_server("send", owner) as (url, bodies):
        backend = backend_at(url)
        text_of(backend.stream(MESSAGES, [], 8, keep_prefix=True, fresh=True))
        text_of(backend.stream(MESSAGES, [], 8, keep_prefix=True))  # a check: no reset
    asked = [[m["content"] for m in b["messages"]] for b in bodies]
    article_alone = [["The article.", "?"]] if reset else []
    assert asked == [*article_alone, ["The article.", "Who?"], ["The article.", "Who?"]]
    limit = bodies[0].get("max_completion_tokens", bodies[0].get("max_tokens"))
    assert limit == (1 if reset else 8)
