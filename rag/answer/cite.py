"""Check each answer sentence against the passages; keep only citations that hold.

For every sentence of the answer, each candidate sentence of the retrieved passages gets a
support score: the share of the answer's content terms it contains (lexical support, on
the BM25 analyzer's stems, so 'dipasarkan' meets 'pasar'), or, when the answer is worded
in another language than the article, the cosine between the question-plus-answer and the
sentence (multilingual e5). Either way, a name or number in the answer that neither the
retrieved sentences nor the question contain voids the support: small models borrow them
from their examples or make them up (``rag/data/equivalents.txt`` bridges names the two
languages spell differently, such as Tiongkok and China). A marker the
model wrote is kept only if its passage holds a
sentence above the threshold; otherwise the best supporting sentence is cited instead,
and nothing is cited when no sentence supports the answer.

>>> lexical_support("Kopi Kapal Api", "Ada lima produk: Kopi Kapal Api; Indomie.")
1.0
>>> split_markers("Rudiantara [2] dan Darmin [1, 3].")
('Rudiantara dan Darmin.', [2, 1, 3])
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale

from rag.answer.check import repeats
from rag.embedding.embedder import Embedder
from rag.retrieval.evidence import Evidence, sentence_vectors
from rag.text.analyzer import analyze
from rag.text.wordlists import data_lines
from rag.values import Citation

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")  # [2] or [1, 3]
_SPACED_MARKER = re.compile(r"\s*" + MARKER.pattern)
LEXICAL_MIN = 0.5  # share of the answer's terms a supporting sentence must contain
SEMANTIC_MIN = 0.82  # e5 cosine of question+answer to a supporting sentence
COMMON_ENGLISH_ZIPF = 3.0  # wordfreq: about once per million words or more


@dataclass(frozen=True)
class Support:
    """How well one candidate sentence supports one answer sentence."""

    evidence: Evidence
    lexical: float
    semantic: float

    invented: frozenset[str] = frozenset()

    @property
    def holds(self) -> bool:
        if self.invented:
            return False
        return self.lexical >= LEXICAL_MIN or self.semantic >= SEMANTIC_MIN

    @property
    def strength(self) -> float:
        return max(self.lexical, self.semantic)


def _terms(text: str) -> set[str]:
    return {t.replace(".", "") for t in analyze(text)}


SCALES = {
    "ribu": 1_000,
    "thousand": 1_000,
    "juta": 1_000_000,
    "million": 1_000_000,
    "miliar": 10**9,
    "billion": 10**9,
    "triliun": 10**12,
    "trillion": 10**12,
}
NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)(?:\s+(" + "|".join(SCALES) + "))?", re.IGNORECASE)
WORD = re.compile(r"[^\W\d_][\w’'-]*")
MONTH = r"(1[0-2]|0?[1-9])"
NUMERIC_DATE = re.compile(rf"\b\d{{1,2}}[/.-]{MONTH}\b|\b\d{{4}}-{MONTH}-\d{{1,2}}\b")
ENGLISH = Locale("en")
MONTHS = tuple(ENGLISH.months["format"]["wide"][m].lower() for m in range(1, 13))
DAYS = tuple(day.lower() for day in ENGLISH.days["format"]["wide"].values())
CALENDAR = frozenset(MONTHS + DAYS)  # facts, though common English words


def _equivalents() -> dict[str, frozenset[str]]:
    groups = [frozenset(line.split()) for line in data_lines("equivalents.txt")]
    return {word: group for group in groups for word in group}


EQUIVALENTS = _equivalents()


def numbers(text: str) -> set[str]:
    """Numbers of a text as plain integers, scales applied.

    >>> sorted(numbers("20 ribu programmer, 1.000 pengusaha, 10 million brands, 2,5 persen"))
    ['1000', '10000000', '20000', '25']
    """
    found = set()
    for digits, scale in NUMBER.findall(text):
        value = int(re.sub(r"[.,]", "", digits))
        found.add(str(value * SCALES[scale.lower()] if scale else value))
    return found


def names(text: str) -> set[str]:
    """Capitalised words of a text (not the first word of a sentence), lowercased.

    >>> sorted(names("Menteri Kominfo Budi Santoso hadir. Ia senang."))
    ['budi', 'kominfo', 'santoso']
    """
    found = set()
    for sentence in answer_sentences(text):
        words = WORD.findall(sentence)
        for i, word in enumerate(words):
            if word[0].isupper() and (i > 0 or len(words) == 1 or word.isupper()):
                found.add(word.lower().replace("’", "'").strip("'"))
    return found


def invented_facts(answer: str, sources: str, translated: bool = False) -> set[str]:
    """Names and numbers of the answer found nowhere in the sources.

    ``translated``: the answer is in English and the sources may not be, so capitalised
    common English words ("Minister") are words, not names, and a name may be spelled the
    English way ("Informatics" for "Informatika": the same first five letters).

    >>> sorted(invented_facts("He met Budi Santoso in June.", "Rudiantara hadir pada Juni."))
    ['budi', 'santoso']
    >>> invented_facts("The Minister of Informatics.", "Menteri Informatika.", translated=True)
    set()

    A day or a month is a fact even though it is a common English word:

    >>> invented_facts("They met on Sunday, October 13.", "Bertemu, Sabtu (13/10).", True)
    {'sunday'}
    """
    words = set(WORD.findall(sources.lower().replace("’", "'")))
    words |= {part for word in words for part in re.split(r"[-']", word) if part}
    words |= dated_months(sources)
    known = words | {w for word in words for w in EQUIVALENTS.get(word, ())}
    missing = numbers(answer) - numbers(sources)
    found = {n for n in names(answer) if n not in known}
    if translated:
        stems = {w[:5] for w in known if len(w) >= 5}
        found = {n for n in found if n in CALENDAR or not (_common_english(n) or n[:5] in stems)}
    return missing | found


def dated_months(text: str) -> set[str]:
    """The English names of the months that the text's numeric dates name.

    >>> sorted(dated_months("Sabtu (13/10), 11-11-2018, 2019-01-05, 1.000 orang"))
    ['january', 'november', 'october']
    """
    return {MONTHS[int(a or b) - 1] for a, b in NUMERIC_DATE.findall(text)}


def _common_english(word: str) -> bool:
    from wordfreq import zipf_frequency  # 60 MB of word lists: loaded on first use

    return zipf_frequency(word, "en") >= COMMON_ENGLISH_ZIPF


def lexical_support(answer: str, sentence: str) -> float:
    """Share of the answer's content terms found in the sentence (0 when it has none)."""
    terms = _terms(answer)
    return len(terms & _terms(sentence)) / len(terms) if terms else 0.0


def split_markers(text: str) -> tuple[str, list[int]]:
    """Remove [n] markers from text, returning the clean text and the markers in order."""
    found = [n for m in MARKER.finditer(text) for n in marker_numbers(m)]
    return _SPACED_MARKER.sub("", text).strip(), found


def marker_numbers(match: re.Match[str]) -> list[int]:
    """The passage numbers of one MARKER match: [1, 3] -> [1, 3]."""
    return [int(n) for n in match.group(1).split(",")]


def answer_sentences(text: str) -> list[str]:
    """A model's answer split into sentences (an answer has no abbreviations to guard).

    >>> answer_sentences("Ia datang [1]. Ada 20 ribu orang.")
    ['Ia datang [1].', 'Ada 20 ribu orang.']
    """
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z\"“0-9])", text.strip())
    return [p for p in parts if p.strip()]


def supports(
    question: str,
    answer: str,
    candidates: list[Evidence],
    embedder: Embedder,
    translated: bool = False,
) -> list[Support]:
    """Support of every candidate sentence for one answer sentence, strongest first."""
    if not candidates:
        return []
    probe = embedder.embed([f"{question} {answer}"], "query")[0]
    vectors = sentence_vectors(embedder, [c.sentence for c in candidates])
    cosines = vectors @ probe
    # A name or number found in none of the retrieved sentences (nor the question) was
    # made up: small models borrow them from their examples or invent them.
    sources = " ".join([question, *(c.sentence.text for c in candidates)])
    invented = frozenset(invented_facts(answer, sources, translated))
    found = [
        Support(c, lexical_support(answer, c.sentence.text), float(cos), invented)
        for c, cos in zip(candidates, cosines, strict=True)
    ]
    return sorted(found, key=lambda s: (-(s.lexical + s.semantic), s.evidence.marker))


def _citation(support: Support) -> Citation:
    s = support.evidence.sentence
    return Citation(
        marker=support.evidence.marker,
        passage_id=support.evidence.hit.passage.id,
        doc_id=s.doc_id,
        start=s.start,
        end=s.end,
        text=s.text,
        support=support.strength,
        page=s.page,
    )


@dataclass(frozen=True)
class CitedAnswer:
    text: str
    citations: tuple[Citation, ...]
    support: float  # the weakest answer sentence's best support (0 when one has none)
    lexical: float
    semantic: float = 0.0  # the weakest cited sentence's e5 cosine to question + answer


def cite(
    question: str,
    raw_answer: str,
    candidates: list[Evidence],
    embedder: Embedder,
    translated: bool = False,
    drop_unsupported: bool = False,
) -> CitedAnswer:
    """The answer with verified markers, and the exact spans behind them.

    ``translated``: the answer may be in another language than the sources (see
    ``invented_facts``). ``drop_unsupported``: a sentence that no candidate supports is left
    out when another one is supported (its claim is withdrawn, not shown uncited).
    """
    parts, citations, dropped = [], [], []
    weakest, weakest_lexical, weakest_semantic = 1.0, 1.0, 1.0
    for sentence in answer_sentences(raw_answer) or [raw_answer]:
        clean, claimed = split_markers(sentence)
        if not clean:  # a marker on its own belongs to the sentence before it
            continue
        # A question given back (the model echoing the prompt) answers nothing; a title that
        # ends in "?" ("Apa Jang Kau Tjari, Palupi?") is an answer like any other.
        ranked = (
            []
            if clean.endswith("?") and repeats(question, clean)
            else supports(question, clean, candidates, embedder, translated)
        )
        valid = [s for s in ranked if s.holds]
        chosen = next((s for s in valid if s.evidence.marker in claimed), None)
        chosen = chosen or (valid[0] if valid else None)
        if chosen is None and drop_unsupported:
            dropped.append(clean)
            continue
        best = ranked[0] if ranked else None
        weakest = min(weakest, best.strength if best and best.holds else 0.0)
        weakest_lexical = min(weakest_lexical, max((s.lexical for s in ranked), default=0.0))
        if chosen is None:
            parts.append(clean)
            weakest_semantic = 0.0
            continue
        weakest_semantic = min(weakest_semantic, chosen.semantic)
        citation = _citation(chosen)
        if all((c.marker, c.start) != (citation.marker, citation.start) for c in citations):
            citations.append(citation)
        body, end = (clean[:-1], clean[-1]) if clean[-1:] in ".!" else (clean, "")
        parts.append(f"{body} [{citation.marker}]{end}")
    if not parts:  # every sentence was withdrawn: nothing supported remains
        return CitedAnswer(" ".join(dropped), (), 0.0, 0.0)
    return CitedAnswer(
        " ".join(parts), tuple(citations), weakest, weakest_lexical, weakest_semantic
    )
