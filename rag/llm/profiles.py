"""Embedded model profiles, read from ``rag/data/profiles.toml``.

A profile names the GGUF model that runs, how it is prompted (``completion`` with few-shot
text prompts for base models, ``chat`` for instruction-tuned ones), its context size, its
prompt family and its refusal thresholds. An unknown name is a ConfigError listing the
known ones.

>>> get_profile("tiny").mode
'completion'
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, get_args

from rag.errors import ConfigError

DATA = Path(__file__).parents[1] / "data"
PromptMode = Literal["completion", "chat"]  # a text prompt (base models), or chat messages
PROMPT_MODES: tuple[str, ...] = get_args(PromptMode)


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    model: str  # a name in rag.llm.gguf.GGUF_MODELS
    mode: PromptMode
    context: int  # llama.cpp context size, in tokens
    prompts: str  # prompt family: rag/prompts/answer-{prompts}-{lang}.txt
    refusal: str  # thresholds file in rag/data
    passages: int = 0  # retrieved passages read first on the passages route (0: all)

    @property
    def refusal_path(self) -> Path:
        return DATA / self.refusal


@cache
def profiles() -> dict[str, Profile]:
    data = tomllib.loads((DATA / "profiles.toml").read_text("utf-8"))
    return {name: Profile(name=name, **fields) for name, fields in data.items()}


def get_profile(name: str) -> Profile:
    try:
        return profiles()[name]
    except KeyError:
        known = ", ".join(profiles())
        raise ConfigError(f"unknown profile {name!r}; known profiles: {known}.") from None
