"""The small values that travel between stages, defined once.

Offsets always point into the original source text of a document, so
``document.text[start:end] == text`` can be checked anywhere.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Document:
    """An article as loaded from disk: its id, where it came from, its text and language.

    A web page also keeps its metadata (``title``, ``author``, ``date``, ``site``, ``url``,
    those found) and ``source``, the HTML its text was extracted from, so that the index
    holds everything a rebuild needs without the network. A PDF keeps ``pages``: the
    offset in ``text`` where each page starts, so a span knows its page (``page_at``);
    other articles have no pages.

    >>> Document("d", "d.pdf", "Satu. Dua.", pages=(0, 6)).page_at(7)
    2
    """

    doc_id: str
    name: str
    text: str
    language: str = ""
    meta: dict[str, str] = field(default_factory=dict, hash=False)  # hashed by the rest
    source: str = ""
    pages: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", tuple(self.pages))  # a list when read from JSON

    def page_at(self, offset: int) -> int | None:
        """The 1-based page the character at ``offset`` is on; None without pages."""
        return bisect_right(self.pages, offset) if self.pages else None


@dataclass(frozen=True)
class Sentence:
    """One sentence of a document, with its paragraph number (1-based) and, in a PDF, the
    page it starts on."""

    doc_id: str
    paragraph: int
    start: int
    end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Passage:
    """A retrievable unit made of whole sentences of one paragraph; ``page`` is the page
    it starts on (a PDF's), else None."""

    id: str
    doc_id: str
    paragraph: int
    start: int
    end: int
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Hit:
    """A passage returned by a retriever, best first."""

    passage: Passage
    score: float
    rank: int

    def to_json(self) -> dict:
        p = self.passage
        return {
            "rank": self.rank,
            "id": p.id,
            "doc_id": p.doc_id,
            "paragraph": p.paragraph,
            "start": p.start,
            "end": p.end,
            "text": p.text,
            "score": round(float(self.score), 6),
            "page": p.page,
        }


@dataclass(frozen=True)
class Citation:
    """The exact span of a passage that supports one part of an answer; ``page`` is the
    page the span starts on (a PDF's), else None."""

    marker: int
    passage_id: str
    doc_id: str
    start: int
    end: int
    text: str
    support: float = 0.0
    page: int | None = None

    def to_json(self) -> dict:
        return {
            "marker": self.marker,
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "support": round(float(self.support), 4),
            "page": self.page,
        }


@dataclass(frozen=True)
class Answer:
    """What the assistant says for one question, with everything needed to show why."""

    question: str
    standalone_question: str
    language: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    backend: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    language_note: str = ""
    fallback: str = ""
    raw_answer: str = ""
    signals: dict[str, float | bool | str | list[str]] = field(default_factory=dict)
    route: str = "passages"  # what the LLM read: "article" (whole) or "passages" (retrieved)
    profile: str = ""

    def to_json(self) -> dict:
        out = {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "language": self.language,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "passages": [h.to_json() for h in self.hits],
            "backend": self.backend,
            "profile": self.profile,
            "route": self.route,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
        if self.language_note:
            out["language_note"] = self.language_note
        if self.fallback:
            out["fallback"] = self.fallback
        out["raw_answer"] = self.raw_answer
        out["signals"] = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in self.signals.items()
        }
        return out


class EventKind(StrEnum):
    """The steps of a streamed answer, in order: retrieved, tokens (a retry starts them
    again), final."""

    RETRIEVED = "retrieved"
    QUEUED = "queued"  # waiting for the model: text is how many questions are ahead
    TOKEN = "token"
    RETRY = "retry"
    FINAL = "final"


@dataclass(frozen=True)
class Event:
    """One step of a streamed answer."""

    kind: EventKind
    text: str = ""
    hits: tuple[Hit, ...] = ()
    answer: Answer | None = None


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
    """What an indexing command did, for the CLI and the UI."""

    changed: bool
    documents: int
    passages: int
    embedded: int
    message: str
