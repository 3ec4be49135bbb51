"""One conversation as a file to keep: Markdown to read, JSON to process.

What it does: the Markdown has each question, its answer with the markers as written, and
under it every marker resolved to the span it quotes, the article's title, the span's page
(a PDF's) and its character offsets in that article; a refusal, a stopped or a failed
answer says so. The JSON is a list with one object per turn: the ``ask`` object (`rag ask
--json`) of each answered question, and ``{"question", "state", "answer"}`` for a stopped
or failed one. ``write_files`` puts both in a temporary folder for the chat's download buttons.

What it does not do: keep anything (the files are rewritten for each download), or
render HTML.

>>> print(quote_line(Citation(1, "d#2", "d", 10, 19, "Lima\\nproduk"), {}))
- [1] “Lima produk” — d, characters 10–19
>>> print(quote_line(Citation(1, "r#9", "r", 990, 995, "Bali.", page=3), {}))
- [1] “Bali.” — r, p. 3, characters 990–995
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.values import Citation, Document
from ui.conversation import DONE, FAILED, STOPPED, Turn
from ui.i18n import t

MAX_TITLE = 60


@functools.cache
def export_dir() -> Path:
    """This process's downloads: made at the first export, removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="rag-export-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def title_of(turns: Sequence[Turn]) -> str:
    """A conversation's title: its first question, shortened.

    >>> title_of([Turn("Produk apa saja yang akan dipasarkan lewat Alibaba di Indonesia?")])
    'Produk apa saja yang akan dipasarkan lewat Alibaba di…'
    """
    first = " ".join(turns[0].question.split()) if turns else ""
    if len(first) <= MAX_TITLE:
        return first
    return first[:MAX_TITLE].rsplit(" ", 1)[0] + "…"


def quote_line(c: Citation, documents: Mapping[str, Document]) -> str:
    """A marker resolved: the quoted span, the article's title, the character offsets."""
    doc = documents.get(c.doc_id)
    quoted = " ".join(c.text.split())
    title = doc.name if doc else c.doc_id
    page = f"p. {c.page}, " if c.page else ""
    return f"- [{c.marker}] “{quoted}” — {title}, {page}characters {c.start}–{c.end}"


def turn_markdown(turn: Turn, n: int, documents: Mapping[str, Document], lang: str) -> str:
    """One question and what became of it, as Markdown."""
    lines = [f"## {n}. {' '.join(turn.question.split())}", ""]
    answer = turn.answer
    if turn.state == DONE and answer is not None:
        label = f"**{t(lang, 'refusal')}:** " if answer.abstained else ""
        lines += [label + answer.answer, ""]
        if answer.fallback:
            lines += [f"_{answer.fallback}_", ""]
        if answer.citations:
            lines.append(f"{t(lang, 'copy_sources')}")
            lines += [quote_line(c, documents) for c in sorted(answer.citations, key=_order)]
            lines.append("")
    elif turn.state == STOPPED:
        lines += [turn.partial.strip(), "", f"_{t(lang, 'copy_stopped')}_", ""]
    elif turn.state == FAILED:
        lines += [f"_{t(lang, 'failed', error=turn.error)}_", ""]
    return "\n".join(lines)


def _order(c: Citation) -> tuple[int, int]:
    return c.marker, c.start


def markdown(turns: Sequence[Turn], documents: Mapping[str, Document], lang: str = "en") -> str:
    """The whole conversation as Markdown, headed by its title and the export time."""
    finished = [turn for turn in turns if turn.state in (DONE, STOPPED, FAILED)]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [f"# {title_of(finished) or '…'}", "", f"_{when}_", ""]
    body = [turn_markdown(turn, n, documents, lang) for n, turn in enumerate(finished, 1)]
    return "\n".join(head + body).rstrip() + "\n"


def turn_json(turn: Turn) -> dict[str, Any]:
    """The `rag ask --json` object of an answered turn; else what there is."""
    if turn.state == DONE and turn.answer is not None:
        return turn.answer.to_json()
    text = turn.error if turn.state == FAILED else turn.partial.strip()
    return {"question": turn.question, "state": turn.state, "answer": text}


def conversation_json(turns: Sequence[Turn]) -> str:
    finished = [turn_json(turn) for turn in turns if turn.state in (DONE, STOPPED, FAILED)]
    return json.dumps(finished, ensure_ascii=False, indent=2) + "\n"


def write_files(
    turns: Sequence[Turn], documents: Mapping[str, Document], lang: str = "en"
) -> tuple[str | None, str | None]:
    """The conversation as (Markdown path, JSON path), or (None, None) when it is empty."""
    if not any(turn.state in (DONE, STOPPED, FAILED) for turn in turns):
        return None, None
    folder = Path(tempfile.mkdtemp(dir=export_dir()))  # one folder per export: no clashes
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    md, js = folder / f"conversation-{stamp}.md", folder / f"conversation-{stamp}.json"
    md.write_text(markdown(turns, documents, lang), "utf-8")
    js.write_text(conversation_json(turns), "utf-8")
    return str(md), str(js)
