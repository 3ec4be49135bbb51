"""LLM backends behind one small interface, as LangChain runnables.

- ``llamacpp`` (default): the profile's embedded GGUF model, run by llama.cpp in a
  supervised child process (``rag.runtime``) and spoken to over loopback with the same
  OpenAI protocol as any server. A crash, OOM kill or hang of that process costs the
  current answer (a BackendError, which the pipeline answers with extractive sentences)
  and the process is restarted for the next question.
- ``openai``: any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio,
  Ollama's ``/v1``, hosted APIs). ``completion`` mode suits base models, ``chat`` mode
  instruction-tuned ones.

A backend is chosen by name from ``BACKENDS`` (the names ``rag.settings`` accepts).
Failures become BackendErrors that say what to do.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseLanguageModel

from rag import gguf
from rag.errors import BackendError, ModelUnavailableError
from rag.profiles import Profile, get_profile
from rag.runtime import ModelServer
from rag.settings import PromptMode, Settings


class FinishWatcher(BaseCallbackHandler):
    """Notes whether the server ended its answer properly (it sends a finish reason)."""

    def __init__(self) -> None:
        self.finished = False

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
        info = getattr(chunk, "generation_info", None) or {}
        message = getattr(chunk, "message", chunk)  # a chat chunk carries its own metadata
        meta = getattr(message, "response_metadata", None) or {}
        if info.get("finish_reason") or meta.get("finish_reason"):
            self.finished = True


def openai_runnable(
    base_url: str, model: str, mode: str, timeout: float, max_tokens: int
) -> BaseLanguageModel:
    """LangChain's client for an OpenAI-compatible server: chat or plain completions."""
    from langchain_openai import ChatOpenAI, OpenAI

    common = dict(
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


class Backend(ABC):
    """An LLM the pipeline can stream a completion from."""

    name: str
    mode: PromptMode  # a text prompt, or (role, text) chat messages

    @abstractmethod
    def stream(self, prompt: str | list, stop: list[str], max_tokens: int) -> Iterator[str]:
        """Completion text, chunk by chunk; any failure is a BackendError."""

    @abstractmethod
    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        """The LangChain model itself, for chains built around it (the eval's baselines)."""

    @abstractmethod
    def describe(self) -> str:
        """What runs, for the UI and the JSON ('llamacpp: gemma-3-270m-q4_k_m.gguf')."""


def stream_openai(
    runnable: BaseLanguageModel, prompt: str | list, stop: list[str]
) -> Iterator[str]:
    """Stream from an OpenAI-protocol runnable; a stream cut before its finish reason fails.

    Raises the client's own exceptions, and BackendError for a cut stream.
    """
    watcher = FinishWatcher()
    config = {"callbacks": [watcher]}
    for chunk in runnable.stream(prompt, stop=stop or None, config=config):
        if not isinstance(chunk, str):
            watcher.on_llm_new_token("", chunk=chunk)
            chunk = str(chunk.content)
        yield chunk
    if not watcher.finished:
        raise BackendError("the stream ended without a finish reason")


@cache
def model_server(path: str, context: int) -> ModelServer:
    """One supervised model process per model file and context size, per process."""
    return ModelServer(path, n_ctx=context)


class LlamaCppBackend(Backend):
    """The profile's GGUF model in a supervised llama.cpp server on 127.0.0.1."""

    name = "llamacpp"

    def __init__(self, settings: Settings):
        self.profile: Profile = get_profile(settings.profile)
        self.mode = self.profile.mode
        self.timeout = settings.llm_timeout
        spec = gguf.get_model(self.profile.model)
        path = settings.llm_model or str(gguf.provision(spec, settings.model_cache))
        self.path = path
        self.server = model_server(path, self.profile.context)
        self.server.ensure()  # a model that cannot start is an error now, not at the question

    def describe(self) -> str:
        return f"llamacpp ({self.profile.name}): {Path(self.path).name}"

    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        url = self.server.ensure()
        return openai_runnable(url, self.profile.model, self.mode, self.timeout, max_tokens)

    def stream(self, prompt: str | list, stop: list[str], max_tokens: int) -> Iterator[str]:
        try:
            url = self.server.ensure()
        except ModelUnavailableError as exc:
            raise BackendError(f"the embedded model could not start: {exc}") from exc
        runnable = self.runnable(max_tokens)
        try:
            yield from stream_openai(runnable, prompt, stop)
        except Exception as exc:  # the model process crashed, was killed or hangs
            cause = explain_client_error(exc, url, self.timeout)
            what = self.server.recover()
            raise BackendError(f"the embedded model process {what} ({cause}).") from exc


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, settings: Settings):
        self.settings = settings
        self.mode = settings.openai_mode

    def describe(self) -> str:
        s = self.settings
        return f"openai ({s.openai_mode}): {s.openai_model} at {s.openai_base_url}"

    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        s = self.settings
        return openai_runnable(
            s.openai_base_url, s.openai_model, s.openai_mode, s.openai_timeout, max_tokens
        )

    def stream(self, prompt: str | list, stop: list[str], max_tokens: int) -> Iterator[str]:
        s = self.settings
        try:
            yield from stream_openai(self.runnable(max_tokens), prompt, stop)
        except BackendError:
            raise BackendError(
                f"the LLM server at {s.openai_base_url} stopped mid-answer (the stream ended "
                "without a finish reason); check the server's log and try again."
            ) from None
        except Exception as exc:  # any client failure is reported the same way
            raise BackendError(self._advice(exc)) from exc

    def _advice(self, exc: Exception) -> str:
        import openai

        s = self.settings
        what = explain_client_error(exc, s.openai_base_url, s.openai_timeout)
        if isinstance(exc, openai.APITimeoutError):
            return f"{what}; try again or raise RAG_OPENAI_TIMEOUT."
        if isinstance(exc, openai.APIConnectionError):
            return (
                f"{what}; start it or set RAG_OPENAI_BASE_URL to a running OpenAI-compatible "
                "server."
            )
        if isinstance(exc, openai.APIStatusError):
            return f"{what}; check RAG_OPENAI_MODEL and the API key."
        return f"{what}."


BACKENDS: dict[str, type[Backend]] = {"llamacpp": LlamaCppBackend, "openai": OpenAIBackend}


def get_backend(settings: Settings) -> Backend:
    """The backend named in the settings (``resolve_settings`` checked the name)."""
    return BACKENDS[settings.llm_backend](settings)
