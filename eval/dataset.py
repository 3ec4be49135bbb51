"""Read and check a question set (JSONL, one question per line; see eval/README.md).

Checks the fields and their types; does not check that a question's ``doc`` is in the
index (the evaluation does, against the index it runs on).

>>> parse_doc({"doc": "idk-valid-p000"}, "q.jsonl:1")
'idk-valid-p000'
>>> parse_doc({"passage": "idk-valid-p000"}, "q.jsonl:1")
'idk-valid-p000'
>>> parse_doc({}, "q.jsonl:1") is None
True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from rag.errors import InputError

FIELDS = {
    "id": str,
    "question": str,
    "lang": str,
    "answerable": bool,
    "answers": list,
    "evidence": str,
}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    lang: str
    answerable: bool
    answers: tuple[str, ...]
    evidence: str
    doc: str | None = None  # the doc_id the question is asked about (the chat's "Ask about")

    @property
    def split(self) -> str:
        return split_of(self.id)


def split_of(question_id: str) -> str:
    """'dev' or 'test', fixed by the id, so thresholds tuned on dev are checked on test."""
    return "dev" if hashlib.sha256(question_id.encode()).digest()[0] % 3 == 0 else "test"


DOC_FIELDS = ("doc", "passage")  # "passage": IDK-MRC's name for its paragraph's file stem


def parse_doc(row: dict, where: str) -> str | None:
    """The article a question is asked about, from ``doc`` or ``passage`` (one value)."""
    given = [row[name] for name in DOC_FIELDS if row.get(name) is not None]
    if not all(isinstance(value, str) and value for value in given):
        raise InputError(f"{where}: field 'doc' (or 'passage') must be a non-empty str.")
    if len(set(given)) > 1:
        raise InputError(f"{where}: 'doc' and 'passage' name different articles; keep one.")
    return given[0] if given else None


def load_dataset(path: Path) -> list[Question]:
    """Questions from a JSONL file, or an InputError naming the first bad line."""
    if not path.is_file():
        raise InputError(f"{path}: no such dataset file; see eval/README.md for the format.")
    questions = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc.msg}).") from None
        for name, kind in FIELDS.items():
            if not isinstance(row.get(name), kind):
                raise InputError(f"{path}:{number}: field {name!r} must be a {kind.__name__}.")
        if row["lang"] not in ("id", "en"):
            raise InputError(f"{path}:{number}: lang must be 'id' or 'en'.")
        questions.append(
            Question(
                row["id"],
                row["question"],
                row["lang"],
                row["answerable"],
                tuple(row["answers"]),
                row["evidence"],
                parse_doc(row, f"{path}:{number}"),
            )
        )
    if not questions:
        raise InputError(f"{path}: the dataset has no questions.")
    return questions
