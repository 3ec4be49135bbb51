"""The model's evaluated prompt prefixes (KV states), kept on disk between processes.

Evaluating an article's prefix (the system message that holds the whole article) costs the
1.5B model about 18 s on 2 cores; loading its saved state costs tens of milliseconds. A
state is named by a key made of everything that determines it: the model file, the runtime
build and the exact prefix text (which holds the profile's prompt template and the
articles' text), so a change of any part makes a new key and the old file is never used
again. Each ``<key>.bin`` (written by llama-server) has a ``<key>.json`` beside it with its
size and sha256: a file that does not match is damaged, removed and made again, never
trusted. The folder is bounded in bytes; the least recently used states go first.

Doesn't: talk to the model process (``rag.llm.llamacpp`` asks it to save and restore files here).

>>> store = StateStore(Path("/nonexistent"), max_bytes=0)
>>> store.key("model", "runtime", "prefix") == store.key("model", "runtime", "prefix")
True
>>> store.key("model", "runtime", "prefix") == store.key("model", "runtime", "prefix!")
False
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

from rag.fileio import sha256_file

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 2 * 2**30  # some sixty article states of the 1.5B model


class StateStore:
    """Saved KV states in one folder, bounded in bytes, least recently used first out."""

    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES):
        self.directory = directory
        self.max_bytes = max_bytes
        self._verified: dict[str, float] = {}  # key -> mtime of the .bin checked in this process

    @staticmethod
    def key(*parts: str) -> str:
        digest = hashlib.sha256()
        for part in parts:
            digest.update(hashlib.sha256(part.encode("utf-8")).digest())
        return digest.hexdigest()[:32]

    @staticmethod
    def filename(key: str) -> str:
        """The state file's name inside the folder (what llama-server is given)."""
        return f"{key}.bin"

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / self.filename(key), self.directory / f"{key}.json"

    def usable(self, key: str) -> bool:
        """Whether a whole, undamaged state is stored for the key; a damaged one is removed."""
        state, meta = self._paths(key)
        if not state.is_file() or not meta.is_file():
            if state.exists() or meta.exists():
                self.discard(key, "incomplete")
            return False
        mtime = state.stat().st_mtime
        if self._verified.get(key) == mtime:
            return True
        try:
            expected = json.loads(meta.read_text("utf-8"))
            whole = (
                state.stat().st_size == expected["bytes"]
                and sha256_file(state) == expected["sha256"]
            )
        except (OSError, ValueError, KeyError, TypeError):
            whole = False
        if not whole:
            self.discard(key, "damaged")
            return False
        self._verified[key] = mtime
        return True

    def record(self, key: str, **notes: object) -> None:
        """Note a state file the model process has just written, then keep within bounds."""
        state, meta = self._paths(key)
        info = {"bytes": state.stat().st_size, "sha256": sha256_file(state), **notes}
        partial = meta.with_suffix(".json.partial")
        partial.write_text(json.dumps(info, indent=1), "utf-8")
        os.replace(partial, meta)
        self._verified[key] = state.stat().st_mtime
        self.evict(keep=key)

    def touch(self, key: str) -> None:
        """Mark a state as just used (its sidecar's time orders the eviction)."""
        with contextlib.suppress(OSError):
            os.utime(self._paths(key)[1])

    def discard(self, key: str, why: str = "") -> None:
        if why:
            log.warning("saved model state %s is %s; it will be made again", key, why)
        self._verified.pop(key, None)
        for path in self._paths(key):
            path.unlink(missing_ok=True)

    def evict(self, keep: str = "") -> None:
        """Remove the least recently used states until the folder fits its bound."""
        entries = []
        for meta in self.directory.glob("*.json"):
            state = meta.with_suffix(".bin")
            with contextlib.suppress(OSError):
                size = state.stat().st_size if state.exists() else 0
                entries.append((meta.stat().st_mtime, meta.stem, size))
        total = sum(size for _, _, size in entries)
        for _, key, size in sorted(entries):
            if total <= self.max_bytes:
                break
            if key != keep:
                self.discard(key)
                total -= size
