"""Read and check a question set (JSONL, one question per line; see eval/README.md)."""

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

    @property
    def split(self) -> str:
        """'dev' or 'test', fixed by the id, so thresholds tuned on dev are checked on test."""
        return "dev" if hashlib.sha256(self.id.encode()).digest()[0] % 3 == 0 else "test"


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
            )
        )
    if not questions:
        raise InputError(f"{path}: the dataset has no questions.")
    return questions
