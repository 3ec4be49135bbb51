"""Does the answer answer the question asked? Checks of kind and subject, by rule.

A small model over a whole article often answers with a true sentence about something
else: a when-question gets a sentence without any time, a how-many question a list of
names, a question about a king the article never mentions gets the date of another king's
wedding. Each claim is in the article, so support checks pass; these checks catch the
mismatch itself:

- ``kind_mismatch``: a when-question needs a time (a year, a date, a month or day name, a
  clock time), a how-many/how-much question a number, a who-question a name, a question
  for a city or region a place that is no country; and any answer needs something the
  question does not already say (an answer that only repeats the question answers nothing);
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
>>> kind_mismatch("Di kota mana kantor pusat Alibaba?", "Kantor pusat Alibaba di Tiongkok [1].")
'place'
>>> kind_mismatch("Which Indonesian e-commerce company has Alibaba invested in?",
...               "Alibaba has invested in e-commerce companies in Indonesia [3].")
'echo'
>>> unknown_names("Kapan Hayam Wuruk menikah?", "Raja Airlangga menikah pada 1019.")
['Hayam Wuruk']
>>> unknown_names("When did Jack Ma visit Bali in 2018?", "Jack Ma ke Bali, 13/10/2018.")
[]
"""

from __future__ import annotations

import re
from functools import cache

from babel import Locale

from rag.text.analyzer import analyze
from rag.text.wordlists import data_lines

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
# a question for a place below a country: "Di kota mana ...", "Which region ..."
_PLACE_WORDS = r"(kota|kabupaten|provinsi|daerah|wilayah|pulau|city|town|province|region|island)"
PLACE = re.compile(
    rf"\b{_PLACE_WORDS}\s+(mana|apa)\b|\b(which|what)\s+(\w+\s+)?{_PLACE_WORDS}\b", re.I
)
# an explanation restates its question's words by nature ("... sukses karena ... sukses")
WHY_HOW = re.compile(r"^\s*(mengapa|kenapa|bagaimana|why|how)\b(?! (many|much))", re.I)
YES_NO = re.compile(r"^\W*(ya|tidak|bukan|yes|no)\b", re.IGNORECASE)
MARKERS = re.compile(r"\[\d+(?:,\s*\d+)*\]")
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
    text = MARKERS.sub(" ", answer)  # citation markers are no numbers
    if WHEN.search(question) and not TIME.search(text):
        return "time"
    if HOW_MANY.search(question) and not NUMBER.search(text):
        return "number"
    if WHO.search(question) and not NAME.search(text):
        return "name"
    if PLACE.search(question) and not _names_a_place(question, text):
        return "place"
    if echoes(question, text):
        return "echo"
    return ""


def echoes(question: str, answer: str) -> bool:
    """The answer says nothing the question does not: each of its content words is one of
    the question's (the same stem, or the same first five letters and nearly the same
    length: "Indonesia" answers "Which Indonesian region ...?" with the question's own word,
    while "pinteresque" is a new word beside "Pinter"). A yes/no reply and the answer to a
    why- or how-question are exempt.

    >>> echoes("Perusahaan apa yang memproduksi Biskuit Recheese?",
    ...        "Perusahaan yang memproduksi Biskuit Recheese adalah Biskuit Recheese [1].")
    True
    >>> echoes("Siapa Menteri Kominfo?", "Menteri Kominfo adalah Rudiantara [1].")
    False
    >>> echoes("Apa istilah untuk gaya teater yang diciptakan Harold Pinter?",
    ...        "Gaya teater yang diciptakan Harold Pinter disebut pinteresque [1].")
    False
    """
    if YES_NO.match(answer) or WHY_HOW.match(question):
        return False
    return repeats(question, answer)


def repeats(question: str, text: str) -> bool:
    """Every content word of the text is one of the question's (see ``echoes``).

    >>> repeats("Siapa Menteri Kominfo?", "Siapa Menteri Kominfo itu?")
    True
    >>> repeats("Apa nama film itu?", "Apa Jang Kau Tjari, Palupi?")
    False
    """
    asked = set(analyze(question))
    said = set(analyze(MARKERS.sub(" ", text)))
    return bool(said) and all(_same_word(word, asked) for word in said)


def _same_word(word: str, words: set[str]) -> bool:
    return word in words or (
        len(word) >= 5 and any(w[:5] == word[:5] and abs(len(w) - len(word)) <= 3 for w in words)
    )


def _names_a_place(question: str, answer: str) -> bool:
    """Whether the answer names a place other than a country and the question's own names."""
    rest = answer
    for country in _countries():
        rest = re.sub(rf"\b{re.escape(country)}\b", " ", rest, flags=re.IGNORECASE)
    asked = {word.lower() for word in re.findall(r"\w+", question)}
    words = re.findall(r"[\w'’-]+", rest)
    # a capitalised word is a name past the answer's first word ("Pusatnya di Tiongkok")
    names = [w for i, w in enumerate(words) if w[0].isupper() and (i > 0 or len(words) == 1)]
    return any(name.lower() not in asked for name in names)


@cache
def _countries() -> tuple[str, ...]:
    """Country names in Indonesian and English (Babel's CLDR data), longest first."""
    names = {
        name
        for language in ("id", "en")
        for code, name in Locale(language).territories.items()
        if code.isalpha() and len(code) == 2
    }
    return tuple(sorted(names, key=len, reverse=True))


def _equivalents() -> dict[str, set[str]]:
    groups = [set(line.split()) for line in data_lines("equivalents.txt")]
    return {word: group for group in groups for word in group}


EQUIVALENTS = _equivalents()


def unknown_names(question: str, article: str) -> list[str]:
    """Names and years in the question that the article never writes: a name is a run of
    capitalised words past the first word, unknown when none of its words is in the
    article, in either language's spelling (rag/data/equivalents.txt, and English
    spellings of Indonesian words: "Communication" for "Komunikasi"), nor an Indonesian
    short form of the article's words ("Menkominfo" for "Menteri Komunikasi dan
    Informatika").

    >>> unknown_names("Who leads the Communication Ministry?", "Menteri Komunikasi hadir.")
    []
    >>> unknown_names("Apa kata Menkominfo?", "Menteri Komunikasi dan Informatika berkata.")
    []
    """
    sequence = re.findall(r"\w+", article.lower())
    words = set(sequence)
    words |= {w for word in list(words) for w in EQUIVALENTS.get(word, ())}
    stems = {_spelling(w)[:5] for w in words if len(w) >= 5}
    missing = []
    for name in _names(question) + YEAR.findall(question):
        parts = [p for p in re.findall(r"\w+", name.lower()) if p not in QUESTION_WORDS]
        known = any(
            p in words or (len(p) >= 5 and _spelling(p)[:5] in stems) or _short_form(p, sequence)
            for p in parts
        )
        if parts and not known:
            missing.append(name)
    return missing


_SPELLINGS = [("ph", "f"), ("tion", "si"), ("sion", "si"), ("ch", "k"), ("c", "k"), ("q", "k")]
_SPELLINGS += [("x", "ks"), ("th", "t"), ("y", "i")]


def _spelling(word: str) -> str:
    """A word in Indonesian spelling, as its English cognate would be written
    ("communication" -> "komunikasi", "technology" -> "teknologi")."""
    for english, indonesian in _SPELLINGS:
        word = word.replace(english, indonesian)
    return re.sub(r"(\w)\1", r"\1", word)


def _short_form(word: str, sequence: list[str]) -> bool:
    """Whether the word joins the starts of two or more consecutive words of the text
    ("menkominfo": men-teri kom-unikasi (dan) info-rmatika); 'dan'/'and'/'of' may be
    skipped."""
    if len(word) < 5:
        return False
    skippable = {"dan", "and", "of", "&"}

    def covers(rest: str, i: int, pieces: int) -> bool:
        if not rest:
            return pieces >= 2
        if i >= len(sequence):
            return False
        if sequence[i] in skippable and covers(rest, i + 1, pieces):
            return True
        source = sequence[i]
        longest = next((n for n in range(len(source), 1, -1) if rest.startswith(source[:n])), 0)
        return any(covers(rest[n:], i + 1, pieces + 1) for n in range(longest, 1, -1))

    return any(covers(word, i, 0) for i, w in enumerate(sequence) if w[:2] == word[:2])


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
