"""Turn a follow-up question into one that stands on its own, before retrieval.

A follow-up leans on the conversation: "Kapan mulai dipasarkan?" after "Produk apa saja
yang akan dipasarkan lewat Alibaba?". The embedded 270M base model rewrites questions
unreliably, so the rewrite is rule-based and transparent: a question that points back
(pronouns and demonstratives such as 'itu', 'tersebut', 'mereka', 'it', 'they', 'those')
or that is too short to name its subject gets the previous standalone question attached
as context. Both retrieval and the prompt then see what the user meant, and the
rewritten question is shown to the user.

>>> standalone_question("Kapan mulai dipasarkan?", ["Produk apa saja yang dijual?"])
'Kapan mulai dipasarkan? (Produk apa saja yang dijual?)'
>>> standalone_question("Siapa Menteri Kominfo yang disebut dalam artikel?", ["Apa itu?"])
'Siapa Menteri Kominfo yang disebut dalam artikel?'
"""

from __future__ import annotations

import re

from rag.analyzer import analyze

POINTING_BACK = re.compile(
    r"\b(itu|tersebut|ini|mereka|beliau|dia|ia|nya|it|its|they|them|their|those|these|"
    r"that|he|she|him|his|her)\b",
    re.IGNORECASE,
)
MIN_OWN_TERMS = 3  # a question with fewer content terms rarely names its subject


def is_follow_up(question: str) -> bool:
    own_terms = analyze(question)
    return bool(POINTING_BACK.search(question)) or len(own_terms) < MIN_OWN_TERMS


def topic(previous: list[str]) -> str:
    """The latest question of the conversation that named its own subject."""
    asked = [q.split(" (")[0] for q in previous]  # drop context attached earlier
    return next((q for q in reversed(asked) if not is_follow_up(q)), asked[-1])


def standalone_question(question: str, previous: list[str]) -> str:
    """The question, with the conversation's topic attached when it is a follow-up."""
    if not previous or not is_follow_up(question):
        return question
    return f"{question} ({topic(previous)})"
