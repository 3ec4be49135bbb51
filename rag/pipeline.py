"""The assistant's stages composed: the one entry point for the CLI, the UI and eval.

A ``Pipeline`` is composed from its parts: the settings, and makers of the embedder and the
LLM backend (``rag.factory`` gives the real ones, tests give fakes), each called once, on
first use; it opens the index in the settings' directory and exposes what a user does:
index articles, search, ask.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from rag import engines
from rag.answer.check import unknown_names
from rag.answer.context import build_context, chat_messages
from rag.answer.drafts import Drafter, Grounds, check_stated, second_look, wider_look
from rag.answer.followup import rewrite_follow_up
from rag.answer.overview import match_overview
from rag.answer.questions import clean_question
from rag.answer.refusal import RefusalPolicy
from rag.answer.summaries import overview_draft
from rag.answer.verdict import settle
from rag.articles.chunking import ChunkingConfig
from rag.articles.corpus import default_documents
from rag.config.settings import Settings
from rag.embedding.embedder import Embedder
from rag.errors import IndexCorruptError, IndexMissingError, InputError
from rag.llm.base import Backend, text_of
from rag.llm.profiles import get_profile
from rag.retrieval.evidence import Evidence, SentenceVectorFiles, select_evidence, sentences_in
from rag.retrieval.retrieve import ranker, retrieve
from rag.store.index import (
    IndexStore,
    check_compatible,
    content_hash,
    load_index,
    read_manifest,
    save_index,
    stored_documents,
)
from rag.text.language import detect_language
from rag.values import Answer, Document, Event, EventKind, IndexReport, SearchResult

log = logging.getLogger(__name__)


def _fulfil(future: Future, make: Callable[[], Any]) -> None:
    try:
        future.set_result(make())
    except BaseException as exc:  # handed to whoever waits for the part
        future.set_exception(exc)


def _check_known(store: IndexStore, doc_id: str | None) -> None:
    """An InputError when an article is named (not None) that the index does not hold."""
    if doc_id is not None and doc_id not in store.documents:
        raise InputError(f"no article {doc_id!r} in the index; known: {sorted(store.documents)}.")


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


class Pipeline:
    """The assistant over one index directory."""

    def __init__(
        self,
        settings: Settings,
        make_embedder: Callable[[], Embedder],
        make_backend: Callable[[], Backend],
        progress: bool = False,
    ):
        self.settings = settings
        self.chunking = ChunkingConfig(max_chars=self.settings.max_chars)
        self.progress = progress
        self._make_embedder = make_embedder
        self._make_backend = make_backend
        self._store: IndexStore | None = None
        self._embedder: Embedder | None = None
        self._backend: Backend | None = None
        self._backend_start: Future[Backend] | None = None
        self._lock = threading.RLock()
        self.profile = get_profile(self.settings.profile)
        self.refusal = RefusalPolicy.load(self.profile.refusal_path)

    # -- stages, loaded once -------------------------------------------------------------
    def _once(self, attribute: str, make: Callable[[], Any]) -> Any:
        """The part held in ``attribute``, made on first use (once, under the lock)."""
        with self._lock:
            if getattr(self, attribute) is None:
                setattr(self, attribute, make())
            return getattr(self, attribute)

    @property
    def embedder(self) -> Embedder:
        return self._once("_embedder", self._make_embedder)

    @property
    def backend(self) -> Backend:
        return self._once("_backend", lambda: self.start_backend().result())

    def start_backend(self) -> Future[Backend]:
        """Start making the LLM backend (loading the model) in the background, so that it
        loads while the question is embedded and retrieved; a failed start is tried again
        on the next call. On the ray engine the index is opened first: a missing one is
        built on the cluster's CPUs before the answering replicas hold one each."""
        if self.settings.engine == "ray":
            _ = self.store
        with self._lock:
            start = self._backend_start
            if start is None or (start.done() and start.exception() is not None):
                start = Future()
                self._backend_start = start
                threading.Thread(
                    target=_fulfil, args=(start, self._make_backend), daemon=True
                ).start()
            return start

    @property
    def store(self) -> IndexStore:
        return self._once("_store", self._open_index)

    def _open_index(self) -> IndexStore:
        """The index on disk; on first use, one is built over the bundled article."""
        try:
            store = self._load_checked()
        except IndexMissingError:
            self._say(f"No index at {self.settings.index_dir} yet: indexing the bundled article.")
            self.index([])
            return self._store  # type: ignore[return-value]
        self.sentence_files.load(self.embedder, list(store.documents.values()))
        return store

    def _load_checked(self) -> IndexStore:
        """The index on disk, refused when it was built with other settings."""
        manifest = read_manifest(self.settings.index_dir)
        check_compatible(manifest, self.settings.embed_model, self.chunking)
        store = load_index(self.settings.index_dir, engines.shard_fanout(self.settings))
        check_compatible(
            store.manifest,
            self.settings.embed_model,
            self.chunking,
            fingerprint=self.embedder.fingerprint,
        )
        return store

    def _say(self, message: str) -> None:
        if self.progress:
            log.info(message)

    def warm_up(self) -> None:
        """Load the index and the models now, run one search, and have an instruction-tuned
        model evaluate the whole-article prompt prefix that questions share, so that the
        first question costs what the next ones do. A model that cannot start raises here."""
        self.start_backend()  # the model process starts while the index and embedder load
        store, embedder = self.store, self.embedder
        retrieve(store, embedder, "warm up", 1, "fused")  # the first query pays for lazy set-up
        if self.backend.mode != "chat":
            return
        context = build_context(store, [], None, self.profile.context)
        if context.route == "article":
            messages = chat_messages(context, "?", "en")
            text_of(self.backend.stream(messages, [], 1, keep_prefix=True))

    # -- indexing --------------------------------------------------------------------------
    def _stored_documents(self) -> list[Document]:
        """Documents of the current index, read even when its settings no longer match."""
        try:
            return stored_documents(self.settings.index_dir)
        except IndexMissingError:
            return []
        except IndexCorruptError:
            self._say("The stored articles are damaged: starting again from the bundled article.")
            return default_documents()

    def index(self, files: list[str | Path], rebuild: bool = False) -> IndexReport:
        """Add or update articles; unchanged ones cost nothing. Nothing changes on error."""
        new_docs = engines.read_articles(self.settings, files)  # every file is checked first
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
            if (
                previous is not None
                and unchanged
                and engines.shards_as_set(self.settings, previous)
            ):
                self._keep_sentence_vectors(previous)  # an index made before they were kept
                return IndexReport(
                    False,
                    len(docs),
                    len(previous.passages),
                    0,
                    "Index is up to date: nothing to embed.",
                )
            docs.update({d.doc_id: d for d in new_docs})
            store = self._build(list(docs.values()), previous)
            save_index(store, self.settings.index_dir)
            self._keep_sentence_vectors(store)
            self._store = store
            embedded = store.manifest["embedded_in_this_build"]
            return IndexReport(
                True,
                len(docs),
                len(store.passages),
                embedded,
                f"Indexed {len(docs)} article(s), {len(store.passages)} passages "
                f"({embedded} embedded now) in {self.settings.index_dir}.",
            )

    def remove_document(self, doc_id: str) -> IndexReport:
        """Take one article out of the index; the others keep their vectors (nothing is
        embedded). Built and saved like ``index_documents``, so nothing changes on error.

        The last article is refused rather than removed: an empty index cannot answer,
        and rebuilding would bring back the bundled article unasked.
        """
        with self._lock:
            previous = self._store or self._load_checked()
            _check_known(previous, doc_id)
            if len(previous.documents) == 1:
                raise InputError(
                    f"{doc_id!r} is the only article in the index; add another one before "
                    "removing it."
                )
            docs = [d for d in previous.documents.values() if d.doc_id != doc_id]
            store = self._build(docs, previous)
            save_index(store, self.settings.index_dir)
            self._keep_sentence_vectors(store)
            self._store = store
            return IndexReport(
                True,
                len(docs),
                len(store.passages),
                store.manifest["embedded_in_this_build"],
                f"Removed {doc_id}: {len(docs)} article(s), {len(store.passages)} passages "
                f"left in {self.settings.index_dir}.",
            )

    @property
    def sentence_files(self) -> SentenceVectorFiles:
        return SentenceVectorFiles(self.settings.index_dir / "sentences")

    def _keep_sentence_vectors(self, store: IndexStore) -> None:
        """Save the indexed articles' sentence vectors for the next process, and hold them."""
        docs = list(store.documents.values())
        self.sentence_files.save(self.embedder, docs)
        self.sentence_files.load(self.embedder, docs)

    def _build(self, docs: list[Document], previous: IndexStore | None) -> IndexStore:
        settings, chunking = self.settings, self.chunking
        return engines.build(settings, docs, self.embedder, chunking, previous, self.progress)

    def documents(self) -> list[Document]:
        return list(self.store.documents.values())

    # -- search ----------------------------------------------------------------------------
    def search(
        self, question: str, k: int | None = None, mode: str = "fused", doc_id: str | None = None
    ) -> SearchResult:
        """The k best passages for a question, with per-step timings."""
        question = clean_question(question)
        ranker(mode)  # an unknown mode is refused before the index is opened
        store = self.store
        _check_known(store, doc_id)
        t0 = time.perf_counter()
        vector = None if mode == "bm25" else self.embedder.embed_query(question)
        t1 = time.perf_counter()
        hits = retrieve(store, self.embedder, question, k or self.settings.k, mode, doc_id, vector)
        timings = {"embed": (t1 - t0) * 1000, "retrieve": _ms(t0)}
        return SearchResult(question, tuple(hits), timings)

    # -- answers ---------------------------------------------------------------------------
    def ground(
        self,
        question: str,
        history: list[str] | None = None,
        lang: str | None = None,
        k: int | None = None,
        doc_id: str | None = None,
    ) -> Grounds:
        """An answer's first stage (see ask_stream): the follow-up rewritten to stand on its
        own, the answer language, retrieval and the evidence sentences."""
        store, embedder = self.store, self.embedder
        standalone = rewrite_follow_up(
            lambda: self.backend, store, self.profile, question, list(history or []), doc_id
        )
        language, note = detect_language(question, lang or self.settings.lang)
        vector = embedder.embed_query(standalone)
        hits = retrieve(store, embedder, standalone, k or self.settings.k, "fused", doc_id, vector)
        evidence = select_evidence(store, embedder, vector, hits)
        return Grounds(standalone, language, note, hits, evidence)

    def unknown_names(self, question: str, language: str, doc_id: str | None) -> list[str]:
        """Names and years of the question that no article in its language writes (an
        English question over an Indonesian article names things in other words)."""
        docs = [self.store.documents[doc_id]] if doc_id else self.documents()
        texts = [d.text for d in docs if d.language == language]
        return unknown_names(question, "\n".join(texts)) if texts else []

    def drafter(self) -> Drafter:
        return Drafter(self.store, self.embedder, self.backend, self.profile)

    def ask(
        self,
        question: str,
        history: list[str] | None = None,
        lang: str | None = None,
        k: int | None = None,
        doc_id: str | None = None,
    ) -> Answer:
        """Answer a question (see ask_stream), returning only the final Answer."""
        final = None
        for event in self.ask_stream(question, history, lang, k, doc_id):
            final = event.answer or final
        assert final is not None
        return final

    def ask_stream(
        self,
        question: str,
        history: list[str] | None = None,
        lang: str | None = None,
        k: int | None = None,
        doc_id: str | None = None,
    ) -> Iterator[Event]:
        """Retrieve, stream the LLM's tokens, then verify citations and decide to abstain.

        ``history`` holds the previous standalone questions of the conversation, so a
        follow-up is rewritten before retrieval. An overview question ("Ringkas artikel
        ini", see rag.answer.overview) stands on its own, is answered in its wording's language
        unless one is set, and is never refused (rag.answer.summaries).
        """
        question = clean_question(question)
        overview = match_overview(question)
        if overview:
            history = []
            if (lang or self.settings.lang) not in ("id", "en"):
                lang = overview.language
        self.start_backend()  # the model starts while the question is retrieved
        store, embedder = self.store, self.embedder
        t0 = time.perf_counter()
        _check_known(store, doc_id)
        grounds = self.ground(question, history, lang, k, doc_id)
        standalone, language = grounds.question, grounds.language
        hits, evidence = grounds.hits, grounds.evidence
        t_retrieved = time.perf_counter()
        yield Event(EventKind.RETRIEVED, text=standalone, hits=tuple(hits))

        candidates = [Evidence(s, h, 0.0) for h in hits for s in sentences_in(store, h)]
        drafter = self.drafter()
        if overview:
            draft = yield from overview_draft(drafter, overview, language, standalone, hits, doc_id)
        elif self.backend.mode == "chat":
            draft = yield from drafter.chat(language, standalone, hits, doc_id)
            draft = yield from wider_look(drafter, draft, language, standalone, hits, doc_id)
            draft = yield from second_look(drafter, draft, language, standalone, hits, doc_id)
            draft = yield from check_stated(drafter, draft, standalone, hits, doc_id)
        else:
            draft = yield from drafter.completion(language, standalone, evidence, hits, candidates)
            draft.hits = hits
        t_generated = time.perf_counter()
        unknown = partial(self.unknown_names, standalone, language, doc_id)
        verdict = settle(
            question, grounds, draft, candidates, embedder, self.refusal, unknown, bool(overview)
        )
        timings = {
            "retrieve": (t_retrieved - t0) * 1000,
            "generate": (t_generated - t_retrieved) * 1000,
            "total": _ms(t0),
        }
        run = {"backend": self.settings.llm_backend, "profile": self.profile.name}
        yield Event(
            EventKind.FINAL, answer=verdict.answer(question, grounds, draft, timings, **run)
        )
