"""From an instruction-tuned model's reply to a checked answer over the numbered context.

Does: recognise a reply that says the text lacks the answer (the prompt asks for
"NOT IN ARTICLE"; models also write it in their own words, in either language); keep the
first sentences of a long reply; list the sentences of the context units as citation
candidates, each carrying the unit number the model saw; and renumber the verified
citations into ranks of the answer's passages (a cited unit that retrieval did not return
is appended to them, so every marker leads to a passage shown to the user).

Doesn't: prompt (``rag.answer.context``) or score support (``rag.answer.cite``).

>>> model_refused("NOT IN ARTICLE"), model_refused("Artikel tidak menyebutkan umur Jack Ma.")
(True, True)
>>> model_refused("Rudiantara [3].")
False
>>> first_sentences("Satu [1]. Dua [2]. Tiga [3].", 2)
'Satu [1]. Dua [2].'
>>> english_numbers("20 ribu programmers, Rp 2,5 triliun and 10 persen")
'20,000 programmers, Rp 2.5 trillion and 10 percent'
"""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answer.cite import MARKER, CitedAnswer, answer_sentences, marker_numbers
from rag.answer.context import Context
from rag.retrieval.evidence import Evidence, sentences_in
from rag.store.index import IndexStore
from rag.values import Citation, Hit

MAX_SENTENCES = 2
REFUSAL = re.compile(
    r"not in (the )?(article|text)|"
    r"\b(does not|doesn't|did not|do not) (say|state|mention|specify|provide|contain|give)|"
    r"\bnot (mentioned|stated|specified|provided|given)\b|\bno (information|mention)\b|"
    r"\btidak (di)?(sebut|menyebut|jelas|ada informasi|terdapat|dijelaskan|menjelaskan)|"
    r"\bbelum (di)?sebut|\btidak ada (informasi|keterangan|penjelasan)|"
    r"\b(don't|do not) know\b|\btidak tahu\b",
    re.IGNORECASE,
)


def model_refused(reply: str) -> bool:
    """Whether the reply says that the text does not hold the answer."""
    return bool(REFUSAL.search(reply))


# What a chat model says before the answer: "Tentu saja! Berikut adalah jawabannya:"
PREAMBLE = re.compile(
    r"^(tentu saja|tentu|baiklah|sure|of course|certainly|okay)\s*(\[\d+\]\s*)*[.!?,]?$"
    r"|:\s*$",
    re.IGNORECASE,
)


def first_sentences(reply: str, n: int = MAX_SENTENCES) -> str:
    """The first n sentences of the answer itself: a model that goes on repeats itself or
    wanders off, and a chat model's preamble is no part of the answer.

    >>> first_sentences("Tentu saja [2]! Berikut jawabannya:\\n\\nAda 20 ribu programmer [4].")
    'Ada 20 ribu programmer [4].'
    """
    lines = [line for line in reply.splitlines() if not PREAMBLE.search(line.strip())]
    sentences = [s for s in answer_sentences(" ".join(lines)) if not PREAMBLE.search(s)]
    return " ".join(sentences[:n])


INDONESIAN_NUMBER = re.compile(r"\b(\d+(?:[.,]\d+)?)\s+(ribu|juta|miliar|triliun|persen)\b")
SCALE_WORDS = {"juta": "million", "miliar": "billion", "triliun": "trillion", "persen": "percent"}


def english_numbers(text: str) -> str:
    """Indonesian number words left in an English answer, written the English way."""

    def english(match: re.Match) -> str:
        digits, word = match.groups()
        if word == "ribu" and digits.isdigit():
            return f"{int(digits) * 1000:,}"
        if word == "ribu":
            return f"{digits.replace(',', '.')} thousand"
        # Indonesian writes 2,5 for 2.5 and 1.000 for 1,000 (a dot before three digits)
        if re.fullmatch(r"\d+,\d+", digits):
            digits = digits.replace(",", ".")
        return f"{digits} {SCALE_WORDS[word]}"

    return INDONESIAN_NUMBER.sub(english, text)


def unit_candidates(store: IndexStore, context: Context) -> list[Evidence]:
    """Every sentence of the context, marked with the unit number the model saw."""
    out = []
    for number, unit in enumerate(context.units, 1):
        hit = Hit(unit, 0.0, number)
        out.extend(Evidence(s, hit, 0.0) for s in sentences_in(store, hit))
    return out


def renumber(
    cited: CitedAnswer, hits: list[Hit], context: Context
) -> tuple[CitedAnswer, list[Hit]]:
    """Markers that count context units -> markers that count the answer's passages."""
    hits = list(hits)
    unit_by_id = {u.id: u for u in context.units}
    rank_of = {h.passage.id: h.rank for h in hits}
    units: dict[int, int] = {}
    citations: list[Citation] = []
    for c in cited.citations:
        if c.passage_id not in rank_of:
            hits.append(Hit(unit_by_id[c.passage_id], 0.0, len(hits) + 1))
            rank_of[c.passage_id] = len(hits)
        units[c.marker] = rank_of[c.passage_id]
        citations.append(replace(c, marker=rank_of[c.passage_id]))
    text = MARKER.sub(
        lambda m: "[" + ", ".join(str(units.get(n, n)) for n in marker_numbers(m)) + "]", cited.text
    )
    return replace(cited, text=text, citations=tuple(citations)), hits
