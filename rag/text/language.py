"""Which language a question is in, and so which language to answer in.

Detection uses lingua (a statistical detector that works on short texts) over Indonesian,
English and a dozen other common languages, so a French question is recognised as French
rather than forced into one of the two. Malay is left out on purpose: it would take
Indonesian questions away. Anything but Indonesian or English is answered in English, and
the reason is returned so the caller can say so.

>>> detect_language("Siapa yang menjadi Menteri Kominfo?")
('id', '')
>>> detect_language("Quelle est la date du lancement ?")
('en', 'question looks French; answering in English')
"""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

from rag.text.wordlists import data_lines

SUPPORTED = {"id": "Bahasa Indonesia", "en": "English"}
_OTHERS = [
    Language.FRENCH,
    Language.GERMAN,
    Language.SPANISH,
    Language.PORTUGUESE,
    Language.DUTCH,
    Language.ITALIAN,
    Language.TAGALOG,
    Language.VIETNAMESE,
    Language.JAPANESE,
    Language.CHINESE,
    Language.KOREAN,
    Language.ARABIC,
    Language.RUSSIAN,
    Language.THAI,
]


# From this many characters on, lingua's low accuracy mode (its trigram models only: 0.2 s
# to load against 2.9 s for all its models, on 2 cores) names the language as the full
# mode does: on 1,904 slices of 200 characters of the shared FacQA and IDK-MRC articles,
# none differed (at 120 characters, 28 of 2,421 did; `python -m bench.language`).
LONG_TEXT = 200


def detector_languages() -> list[Language]:
    return [Language.INDONESIAN, Language.ENGLISH, *_OTHERS]


@lru_cache(maxsize=2)
def _detector(long_text: bool = False):
    builder = LanguageDetectorBuilder.from_languages(*detector_languages())
    return (builder.with_low_accuracy_mode() if long_text else builder).build()


def text_language(text: str) -> str:
    """'id', 'en', or another lowercase language name; '' when nothing is recognised."""
    found = _detector(len(text) >= LONG_TEXT).detect_language_of(text[:5000])
    codes = {Language.INDONESIAN: "id", Language.ENGLISH: "en"}
    return codes.get(found, found.name.lower() if found else "")


def document_language(text: str) -> str:
    """An article's language as ``text_language`` names it: from its share of function
    words when that is plain (Indonesian prose is a fifth to a third function words,
    English half; instant), else from the statistical detector, which loads its models for
    seconds in a new process.

    >>> document_language("Kerajaan mengumumkan bahwa semua sekolah akan dibuka pada bulan "
    ...     "depan setelah ditutup selama beberapa minggu karena wabah yang meningkat di "
    ...     "negara ini dan di beberapa kota lain yang juga terdampak oleh wabah itu.")
    'id'
    >>> document_language("El presidente dijo que no habrá cambios en la ley a pesar de "
    ...     "las protestas de las últimas semanas en todo el país y que el gobierno seguirá "
    ...     "con su plan de reformas económicas para el próximo año según fuentes oficiales.")
    'spanish'
    """
    words = re.findall(r"[a-z]+", text[:5000].lower())
    if len(words) >= DOCUMENT_MIN_WORDS:
        counts = {code: sum(w in _function_words(code) for w in words) for code in SUPPORTED}
        for code, other in (("id", "en"), ("en", "id")):
            own = counts[code]
            if own >= max(3, DOCUMENT_MIN_SHARE * len(words)) and counts[other] * 5 <= own:
                return code
    return text_language(text)


DOCUMENT_MIN_WORDS, DOCUMENT_MIN_SHARE = 12, 0.15


def question_language(text: str) -> str:
    """A question's language as ``text_language`` names it, from its function words when
    they tell (instant), else from the statistical detector."""
    return by_function_words(text) or text_language(text)


def by_function_words(text: str) -> str:
    """'id' or 'en' when the text has function words of one language and none of the other
    (most questions: "Siapa ...", "Who is the ..."), else ''. Instant, where the
    statistical detector loads its models for seconds in a new process; on the project's
    and the shared development sets it decides 87 % of the questions, none wrongly.

    >>> by_function_words("Siapa yang menjadi menteri?"), by_function_words("Who is the minister?")
    ('id', 'en')
    >>> by_function_words("Quelle est la date du lancement ?"), by_function_words("Qual è di?")
    ('', '')
    """
    words = re.findall(r"[a-z]+", text.lower())
    indonesian = [w for w in words if w in _function_words("id")]
    english = [w for w in words if w in _function_words("en")]
    if _telling(indonesian) and not english:
        return "id"
    if _telling(english) and not indonesian:
        return "en"
    return ""


def _telling(found: list[str]) -> bool:
    """Two function words, or one long one ("siapa", "which"): a short one alone ("di",
    "a") is also a word of other languages."""
    return len(found) >= 2 or any(len(w) >= 4 for w in found)


@lru_cache(maxsize=2)
def _function_words(language: str) -> frozenset[str]:
    return frozenset(w for line in data_lines(f"stopwords-{language}.txt") for w in line.split())


def detect_language(text: str, forced: str = "auto") -> tuple[str, str]:
    """(language code to answer in, a note when it differs from what was detected)."""
    if forced in SUPPORTED:
        return forced, ""
    if quick := by_function_words(text):
        return quick, ""
    found = _detector().detect_language_of(text)
    if found == Language.INDONESIAN:
        return "id", ""
    if found == Language.ENGLISH:
        return "en", ""
    name = found.name.title() if found else "unrecognised"
    return "en", f"question looks {name}; answering in English"
