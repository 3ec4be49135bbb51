"""The OpenAI-compatible API (ui/openai_api.py) through the official ``openai`` client,
against the app served on 127.0.0.1: model list, answers with structured citations,
streaming, follow-ups, the login, and OpenAI-shaped errors. The fast tests serve a
pipeline on the fakes (tests/fakes.py); one slow test serves the real models."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import openai
import pytest

from rag.pipeline import Pipeline
from tests.fakes import ScriptedBackend, fake_pipeline
from ui import openai_api
from ui.app import build_app, launch
from ui.openai_api import MODEL_ID

LOGIN = ("ana", "s3cret")
FIRST = "Produk apa saja yang akan dipasarkan lewat Alibaba?"
FIVE_PRODUCTS = "Ada lima produk yang akan dipasarkan lewat Alibaba"
REWRITE = "Kapan produk Indonesia mulai dipasarkan lewat Alibaba?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(pipeline: Pipeline, auth: tuple[str, str] | None) -> Iterator[str]:
    app = build_app(pipeline)
    url = launch(app, "127.0.0.1", free_port(), auth=auth, block=False, pipeline=pipeline)
    yield url.rstrip("/")
    app.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Pipeline, ScriptedBackend]]:
    """The app over the fakes, with a login, on a free local port."""
    pipeline, backend = fake_pipeline(tmp_path_factory.mktemp("openai-index"), [])
    for url in serve(pipeline, LOGIN):
        yield url, pipeline, backend


@pytest.fixture
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served[0]}/v1", api_key="ana:s3cret", max_retries=0)


def cited_reply(pipeline: Pipeline) -> str:
    """A reply citing the context unit (numbered as in the prompt) about the five products."""
    unit = next(i for i, p in enumerate(pipeline.store.passages, 1) if "lima produk" in p.text)
    return f"{FIVE_PRODUCTS} [{unit}]."


def assert_exact(pipeline: Pipeline, citations: list[dict]) -> None:
    assert citations
    for c in citations:
        doc = pipeline.store.documents[c["doc_id"]]
        assert doc.text[c["start"] : c["end"]] == c["text"] and c["title"] == doc.name
        assert set(c) == {"marker", "doc_id", "title", "passage_id", "start", "end", "text", "page"}


def test_the_model_list_names_the_assistant(client):
    assert [m.id for m in client.models.list()] == [MODEL_ID]
    assert client.models.retrieve(MODEL_ID).owned_by == "rag-article-assistant"
    with pytest.raises(openai.NotFoundError) as raised:
        client.models.retrieve("gpt-4o")
    assert raised.value.body["code"] == "model_not_found"


def test_an_answer_carries_its_markers_and_citations_as_data(client, served):
    _, pipeline, backend = served
    backend.replies = [cited_reply(pipeline)]
    reply = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": FIRST}]
    )
    message = reply.choices[0].message
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert message.role == "assistant" and message.content.startswith(FIVE_PRODUCTS)
    citations = message.model_extra["citations"]
    assert_exact(pipeline, citations)
    assert f"[{citations[0]['marker']}]" in message.content
    assert message.model_extra["abstained"] is False
    assert message.model_extra["standalone_question"] == FIRST


def test_a_streamed_answer_ends_with_its_citations(client, served):
    _, pipeline, backend = served
    backend.replies = [cited_reply(pipeline)]
    stream = client.chat.completions.create(
        model=MODEL_ID, messages=[{"role": "user", "content": FIRST}], stream=True
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith(FIVE_PRODUCTS) and len(chunks) > 4  # in pieces, not one block
    final = chunks[-1].choices[0]
    assert final.finish_reason == "stop" and all(
        c.object == "chat.completion.chunk" for c in chunks
    )
    assert_exact(pipeline, final.delta.model_extra["citations"])
    assert len({c.id for c in chunks}) == 1


def test_a_follow_up_is_asked_with_the_earlier_user_messages(client, served):
    backend = served[2]
    backend.replies = [REWRITE, "Mulai 11 November 2018."]
    backend.prompts.clear()
    reply = client.chat.completions.create(
        model=MODEL_ID,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": FIRST},
            {"role": "assistant", "content": f"{FIVE_PRODUCTS} [2]."},
            {"role": "user", "content": [{"type": "text", "text": "Kapan mulai dipasarkan?"}]},
        ],
    )
    assert FIRST in str(backend.prompts[0])  # the rewrite saw the conversation
    assert reply.choices[0].message.model_extra["standalone_question"] == REWRITE
    assert "11 November 2018" in reply.choices[0].message.content


def test_langchain_chat_openai_uses_the_assistant(served):
    from langchain_openai import ChatOpenAI

    url, pipeline, backend = served
    backend.replies = [cited_reply(pipeline), cited_reply(pipeline)]
    chat = ChatOpenAI(base_url=f"{url}/v1", api_key="ana:s3cret", model=MODEL_ID, max_retries=0)
    assert chat.invoke(FIRST).content.startswith(FIVE_PRODUCTS)
    assert "".join(chunk.content for chunk in chat.stream(FIRST)).startswith(FIVE_PRODUCTS)


def test_an_assistant_message_standalone_question_stands_for_the_user_message_before_it():
    messages = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": "…", "standalone_question": FIRST},
        {"role": "user", "content": "Kapan?"},
        {"role": "assistant", "content": "…", "standalone_question": REWRITE},
        {"role": "user", "content": "Di mana?"},
    ]
    assert openai_api.question_and_history(messages) == ("Di mana?", [FIRST, REWRITE])


@pytest.mark.parametrize(
    "changes, param, message",
    [
        ({"messages": []}, "messages", "non-empty list"),
        ({"messages": [{"role": "user", "content": "   "}]}, "messages", "question is empty"),
        ({"messages": [{"role": "assistant", "content": "Hi"}]}, "messages", "last message"),
        ({"messages": [{"role": "robot", "content": "Hi"}]}, "messages[0]", "needs a 'role'"),
        ({"model": "gpt-4o"}, "model", "does not exist here"),
        ({"extra_body": {"lang": "fr"}}, "lang", "lang='fr' is unknown"),
        ({"extra_body": {"k": 0}}, "k", "out of range"),
        ({"extra_body": {"doc_id": "gone"}}, "doc_id", "no article 'gone'"),
        ({"n": 2}, "n", "only n=1"),
    ],
)
def test_bad_requests_get_openai_shaped_400s(client, changes, param, message):
    request = {"model": MODEL_ID, "messages": [{"role": "user", "content": FIRST}], **changes}
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(**request)
    error = raised.value.body
    assert raised.value.status_code == 400 and set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["param"] == param
    assert message in error["message"] and "Traceback" not in error["message"]


def test_without_the_login_the_api_answers_401(served):
    bare = openai.OpenAI(base_url=f"{served[0]}/v1", api_key="ana:wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        bare.models.list()
    assert raised.value.body["code"] == "invalid_api_key" and "--auth" in raised.value.message
    basic = httpx.get(f"{served[0]}/v1/models", auth=LOGIN)
    assert basic.status_code == 200  # HTTP Basic with the same login works too


def test_malformed_json_and_unknown_paths_get_openai_errors(served):
    headers = {"Authorization": "Bearer ana:s3cret", "Content-Type": "application/json"}
    bad = httpx.post(f"{served[0]}/v1/chat/completions", content=b"{nope", headers=headers)
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
    unknown = httpx.get(f"{served[0]}/v1/embeddings", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_url"
    assert httpx.get(f"{served[0]}/", follow_redirects=True).status_code == 200  # the app


def test_no_login_is_needed_when_the_app_has_none():
    assert openai_api.check_login(None, None) is None  # type: ignore[arg-type]


@pytest.mark.slow
def test_the_real_assistant_answers_through_the_openai_client(pipeline):
    for url in serve(pipeline, None):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
        messages = [{"role": "user", "content": FIRST}]
        reply = client.chat.completions.create(model=MODEL_ID, messages=messages)
        message = reply.choices[0].message
        assert message.content.strip()
        assert message.model_extra["abstained"] or message.model_extra["citations"]
        if message.model_extra["citations"]:
            assert_exact(pipeline, message.model_extra["citations"])
        follow_up = [
            *messages,
            message.model_dump(),
            {"role": "user", "content": "Kapan mulai dipasarkan?"},
        ]
        chunks = list(
            client.chat.completions.create(model=MODEL_ID, messages=follow_up, stream=True)
        )
        final = chunks[-1].choices[0].delta.model_extra
        assert "".join(c.choices[0].delta.content or "" for c in chunks).strip()
        assert final["standalone_question"] != "Kapan mulai dipasarkan?"  # rewritten
