"""Evidence: the sentences of retrieved passages that are closest to a question.

A base model continues text rather than following instructions and is easily distracted,
so its prompt (``rag.context.build_prompt``) holds only the few sentences of the retrieved
passages that are closest to the question. Citations are checked against the same sentences.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rag.corpus import split_sentences
from rag.embed import Embedder
from rag.store import IndexStore
from rag.types import Document, Hit, Sentence

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


SENTENCE_VECTORS = VectorCache()


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
