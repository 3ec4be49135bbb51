"""What people thought of the answers: thumbs up or down and a note, in a JSONL file
beside the index, and the "down" ones turned into evaluation records to review.

What it does: appends one JSON line per rating to ``feedback.jsonl`` in the index folder
(the question, the rewritten question, the answer, its citations, profile, backend, time,
rating and note); a later line with the same ``id`` (a note added after the click)
replaces the earlier one when read. ``eval_records`` makes the disliked answers into
records in the format of ``eval/README.md``: the question to ask again, ``answerable``
guessed true and ``answers`` left empty for a person to fill, the answer that was disliked
and the note under ``review``.

What it does not do: send anything anywhere (the file stays on this machine), or decide
what the right answer was.

>>> eval_records([{"id": "a1b2c3d4e5", "rating": "down", "question": "Kapan?",
...     "standalone_question": "Kapan produk dijual?", "language": "id", "answer": "x",
...     "citations": [], "note": "", "time": "t"}])[0]["question"]
'Kapan produk dijual?'
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rag.errors import InputError
from rag.values import Answer

FILE_NAME = "feedback.jsonl"
RATINGS = ("up", "down")
MAX_NOTE_CHARS = 2_000
_write_lock = threading.Lock()  # one line at a time, whichever session writes


def feedback_path(index_dir: Path | str) -> Path:
    """Where the ratings of the answers over this index are kept."""
    return Path(index_dir) / FILE_NAME


def new_record(
    answer: Answer, rating: str, doc_id: str | None = None, note: str = "", record_id: str = ""
) -> dict[str, Any]:
    """A rating of one answer, with what is needed to review it later."""
    if rating not in RATINGS:
        raise InputError(f"rating {rating!r} is unknown; use {' or '.join(RATINGS)}.")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InputError(f"the note is {len(note):,} characters; keep it under 2,000.")
    return {
        "id": record_id or uuid.uuid4().hex,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": rating,
        "note": note,
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "language": answer.language,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "citations": [c.to_json() for c in answer.citations],
        "doc_id": doc_id,
        "profile": answer.profile,
        "backend": answer.backend,
    }


def append(path: Path, record: dict[str, Any]) -> None:
    """Add one record as a line (the folder is made if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _write_lock, path.open("a", encoding="utf-8") as f:
        f.write(line)


def read(path: Path) -> list[dict[str, Any]]:
    """The records of a feedback file, the latest line per id, in first-seen order.

    A damaged line (cut off by a crash) is skipped rather than failing the whole file.
    """
    if not path.is_file():
        return []
    latest: dict[str, dict[str, Any]] = {}
    for line in path.read_text("utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            latest[record["id"]] = record
    return list(latest.values())


def eval_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The disliked answers as evaluation records (eval/README.md) for a person to finish."""
    out = []
    for r in records:
        if r.get("rating") != "down":
            continue
        row = {
            "id": f"fb-{r['id'][:10]}",
            "question": r.get("standalone_question") or r.get("question", ""),
            "lang": r.get("language") or "id",
            "answerable": True,  # a guess: a person checks it, and fills in the answers
            "answers": [],
            "evidence": "",
            "review": {
                "asked": r.get("question", ""),
                "answer": r.get("answer", ""),
                "citations": r.get("citations", []),
                "note": r.get("note", ""),
                "profile": r.get("profile", ""),
                "time": r.get("time", ""),
            },
        }
        if r.get("doc_id"):
            row["doc"] = r["doc_id"]
        out.append(row)
    return out


def export(index_dir: Path | str, out: Path | None) -> tuple[str, int]:
    """Write the disliked answers' records as JSONL to out (or return the text): (text, n)."""
    rows = eval_records(read(feedback_path(index_dir)))
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, "utf-8")
    return text, len(rows)
