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
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.answer import STOP, Evidence, build_prompt, select_evidence, sentences_in
from rag.chunking import ChunkingConfig
from rag.cite import CitedAnswer, cite
from rag.context import build_context, chat_messages
from rag.corpus import default_documents, load_document
from rag.embed import Embedder, load_embedder
from rag.errors import BackendError, IndexCorruptError, IndexMissingError, InputError
from rag.followup import accept_rewrite, needs_rewrite, rewrite_messages, standalone_question
from rag.grounded import (
    english_numbers,
    first_sentences,
    model_refused,
    renumber,
    unit_candidates,
)
from rag.language import detect_language
from rag.llm import Backend, get_backend
from rag.profiles import get_profile
from rag.refusal import RefusalPolicy, refusal_text
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
    stored_documents,
)
from rag.types import Answer, Document, Hit

MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_TOKENS = 48
MAX_CHAT_TOKENS = 96  # two short sentences with markers, in either language
PROMPT_SENTENCES = 3  # evidence sentences in the prompt, from the top PROMPT_PASSAGES
PROMPT_PASSAGES = 2
FALLBACK_LABEL = {
    "id": "Jawaban ekstraktif (model bahasa gagal menjawab; kalimat artikel yang paling "
    "mendukung):",
    "en": "Extractive answer (the language model failed on this question; the best-supported "
    "sentences of the article):",
}


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
class Event:
    """One step of a streamed answer: "retrieved", "token"s ("retry" restarts them), "final"."""

    kind: str
    text: str = ""
    hits: tuple[Hit, ...] = ()
    answer: Answer | None = None


@dataclass
class Draft:
    """The LLM's answer before the refusal decision, or why there is none."""

    raw: str = ""
    cited: CitedAnswer = field(default_factory=lambda: CitedAnswer("", (), 0.0, 0.0))
    failure: str = ""
    route: str = "passages"
    hits: list[Hit] = field(default_factory=list)  # the retrieved ones, and cited units
    model_refused: bool = False


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
        self._backend: Backend | None = None
        self._lock = threading.RLock()
        self.profile = get_profile(self.settings.profile)
        self.refusal = RefusalPolicy.load(self.profile.refusal_path)

    # -- stages, loaded once -------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        return load_embedder(self.settings.embed_model, self.settings.model_cache)

    @property
    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                self._backend = get_backend(self.settings)
            return self._backend

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
        check_compatible(
            store.manifest,
            self.settings.embed_model,
            self.chunking,
            fingerprint=self.embedder.fingerprint,
        )
        return store

    def _say(self, message: str) -> None:
        if self.progress:
            print(message, file=sys.stderr)

    def warm_up(self) -> None:
        """Load the index and the models now, run one search, and have an instruction-tuned
        model evaluate the whole-article prompt prefix that questions share, so that the
        first question costs what the next ones do. A model that cannot start raises here."""
        store, embedder = self.store, self.embedder
        retrieve(store, embedder, "warm up", 1, "fused")  # the first query pays for lazy set-up
        if self.backend.mode != "chat":
            return
        context = build_context(store, [], None, self.profile.context)
        if context.route == "article":
            for _ in self.backend.stream(chat_messages(context, "?", "en"), [], 1):
                pass

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
                return IndexReport(
                    False,
                    len(docs),
                    len(previous.passages),
                    0,
                    "Index is up to date: nothing to embed.",
                )
            docs.update({d.doc_id: d for d in new_docs})
            store = build_index(
                list(docs.values()),
                self.embedder,
                self.chunking,
                previous=previous,
                progress=self.progress,
            )
            save_index(store, self.settings.index_dir)
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
            if doc_id not in previous.documents:
                raise InputError(
                    f"no article {doc_id!r} in the index; known: {sorted(previous.documents)}."
                )
            if len(previous.documents) == 1:
                raise InputError(
                    f"{doc_id!r} is the only article in the index; add another one before "
                    "removing it."
                )
            docs = [d for d in previous.documents.values() if d.doc_id != doc_id]
            store = build_index(
                docs, self.embedder, self.chunking, previous=previous, progress=self.progress
            )
            save_index(store, self.settings.index_dir)
            self._store = store
            return IndexReport(
                True,
                len(docs),
                len(store.passages),
                store.manifest["embedded_in_this_build"],
                f"Removed {doc_id}: {len(docs)} article(s), {len(store.passages)} passages "
                f"left in {self.settings.index_dir}.",
            )

    def documents(self) -> list[Document]:
        return list(self.store.documents.values())

    # -- search ----------------------------------------------------------------------------
    def search(
        self, question: str, k: int | None = None, mode: str = "fused", doc_id: str | None = None
    ) -> SearchResult:
        """The k best passages for a question, with per-step timings."""
        question = clean_question(question)
        if mode not in MODES:
            raise InputError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}.")
        store = self.store
        if doc_id is not None and doc_id not in store.documents:
            raise InputError(
                f"no article {doc_id!r} in the index; known: {sorted(store.documents)}."
            )
        t0 = time.perf_counter()
        vector = None if mode == "bm25" else self.embedder.embed_query(question)
        t1 = time.perf_counter()
        hits = retrieve(store, self.embedder, question, k or self.settings.k, mode, doc_id, vector)
        timings = {"embed": (t1 - t0) * 1000, "retrieve": _ms(t0)}
        return SearchResult(question, tuple(hits), timings)

    # -- answers ---------------------------------------------------------------------------
    def _draft(
        self,
        language: str,
        question: str,
        evidence: list[Evidence],
        hits: list[Hit],
        candidates: list[Evidence],
    ) -> Generator[Event, None, Draft]:
        """Stream the LLM's answer and check it; returns a Draft (``yield from`` gives it).

        A second attempt on the top passage alone follows when the first answer is not
        supported by the articles: the small model is easily led astray by a mixed context.
        """
        draft = Draft()
        for attempt, context in enumerate(self._contexts(evidence, hits, self.store)):
            if attempt:
                yield Event("retry")
            pieces = []
            try:
                prompt = build_prompt(self.profile.prompts, language, context, question)
                for piece in self.backend.stream(prompt, STOP, MAX_ANSWER_TOKENS):
                    pieces.append(piece)
                    yield Event("token", text=piece)
            except BackendError as exc:
                return Draft(failure=str(exc))
            draft = Draft(raw="".join(pieces).strip())
            draft.cited = cite(question, draft.raw, candidates, self.embedder)
            if draft.cited.support > 0:
                break
        return draft

    def _draft_chat(
        self, language: str, question: str, hits: list[Hit], doc_id: str | None
    ) -> Generator[Event, None, Draft]:
        """Stream an instruction-tuned model's answer over the whole article(s), or the
        retrieved passages when they do not fit, and check it sentence by sentence."""
        context = build_context(self.store, hits, doc_id, self.profile.context)
        pieces = []
        try:
            messages = chat_messages(context, question, language)
            for piece in self.backend.stream(messages, [], MAX_CHAT_TOKENS):
                pieces.append(piece)
                yield Event("token", text=piece)
        except BackendError as exc:
            return Draft(failure=str(exc), route=context.route, hits=hits)
        raw = "".join(pieces).strip()
        draft = Draft(raw=raw, route=context.route, hits=hits)
        if not raw or model_refused(raw):
            draft.model_refused = True
            return draft
        candidates = unit_candidates(self.store, context)
        reply = first_sentences(raw)
        cited = cite(
            question,
            english_numbers(reply) if language == "en" else reply,
            candidates,
            self.embedder,
            translated=language != "id",
            drop_unsupported=True,
        )
        draft.cited, draft.hits = renumber(cited, hits, context)
        return draft

    def _standalone(self, question: str, previous: list[str], doc_id: str | None) -> str:
        """A follow-up rewritten to stand on its own: by an instruction-tuned model when
        one runs (the rules' version when its rewrite is unusable), else by the rules."""
        if not needs_rewrite(question, previous):
            return question
        if self.backend.mode == "chat":
            article = build_context(self.store, [], doc_id, self.profile.context)
            system = article.system_message() if article.route == "article" else None
            messages = rewrite_messages(question, previous, system)
            try:
                reply = "".join(self.backend.stream(messages, [], 64))
            except BackendError:
                reply = ""
            if accepted := accept_rewrite(reply, question, previous):
                return accepted
        return standalone_question(question, previous)

    @staticmethod
    def _contexts(
        evidence: list[Evidence], hits: list[Hit], store: IndexStore
    ) -> list[list[Evidence]]:
        """The prompt contexts to try in turn: the closest sentences, then the top passage."""
        top = [Evidence(s, hits[0], 0.0) for s in sentences_in(store, hits[0])] if hits else []
        same = [e.sentence for e in top] == [e.sentence for e in evidence]
        return [evidence] if same or not top else [evidence, top]

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
        follow-up is rewritten before retrieval.
        """
        question = clean_question(question)
        _ = self.backend  # the models load before the clock starts
        store, embedder = self.store, self.embedder
        t0 = time.perf_counter()
        if doc_id is not None and doc_id not in store.documents:
            raise InputError(
                f"no article {doc_id!r} in the index; known: {sorted(store.documents)}."
            )
        standalone = self._standalone(question, list(history or []), doc_id)
        language, note = detect_language(question, lang or self.settings.lang)
        vector = embedder.embed_query(standalone)
        hits = retrieve(store, embedder, standalone, k or self.settings.k, "fused", doc_id, vector)
        evidence = select_evidence(store, embedder, vector, hits, PROMPT_SENTENCES, PROMPT_PASSAGES)
        t_retrieved = time.perf_counter()
        yield Event("retrieved", text=standalone, hits=tuple(hits))

        candidates = [Evidence(s, h, 0.0) for h in hits for s in sentences_in(store, h)]
        relevance = max((e.score for e in evidence), default=0.0)
        if self.backend.mode == "chat":
            draft = yield from self._draft_chat(language, standalone, hits, doc_id)
        else:
            draft = yield from self._draft(language, standalone, evidence, hits, candidates)
            draft.hits = hits
        t_generated = time.perf_counter()
        if draft.failure:
            text = " ".join(e.sentence.text for e in evidence[:2])
            cited = cite(standalone, text, candidates, embedder)
            abstained, answer_text = False, f"{FALLBACK_LABEL[language]} {cited.text}"
        else:
            cited = draft.cited
            abstained = draft.model_refused or self.refusal.abstain(
                relevance, cited.support, cited.semantic
            )
            answer_text = refusal_text(language, question) if abstained else cited.text
        timings = {
            "retrieve": (t_retrieved - t0) * 1000,
            "generate": (t_generated - t_retrieved) * 1000,
            "total": _ms(t0),
        }
        yield Event(
            "final",
            answer=Answer(
                question=question,
                standalone_question=standalone,
                language=language,
                answer=answer_text,
                abstained=abstained,
                citations=() if abstained else cited.citations,
                hits=tuple(draft.hits),
                backend=self.settings.llm_backend,
                profile=self.profile.name,
                route=draft.route,
                timings_ms=timings,
                language_note=note,
                fallback=draft.failure,
                raw_answer=draft.raw,
                signals={
                    "relevance": relevance,
                    "support": cited.support,
                    "lexical": cited.lexical,
                    "semantic": cited.semantic,
                },
            ),
        )
