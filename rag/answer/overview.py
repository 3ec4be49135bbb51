"""Questions about a whole article, recognised by rule: "Ringkas artikel ini", "What is
this article about?", "Siapa saja yang disebut dalam artikel?".

Does: match a question against the patterns of ``rag/data/overview-questions.toml``
(``match_overview`` gives the kind, ``summary`` or ``people``, and the language of the list
that matched, which a language detector may get wrong on such short questions); give the
question the web app's Summarize button asks (``button_question``); turn a model's summary,
sentences or bullets, into at most ``MAX_SENTENCES`` sentences (``overview_sentences``);
check a summary part by part (``cite_by_part``: its i-th sentence against the i-th stretch
of the text the prompt named, ``rag.answer.context.spread``) and put the supported sentences
in the article's order.

Doesn't: draft or check the answer (``rag.answer.summaries`` does, with ``rag.answer.drafts`` and
``rag.answer.cite``), or decide anything about refusals (an overview question is never refused).

>>> match_overview("Ringkas artikel ini")
Overview(kind='summary', language='id')
>>> match_overview("Who is mentioned in the article?")
Overview(kind='people', language='en')
>>> match_overview("Apa isi proposal Alibaba?") is None
True
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache

from rag.answer.cite import MARKER, CitedAnswer, answer_sentences, cite
from rag.answer.grounded import PREAMBLE
from rag.embedding.embedder import Embedder
from rag.retrieval.evidence import Evidence
from rag.text.wordlists import DATA

KINDS = ("summary", "people")
MAX_SENTENCES = 5  # an overview answer: 3 to 5 sentences
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
ENDS = re.compile(r"^[\s?.!]+|[\s?.!]+$")


@dataclass(frozen=True)
class Overview:
    """An overview question: what it asks for and the language its wording is in."""

    kind: str  # "summary" (the article from start to end) or "people" (who it names)
    language: str


@cache
def _table() -> dict:
    return tomllib.loads((DATA / "overview-questions.toml").read_text("utf-8"))


@cache
def patterns() -> tuple[tuple[re.Pattern[str], Overview], ...]:
    """Every pattern of the data file, with the overview it recognises."""
    table = _table()
    return tuple(
        (re.compile(p, re.IGNORECASE), Overview(kind, language))
        for kind in KINDS
        for language, listed in table[kind].items()
        for p in listed
    )


def match_overview(question: str) -> Overview | None:
    """The overview a question asks for, or None for any other question."""
    text = re.sub(r"\s+", " ", ENDS.sub("", question))
    return next((o for p, o in patterns() if p.fullmatch(text)), None)


def button_question(language: str) -> str:
    """The question the Summarize button asks in the interface language.

    >>> button_question("id"), button_question("fr")
    ('Ringkas artikel ini', 'Summarize the article')
    """
    return _table()["button"].get(language, _table()["button"]["en"])


def overview_sentences(reply: str, n: int = MAX_SENTENCES) -> str:
    """A model's summary as at most n sentences: a bullet is a sentence of its own (a final
    period added), a preamble ("Berikut ringkasannya:") and Markdown bold are dropped.

    >>> overview_sentences("Ringkasan:\\n- **Jack Ma** ke Bali [1]\\n- Ada lima produk [3].")
    'Jack Ma ke Bali [1]. Ada lima produk [3].'
    >>> overview_sentences("Ia bertemu menteri, Sabtu (13/10). [2]")
    'Ia bertemu menteri, Sabtu (13/10). [2]'
    """
    lines = []
    for line in reply.splitlines():
        line = BULLET.sub("", line.replace("**", "")).strip()
        if not line or PREAMBLE.search(line):
            continue
        ended = MARKER.sub("", line).rstrip()[-1:] in '.!?"”'  # "Sabtu (13/10). [2]" has one
        lines.append(line if ended else line + ".")
    sentences = [s for s in answer_sentences(" ".join(lines)) if not PREAMBLE.search(s)]
    return " ".join(sentences[:n])


def cite_by_part(
    reply: str,
    candidates: list[Evidence],
    parts: list[range],
    embedder: Embedder,
    translated: bool = False,
) -> CitedAnswer:
    """A summary written one sentence per part, each sentence checked against the sentences
    of its own part (a sentence beyond the parts against all of them); an unsupported one is
    withdrawn, and the rest are put in the order of the passages they cite.

    Checking a sentence against its part alone keeps a paraphrase of the end of the article
    from being matched to the beginning, and a part's sentence from borrowing another's.
    """
    kept: list[tuple[tuple[int, int], CitedAnswer]] = []
    for i, sentence in enumerate(answer_sentences(reply)):
        part = parts[i] if i < len(parts) else None
        own = [c for c in candidates if part is None or c.marker in part]
        one = cite("", sentence, own, embedder, translated, drop_unsupported=True)
        if one.citations:
            first = one.citations[0]
            kept.append(((first.marker, first.start), one))
    if not kept:
        return CitedAnswer("", (), 0.0, 0.0)
    kept.sort(key=lambda k: k[0])
    answers = [one for _, one in kept]
    citations = [c for one in answers for c in one.citations]
    unique = tuple({(c.marker, c.start): c for c in citations}.values())
    return CitedAnswer(
        " ".join(one.text for one in answers),
        unique,
        min(one.support for one in answers),
        min(one.lexical for one in answers),
        min(one.semantic for one in answers),
    )
