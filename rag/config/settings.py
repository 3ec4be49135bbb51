"""Every setting, resolved in one place and in one documented order.

Order: CLI flag -> environment variable (``RAG_*``) -> config file -> default. The config
file is TOML, read from ``$RAG_CONFIG`` or ``./rag.toml`` when present, with the same
keys as the fields below (``index_dir = "..."``).

Every setting's default, choices and range live here and are checked once, in
``resolve_settings``; the CLI and the UI read their choices and ranges from here.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

from rag.errors import ConfigError
from rag.llm.profiles import PROMPT_MODES, PromptMode, profiles

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_EMBED_MODEL = "intfloat/multilingual-e5-small"

Language = Literal["auto", "id", "en"]  # the answer language; auto follows the question
Backend = Literal["llamacpp", "openai"]  # see rag.llm.backends.BACKENDS
LANGUAGES: tuple[str, ...] = get_args(Language)
BACKENDS: tuple[str, ...] = get_args(Backend)
Engine = Literal["local", "ray"]  # where indexing runs and shards are searched
ENGINES: tuple[str, ...] = get_args(Engine)
K_RANGE = (1, 50)  # passages retrieved per question
SHARDS_RANGE = (1, 1024)  # shards an index is cut into
WORKERS_RANGE = (0, 1024)  # embedding actors of a Ray build; 0: one per CPU of the cluster
SLOTS_RANGE = (0, 64)  # 0: chosen from the cores and memory (rag.llm.runtime.default_slots)
QUEUE_RANGE = (0, 10_000)  # questions waiting for a slot; 0: four per slot
PASSAGE_CHARS = 550  # the longest passage, in characters (see rag.articles.chunking)
PASSAGE_CHARS_RANGE = (100, 5_000)


def _default_cache() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "rag-article-assistant")


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Env names are ``RAG_`` + the field name in upper case."""

    index_dir: Path = PROJECT_DIR / "index"
    model_cache: Path = Path(_default_cache())
    embed_model: str = DEFAULT_EMBED_MODEL
    profile: str = "quality"  # embedded model profile, see rag/data/profiles.toml
    llm_backend: Backend = "llamacpp"
    llm_model: str = ""  # a GGUF path for llamacpp instead of the profile's model
    llm_timeout: float = 60.0  # seconds without output before the embedded model is restarted
    llm_slots: int = 0  # questions the embedded model decodes together; 0: from cores and memory
    llm_queue: int = 0  # questions that may wait for a slot before "busy"; 0: 4 per slot
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "gemma-3-270m"
    openai_mode: PromptMode = "completion"
    openai_timeout: float = 60.0
    k: int = 4
    max_chars: int = PASSAGE_CHARS
    lang: Language = "auto"
    engine: Engine = "local"
    ray_address: str = ""  # host:port of `ray start --head`; empty: a local Ray instance
    shards: int = 1
    workers: int = 0
    allow_private_urls: int = 0  # 1: read URLs on loopback/private networks (rag.articles.fetch)


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if kind == "Path":
            return Path(os.path.expanduser(str(value)))
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except ValueError:
        raise ConfigError(f"setting {name}={value!r} is not a valid {kind}.") from None


def _config_file() -> dict[str, Any]:
    path = Path(os.environ.get("RAG_CONFIG", "rag.toml"))
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix or remove it.") from None
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {unknown}; known: {sorted(known)}.")
    return data


def resolve_settings(**flags: Any) -> Settings:
    """Settings from flags (None means 'not given'), the environment, the file, defaults."""
    from_file = _config_file()
    values: dict[str, Any] = {}
    for f in fields(Settings):
        env = os.environ.get(f"RAG_{f.name.upper()}")
        for source in (flags.get(f.name), env, from_file.get(f.name)):
            if source not in (None, ""):
                values[f.name] = _coerce(f.name, source)
                break
    settings = Settings(**values)
    _check(settings)
    return settings


def _check(s: Settings) -> None:
    """Every choice and range, with what to use instead."""
    check_choice("profile", s.profile, tuple(profiles()))
    check_choice("llm_backend", s.llm_backend, BACKENDS)
    check_choice("openai_mode", s.openai_mode, PROMPT_MODES)
    check_choice("lang", s.lang, LANGUAGES)
    check_range("k", s.k, K_RANGE)
    check_range("max_chars", s.max_chars, PASSAGE_CHARS_RANGE)
    check_choice("engine", s.engine, ENGINES)
    check_range("shards", s.shards, SHARDS_RANGE)
    check_range("workers", s.workers, WORKERS_RANGE)
    check_range("llm_slots", s.llm_slots, SLOTS_RANGE)
    check_range("llm_queue", s.llm_queue, QUEUE_RANGE)
    check_range("allow_private_urls", s.allow_private_urls, (0, 1))
    for name in ("llm_timeout", "openai_timeout"):
        if getattr(s, name) <= 0:
            raise ConfigError(f"{name}={getattr(s, name)} must be a positive number of seconds.")


def check_choice(
    name: str, value: Any, known: tuple[str, ...], error: type[Exception] = ConfigError
) -> None:
    """
    >>> check_choice("lang", "xx", LANGUAGES)
    Traceback (most recent call last):
    rag.errors.ConfigError: lang='xx' is unknown; use auto, id or en.
    """
    if value not in known:
        listed = ", ".join(known[:-1]) + " or " + known[-1] if len(known) > 1 else known[0]
        raise error(f"{name}={value!r} is unknown; use {listed}.")


def check_range(
    name: str, value: int, bounds: tuple[int, int], error: type[Exception] = ConfigError
) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise error(f"{name}={value} is out of range; use a value from {low} to {high}.")
