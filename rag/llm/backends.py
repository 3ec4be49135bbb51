"""LLM backends behind one small interface, as LangChain runnables.

- ``llamacpp`` (default): the profile's embedded GGUF model, run by llama.cpp in a
  supervised child process (``rag.llm.runtime``) and spoken to over loopback with the same
  OpenAI protocol as any server. A crash, OOM kill or hang of that process costs the
  current answer (a BackendError, which the pipeline answers with extractive sentences)
  and the process is restarted for the next question.
- ``openai``: any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio,
  Ollama's ``/v1``, hosted APIs). ``completion`` mode suits base models, ``chat`` mode
  instruction-tuned ones.

A backend is chosen by name from ``BACKENDS`` (the names ``rag.config.settings`` accepts).
Failures become BackendErrors that say what to do.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.config.settings import PromptMode, Settings
from rag.errors import BackendError, ModelUnavailableError
from rag.fileio import file_identity
from rag.llm import gguf
from rag.llm.profiles import Profile, get_profile
from rag.llm.runtime import ModelServer, default_slots, server_binary
from rag.llm.slots import SlotPool
from rag.llm.states import StateStore

if TYPE_CHECKING:
    from langchain_core.language_models import BaseLanguageModel

log = logging.getLogger(__name__)
MAX_WAITING_PER_SLOT = 4  # questions that may wait for a slot, per slot, before "busy"


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


class Backend(ABC):
    """An LLM the pipeline can stream a completion from."""

    name: str
    mode: PromptMode  # a text prompt, or (role, text) chat messages
    reports_probabilities = False  # its streams fill a Report's first-token probabilities

    @abstractmethod
    def stream(
        self,
        prompt: str | list,
        stop: list[str],
        max_tokens: int,
        report: Report | None = None,
        keep_prefix: bool = False,
    ) -> Iterator[str | Waiting]:
        """Completion text, chunk by chunk (and ``Waiting`` while it waits for the model);
        any failure is a BackendError. ``keep_prefix``: the prompt's system message is
        shared by many questions (a whole article), worth keeping evaluated."""

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


@cache
def model_server(path: str, context: int, slots: int, state_dir: Path) -> ModelServer:
    """One supervised model process per model file, context size and slot count, per process."""
    return ModelServer(path, n_ctx=context, slots=slots, state_dir=state_dir)


@cache
def slot_pool(server: ModelServer, max_waiting: int) -> SlotPool:
    """The line for one model process's slots (one per process, whoever asks)."""
    pool = SlotPool(server.slots, max_waiting)
    server.on_start.append(lambda _: pool.forget())
    return pool


PROBABLE_TOKENS = 20  # alternatives reported for the first token


class LlamaCppBackend(Backend):
    """The profile's GGUF model in a supervised llama-server on 127.0.0.1, its slots placed
    by a SlotPool and the article prefixes' evaluated states kept on disk."""

    name = "llamacpp"
    reports_probabilities = True

    def __init__(self, settings: Settings):
        self.profile: Profile = get_profile(settings.profile)
        self.mode = self.profile.mode
        self.timeout = settings.llm_timeout
        spec = gguf.get_model(self.profile.model)
        path = settings.llm_model or str(gguf.provision(spec, settings.model_cache))
        self.path = path
        slots = settings.llm_slots or default_slots()
        state_dir = settings.model_cache / "states"
        self.server = model_server(path, self.profile.context, slots, state_dir)
        self.pool = slot_pool(self.server, settings.llm_queue or MAX_WAITING_PER_SLOT * slots)
        self.states = StateStore(state_dir)
        # What determines a saved state besides the prefix text: the model and the runtime.
        self.fingerprint = (
            spec.sha256 if not settings.llm_model else file_identity(Path(path)),
            file_identity(server_binary()),
        )
        # LangChain's client loads beside the model process (seconds of imports each)
        threading.Thread(target=import_client, daemon=True).start()
        self.server.ensure()  # a model that cannot start is an error now, not at the question

    def describe(self) -> str:
        return f"llamacpp ({self.profile.name}): {Path(self.path).name}"

    def runnable(self, max_tokens: int, slot: int | None = None) -> BaseLanguageModel:
        url = self.server.ensure()
        extra: dict[str, Any] = {} if slot is None else {"id_slot": slot}
        if self.mode == "chat":
            extra.update(logprobs=True, top_logprobs=PROBABLE_TOKENS)
        return openai_runnable(
            url, self.profile.model, self.mode, self.timeout, max_tokens, extra_body=extra
        )

    def stream(
        self,
        prompt: str | list,
        stop: list[str],
        max_tokens: int,
        report: Report | None = None,
        keep_prefix: bool = False,
    ) -> Iterator[str | Waiting]:
        prefix = self._prefix_key(prompt) if keep_prefix else None
        ticket = self.pool.line_up(prefix)  # a full line raises BusyError now
        placement, told = ticket.wait(0), -1
        try:
            while placement is None:  # every slot busy: say how many are ahead, and wait
                if (ahead := ticket.ahead()) != told:
                    yield Waiting(ahead)
                    told = ahead
                placement = ticket.wait(0.5)
        finally:
            if placement is None:  # the reader gave up while waiting
                ticket.cancel()
        try:
            with self.pool.held(placement, prefix):
                self.server.ensure()  # a restart here empties every slot (SlotPool.forget)
                if prefix is not None and self.pool.holding(placement.slot) != prefix:
                    self._load_prefix(placement.slot, prefix, prompt)
                runnable = self.runnable(max_tokens, placement.slot)
                yield from stream_openai(runnable, prompt, stop, report)
        except ModelUnavailableError as exc:
            raise BackendError(f"the embedded model could not start: {exc}") from exc
        except BackendError:
            raise
        except Exception as exc:  # the model process crashed, was killed or hangs
            cause = explain_client_error(exc, self.server.base_url, self.timeout)
            what = self.server.recover()
            raise BackendError(f"the embedded model process {what} ({cause}).") from exc

    # -- the article prefix, evaluated once and kept -----------------------------------------
    def _prefix_key(self, prompt: str | list) -> str | None:
        if not isinstance(prompt, list) or not prompt or prompt[0][0] != "system":
            return None
        return self.states.key(*self.fingerprint, self.profile.name, prompt[0][1])

    def _load_prefix(self, slot: int, key: str, prompt: list) -> None:
        """Put the prefix's evaluated state into the slot: from disk when a whole state is
        saved there, else by evaluating it now (and saving it for next time)."""
        name = self.states.filename(key)
        if self.states.usable(key):
            try:
                self.server.slot_action(slot, "restore", name)
                self.states.touch(key)
                return
            except ModelUnavailableError as exc:  # llama.cpp refused the file
                log.warning("%s; evaluating the prefix again", exc)
                self.states.discard(key, "refused by the model process")
        warm = self.runnable(1, slot)
        text_of(stream_openai(warm, [prompt[0], ("user", "?")], []))
        try:
            self.server.slot_action(slot, "save", name)
            self.states.record(key, model=Path(self.path).name, profile=self.profile.name)
        except (ModelUnavailableError, OSError) as exc:  # a full disk costs speed, not answers
            log.warning("the article's evaluated state was not saved: %s", exc)


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

    def stream(
        self,
        prompt: str | list,
        stop: list[str],
        max_tokens: int,
        report: Report | None = None,
        keep_prefix: bool = False,
    ) -> Iterator[str | Waiting]:
        s = self.settings
        try:
            yield from stream_openai(self.runnable(max_tokens), prompt, stop, report)
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
