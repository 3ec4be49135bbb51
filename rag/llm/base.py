"""The interface every LLM backend implements, and what the OpenAI-protocol ones share.

A backend is a class with a ``name``, its own ``Options`` (a frozen dataclass whose field
names are setting names: ``RAG_`` + the name in upper case, a config file key, a flag) and
``stream``, ``runnable`` and ``describe``; ``rag.llm.registry`` lists them by name.
Failures become BackendErrors that say what to do.

Doesn't: choose a backend (``rag.llm.registry``, from the settings in ``rag.factory``).
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import BackendError
from rag.llm.profiles import Profile, PromptMode

if TYPE_CHECKING:
    from langchain_core.language_models import BaseLanguageModel


@cache
def finish_watcher_type() -> type:
    """The LangChain callback that notes whether the server ended its answer properly (it
    sends a finish reason). LangChain is imported here, on first use: a backend made in
    the background (``Pipeline.start_backend``) imports it while the question is retrieved.
    """
    from langchain_core.callbacks import BaseCallbackHandler

    class FinishWatcher(BaseCallbackHandler):
        def __init__(self) -> None:
            self.finished = False

        def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
            info = getattr(chunk, "generation_info", None) or {}
            message = getattr(chunk, "message", chunk)  # a chat chunk carries its own metadata
            meta = getattr(message, "response_metadata", None) or {}
            if info.get("finish_reason") or meta.get("finish_reason"):
                self.finished = True

    return FinishWatcher


def import_client() -> None:
    """Import the OpenAI-protocol client and its LangChain wrappers (the first answer's
    seconds of imports), for a thread to do while something else waits."""
    from langchain_openai import ChatOpenAI  # noqa: F401

    finish_watcher_type()


def openai_runnable(
    base_url: str,
    model: str,
    mode: str,
    timeout: float,
    max_tokens: int,
    extra_body: dict[str, Any] | None = None,
) -> BaseLanguageModel:
    """LangChain's client for an OpenAI-compatible server: chat or plain completions.
    ``extra_body``: fields beyond the OpenAI API that the server understands."""
    from langchain_openai import ChatOpenAI, OpenAI

    common = dict(
        extra_body=extra_body or None,
        base_url=base_url,
        model=model,
        temperature=0.0,
        max_tokens=max_tokens,
        timeout=timeout,
        max_retries=0,
        api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
    )
    return ChatOpenAI(**common) if mode == "chat" else OpenAI(**common)


def explain_client_error(exc: Exception, url: str, timeout: float) -> str:
    """An OpenAI client failure, in words that say what to do."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"the LLM server at {url} timed out after {timeout:.0f} s"
    if isinstance(exc, openai.APIConnectionError):
        return f"cannot reach the LLM server at {url}"
    if isinstance(exc, openai.APIStatusError):
        return f"the LLM server at {url} answered {exc.status_code}: {exc.message}"
    return f"the LLM server at {url} failed mid-answer ({exc})"


PROBABLE_TOKENS = 20  # alternatives asked for the first token (OpenAI's ``top_logprobs`` limit)


@dataclass(frozen=True)
class Waiting:
    """Yielded by a stream, before any text, while the request waits for a free slot of
    the model: how many requests are ahead of it."""

    ahead: int


@dataclass
class Report:
    """What a backend tells about one completion besides its text: the most likely first
    tokens with their probabilities (when the server gives them), for refusal decisions."""

    first_tokens: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendOptions:
    """A backend's own settings; a backend's ``Options`` subclasses it with its fields."""

    def check(self) -> None:
        """Every choice and range, with what to use instead (a ConfigError)."""


class Backend(ABC):
    """An LLM the pipeline can stream a completion from, made from its own options, the
    embedded model profile and the model cache (a backend uses what it needs of them)."""

    name: str
    Options: type[BackendOptions] = BackendOptions
    mode: PromptMode  # a text prompt, or (role, text) chat messages
    reports_probabilities = False  # its streams fill a Report's first-token probabilities

    @abstractmethod
    def __init__(self, options: Any, profile: Profile, model_cache: Path) -> None: ...

    @abstractmethod
    def stream(
        self,
        prompt: str | list,
        stop: list[str],
        max_tokens: int,
        report: Report | None = None,
        keep_prefix: bool = False,
        fresh: bool = False,
    ) -> Iterator[str | Waiting]:
        """Completion text, chunk by chunk (and ``Waiting`` while it waits for the model);
        any failure is a BackendError. ``keep_prefix``: the prompt's system message is
        shared by many questions (a whole article), worth keeping evaluated. ``fresh``: a
        question's first request, read from the kept prefix alone whatever was read after
        it before, so that no earlier question changes its answer's arithmetic."""

    @abstractmethod
    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        """The LangChain model itself, for chains built around it (the eval's baselines)."""

    @abstractmethod
    def describe(self) -> str:
        """What runs, for the UI and the JSON ('llamacpp: gemma-3-270m-q4_k_m.gguf')."""


def text_of(stream: Iterator[str | Waiting]) -> str:
    """A stream's whole text (its ``Waiting`` notes dropped)."""
    return "".join(piece for piece in stream if isinstance(piece, str))


def first_token_probabilities(chunk: Any) -> dict[str, float]:
    """The first token's most likely alternatives in an OpenAI-protocol chunk's logprobs
    ({token text: probability}), or {} when the chunk has none."""
    message = getattr(chunk, "message", chunk)
    meta = getattr(message, "response_metadata", None) or {}
    info = getattr(chunk, "generation_info", None) or {}
    logprobs = meta.get("logprobs") or info.get("logprobs") or {}
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not content:
        return {}
    top = content[0].get("top_logprobs") or []
    return {t["token"]: math.exp(t["logprob"]) for t in top if t.get("logprob") is not None}


def stream_openai(
    runnable: BaseLanguageModel,
    prompt: str | list,
    stop: list[str],
    report: Report | None = None,
) -> Iterator[str]:
    """Stream from an OpenAI-protocol runnable; a stream cut before its finish reason fails.

    Raises the client's own exceptions, and BackendError for a cut stream.
    """
    watcher = finish_watcher_type()()
    config = {"callbacks": [watcher]}
    for chunk in runnable.stream(prompt, stop=stop or None, config=config):
        if not isinstance(chunk, str):
            watcher.on_llm_new_token("", chunk=chunk)
            if report is not None and not report.first_tokens:
                report.first_tokens = first_token_probabilities(chunk)
            chunk = str(chunk.content)
        yield chunk
    if not watcher.finished:
        raise BackendError("the stream ended without a finish reason")
