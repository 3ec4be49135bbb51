"""LLM backends behind one small interface, as LangChain runnables.

- ``llamacpp`` (default): a GGUF model run in-process by llama-cpp-python, loaded once
  per process and shared between requests behind a lock; greedy decoding.
- ``openai``: any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio,
  Ollama's ``/v1``, hosted APIs). ``completion`` mode suits base models, ``chat`` mode
  instruction-tuned ones.

A backend is chosen by name from ``BACKENDS``; an unknown name is a ConfigError that
lists the known ones. Server failures become BackendErrors that say what to do.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLanguageModel
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import GenerationChunk

from rag import models
from rag.errors import BackendError, ConfigError, ModelUnavailableError
from rag.settings import Settings

MAX_CONTEXT_TOKENS = 2048


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the C library's own log lines, which bypass Python (and verbose=False)."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


@lru_cache(maxsize=2)
def _load_llama(path: str) -> tuple[Any, threading.Lock]:
    """One llama.cpp model per file per process, with the lock that serialises its use."""
    from llama_cpp import Llama  # compiled extension: imported only when the backend is used

    if not Path(path).is_file():
        raise ModelUnavailableError(f"no GGUF model at {path}; set RAG_LLM_MODEL to a .gguf file.")
    with _quiet_stderr():
        llama = Llama(
            model_path=path,
            n_ctx=MAX_CONTEXT_TOKENS,
            n_threads=2,
            n_batch=512,
            verbose=False,
            seed=0,
        )
    return llama, threading.Lock()


class LlamaCppLLM(LLM):
    """A LangChain LLM over an in-process llama.cpp model (greedy, streaming)."""

    model_path: str
    max_tokens: int = 48

    @property
    def _llm_type(self) -> str:
        return "llamacpp-inprocess"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "max_tokens": self.max_tokens}

    def _completion(self, prompt: str, stop: list[str] | None, stream: bool) -> Any:
        llama, _ = _load_llama(self.model_path)
        return llama.create_completion(
            prompt,
            max_tokens=self.max_tokens,
            temperature=0.0,
            top_k=1,
            repeat_penalty=1.0,
            stop=stop or [],
            stream=stream,
        )

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        return "".join(chunk.text for chunk in self._stream(prompt, stop, run_manager))

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        # The lock is held for the whole answer: llama.cpp contexts are not re-entrant.
        _, lock = _load_llama(self.model_path)
        with lock:
            for part in self._completion(prompt, stop, stream=True):
                text = part["choices"][0]["text"]
                if run_manager:
                    run_manager.on_llm_new_token(text)
                yield GenerationChunk(text=text)


class Backend(ABC):
    """An LLM the pipeline can stream a completion from."""

    name: str

    @abstractmethod
    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        """The LangChain model to invoke or stream."""

    @abstractmethod
    def describe(self) -> str:
        """What runs, for the UI and the JSON ('llamacpp: gemma-3-270m Q4_K_M')."""

    def stream(self, prompt: str, stop: list[str], max_tokens: int = 48) -> Iterator[str]:
        """Completion text, chunk by chunk, with failures turned into BackendErrors."""
        try:
            for chunk in self.runnable(max_tokens).stream(prompt, stop=stop):
                yield chunk if isinstance(chunk, str) else str(chunk.content)
        except (BackendError, ModelUnavailableError):
            raise
        except Exception as exc:  # any client failure is reported the same way
            raise self._explain(exc) from None

    def _explain(self, exc: Exception) -> BackendError:
        return BackendError(f"the {self.name} backend failed: {exc}")


class LlamaCppBackend(Backend):
    name = "llamacpp"

    def __init__(self, settings: Settings):
        self.path = settings.llm_model or str(models.provision_gemma(settings.model_cache))

    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        return LlamaCppLLM(model_path=self.path, max_tokens=max_tokens)

    def describe(self) -> str:
        return f"llamacpp: {Path(self.path).name}"


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


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, settings: Settings):
        if settings.openai_mode not in ("completion", "chat"):
            raise ConfigError(
                f"openai_mode={settings.openai_mode!r} is unknown; use 'completion' (base "
                "models) or 'chat' (instruction-tuned models)."
            )
        self.settings = settings

    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        from langchain_openai import ChatOpenAI, OpenAI

        s = self.settings
        common = dict(
            base_url=s.openai_base_url,
            model=s.openai_model,
            temperature=0.0,
            max_tokens=max_tokens,
            timeout=s.openai_timeout,
            max_retries=0,
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
        )
        return ChatOpenAI(**common) if s.openai_mode == "chat" else OpenAI(**common)

    def describe(self) -> str:
        s = self.settings
        return f"openai ({s.openai_mode}): {s.openai_model} at {s.openai_base_url}"

    def stream(self, prompt: str, stop: list[str], max_tokens: int = 48) -> Iterator[str]:
        """As Backend.stream, and a stream cut before its finish reason is a failure."""
        watcher = FinishWatcher()
        config = {"callbacks": [watcher]}
        try:
            for chunk in self.runnable(max_tokens).stream(prompt, stop=stop, config=config):
                if not isinstance(chunk, str):
                    watcher.on_llm_new_token("", chunk=chunk)
                    chunk = str(chunk.content)
                yield chunk
        except Exception as exc:  # any client failure is reported the same way
            raise self._explain(exc) from None
        if not watcher.finished:
            raise BackendError(
                f"the LLM server at {self.settings.openai_base_url} stopped "
                "mid-answer (the stream ended without a finish reason); "
                "check the server's log and try again."
            )

    def _explain(self, exc: Exception) -> BackendError:
        import openai

        url = self.settings.openai_base_url
        if isinstance(exc, openai.APITimeoutError):
            return BackendError(
                f"the LLM server at {url} timed out after "
                f"{self.settings.openai_timeout:.0f} s; try again or raise "
                "RAG_OPENAI_TIMEOUT."
            )
        if isinstance(exc, openai.APIConnectionError):
            return BackendError(
                f"cannot reach the LLM server at {url}; start it or set "
                "RAG_OPENAI_BASE_URL to a running OpenAI-compatible server."
            )
        if isinstance(exc, openai.APIStatusError):
            return BackendError(
                f"the LLM server at {url} answered {exc.status_code}: "
                f"{exc.message}; check RAG_OPENAI_MODEL and the API key."
            )
        return BackendError(f"the LLM server at {url} failed mid-answer ({exc}).")


BACKENDS: dict[str, type[Backend]] = {"llamacpp": LlamaCppBackend, "openai": OpenAIBackend}


def get_backend(settings: Settings) -> Backend:
    """The backend named in the settings, or a ConfigError listing the known names."""
    try:
        backend = BACKENDS[settings.llm_backend]
    except KeyError:
        raise ConfigError(
            f"unknown LLM backend {settings.llm_backend!r}; known backends: {', '.join(BACKENDS)}."
        ) from None
    return backend(settings)
