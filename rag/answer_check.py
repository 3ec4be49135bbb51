"""Does the answer answer the question asked? Checks of kind and subject, by rule.

A small model over a whole article often answers with a true sentence about something
else: a when-question gets a sentence without any time, a how-many question a list of
names, a question about a king the article never mentions gets the date of another king's
wedding. Each claim is in the article, so support checks pass; these checks catch the
mismatch itself:

- ``kind_mismatch``: a when-question needs a time (a year, a date, a month or day name, a
  clock time), a how-many/how-much question a number, a who-question a name;
- ``unknown_names``: names and years in the question that the article never writes (the
  question's own subject is missing, so any answer is about something else).

Doesn't: decide to refuse (the pipeline does, with the other signals) or call a model.

>>> kind_mismatch("Kapan produk itu mulai dipasarkan?", "Lewat kampanye Alibaba [1].")
'time'
>>> kind_mismatch("Kapan produk itu mulai dipasarkan?", "Pada 11 November 2018 [1].")
''
>>> kind_mismatch("How many programmers?", "Jack Ma and Rudiantara [2].")
'number'
>>> kind_mismatch("Who is the minister?", "Rudiantara [3].")
''
>>> unknown_names("Kapan Hayam Wuruk menikah?", "Raja Airlangga menikah pada 1019.")
['Hayam Wuruk']
>>> unknown_names("When did Jack Ma visit Bali in 2018?", "Jack Ma ke Bali, 13/10/2018.")
[]
"""

from __future__ import annotations

import re

from rag.wordlists import data_lines

_MONTHS = (
    "januari februari maret april mei juni juli agustus september oktober november desember "
    "january february march june july august october december jan feb mar apr jun jul aug "
    "sep sept oct okt nov dec des"
)
_DAYS = "senin selasa rabu kamis jumat sabtu minggu monday tuesday wednesday thursday friday "
_DAYS += "saturday sunday"
_TIME_WORDS = (
    "tahun abad dekade bulan pekan minggu hari tanggal pukul jam pagi siang sore malam kemarin "
    "besok lusa sekarang kini lalu mendatang year years century decade month week day date "
    "today yesterday tomorrow morning evening night ago"
)
TIME = re.compile(
    r"\d|\b(" + "|".join((_MONTHS + " " + _DAYS + " " + _TIME_WORDS).split()) + r")\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    "satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas belas puluh ratus "
    "ribu juta miliar triliun seratus seribu sejuta beberapa banyak one two three four five "
    "six seven eight nine ten eleven twelve dozen twenty thirty forty fifty hundred thousand "
    "million billion trillion several many"
)
NUMBER = re.compile(r"\d|\b(" + "|".join(_NUMBER_WORDS.split()) + r")\b", re.IGNORECASE)
NAME = re.compile(r"(?<![\w'’])[A-Z][\w'’.-]*")
WHEN = re.compile(r"^\s*(kapan|when)\b|\b(tahun berapa|tanggal berapa|what year|what date)\b", re.I)
HOW_MANY = re.compile(r"^\s*(berapa(?! lama)|how (many|much))\b", re.IGNORECASE)
WHO = re.compile(r"^\s*(siapa|who)\b", re.IGNORECASE)
QUESTION_WORDS = frozenset(
    [
        "apa",
        "apakah",
        "siapa",
        "kapan",
        "dimana",
        "di",
        "mana",
        "mengapa",
        "kenapa",
        "bagaimana",
        "berapa",
        "manakah",
        "mana",
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "which",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "will",
        "menurut",
        "dalam",
        "pada",
        "untuk",
        "yang",
        "sebutkan",
        "jelaskan",
        "the",
        "a",
        "an",
        "in",
        "on",
        "of",
    ]
)
YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")


def kind_mismatch(question: str, answer: str) -> str:
    """The kind of answer the question needs and the answer lacks ('time', 'number',
    'name'), or '' when it has it (or the question asks for no particular kind)."""
    text = re.sub(r"\[\d+(?:,\s*\d+)*\]", " ", answer)  # citation markers are no numbers
    if WHEN.search(question) and not TIME.search(text):
        return "time"
    if HOW_MANY.search(question) and not NUMBER.search(text):
        return "number"
    if WHO.search(question) and not NAME.search(text):
        return "name"
    return ""


def _equivalents() -> dict[str, set[str]]:
    groups = [set(line.split()) for line in data_lines("equivalents.txt")]
    return {word: group for group in groups for word in group}


EQUIVALENTS = _equivalents()


def unknown_names(question: str, article: str) -> list[str]:
    """Names and years in the question that the article never writes: a name is a run of
    capitalised words past the first word, unknown when none of its words is in the
    article, in either language's spelling (rag/data/equivalents.txt)."""
    words = set(re.findall(r"\w+", article.lower()))
    words |= {w for word in list(words) for w in EQUIVALENTS.get(word, ())}
    missing = []
    for name in _names(question) + YEAR.findall(question):
        parts = [p for p in re.findall(r"\w+", name.lower()) if p not in QUESTION_WORDS]
        if parts and not any(p in words for p in parts):
            missing.append(name)
    return missing


def _names(question: str) -> list[str]:
    """Runs of capitalised words past the question's first word ("Raja Hayam Wuruk")."""
    tokens = re.findall(r"[\w'’-]+", question)
    names, run = [], []
    for i, token in enumerate(tokens):
        if i > 0 and NAME.fullmatch(token) and not token.isupper():
            run.append(token)
            continue
        if run:
            names.append(" ".join(run))
        run = []
    if run:
        names.append(" ".join(run))
    return names
