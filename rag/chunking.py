"""Group sentences into passages, the units that are embedded, retrieved and cited.

A passage is one paragraph, or, when a paragraph is longer than ``max_chars``, a run of
its consecutive whole sentences that fits. Sentences are never cut, and a passage never
crosses a paragraph, so citations stay readable and offsets stay exact.

>>> from rag.types import Document
>>> doc = Document("d", "d.txt", "Satu. Dua tiga.\\nEmpat.")
>>> [(p.id, p.text) for p in chunk_document(doc)]
[('d#1', 'Satu. Dua tiga.'), ('d#2', 'Empat.')]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import groupby

from rag.corpus import split_sentences
from rag.types import Document, Passage, Sentence


@dataclass(frozen=True)
class ChunkingConfig:
    """How passages are cut; recorded in the index manifest."""

    unit: str = "paragraph"
    max_chars: int = 700

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


def chunk_document(doc: Document, config: ChunkingConfig = ChunkingConfig()) -> list[Passage]:
    """Passages of a document, in reading order, with stable ids ``doc#paragraph[.part]``."""
    passages = []
    for paragraph, group in groupby(split_sentences(doc), key=lambda s: s.paragraph):
        runs = _windows(list(group), config.max_chars)
        for part, run in enumerate(runs, start=1):
            suffix = f".{part}" if len(runs) > 1 else ""
            start, end = run[0].start, run[-1].end
            passages.append(
                Passage(
                    id=f"{doc.doc_id}#{paragraph}{suffix}",
                    doc_id=doc.doc_id,
                    paragraph=paragraph,
                    start=start,
                    end=end,
                    text=doc.text[start:end],
                )
            )
    return passages
