"""Synthetic corpora of any size, and vectors generated for them.

A synthetic corpus recombines the bundled article's sentences into passages: clauses
shuffled, numbers and capitalised words swapped for Zipf-distributed pseudo-names, so BM25
sees a text-like, growing vocabulary. Passages are grouped into articles with exact
offsets, as ``rag.store.index`` expects. Every size draws the same sequence from its seed, so a
smaller corpus is a prefix of a larger one.

A passage that is not embedded for real gets a *generated* vector: the normalised mean of
its sentences' real vectors plus Gaussian noise, calibrated (``noise_sigma``) so generated
vectors stray from that mean as far as really embedded synthetic passages do.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import numpy as np

from rag.articles.corpus import default_documents, split_sentences
from rag.config.settings import PROJECT_DIR
from rag.fileio import read_jsonl
from rag.values import Document, Passage

CORPUS_SEED = 0  # every size draws the same sequence: a smaller corpus is a prefix
PASSAGES_PER_DOC = 10  # paragraphs per synthetic article, as in a typical news story
SENTENCES_PER_PASSAGE = (2, 3)  # about 300 characters, like the article's own passages
NAME_POOL = 500_000  # distinct pseudo-names a corpus may draw from
NAME_ZIPF = 1.2  # their frequencies fall off as rank**-1.2, like names in news
SWAP_PROBABILITY = 0.5  # chance that a number, or a distinct name in a passage, is replaced
SHUFFLE_PROBABILITY = 0.2  # chance that two inner clauses of a sentence trade places
# Numbers, and capitalised words inside a sentence (not after a stop or an opening quote).
SLOT = re.compile(r"(\d+(?:[.,]\d+)*|(?<=[^.!?\"“]\s)[A-Z][^\W\d_]*)")
_SYLLABLES = [c + v for c in "bcdgjklmnprstw" for v in "aiueo"]


def sentence_pool() -> list[str]:
    """The sentences of the bundled article(s): the material synthetic passages reuse."""
    return [s.text for doc in default_documents() for s in split_sentences(doc)]


def bench_questions() -> list[str]:
    """The evaluation set's questions (Indonesian and English); the pool if it is absent."""
    path = PROJECT_DIR / "eval" / "dataset.jsonl"
    if not path.is_file():
        return sentence_pool()
    return [row["question"] for row in read_jsonl(path)]


def spread(items: list, n: int) -> list:
    """n items taken evenly across a list (so both languages of the question set appear).

    >>> spread(list(range(10)), 3)
    [0, 3, 6]
    """
    n = min(n, len(items))
    return [items[i * len(items) // n] for i in range(n)]


def pseudo_name(rank: int) -> str:
    """A pronounceable capitalised name for a frequency rank.

    >>> pseudo_name(0), pseudo_name(71), pseudo_name(5000)
    ('Baba', 'Bibi', 'Labibi')
    """
    n = len(_SYLLABLES)
    length = 2 if rank < n**2 else 3 if rank < n**3 else 4
    syllables = []
    for _ in range(length):
        rank, digit = divmod(rank, n)
        syllables.append(_SYLLABLES[digit])
    return "".join(syllables).capitalize()


@dataclass(frozen=True)
class SyntheticCorpus:
    """Articles and passages made of recombined sentences; ``members[i]`` lists the pool
    sentences passage i was made from (-1 pads)."""

    documents: list[Document]
    passages: list[Passage]
    members: np.ndarray


class PassageWriter:
    """Writes passages by sampling pool sentences and varying their names, numbers, clauses.

    >>> writer = PassageWriter(["Budi ke Jakarta pada 2019.", "Ani pulang.", "Hujan."], seed=1)
    >>> text, chosen = writer.passage()
    >>> len(chosen) in SENTENCES_PER_PASSAGE, text.count(".") == len(chosen)
    (True, True)
    """

    def __init__(self, sentences: list[str], seed: int = 0):
        self.templates = [SLOT.split(s) for s in sentences]  # literals at even, slots at odd
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self._ranks: list[int] = []

    def _name(self) -> str:
        if not self._ranks:  # drawn in bulk: one numpy call per 65k names
            self._ranks = ((self.np_rng.zipf(NAME_ZIPF, 1 << 16) - 1) % NAME_POOL).tolist()
        return pseudo_name(self._ranks.pop())

    def _number(self, original: str) -> str:
        if "." in original or "," in original:  # "1.000" stays a thousands-style number
            return f"{self.rng.randint(1, 999)}.{self.rng.randint(0, 999):03d}"
        digits = len(original)
        return str(self.rng.randint(10 ** (digits - 1), 10**digits - 1))

    def _sentence(self, index: int, names: dict[str, str]) -> str:
        parts = list(self.templates[index])
        for i in range(1, len(parts), 2):
            slot = parts[i]
            if slot[0].isdigit():
                parts[i] = self._number(slot) if self.rng.random() < SWAP_PROBABILITY else slot
                continue
            if slot not in names:  # a name is swapped consistently within a passage
                names[slot] = self._name() if self.rng.random() < SWAP_PROBABILITY else slot
            parts[i] = names[slot]
        clauses = "".join(parts).split(", ")
        if len(clauses) > 3 and self.rng.random() < SHUFFLE_PROBABILITY:
            i, j = self.rng.sample(range(1, len(clauses) - 1), 2)  # the last keeps the stop
            clauses[i], clauses[j] = clauses[j], clauses[i]
        return ", ".join(clauses)

    def passage(self) -> tuple[str, list[int]]:
        """One passage's text and the pool sentences it was made from."""
        chosen = self.rng.sample(
            range(len(self.templates)), self.rng.randint(*SENTENCES_PER_PASSAGE)
        )
        names: dict[str, str] = {}
        return " ".join(self._sentence(i, names) for i in chosen), chosen


def synthetic_corpus(sentences: list[str], n: int, seed: int = 0) -> SyntheticCorpus:
    """n passages, grouped into articles of PASSAGES_PER_DOC paragraphs with exact offsets.

    >>> corpus = synthetic_corpus(sentence_pool(), 12)
    >>> [d.doc_id for d in corpus.documents], corpus.passages[10].id
    (['syn-000000', 'syn-000001'], 'syn-000001#1')
    """
    writer = PassageWriter(sentences, seed)
    members = np.full((n, SENTENCES_PER_PASSAGE[1]), -1, dtype=np.int16)
    documents, passages = [], []
    for first in range(0, n, PASSAGES_PER_DOC):
        doc_id = f"syn-{first // PASSAGES_PER_DOC:06d}"
        texts = []
        for row in range(first, min(first + PASSAGES_PER_DOC, n)):
            text, chosen = writer.passage()
            members[row, : len(chosen)] = chosen
            texts.append(text)
        start = 0
        for number, text in enumerate(texts, start=1):
            passages.append(
                Passage(f"{doc_id}#{number}", doc_id, number, start, start + len(text), text)
            )
            start += len(text) + 1
        documents.append(Document(doc_id, f"{doc_id}.txt", "\n".join(texts), language="id"))
    return SyntheticCorpus(documents, passages, members)


def mean_vectors(sentence_vectors: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Each passage's normalised mean of its sentences' vectors (the rows of ``members``)."""
    mask = (members >= 0)[..., None]
    total = (sentence_vectors[np.maximum(members, 0)] * mask).sum(axis=1)
    return total / np.linalg.norm(total, axis=1, keepdims=True)


def generated_vectors(
    sentence_vectors: np.ndarray,
    members: np.ndarray,
    sigma: float,
    seed: int = 0,
    chunk: int = 65_536,
) -> np.ndarray:
    """Vectors for passages that are not embedded: normalise(mean + N(0, sigma^2)), in
    chunks so that only the float32 result is held whole."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(members), sentence_vectors.shape[1]), dtype=np.float32)
    for lo in range(0, len(members), chunk):
        v = mean_vectors(sentence_vectors, members[lo : lo + chunk])
        v += rng.standard_normal(v.shape, dtype=np.float32) * sigma
        out[lo : lo + chunk] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def noise_sigma(real: np.ndarray, sentence_vectors: np.ndarray, members: np.ndarray) -> float:
    """The per-component noise that makes generated vectors stray from their sentences'
    mean as far as really embedded passages do."""
    residual = real - mean_vectors(sentence_vectors, members)
    return float(np.sqrt(np.mean(np.sum(residual**2, axis=1)) / real.shape[1]))
