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
from dataclasses import dataclass, replace
from functools import cache

from rag.answer.cite import MARKER, CitedAnswer, answer_sentences, cite
from rag.answer.grounded import PREAMBLE
from rag.embedding.embedder import Embedder
from rag.retrieval.evidence import Evidence
from rag.text.wordlists import DATA

KINDS = ("summary", "people")
MAX_SENTENCES = 5  # an overview answer: 3 to 5 sentences
MIN_SUPPORTED = 2  # the model's supported sentences a summary needs (rag.answer.summaries)
QUOTED_WORDS = 8  # a sentence quoted for a stretch the model's summary left out: its words
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
ENDS = re.compile(r"^[\s?.!]+|[\s?.!]+$")
LATE_MARKER = re.compile(r"([.!?])\s*(\[\d+\])")  # "... (13/10). [2]": the marker after the end
NAMED_PART = re.compile(  # "Paragraf [1] dan [2] ...", "Paragraphs [3]-[4] ..."
    r"^(paragraf|paragraphs?)\s*\[\d+\](?:\s*(?:,|dan|and|-|–)\s*\[\d+\])*\s*", re.IGNORECASE
)
FINISHED = re.compile(r"(?:[.!?\"”]|\[\d+\])\s*$")  # a line that ends a sentence or a citation


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
    period added), a preamble ("Berikut ringkasannya:") and Markdown bold are dropped, and so
    is a last line left unfinished when every other line is finished (the token limit cut it).

    >>> overview_sentences("Ringkasan:\\n- **Jack Ma** ke Bali [1]\\n- Ada lima produk [3].")
    'Jack Ma ke Bali [1]. Ada lima produk [3].'

    A marker written after a sentence's end is moved before it, so that it stays with its
    sentence, and a sentence said again is dropped (a small model repeats itself):

    >>> overview_sentences("Ia bertemu menteri, Sabtu (13/10). [2]")
    'Ia bertemu menteri, Sabtu (13/10) [2].'
    >>> overview_sentences("Jack Ma ke Bali. [1] Ia melatih UMKM. [2] Ia melatih UMKM. [3]")
    'Jack Ma ke Bali [1]. Ia melatih UMKM [2].'
    >>> overview_sentences("Jack Ma ke Bali [1].\\nAda lima produk [2].\\nSejalan dengan hal itu,")
    'Jack Ma ke Bali [1]. Ada lima produk [2].'

    A line that names its paragraphs as its subject speaks of the article instead (the
    markers would leave "Paragraf  dan  menjelaskan"):

    >>> overview_sentences("Paragraf [1] dan [2] menjelaskan cara bekerja pemimpin.")
    'Artikel menjelaskan cara bekerja pemimpin.'
    """
    lines = [BULLET.sub("", line.replace("**", "")).strip() for line in reply.splitlines()]
    lines = [line for line in lines if line and not PREAMBLE.search(line)]
    finished = [bool(FINISHED.search(line)) for line in lines]
    if len(lines) > 1 and not finished[-1] and all(finished[:-1]):
        lines.pop()
    for i, line in enumerate(lines):
        line = LATE_MARKER.sub(r" \2\1", NAMED_PART.sub(_the_article, line))
        ended = MARKER.sub("", line).rstrip()[-1:] in '.!?"”'
        lines[i] = line if ended else line + "."
    sentences, said = [], set()
    for sentence in answer_sentences(" ".join(lines)):
        words = " ".join(MARKER.sub("", sentence).casefold().split())
        if not PREAMBLE.search(sentence) and words not in said:
            sentences.append(sentence)
            said.add(words)
    return " ".join(sentences[:n])


def _the_article(named: re.Match[str]) -> str:
    return "Artikel " if named.group(1).lower() == "paragraf" else "The article "


POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")  # "Jack Ma's": the name is "Ma", not "ma's"


def part_of(k: int, n: int, parts: list[range]) -> int:
    """The part sentence k of n summarises by its place (k/n of the way through).

    >>> [part_of(k, 7, [range(1, 3), range(3, 5), range(5, 7), range(7, 9)]) for k in range(7)]
    [0, 0, 1, 1, 2, 2, 3]
    """
    return k * len(parts) // max(n, 1)


def windows(at: int, parts: list[range]) -> list[set[int]]:
    """The unit numbers to check a sentence of part ``at`` against, in turn: its own part,
    then the parts either side (a model writes an opening line, or two sentences for one
    part, and its place shifts).

    >>> windows(1, [range(1, 3), range(3, 5), range(5, 7)])
    [{3, 4}, {1, 2, 3, 4, 5, 6}]
    """
    near = {u for part in parts[max(0, at - 1) : at + 2] for u in part}
    return [set(parts[at]), near]


def cite_by_part(
    reply: str,
    candidates: list[Evidence],
    parts: list[range],
    embedder: Embedder,
    translated: bool = False,
    keep: int = MAX_SENTENCES,
    quote_missing: bool = False,
) -> CitedAnswer:
    """A summary written part by part, each sentence checked against the sentences of the
    stretch of the text its place points to (``part_of``), else against the stretches
    either side (``windows``); an unsupported one is withdrawn. With ``quote_missing`` (the
    summary is in the text's own language), a part that no supported sentence speaks of gets
    its first sentence, quoted (``first_of_part``): a small model writes about the start and
    stops, and the end of the text would be left out. Of the rest, at most ``keep``: first
    one per part (the beginning, the middle and the end each get theirs), then the earliest
    others; in the order of the text.

    Checking a sentence against its stretch alone keeps a paraphrase of the end of the
    article from being matched to a look-alike at its beginning.
    """
    sentences = answer_sentences(reply)
    found: list[tuple[tuple[int, int], CitedAnswer]] = []
    for k, sentence in enumerate(sentences):
        tries = windows(part_of(k, len(sentences), parts), parts) if parts else [set()]
        for window in tries:
            own = [c for c in candidates if not window or c.marker in window]
            # the check reads "Jack Ma's" as "Jack Ma" (a possessive is no name of its own)
            one = cite("", POSSESSIVE.sub("", sentence), own, embedder, translated, True)
            if one.citations:
                found.append(
                    ((one.citations[0].marker, one.citations[0].start), _shown(sentence, one))
                )
                break
    if not found:
        return CitedAnswer("", (), 0.0, 0.0)
    if quote_missing and len(found) >= MIN_SUPPORTED:  # else the summary falls back whole
        spoken = {part_holding(key[0], parts) for key, _ in found}
        for i, part in enumerate(parts):
            first = None if i in spoken else first_of_part(candidates, part)
            if first is None:
                continue
            text = " ".join(first.sentence.text.split())
            quoted = cite("", text, [first], embedder, translated, True)
            if quoted.citations:
                found.append(((first.marker, first.sentence.start), _shown(text, quoted)))
    found.sort(key=lambda f: f[0])
    chosen, seen_parts = [], set()
    for f in found:  # one per part first
        part = part_holding(f[0][0], parts)
        if part not in seen_parts:
            seen_parts.add(part)
            chosen.append(f)
    chosen += [f for f in found if f not in chosen][: max(0, keep - len(chosen))]
    answers = [one for _, one in sorted(chosen[:keep], key=lambda f: f[0])]
    citations = [c for one in answers for c in one.citations]
    unique = tuple({(c.marker, c.start): c for c in citations}.values())
    return CitedAnswer(
        " ".join(one.text for one in answers),
        unique,
        min(one.support for one in answers),
        min(one.lexical for one in answers),
        min(one.semantic for one in answers),
    )


def part_holding(unit: int, parts: list[range]) -> int:
    """The index of the part that holds a unit number, -1 for none."""
    return next((i for i, r in enumerate(parts) if unit in r), -1)


def first_of_part(candidates: list[Evidence], part: range) -> Evidence | None:
    """The first sentence of a stretch of the text that reads as one: at least
    ``QUOTED_WORDS`` words, ended by a period or "!" (not a list's "2.", a dateline, a
    heading or a question).

    >>> from rag.values import Hit, Passage, Sentence
    >>> def unit(n, text):
    ...     hit = Hit(Passage(f"p{n}", "doc", n, 0, len(text), text), 0.0, n)
    ...     return Evidence(Sentence("doc", n, 0, len(text), text), hit, 0.0)
    >>> lead = "Jack Ma bertemu tiga menteri di Hotel Laguna, Bali, pada hari Sabtu."
    >>> first_of_part([unit(1, "2."), unit(2, lead)], range(1, 3)).sentence.text == lead
    True
    """
    own = [c for c in candidates if c.marker in part and _quotable(c.sentence.text)]
    return min(own, key=lambda c: (c.marker, c.sentence.start), default=None)


def _quotable(sentence: str) -> bool:
    return len(sentence.split()) >= QUOTED_WORDS and sentence.rstrip()[-1:] in ".!"


def _shown(sentence: str, one: CitedAnswer) -> CitedAnswer:
    """The sentence as the model wrote it (possessives kept), with its first citation."""
    body = MARKER.sub("", sentence).strip()
    body, end = (body[:-1].rstrip(), body[-1]) if body[-1:] in ".!" else (body, "")
    return replace(one, text=f"{body} [{one.citations[0].marker}]{end}")
