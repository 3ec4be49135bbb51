"""``openai``: any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio, Ollama's
``/v1``, hosted APIs). ``completion`` mode suits base models, ``chat`` mode instruction-tuned
ones. Its options are the ``openai_*`` settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.checks import check_choice, check_positive
from rag.errors import BackendError
from rag.llm.base import (
    Backend,
    BackendOptions,
    Report,
    Waiting,
    explain_client_error,
    openai_runnable,
    stream_openai,
)
from rag.llm.profiles import PROMPT_MODES, Profile, PromptMode

if TYPE_CHECKING:
    from langchain_core.language_models import BaseLanguageModel


@dataclass(frozen=True)
class OpenAIOptions(BackendOptions):
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "gemma-3-270m"
    openai_mode: PromptMode = "completion"
    openai_timeout: float = 60.0

    def check(self) -> None:
        check_choice("openai_mode", self.openai_mode, PROMPT_MODES)
        check_positive("openai_timeout", self.openai_timeout)


class OpenAIBackend(Backend):
    name = "openai"
    Options = OpenAIOptions

    def __init__(self, options: OpenAIOptions, profile: Profile, model_cache: Path):
        self.settings = options
        self.mode = options.openai_mode

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
        fresh: bool = False,
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
