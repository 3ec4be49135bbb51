"""Group sentences into passages, the units that are embedded, retrieved and cited.

Paragraphs are the first unit. A paragraph longer than ``max_chars`` is cut into runs of
consecutive whole sentences that fit; short neighbouring paragraphs are packed together
while the passage stays within ``max_chars`` (a one-line quote such as '"...," katanya.'
then keeps the paragraph that says who spoke). Sentences are never cut, so citations stay
readable and offsets exact.

>>> from rag.values import Document
>>> doc = Document("d", "d.txt", "Satu. Dua tiga.\\nEmpat.\\n" + "Lima enam tujuh. " * 3)
>>> [p.id for p in chunk_document(doc, ChunkingConfig(max_chars=25))]
['d#1-2', 'd#3.1', 'd#3.2', 'd#3.3']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import groupby

from rag.articles.corpus import split_sentences
from rag.config.settings import PASSAGE_CHARS
from rag.values import Document, Passage, Sentence


@dataclass(frozen=True)
class ChunkingConfig:
    """How passages are cut; recorded in the index manifest."""

    unit: str = "paragraph"
    max_chars: int = PASSAGE_CHARS
    pack_paragraphs: bool = True

    def to_json(self) -> dict:
        return asdict(self)


def _windows(sentences: list[Sentence], max_chars: int) -> list[list[Sentence]]:
    """Consecutive runs of sentences whose span stays within max_chars (one at least)."""
    runs: list[list[Sentence]] = []
    for s in sentences:
        if runs and s.end - runs[-1][0].start <= max_chars:
            runs[-1].append(s)
        else:
            runs.append([s])
    return runs


@dataclass(frozen=True)
class Unit:
    """A whole paragraph (``part`` None), or one part of a paragraph too long for a passage."""

    paragraph: int
    part: int | None
    sentences: tuple[Sentence, ...]

    @property
    def label(self) -> str:
        """``3`` for paragraph 3, ``3.2`` for its second part: the passage id's suffix."""
        return str(self.paragraph) if self.part is None else f"{self.paragraph}.{self.part}"


def _units(doc: Document, max_chars: int) -> list[Unit]:
    """Whole paragraphs, or the numbered parts of long ones, in reading order."""
    units = []
    for paragraph, group in groupby(split_sentences(doc), key=lambda s: s.paragraph):
        runs = _windows(list(group), max_chars)
        for part, run in enumerate(runs, start=1):
            units.append(Unit(paragraph, part if len(runs) > 1 else None, tuple(run)))
    return units


def _adjacent(doc: Document, before: Sentence, after: Sentence) -> bool:
    """Only blank space lies between two sentences: no dropped link line or markup."""
    return not doc.text[before.end : after.start].strip()


def chunk_document(doc: Document, config: ChunkingConfig = ChunkingConfig()) -> list[Passage]:
    """Passages of a document in reading order, with stable ids ``doc#first[-last]``."""
    groups: list[list[Unit]] = []
    for unit in _units(doc, config.max_chars):
        if (
            config.pack_paragraphs
            and unit.part is None
            and groups
            and groups[-1][-1].part is None
            and _adjacent(doc, groups[-1][-1].sentences[-1], unit.sentences[0])
            and unit.sentences[-1].end - groups[-1][0].sentences[0].start <= config.max_chars
        ):
            groups[-1].append(unit)
        else:
            groups.append([unit])
    passages = []
    for group in groups:
        first, last = group[0], group[-1]
        start, end = first.sentences[0].start, last.sentences[-1].end
        label = first.label if first is last else f"{first.label}-{last.label}"
        passages.append(
            Passage(
                id=f"{doc.doc_id}#{label}",
                doc_id=doc.doc_id,
                paragraph=first.paragraph,
                start=start,
                end=end,
                text=doc.text[start:end],
                page=doc.page_at(start),
            )
        )
    return passages
