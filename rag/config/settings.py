"""Every setting, resolved in one place and in one documented order.

Order: CLI flag -> environment variable (``RAG_*``) -> config file -> default. The config
file is TOML, read from ``$RAG_CONFIG`` or ``./rag.toml`` when present, with the same
keys as the fields below (``index_dir = "..."``).

Every setting's default, choices and range live here and are checked once, in
``resolve_settings``; the CLI and the UI read their choices and ranges from here. An LLM
backend's own settings (``openai_*``, ``llm_*``) are declared by the backend, in its
``Options`` (``rag.llm.registry``), and resolved the same way; ``settings.openai_model``
reads them like the others.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from rag.checks import check_choice, check_range
from rag.errors import ConfigError
from rag.llm.base import BackendOptions
from rag.llm.profiles import profiles
from rag.llm.registry import BACKENDS as BACKEND_CLASSES

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_EMBED_MODEL = "intfloat/multilingual-e5-small"

Language = Literal["auto", "id", "en"]  # the answer language; auto follows the question
LANGUAGES: tuple[str, ...] = get_args(Language)
BACKENDS: tuple[str, ...] = tuple(BACKEND_CLASSES)  # see rag.llm.registry
Engine = Literal["local", "ray"]  # where indexing runs and shards are searched
ENGINES: tuple[str, ...] = get_args(Engine)
K_RANGE = (1, 50)  # passages retrieved per question
SHARDS_RANGE = (1, 1024)  # shards an index is cut into
WORKERS_RANGE = (0, 1024)  # embedding actors of a Ray build; 0: one per CPU of the cluster
REPLICAS_RANGE = (1, 256)  # answering replicas of the ray engine (rag serve --replicas)
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
    llm_backend: str = "llamacpp"  # a name in rag.llm.registry.BACKENDS
    k: int = 4
    max_chars: int = PASSAGE_CHARS
    lang: Language = "auto"
    engine: Engine = "local"
    ray_address: str = ""  # host:port of `ray start --head`; empty: a local Ray instance
    shards: int = 1
    workers: int = 0
    replicas: int = 1  # answering replicas on the ray engine (rag.engines.ray_serve)
    allow_private_urls: int = 0  # 1: read URLs on loopback/private networks (rag.articles.fetch)
    # every backend's own options, in the registry's order
    backend_options: tuple[BackendOptions, ...] = field(
        default_factory=lambda: tuple(b.Options() for b in BACKEND_CLASSES.values())
    )

    def options(self, backend: str | None = None) -> BackendOptions:
        """The options of a backend (by default the chosen one)."""
        wanted = BACKEND_CLASSES[backend or self.llm_backend].Options
        return next(o for o in self.backend_options if type(o) is wanted)

    def __getattr__(self, name: str) -> Any:
        """A backend option by its setting name (``settings.openai_model``)."""
        for options in self.__dict__.get("backend_options", ()) if name[0] != "_" else ():
            if name in options.__dataclass_fields__:
                return getattr(options, name)
        raise AttributeError(f"{type(self).__name__!r} has no setting {name!r}")


def own_fields() -> list[Field]:
    """The settings of Settings itself (the backends' options apart)."""
    return [f for f in fields(Settings) if f.name != "backend_options"]


def option_fields() -> list[Field]:
    return [f for b in BACKEND_CLASSES.values() for f in fields(b.Options)]


def _coerce(name: str, kind: Any, value: Any) -> Any:
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
    known = {f.name for f in own_fields() + option_fields()}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {unknown}; known: {sorted(known)}.")
    return data


def resolve_settings(**flags: Any) -> Settings:
    """Settings from flags (None means 'not given'), the environment, the file, defaults."""
    from_file = _config_file()
    options = tuple(
        b.Options(**_resolve(fields(b.Options), flags, from_file)) for b in BACKEND_CLASSES.values()
    )
    settings = Settings(**_resolve(own_fields(), flags, from_file), backend_options=options)
    _check(settings)
    return settings


def _resolve(wanted: list[Field], flags: dict[str, Any], from_file: dict[str, Any]) -> dict:
    """{name: value} of the fields given by a flag, the environment or the file."""
    values: dict[str, Any] = {}
    for f in wanted:
        env = os.environ.get(f"RAG_{f.name.upper()}")
        for source in (flags.get(f.name), env, from_file.get(f.name)):
            if source not in (None, ""):
                values[f.name] = _coerce(f.name, f.type, source)
                break
    return values


def _check(s: Settings) -> None:
    """Every choice and range, with what to use instead."""
    check_choice("profile", s.profile, tuple(profiles()))
    check_choice("llm_backend", s.llm_backend, BACKENDS)
    for options in s.backend_options:
        options.check()
    check_choice("lang", s.lang, LANGUAGES)
    check_range("k", s.k, K_RANGE)
    check_range("max_chars", s.max_chars, PASSAGE_CHARS_RANGE)
    check_choice("engine", s.engine, ENGINES)
    check_range("shards", s.shards, SHARDS_RANGE)
    check_range("workers", s.workers, WORKERS_RANGE)
    check_range("replicas", s.replicas, REPLICAS_RANGE)
    check_range("allow_private_urls", s.allow_private_urls, (0, 1))
