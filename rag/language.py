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

import threading
from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

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


@lru_cache(maxsize=1)
def _detector():
    languages = [Language.INDONESIAN, Language.ENGLISH, *_OTHERS]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def preload() -> None:
    """Load the detector's language models now, in the background: they load on first use
    and take seconds, which a new process would otherwise pay inside its first question."""
    threading.Thread(
        target=lambda: _detector().detect_language_of("Apa ini? What is it?"),
        daemon=True,
        name="language-models",
    ).start()


def text_language(text: str) -> str:
    """'id', 'en', or another lowercase language name; '' when nothing is recognised."""
    found = _detector().detect_language_of(text[:5000])
    codes = {Language.INDONESIAN: "id", Language.ENGLISH: "en"}
    return codes.get(found, found.name.lower() if found else "")


def detect_language(text: str, forced: str = "auto") -> tuple[str, str]:
    """(language code to answer in, a note when it differs from what was detected)."""
    if forced in SUPPORTED:
        return forced, ""
    found = _detector().detect_language_of(text)
    if found == Language.INDONESIAN:
        return "id", ""
    if found == Language.ENGLISH:
        return "en", ""
    name = found.name.title() if found else "unrecognised"
    return "en", f"question looks {name}; answering in English"
