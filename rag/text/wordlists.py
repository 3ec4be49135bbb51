"""The word lists shipped in ``rag/data``: one entry a line, ``#`` starts a comment line.

>>> "dll" in data_lines("abbreviations.txt")
True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).parents[1] / "data"


@cache
def data_lines(name: str) -> tuple[str, ...]:
    """The non-blank, non-comment lines of ``rag/data/<name>``, stripped."""
    lines = (line.strip() for line in (DATA / name).read_text("utf-8").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))
