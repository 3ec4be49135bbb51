"""A question as typed -> the text the assistant works on, or an error that says what to fix."""

from __future__ import annotations

import re
import unicodedata

from rag.errors import InputError

MAX_QUESTION_CHARS = 2_000


def clean_question(question: str | None) -> str:
    """A question as typed -> the text to work on, or an InputError saying what is wrong.

    >>> clean_question("  Siapa\\x07 Rudiantara? ")
    'Siapa Rudiantara?'
    """
    text = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else "" for ch in question or ""
    ).strip()
    if not text:
        raise InputError("the question is empty; type a question about the article.")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question is {len(text):,} characters long; keep it under "
            f"{MAX_QUESTION_CHARS:,} (ask about one thing at a time)."
        )
    if not re.search(r"[^\W_]", text):
        raise InputError("the question has no words in it; ask in Indonesian or English.")
    return text
