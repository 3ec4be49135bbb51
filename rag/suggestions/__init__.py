"""Suggested questions: a checked pool per article, and the few to offer after an answer.

What it does: for each article, the instruction-tuned model writes a few short questions
per passage, in Indonesian and in English, after the same system message the answers use
(the article's evaluated prefix is shared, so each costs only its own tokens); each is then
asked to the assistant itself (``Pipeline.ask``, as the chat would) and kept only when it is
answered, with citations, in its own language, and needs no earlier question to be
understood. The pool is stored beside the index (``suggestions/<doc_id>.json``) under a key
made of the article's content hash, the model's sha256, the profile and this prompt, so a
changed article, model or prompt makes a new one. After an answer, ``Suggester.suggest``
picks up to 3 of the pool's questions in the answer's language, from the article(s) the
answer drew on, most similar (e5) to the last question and answer, leaving out what the
conversation asked already (same words, or an e5 similarity of ``SAME_QUESTION`` or more).

What it does not do: make anyone wait. Picking reads the stored pool and embeds one short
text; an article without a pool gets no suggestions until ``make_pools`` (``rag index
--suggestions``, or the background thread ``rag serve`` and ``rag chat`` start) has made it.
A base model (the ``tiny`` profile) writes no questions: its articles get none.

>>> normalise("  Siapa  Menteri Kominfo?? ")
'siapa menteri kominfo'
>>> parse_questions("1. Siapa Menteri Kominfo yang disebut?\\n- Kapan itu terjadi?", "id")
['Siapa Menteri Kominfo yang disebut?']
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np

from rag.answer.context import Context, build_context, load_prompt
from rag.config.settings import Settings
from rag.errors import RagError
from rag.llm.base import Waiting
from rag.pipeline import Pipeline
from rag.suggestions.pools import (
    FOLDER,
    Pool,
    Suggestion,
    normalise,
    parse_questions,
    pool_key,
    pool_path,
    read_pool,
    usable,
    write_pool,
)
from rag.text.language import SUPPORTED
from rag.values import Answer, Document

log = logging.getLogger(__name__)
BUNDLED = Path(__file__).parents[1] / "data" / FOLDER  # bundled pool (docs/quality.md)
PER_PASSAGE = 2  # questions asked of the model per passage and language
MAX_TOKENS = 120  # three short questions
SHOWN = 3  # offered after an answer
SAME_QUESTION = 0.93  # e5 cosine from which two questions count as the same one
WORKERS = 2  # questions checked at once (the model decodes them together in its slots)


__all__ = [
    "FOLDER",
    "Pool",
    "Suggestion",
    "normalise",
    "parse_questions",
    "pool_key",
    "pool_path",
    "read_pool",
    "usable",
    "write_pool",
]


def stored_pool(index_dir: Path | str, doc: Document, settings: Settings) -> Pool | None:
    """The article's pool beside the index, else the one shipped with the package for the
    bundled article, when either was made under the same key."""
    key = pool_key(doc, settings)
    for path in (pool_path(index_dir, doc.doc_id), pool_path(BUNDLED.parent, doc.doc_id)):
        if (pool := read_pool(path, key)) is not None:
            return pool
    return None


# -- making a pool --------------------------------------------------------------------------
def generation_messages(context: Context, number: int, language: str) -> list[tuple[str, str]]:
    """The answers' own system message, then the request for questions on unit ``number``."""
    user = load_prompt(f"suggest-{language}.txt").format(n=PER_PASSAGE, number=number)
    return [("system", context.system_message()), ("user", user.strip())]


def check(
    pipeline: Pipeline, question: str, language: str, doc_id: str
) -> tuple[Answer | None, str]:
    """Ask the question as the chat would (answer language 'auto'); (answer, '') when it
    is answered with citations in its own language, else (answer or None, the reason)."""
    try:
        answer = pipeline.ask(question, doc_id=doc_id)
    except RagError as exc:
        return None, f"failed: {exc}"
    if answer.fallback:
        return answer, f"failed: {answer.fallback}"
    if answer.abstained:
        return answer, "refused: " + ",".join(answer.signals.get("refusal_reasons", []))
    if not answer.citations:
        return answer, "no citation"
    if answer.language != language:
        return answer, f"answered in {answer.language}"
    return answer, ""


class PoolMaker:
    """Writes, checks and stores the suggested questions of a pipeline's articles."""

    def __init__(
        self, pipeline: Pipeline, workers: int = WORKERS, say: Callable[[str], None] = log.info
    ):
        self.pipeline, self.workers, self.say = pipeline, workers, say

    def key(self, doc: Document) -> str:
        return pool_key(doc, self.pipeline.settings)

    def path(self, doc_id: str) -> Path:
        return pool_path(self.pipeline.settings.index_dir, doc_id)

    def missing(self, doc_ids: Iterable[str] | None = None) -> list[str]:
        """The articles (all by default) whose pool is absent or was made for another text,
        model or prompt."""
        docs = self.pipeline.store.documents
        wanted = sorted(docs) if doc_ids is None else [d for d in doc_ids if d in docs]
        index_dir = self.pipeline.settings.index_dir
        return [
            d for d in wanted if stored_pool(index_dir, docs[d], self.pipeline.settings) is None
        ]

    def make_missing(self, doc_ids: Iterable[str] | None = None) -> list[Pool]:
        if self.pipeline.backend.mode != "chat":
            self.say("suggested questions: the profile's model is a base model; none are written")
            return []
        return [self.make(doc_id) for doc_id in self.missing(doc_ids)]

    def make(self, doc_id: str) -> Pool:
        """One article's pool: written, checked, stored."""
        started = time.perf_counter()
        doc = self.pipeline.store.documents[doc_id]
        candidates = self.candidates(doc_id)
        self.say(f"suggested questions for {doc_id}: {len(candidates)} written, checking them")
        pool = Pool(doc_id, self.key(doc))
        with ThreadPoolExecutor(self.workers) as workers:
            checked = workers.map(
                lambda c: (c, *check(self.pipeline, c.question, c.language, doc_id)), candidates
            )
            for candidate, answer, reason in checked:
                if reason:
                    pool.rejected.append(
                        {
                            "question": candidate.question,
                            "language": candidate.language,
                            "reason": reason,
                        }
                    )
                else:
                    pool.questions.append(
                        Suggestion(**{**asdict(candidate), "answer": answer.answer})
                    )
        pool.seconds = time.perf_counter() - started
        write_pool(self.path(doc_id), pool)
        self.say(
            f"suggested questions for {doc_id}: {len(pool.questions)} of {len(candidates)} "
            f"answered ({pool.seconds:.0f} s), in {self.path(doc_id)}"
        )
        return pool

    def candidates(self, doc_id: str) -> list[Suggestion]:
        """The model's questions on each passage of the article, in both languages: over
        the whole article when it fits the profile's context, else over that passage."""
        article = build_context(self.pipeline.store, [], doc_id, self.pipeline.profile.context)
        whole = article.route == "article"
        found: list[Suggestion] = []
        for number, passage in enumerate(article.units, 1):
            context = article if whole else Context("passages", (passage,))
            for language in SUPPORTED:
                messages = generation_messages(context, number if whole else 1, language)
                seen = {normalise(s.question) for s in found}
                for question in parse_questions(self._reply(messages, whole), language):
                    if normalise(question) not in seen:
                        found.append(Suggestion(question, language, doc_id, passage.id))
            self.say(f"suggested questions for {doc_id}: passage {number}/{len(article.units)}")
        return found

    def _reply(self, messages: list[tuple[str, str]], keep_prefix: bool) -> str:
        stream = self.pipeline.backend.stream(messages, [], MAX_TOKENS, keep_prefix=keep_prefix)
        try:
            return "".join(p for p in stream if not isinstance(p, Waiting))
        except RagError as exc:
            self.say(f"suggested questions: the model failed on a passage ({exc})")
            return ""


def make_in_background(pipeline: Pipeline) -> threading.Thread:
    """Make the missing pools in a daemon thread (``rag serve``, ``rag chat``); until one
    is stored its article simply has no suggestions."""

    def run() -> None:
        try:
            PoolMaker(pipeline).make_missing()
        except RagError as exc:  # the app goes on without suggestions
            log.warning("suggested questions were not made: %s", exc)

    thread = threading.Thread(target=run, name="suggested-questions", daemon=True)
    thread.start()
    return thread


# -- picking ---------------------------------------------------------------------------------
def without_markers(text: str) -> str:
    """'Ada lima produk [1].' -> 'Ada lima produk.'"""
    return re.sub(r"\s*\[\d+\]", "", text)


def exchange_text(answer: Answer) -> str:
    """The last question and its answer, as one text to compare suggestions with (a
    refusal's words say nothing about the article: the question alone)."""
    if answer.abstained:
        return answer.question
    return f"{answer.question} {without_markers(answer.answer)}"


def answer_documents(answer: Answer, restricted: str | None = None) -> list[str]:
    """The article(s) an answer is about: the one asked about, else those it cites, else
    its best passage's."""
    if restricted:
        return [restricted]
    cited = list(dict.fromkeys(c.doc_id for c in answer.citations))
    return cited or [h.passage.doc_id for h in answer.hits[:1]]


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


class Suggester:
    """Picks suggestions from the stored pools; a pool is read once per key and file."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self._cache: dict[str, tuple[tuple, list[Suggestion], np.ndarray]] = {}
        self._lock = threading.Lock()

    def pool(self, doc_id: str) -> tuple[list[Suggestion], np.ndarray]:
        """The article's checked questions and their e5 vectors ([] when there is no pool)."""
        doc = self.pipeline.store.documents.get(doc_id)
        if doc is None:
            return [], np.zeros((0, 0), dtype=np.float32)
        settings = self.pipeline.settings
        paths = (pool_path(settings.index_dir, doc_id), pool_path(BUNDLED.parent, doc_id))
        stamp = (pool_key(doc, settings), *(_mtime(p) for p in paths))
        with self._lock:
            cached = self._cache.get(doc_id)
            if cached is None or cached[0] != stamp:
                pool = stored_pool(settings.index_dir, doc, settings)
                questions = [s for s in pool.questions if usable(s.question)] if pool else []
                vectors = self._embed([s.question for s in questions])
                cached = self._cache[doc_id] = (stamp, questions, vectors)
        return cached[1], cached[2]

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(self.pipeline.embedder.embed(texts, "query"), dtype=np.float32)

    def suggest(
        self, answer: Answer, asked: list[str], restricted: str | None = None, n: int = SHOWN
    ) -> list[str]:
        """Up to n questions in the answer's language about its article(s), closest to the
        last exchange first, none the conversation asked (``asked``: its questions)."""
        pools = [self.pool(d) for d in answer_documents(answer, restricted)]
        questions = [s for qs, _ in pools for s in qs]
        if not questions:
            return []
        vectors = np.vstack([v for qs, v in pools if qs])
        exchange = self._embed([exchange_text(answer)])[0]
        return pick(questions, vectors, exchange, asked, self._embed(asked), answer.language, n)


def pick(
    questions: list[Suggestion],
    vectors: np.ndarray,
    exchange: np.ndarray,
    asked: list[str],
    asked_vectors: np.ndarray,
    language: str,
    n: int = SHOWN,
) -> list[str]:
    """The n questions in ``language`` most similar to the exchange, leaving out those the
    conversation asked (same words, or as similar as ``SAME_QUESTION``) and near-repeats
    of one already picked."""
    asked_words = {normalise(q) for q in asked}
    order = np.argsort(-(vectors @ exchange), kind="stable")
    chosen: list[int] = []
    for i in order:
        s = questions[i]
        if s.language != language or normalise(s.question) in asked_words:
            continue
        if len(asked_vectors) and float(np.max(asked_vectors @ vectors[i])) >= SAME_QUESTION:
            continue
        if any(float(vectors[j] @ vectors[i]) >= SAME_QUESTION for j in chosen):
            continue
        chosen.append(int(i))
        if len(chosen) == n:
            break
    return [questions[i].question for i in chosen]
