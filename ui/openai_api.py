"""The assistant as an OpenAI-compatible model: ``/v1/models`` and ``/v1/chat/completions``.

What it does: adds these routes to the app's FastAPI server, so the ``openai`` client,
LangChain's ``ChatOpenAI`` or Open WebUI can ask the articles. The last user message is
the question; the earlier user messages are the conversation's history, as in the chat
(an earlier assistant message that carries ``standalone_question``, as this API returns
it, stands in for the user message before it). The answer text keeps its markers ([1]);
the verified citations travel as data: ``citations``, ``abstained`` and
``standalone_question`` on the message, or on the final chunk's ``delta`` when streaming.
A streamed answer is sent once its citations are checked (the model's draft may still
change: markers renumbered, a refusal), in word-sized chunks; while the model writes, SSE
comments keep the connection alive. Every error has OpenAI's shape
``{"error": {"message", "type", "param", "code"}}`` and status (400 bad request, 401 no or
wrong login, 404 unknown path, 503 model failed), logged as one line.

What it does not do: keep conversations (the client sends the whole conversation each
time), honour sampling options (temperature, max_tokens, ... are accepted and ignored: the
answer is the assistant's verified one), or count tokens (no ``usage``). It logs in with the
app's own login: when ``rag serve`` runs with ``--auth user:password``, the API key is
``user:password`` (``Authorization: Bearer user:password``, or HTTP Basic).

>>> question_and_history([{"role": "user", "content": "Siapa Rudiantara?"},
...     {"role": "assistant", "content": "Menteri [1]."}, {"role": "user", "content": "Umurnya?"}])
('Umurnya?', ['Siapa Rudiantara?'])
"""

from __future__ import annotations

import base64
import hmac
import inspect
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.answer.questions import clean_question
from rag.errors import BackendError, InputError, RagError
from rag.pipeline import Pipeline
from rag.values import Answer, Citation, Document, EventKind
from ui.actions import check_api_args

MODEL_ID = "article-assistant"
OWNER = "rag-article-assistant"
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
KEEP_ALIVE_S = 2.0  # seconds between SSE comments while the model writes
LOG = logging.getLogger("ui.api")


@dataclass
class ApiError(Exception):
    """A request this API refuses, with OpenAI's error fields and an HTTP status."""

    message: str
    status: int = 400
    param: str | None = None
    code: str | None = None
    kind: str = "invalid_request_error"  # OpenAI's "type"

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict:
        """OpenAI's error object.

        >>> ApiError("no", param="model", code="model_not_found").body()["error"]["param"]
        'model'
        """
        keys = {"message": self.message, "type": self.kind, "param": self.param}
        return {"error": {**keys, "code": self.code}}

    def response(self, request: Request) -> JSONResponse:
        LOG.warning("%s %s rejected (%d): %s", request.method, request.url.path, self.status, self)
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def from_rag_error(exc: RagError) -> ApiError:
    """The pipeline's error as an API error: bad input is the client's, the rest the server's."""
    if isinstance(exc, InputError):
        return ApiError(str(exc), 400, "messages", "invalid_question")
    if isinstance(exc, BackendError):
        return ApiError(str(exc), 503, None, "model_unavailable", "server_error")
    return ApiError(str(exc), 500, None, "internal_error", "server_error")


# -- the request ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ChatRequest:
    """What a chat completion asks: the question, its history and how to answer it."""

    question: str
    history: list[str]
    stream: bool = False
    lang: str = "auto"
    k: int = 4
    doc_id: str | None = None


def text_of(content: Any) -> str:
    """A message's content (a string, or a list of parts) -> its text.

    >>> text_of([{"type": "text", "text": "Siapa"}, {"type": "text", "text": "Darmin?"}])
    'Siapa\\nDarmin?'
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if all(isinstance(p, str) for p in parts) and len(parts) == len(content):
            return "\n".join(parts)
    raise ApiError(
        "a message's content must be a string or a list of text parts "
        '([{"type": "text", "text": "..."}]); images and files are not supported.',
        param="messages",
    )


def checked_messages(messages: Any) -> list[dict]:
    """The messages, checked: a non-empty list of {role, content} ending with a user's."""
    if not isinstance(messages, list) or not messages:
        raise ApiError(
            "'messages' must be a non-empty list, e.g. "
            '[{"role": "user", "content": "Siapa Rudiantara?"}].',
            param="messages",
        )
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ApiError(
                f"messages[{i}] needs a 'role' ({', '.join(sorted(ROLES))}) and a 'content'.",
                param=f"messages[{i}]",
            )
    if messages[-1]["role"] != "user":
        raise ApiError(
            "the last message must be the user's question (role 'user').", param="messages"
        )
    return messages


def question_and_history(messages: list[dict]) -> tuple[str, list[str]]:
    """The last user message, and the earlier user messages as the chat's history."""
    history: list[str] = []
    for m in messages[:-1]:
        if m["role"] == "user" and text_of(m.get("content")).strip():
            history.append(text_of(m.get("content")).strip())
        standalone = m.get("standalone_question") if m["role"] == "assistant" else None
        if history and isinstance(standalone, str) and standalone.strip():
            history[-1] = standalone.strip()  # the question as the assistant understood it
    return text_of(messages[-1].get("content")), history


def checked(param: str, check: Callable[..., Any], *args: Any) -> Any:
    """check(*args), its InputError turned into a 400 about param."""
    try:
        return check(*args)
    except InputError as exc:
        raise ApiError(str(exc), param=param) from None


def parse_request(body: Any, documents: Mapping[str, Document], default_k: int) -> ChatRequest:
    """A chat completion's JSON body -> a ChatRequest, or an ApiError saying what to fix."""
    if not isinstance(body, dict):
        raise ApiError("the request body must be a JSON object.")
    model = body.get("model")
    if model != MODEL_ID:
        raise ApiError(
            f"the model {model!r} does not exist here; use {MODEL_ID!r} (GET /v1/models).",
            param="model",
            code="model_not_found",
        )
    if body.get("n", 1) not in (1, None):
        raise ApiError("only n=1 is supported: the assistant gives one answer.", param="n")
    stream = body.get("stream") or False
    if not isinstance(stream, bool):
        raise ApiError("'stream' must be true or false.", param="stream")
    question, history = question_and_history(checked_messages(body.get("messages")))
    question = checked("messages", clean_question, question)
    lang, _ = checked("lang", check_api_args, body.get("lang") or "auto", default_k)
    _, k = checked("k", check_api_args, lang, body.get("k", default_k))
    doc_id = body.get("doc_id")
    if doc_id is not None and doc_id not in documents:
        raise ApiError(
            f"no article {doc_id!r} in the index; known: {sorted(documents)}.", param="doc_id"
        )
    return ChatRequest(question, history, stream, lang, k, doc_id)


# -- the response ---------------------------------------------------------------------------
def citation_json(c: Citation, documents: Mapping[str, Document]) -> dict:
    """One citation: the marker in the text, the article and the exact span quoted."""
    doc = documents.get(c.doc_id)
    return {
        "marker": c.marker,
        "doc_id": c.doc_id,
        "title": doc.name if doc else c.doc_id,
        "passage_id": c.passage_id,
        "start": c.start,
        "end": c.end,
        "text": c.text,
        "page": c.page,
    }


def answer_fields(answer: Answer, documents: Mapping[str, Document]) -> dict:
    """What this API adds to a message: the citations, whether it abstained, the question."""
    return {
        "citations": [citation_json(c, documents) for c in answer.citations],
        "abstained": answer.abstained,
        "standalone_question": answer.standalone_question,
    }


@dataclass(frozen=True)
class Reply:
    """The id and time every chunk of one completion shares."""

    id: str
    created: int

    @classmethod
    def new(cls) -> Reply:
        return cls(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()))

    def head(self, kind: str) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": MODEL_ID}

    def completion(self, answer: Answer, documents: Mapping[str, Document]) -> dict:
        message = {"role": "assistant", "content": answer.answer, "refusal": None}
        return {
            **self.head("chat.completion"),
            "system_fingerprint": f"{answer.backend}/{answer.profile}",
            "choices": [
                {
                    "index": 0,
                    "message": {**message, **answer_fields(answer, documents)},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
        }

    def chunk(self, delta: dict, finish: str | None = None) -> str:
        """One SSE event of a streamed completion."""
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        data = {**self.head("chat.completion.chunk"), "choices": [choice]}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def pieces(text: str) -> list[str]:
    """An answer cut into word-sized chunks that join back to it exactly.

    >>> pieces("Dua  kata [1].")
    ['Dua  ', 'kata ', '[1].']
    """
    return re.findall(r"\s*\S+\s*", text) or [text]


def stream_answer(
    pipeline: Pipeline, req: ChatRequest, reply: Reply, documents: Mapping[str, Document]
) -> Iterator[str]:
    """SSE events: the role, keep-alives while the model writes, the verified text in
    pieces, a final chunk with the citations, then [DONE]. A failure becomes an error event."""
    yield reply.chunk({"role": "assistant", "content": ""})
    answer, last = None, time.monotonic()
    try:
        for event in pipeline.ask_stream(req.question, req.history, req.lang, req.k, req.doc_id):
            if event.kind == EventKind.FINAL:
                answer = event.answer
            elif time.monotonic() - last >= KEEP_ALIVE_S:
                last = time.monotonic()
                yield ": the model is writing; the verified answer follows\n\n"
    except RagError as exc:
        error = from_rag_error(exc)
        LOG.warning("/v1/chat/completions stream failed: %s", exc)
        yield f"data: {json.dumps(error.body(), ensure_ascii=False)}\n\n"
        return
    assert answer is not None
    for piece in pieces(answer.answer):
        yield reply.chunk({"content": piece})
    yield reply.chunk(answer_fields(answer, documents), finish="stop")
    yield "data: [DONE]\n\n"


# -- who may call ---------------------------------------------------------------------------
def presented_login(authorization: str) -> str:
    """The 'user:password' an Authorization header presents (Bearer or Basic), or ''.

    >>> presented_login("Bearer ana:s3cret"), presented_login("Basic YW5hOnMzY3JldA==")
    ('ana:s3cret', 'ana:s3cret')
    """
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ""
    return ""


def check_login(request: Request, credentials: tuple[str, str] | None) -> None:
    """Refuse a request without the app's login, when the app has one."""
    if credentials is None:
        return
    presented = presented_login(request.headers.get("authorization", ""))
    expected = f"{credentials[0]}:{credentials[1]}"
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise ApiError(
            "this server needs the app's login as the API key: pass api_key='user:password' "
            "(the --auth of rag serve), sent as 'Authorization: Bearer user:password'.",
            status=401,
            code="invalid_api_key",
        )


# -- the routes -----------------------------------------------------------------------------
def model_json(created: int) -> dict:
    return {"id": MODEL_ID, "object": "model", "created": created, "owned_by": OWNER}


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A route whose refusals (ApiError) and failures become OpenAI-shaped responses.

    Done per route rather than with an exception handler: the app's server is running
    already when these routes are added, and its handlers are fixed by then.
    """

    async def route(request: Request, **kwargs: Any) -> Any:
        try:
            result = handler(request, **kwargs)
            return await result if inspect.isawaitable(result) else result
        except ApiError as exc:
            return exc.response(request)
        except Exception:  # a bug: the client gets the error's shape, the log the traceback
            LOG.exception("%s %s failed", request.method, request.url.path)
            error = ApiError("the server failed on this request; see its log.", 500)
            return JSONResponse(error.body(), status_code=500)

    # FastAPI reads the handler's parameters; the route itself is always a coroutine.
    route.__signature__ = inspect.signature(handler)  # type: ignore[attr-defined]
    route.__name__ = handler.__name__
    return route


def router(pipeline: Pipeline, credentials: tuple[str, str] | None) -> APIRouter:
    """The /v1 routes over one pipeline, behind the app's login."""
    api = APIRouter(prefix="/v1")
    started = int(time.time())

    @api.get("/models")
    @guarded
    def models(request: Request) -> JSONResponse:
        check_login(request, credentials)
        return JSONResponse({"object": "list", "data": [model_json(started)]})

    @api.get("/models/{model}")
    @guarded
    def model(request: Request, model: str) -> JSONResponse:
        check_login(request, credentials)
        if model != MODEL_ID:
            raise ApiError(
                f"the model {model!r} does not exist here; use {MODEL_ID!r}.",
                404,
                "model",
                "model_not_found",
            )
        return JSONResponse(model_json(started))

    @api.post("/chat/completions")
    @guarded
    async def chat_completions(request: Request) -> Any:
        check_login(request, credentials)
        try:
            body = await request.json()
        except ValueError:
            raise ApiError("the request body is not valid JSON.") from None
        documents = pipeline.store.documents
        req = parse_request(body, documents, pipeline.settings.k)
        reply = Reply.new()
        if req.stream:
            events = stream_answer(pipeline, req, reply, documents)
            return StreamingResponse(events, media_type="text/event-stream")
        try:
            answer = await run_in_threadpool(
                pipeline.ask, req.question, req.history, req.lang, req.k, req.doc_id
            )
        except RagError as exc:
            raise from_rag_error(exc) from None
        return JSONResponse(reply.completion(answer, documents))

    @api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    @guarded
    def unknown(request: Request, path: str) -> JSONResponse:
        raise ApiError(
            f"unknown request URL: {request.method} /v1/{path}; this server has "
            "GET /v1/models and POST /v1/chat/completions.",
            404,
            code="unknown_url",
        )

    return api


def mount(app: FastAPI, pipeline: Pipeline, credentials: tuple[str, str] | None) -> None:
    """Add the /v1 routes to the app's server, ahead of the app's own routes."""
    before = len(app.router.routes)
    app.include_router(router(pipeline, credentials))
    added = app.router.routes[before:]
    app.router.routes[:] = added + app.router.routes[:before]
