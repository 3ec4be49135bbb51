"""From retrieved passages to a prompt: choose the sentences that matter, fill the template.

The embedded LLM is a 270M *base* model: it continues text rather than following
instructions, and it is easily distracted. So the prompt is few-shot (examples about an
unrelated story, so nothing leaks into answers), puts the evidence before the question,
ends on the answer cue, and holds only the few sentences of the retrieved passages that
are closest to the question. Templates are package data in ``rag/prompts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.corpus import split_sentences
from rag.embed import Embedder
from rag.store import IndexStore
from rag.types import Hit, Sentence

PROMPTS = Path(__file__).parent / "prompts"
STOP = ["\n"]


@dataclass(frozen=True)
class Evidence:
    """A sentence of a retrieved passage, with the marker of that passage and its score."""

    sentence: Sentence
    hit: Hit
    score: float

    @property
    def marker(self) -> int:
        return self.hit.rank


_SENTENCE_CACHE: dict[tuple[str, int], list[Sentence]] = {}
_VECTOR_CACHE: dict[tuple[str, str, int, int, str], np.ndarray] = {}
VECTOR_CACHE_LIMIT = 100_000
SENTENCE_CACHE_DOCS = 1_000


def sentence_vectors(embedder: Embedder, sentences: list[Sentence]) -> np.ndarray:
    """Passage-side vectors of sentences, embedded once per process and model."""
    keys = [(embedder.model_id, s.doc_id, s.start, s.end, s.text) for s in sentences]
    missing = [i for i, key in enumerate(keys) if key not in _VECTOR_CACHE]
    if missing:
        if len(_VECTOR_CACHE) > VECTOR_CACHE_LIMIT:
            _VECTOR_CACHE.clear()
        fresh = embedder.embed([sentences[i].text for i in missing], "passage")
        _VECTOR_CACHE.update({keys[i]: v for i, v in zip(missing, fresh, strict=True)})
    if not keys:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack([_VECTOR_CACHE[key] for key in keys])


def sentences_in(store: IndexStore, hit: Hit) -> list[Sentence]:
    """The sentences of a retrieved passage (documents are split once and cached)."""
    doc = store.documents[hit.passage.doc_id]
    key = (doc.doc_id, hash(doc.text))
    if key not in _SENTENCE_CACHE:
        if len(_SENTENCE_CACHE) > SENTENCE_CACHE_DOCS:
            _SENTENCE_CACHE.clear()
        _SENTENCE_CACHE[key] = split_sentences(doc)
    p = hit.passage
    return [s for s in _SENTENCE_CACHE[key] if p.start <= s.start and s.end <= p.end]


def select_evidence(
    store: IndexStore,
    embedder: Embedder,
    question_vector: np.ndarray,
    hits: list[Hit],
    n_sentences: int = 2,
    n_passages: int = 3,
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


@lru_cache(maxsize=8)
def load_template(purpose: str, language: str) -> str:
    """The prompt template for a purpose ('answer', ...) and language ('id' or 'en')."""
    return (PROMPTS / f"{purpose}-{language}.txt").read_text("utf-8")


def build_prompt(family: str, language: str, evidence: list[Evidence], question: str) -> str:
    """The completion prompt: few-shot examples, the evidence, the question, the cue."""
    context = " ".join(e.sentence.text.replace("\n", " ") for e in evidence)
    template = load_template(f"answer-{family}", language)
    prompt = template.format(context=context, question=question.strip())
    return prompt.rstrip()  # end on the cue itself: a trailing newline would start a new turn
