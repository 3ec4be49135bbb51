"""Evidence: the sentences of retrieved passages that are closest to a question.

A base model continues text rather than following instructions and is easily distracted,
so its prompt (``rag.answer.context.build_prompt``) holds only the few sentences of the retrieved
passages that are closest to the question. Citations are checked against the same sentences.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.articles.corpus import split_sentences
from rag.embedding.embedder import Embedder
from rag.fileio import sha256_text
from rag.store.index import IndexStore
from rag.values import Document, Hit, Sentence

PROMPT_SENTENCES = 3  # evidence sentences in a base model's prompt,
PROMPT_PASSAGES = 2  # taken from the top passages


@dataclass(frozen=True)
class Evidence:
    """A sentence of a retrieved passage, with the marker of that passage and its score."""

    sentence: Sentence
    hit: Hit
    score: float

    @property
    def marker(self) -> int:
        return self.hit.rank


class VectorCache:
    """Sentence vectors by (model id and fingerprint, document, span, text), the least
    recently used dropped first once ``limit`` are held. Safe to share between threads."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self._vectors: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def vectors(self, embedder: Embedder, sentences: list[Sentence]) -> np.ndarray:
        """Passage-side vectors of the sentences, embedding only those not held."""
        if not sentences:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        model = (embedder.model_id, embedder.fingerprint)
        keys = [(*model, s.doc_id, s.start, s.end, s.text) for s in sentences]
        with self._lock:
            held = {key: self._vectors[key] for key in keys if key in self._vectors}
        missing = [i for i, key in enumerate(keys) if key not in held]
        if missing:
            fresh = embedder.embed([sentences[i].text for i in missing], "passage")
            held.update(zip((keys[i] for i in missing), fresh, strict=True))
        with self._lock:
            for key in keys:
                self._vectors[key] = held[key]
                self._vectors.move_to_end(key)
            while len(self._vectors) > self.limit:
                self._vectors.popitem(last=False)
        return np.stack([held[key] for key in keys])

    def hold(self, embedder: Embedder, sentences: list[Sentence], vectors: np.ndarray) -> None:
        """Keep vectors made elsewhere (read from disk) as if embedded here."""
        model = (embedder.model_id, embedder.fingerprint)
        with self._lock:
            for s, vector in zip(sentences, vectors, strict=True):
                key = (*model, s.doc_id, s.start, s.end, s.text)
                self._vectors[key] = vector
                self._vectors.move_to_end(key)
            while len(self._vectors) > self.limit:
                self._vectors.popitem(last=False)


SENTENCE_VECTORS = VectorCache()


class SentenceVectorFiles:
    """Every sentence's vector of each indexed article, one ``.npy`` file per article and
    embedder in a folder beside the index, so that a new process (a cold ``rag ask``)
    reads what evidence selection and citation checks would otherwise embed again.

    Made when articles are indexed, with the embedder that builds indexes; a file that is
    missing, unreadable or of another shape is passed over (the sentences are embedded
    when needed, as without files) and made again at the next indexing.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, embedder: Embedder, doc: Document) -> Path:
        key = sha256_text(f"{embedder.model_id}\n{embedder.fingerprint}\n{doc.text}")
        return self.folder / f"{key[:32]}.npy"

    def save(self, embedder: Embedder, docs: list[Document]) -> None:
        """Write the files of the articles that have none, and remove the files of
        articles no longer indexed; a failure to write costs speed, never the index."""
        wanted = {self.path(embedder, d): d for d in docs}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for path in self.folder.glob("*.npy"):
                if path not in wanted:
                    path.unlink(missing_ok=True)
            for path, doc in wanted.items():
                if path.is_file():
                    continue
                texts = [s.text for s in document_sentences(doc)]
                vectors = embedder.embed_many(texts, "passage").astype(np.float32)
                part = path.with_suffix(".part")
                with part.open("wb") as out:
                    np.save(out, vectors)
                os.replace(part, path)
        except OSError:
            return

    def load(self, embedder: Embedder, docs: list[Document]) -> int:
        """Hold the vectors of every article that has a good file; the number held."""
        held = 0
        for doc in docs:
            sentences = list(document_sentences(doc))
            try:
                vectors = np.load(self.path(embedder, doc))
            except (OSError, ValueError):
                continue
            if vectors.shape != (len(sentences), embedder.dim):
                continue
            SENTENCE_VECTORS.hold(embedder, sentences, vectors)
            held += 1
        return held


def sentence_vectors(embedder: Embedder, sentences: list[Sentence]) -> np.ndarray:
    """Passage-side vectors of sentences, embedded once per process and model."""
    return SENTENCE_VECTORS.vectors(embedder, sentences)


@lru_cache(maxsize=1_000)
def document_sentences(doc: Document) -> tuple[Sentence, ...]:
    """A document's sentences, split once per process (the last 1,000 documents kept)."""
    return tuple(split_sentences(doc))


def sentences_in(store: IndexStore, hit: Hit) -> list[Sentence]:
    """The sentences of a retrieved passage."""
    p = hit.passage
    doc = store.documents[p.doc_id]
    return [s for s in document_sentences(doc) if p.start <= s.start and s.end <= p.end]


def select_evidence(
    store: IndexStore,
    embedder: Embedder,
    question_vector: np.ndarray,
    hits: list[Hit],
    n_sentences: int = PROMPT_SENTENCES,
    n_passages: int = PROMPT_PASSAGES,
) -> list[Evidence]:
    """The n sentences of the top passages most similar to the question, in reading order."""
    candidates = [(s, h) for h in hits[:n_passages] for s in sentences_in(store, h)]
    if not candidates:
        return []
    vectors = sentence_vectors(embedder, [s for s, _ in candidates])
    scores = vectors @ question_vector
    best = sorted(np.argsort(-scores)[:n_sentences])
    ordered = sorted(best, key=lambda i: (candidates[i][0].doc_id, candidates[i][0].start))
    return [Evidence(candidates[i][0], candidates[i][1], float(scores[i])) for i in ordered]
