"""``openai``: any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio, Ollama's
``/v1``, hosted APIs). ``completion`` mode suits base models, ``chat`` mode instruction-tuned
ones. Its options are the ``openai_*`` settings.

In chat mode it asks for the first token's probabilities (``logprobs``/``top_logprobs``),
which the calibrated refusals and the yes/no check read. ``openai_logprobs=auto`` finds out
from the server: a server that rejects the fields, or whose first reply carries none, is
not asked again, and answers then say ``probabilities: false`` in their signals (``rag
doctor`` says it beforehand). ``cache_prompt`` (llama.cpp's server keeps the evaluated
article prefix for the next question) is sent only to llama.cpp's server, or when
``openai_cache_prompt=on``: some servers refuse fields they do not know. There, a question's
first request is preceded by one that leaves the cache holding the article alone (as the
embedded backend restores the article's saved state), so earlier questions do not change
how a question is read.

Doesn't: start or supervise the server, or choose which of its slots reads a question.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from rag.checks import check_choice, check_positive
from rag.errors import BackendError
from rag.llm.base import (
    PROBABLE_TOKENS,
    Backend,
    BackendOptions,
    Report,
    Waiting,
    explain_client_error,
    openai_runnable,
    stream_openai,
    text_of,
)
from rag.llm.profiles import PROMPT_MODES, Profile, PromptMode

if TYPE_CHECKING:
    from langchain_core.language_models import BaseLanguageModel

log = logging.getLogger(__name__)
Switch = Literal["auto", "on", "off"]  # auto: found out from the server
SWITCHES: tuple[str, ...] = get_args(Switch)
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class OpenAIOptions(BackendOptions):
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "gemma-3-270m"
    openai_mode: PromptMode = "completion"
    openai_timeout: float = 60.0
    openai_logprobs: Switch = "auto"  # ask for the first token's probabilities (chat mode)
    openai_cache_prompt: Switch = "auto"  # send llama.cpp's cache_prompt; auto: to llama.cpp

    def check(self) -> None:
        check_choice("openai_mode", self.openai_mode, PROMPT_MODES)
        check_positive("openai_timeout", self.openai_timeout)
        check_choice("openai_logprobs", self.openai_logprobs, SWITCHES)
        check_choice("openai_cache_prompt", self.openai_cache_prompt, SWITCHES)


@dataclass(frozen=True)
class ServerFacts:
    """What the server's ``GET /models`` tells: its model ids and who serves them
    (``owned_by``: "llamacpp" for llama.cpp's server, "vllm", "openai", ...)."""

    reachable: bool
    models: tuple[str, ...] = ()
    owner: str = ""
    error: str = ""

    @property
    def llamacpp(self) -> bool:
        return self.owner == "llamacpp"


def probe(base_url: str, timeout: float = PROBE_TIMEOUT_S) -> ServerFacts:
    """The server's models and owner; ``error`` says why they are not known."""
    request = urllib.request.Request(base_url.rstrip("/") + "/models")
    if key := os.environ.get("OPENAI_API_KEY"):
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            data = json.loads(reply.read())
    except urllib.error.HTTPError as exc:  # it answers, but not this
        return ServerFacts(True, error=f"{base_url}/models answered {exc.code}")
    except (OSError, ValueError) as exc:  # refused, timed out, not JSON
        return ServerFacts(False, error=f"cannot reach the LLM server at {base_url} ({exc})")
    listed = [m for m in data.get("data") or () if isinstance(m, dict)]
    owners = {str(m.get("owned_by", "")) for m in listed}
    owner = owners.pop() if len(owners) == 1 else ""
    return ServerFacts(True, tuple(str(m.get("id", "")) for m in listed), owner)


class OpenAIBackend(Backend):
    name = "openai"
    Options = OpenAIOptions

    def __init__(self, options: OpenAIOptions, profile: Profile, model_cache: Path):
        self.settings = options
        self.mode = options.openai_mode
        self._facts: ServerFacts | None = None
        # whether replies carry the first token's probabilities; None: not known yet
        wanted = {"on": True, "off": False}.get(options.openai_logprobs)
        self.probabilities: bool | None = wanted if self.mode == "chat" else False

    @property
    def reports_probabilities(self) -> bool:  # type: ignore[override]
        return bool(self.probabilities)

    def describe(self) -> str:
        s = self.settings
        return f"openai ({s.openai_mode}): {s.openai_model} at {s.openai_base_url}"

    def facts(self) -> ServerFacts:
        """The server's facts, asked once (again while it cannot be reached)."""
        if self._facts is None or not self._facts.reachable:
            s = self.settings
            self._facts = probe(s.openai_base_url, min(PROBE_TIMEOUT_S, s.openai_timeout))
        return self._facts

    def extra_body(self) -> dict[str, Any]:
        """The request's fields beyond the model, prompt and limits."""
        extra: dict[str, Any] = {}
        if self.probabilities is not False:
            extra.update(logprobs=True, top_logprobs=PROBABLE_TOKENS)
        if self._caches_prompt():
            extra["cache_prompt"] = True
        return extra

    def _caches_prompt(self) -> bool:
        cache = self.settings.openai_cache_prompt
        return cache == "on" or (cache == "auto" and self.facts().llamacpp)

    def _read_from_article(self, prompt: list) -> None:
        """Leave the server's cache holding the article and no question, so that a new
        question is read from the article on, as the embedded backend restores its saved
        state: the prompt cache would otherwise reuse the previous question's first words
        too, read the rest from another token and round otherwise, and greedy decoding can
        tip on that (the same question answered "5" or "Five ..."). One short request."""
        text_of(self.stream([prompt[0], ("user", "?")], [], 1))

    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        s = self.settings
        return openai_runnable(
            s.openai_base_url, s.openai_model, s.openai_mode, s.openai_timeout, max_tokens,
            extra_body=self.extra_body(),
        )  # fmt: skip

    def stream(
        self,
        prompt: str | list,
        stop: list[str],
        max_tokens: int,
        report: Report | None = None,
        keep_prefix: bool = False,
        fresh: bool = False,
    ) -> Iterator[str | Waiting]:
        report = report if report is not None else Report()
        if fresh and keep_prefix and self._caches_prompt() and _article(prompt):
            self._read_from_article(prompt)
        try:
            yield from self._stream(prompt, stop, max_tokens, report)
        except _ProbabilitiesRefused:  # asked again without them, from now on
            yield from self._stream(prompt, stop, max_tokens, report)

    def _stream(
        self, prompt: str | list, stop: list[str], max_tokens: int, report: Report
    ) -> Iterator[str]:
        s, asked, wrote = self.settings, self.probabilities is not False, False
        try:
            for piece in stream_openai(self.runnable(max_tokens), prompt, stop, report):
                wrote = wrote or bool(piece)
                yield piece
        except BackendError:
            raise BackendError(
                f"the LLM server at {s.openai_base_url} stopped mid-answer (the stream ended "
                "without a finish reason); check the server's log and try again."
            ) from None
        except Exception as exc:  # any client failure is reported the same way
            if asked and not wrote and self._refuses_probabilities(exc):
                raise _ProbabilitiesRefused from exc
            raise BackendError(self._advice(exc)) from exc
        if asked and wrote and self.probabilities is None:
            self.probabilities = bool(report.first_tokens)
            if not self.probabilities:
                log.warning(
                    "the LLM server at %s sends no token probabilities: the calibrated "
                    "refusals and the yes/no check are off",
                    s.openai_base_url,
                )

    def _refuses_probabilities(self, exc: Exception) -> bool:
        """Whether the server rejected the request for its logprobs fields (auto only: a
        server that refuses them is not asked again)."""
        import openai

        if self.probabilities is not None or not isinstance(exc, openai.BadRequestError):
            return False
        log.warning(
            "the LLM server at %s refused the request with logprobs (%s); asking without "
            "them: the calibrated refusals and the yes/no check are off",
            self.settings.openai_base_url,
            exc.message,
        )
        self.probabilities = False
        return True

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
        if isinstance(exc, openai.BadRequestError) and self.probabilities:
            return f"{what}; if it does not take logprobs, set RAG_OPENAI_LOGPROBS=auto or off."
        if isinstance(exc, openai.APIStatusError):
            return f"{what}; check RAG_OPENAI_MODEL and the API key."
        return f"{what}."


def _article(prompt: str | list) -> bool:
    """Whether a prompt begins with a system message (the article the questions share)."""
    return isinstance(prompt, list) and bool(prompt) and prompt[0][0] == "system"


class _ProbabilitiesRefused(Exception):
    """The server rejected a request for its logprobs fields (asked again without them)."""
