"""The assistant's stages composed: the one entry point for the CLI, the UI and eval.

A ``Pipeline`` owns the settings, the embedder and the loaded index (each loaded once,
lazily), and exposes what a user does: index articles, search, ask.
"""

from __future__ import annotations

import re
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.chunking import ChunkingConfig
from rag.corpus import default_documents, load_document
from rag.embed import Embedder, load_embedder
from rag.errors import IndexCorruptError, IndexMissingError, InputError
from rag.retrieve import MODES, retrieve
from rag.settings import Settings, resolve_settings
from rag.store import (
    IndexStore,
    build_index,
    check_compatible,
    content_hash,
    load_index,
    read_manifest,
    save_index,
)
from rag.types import Document, Hit

MAX_QUESTION_CHARS = 2_000


def clean_question(question: str | None) -> str:
    """A question as typed -> the text to work on, or an InputError saying what is wrong.

    >>> clean_question("  Siapa\\x07 Rudiantara? ")
    'Siapa Rudiantara?'
    """
    text = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else "" for ch in question or ""
    ).strip()
    if not text:
        raise InputError("the question is empty; type a question about the article.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(text):,} characters long; keep it under "
            f"{MAX_QUESTION_CHARS:,} (ask about one thing at a time)."
        )
    if not re.search(r"[^\W_]", text):
        raise InputError("the question has no words in it; ask in Indonesian or English.")
    return text


@dataclass(frozen=True)
class SearchResult:
    question: str
    hits: tuple[Hit, ...]
    timings_ms: dict[str, float]

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "passages": [h.to_json() for h in self.hits],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True)
class IndexReport:
    changed: bool
    documents: int
    passages: int
    embedded: int
    message: str


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


class Pipeline:
    """The assistant over one index directory."""

    def __init__(self, settings: Settings | None = None, progress: bool = False):
        self.settings = settings or resolve_settings()
        self.chunking = ChunkingConfig(max_chars=self.settings.max_chars)
        self.progress = progress
        self._store: IndexStore | None = None
        self._lock = threading.RLock()

    # -- stages, loaded once -------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        return load_embedder(self.settings.embed_model, self.settings.model_cache)

    @property
    def store(self) -> IndexStore:
        with self._lock:
            if self._store is None:
                self._store = self._open_index()
            return self._store

    def _open_index(self) -> IndexStore:
        """The index on disk; on first use, one is built over the bundled article."""
        try:
            return self._load_checked()
        except IndexMissingError:
            self._say(f"No index at {self.settings.index_dir} yet: indexing the bundled article.")
            self.index([])
            return self._store  # type: ignore[return-value]

    def _load_checked(self) -> IndexStore:
        """The index on disk, refused when it was built with other settings."""
        manifest = read_manifest(self.settings.index_dir)
        check_compatible(manifest, self.settings.embed_model, self.chunking)
        store = load_index(self.settings.index_dir)
        check_compatible(store.manifest, self.settings.embed_model, self.chunking,
                         fingerprint=self.embedder.fingerprint)
        return store

    def _say(self, message: str) -> None:
        if self.progress:
            print(message, file=sys.stderr)

    # -- indexing --------------------------------------------------------------------------
    def _stored_documents(self) -> list[Document]:
        """Documents of the current index, read even when its settings no longer match."""
        try:
            return list(load_index(self.settings.index_dir).documents.values())
        except IndexMissingError:
            return []
        except IndexCorruptError:
            self._say("The current index is damaged: starting again from the bundled article.")
            return default_documents()

    def index(self, files: list[str | Path], rebuild: bool = False) -> IndexReport:
        """Add or update articles; unchanged ones cost nothing. Nothing changes on error."""
        new_docs = [load_document(f) for f in files]  # every file is checked first
        return self.index_documents(new_docs, rebuild=rebuild)

    def index_documents(self, new_docs: list[Document], rebuild: bool = False) -> IndexReport:
        with self._lock:
            previous: IndexStore | None = None
            if rebuild:
                docs = {d.doc_id: d for d in self._stored_documents()}
            else:
                try:
                    previous = self._store or self._load_checked()
                    docs = dict(previous.documents)
                except IndexMissingError:
                    docs = {}
            if not docs and not new_docs:
                new_docs = default_documents()
            unchanged = all(
                d.doc_id in docs and content_hash(docs[d.doc_id].text) == content_hash(d.text)
                for d in new_docs
            )
            if previous is not None and unchanged:
                return IndexReport(False, len(docs), len(previous.passages), 0,
                                   "Index is up to date: nothing to embed.")
            docs.update({d.doc_id: d for d in new_docs})
            store = build_index(list(docs.values()), self.embedder, self.chunking,
                                previous=previous, progress=self.progress)
            save_index(store, self.settings.index_dir)
            self._store = store
            embedded = store.manifest["embedded_in_this_build"]
            return IndexReport(True, len(docs), len(store.passages), embedded,
                               f"Indexed {len(docs)} article(s), {len(store.passages)} passages "
                               f"({embedded} embedded now) in {self.settings.index_dir}.")

    def documents(self) -> list[Document]:
        return list(self.store.documents.values())

    # -- search ----------------------------------------------------------------------------
    def search(self, question: str, k: int | None = None, mode: str = "fused",
               doc_id: str | None = None) -> SearchResult:
        """The k best passages for a question, with per-step timings."""
        question = clean_question(question)
        if mode not in MODES:
            raise InputError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}.")
        store = self.store
        if doc_id is not None and doc_id not in store.documents:
            raise InputError(f"no article {doc_id!r} in the index; known: {sorted(store.documents)}.")
        t0 = time.perf_counter()
        vector = None if mode == "bm25" else self.embedder.embed_query(question)
        t1 = time.perf_counter()
        hits = retrieve(store, self.embedder, question, k or self.settings.k, mode, doc_id, vector)
        timings = {"embed": (t1 - t0) * 1000, "retrieve": _ms(t0)}
        return SearchResult(question, tuple(hits), timings)
