"""Per-question records written as they are made, and calls that fail one question alone.

A ``RecordLog`` appends each record to a JSONL file and flushes it at once, so a run that is
interrupted (Ctrl-C, a killed process) keeps every record it finished. ``attempt`` runs one
question's call and turns any exception into a one-line reason, so a timed-out model fails
that question and the evaluation goes on. Nothing here scores anything.

>>> attempt(lambda: 1 / 0)
(None, 'ZeroDivisionError: division by zero')
>>> attempt(lambda: "Jakarta")
('Jakarta', '')
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from eval.dataset import Question

T = TypeVar("T")
MAX_REASON_CHARS = 200


def failure_reason(exc: BaseException) -> str:
    """The exception's type and the first line of its message, at most 200 characters."""
    lines = str(exc).strip().splitlines()
    reason = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return reason[:MAX_REASON_CHARS]


def attempt(call: Callable[[], T]) -> tuple[T | None, str]:
    """(result, "") when the call returns, (None, reason) when it raises.

    Any ``Exception`` counts: a backend's own timeout (``openai.APITimeoutError``), a
    LangChain error or a crash of one question must not stop the others. Ctrl-C still stops.
    """
    try:
        return call(), ""
    except Exception as exc:  # one question's failure, recorded as such
        return None, failure_reason(exc)


def question_fields(q: Question) -> dict:
    """What a record keeps of its question, so that records can be read on their own."""
    fields = {"id": q.id, "lang": q.lang, "answerable": q.answerable, "split": q.split}
    return fields | ({"doc": q.doc} if q.doc else {})


class RecordLog:
    """A JSONL file of records, each written and flushed when it is made."""

    def __init__(self, path: Path):
        self.path = path
        self._file = path.open("w", encoding="utf-8")

    def write(self, record: dict) -> dict:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        return record

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
