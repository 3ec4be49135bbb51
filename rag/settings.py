"""Every setting, resolved in one place and in one documented order.

Order: CLI flag -> environment variable (``RAG_*``) -> config file -> default. The config
file is TOML, read from ``$RAG_CONFIG`` or ``./rag.toml`` when present, with the same
keys as the fields below (``index_dir = "..."``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_EMBED_MODEL = "intfloat/multilingual-e5-small"


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
    llm_backend: str = "llamacpp"
    llm_model: str = ""  # a GGUF path for llamacpp instead of the profile's model
    llm_timeout: float = 60.0  # seconds without output before the embedded model is restarted
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "gemma-3-270m"
    openai_mode: str = "completion"  # "completion" for base models, "chat" for chat models
    openai_timeout: float = 60.0
    k: int = 4
    max_chars: int = 550
    lang: str = "auto"


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
    if settings.k < 1 or settings.k > 50:
        raise ConfigError(f"k={settings.k} is out of range; use a value from 1 to 50.")
    if settings.lang not in ("auto", "id", "en"):
        raise ConfigError(f"lang={settings.lang!r} is unknown; use auto, id or en.")
    return settings
