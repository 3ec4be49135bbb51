"""Turn text into the terms BM25 indexes: Indonesian-aware, English-tolerant.

Steps: lowercase, split on letters and digits, drop Indonesian and English stopwords,
stem Indonesian words with Sastrawi (a dictionary-based stemmer, so English words it does
not know pass through) and then English words with Snowball.

>>> analyze("Kelima produk tersebut akan mulai dipasarkan")
['lima', 'produk', 'mulai', 'pasar']
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from rag.text.wordlists import data_lines

ANALYZER_VERSION = "id-en-sastrawi-snowball-2"
TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def _stopwords() -> frozenset[str]:
    """Function words only: Sastrawi's own list also drops words such as 'lima' (five) or
    'mulai' (start) that questions about an article depend on."""
    return frozenset(
        word
        for name in ("stopwords-id.txt", "stopwords-en.txt")
        for line in data_lines(name)
        for word in line.split()
    )


STOPWORDS = _stopwords()
_indonesian = StemmerFactory().create_stemmer()
_english = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """One lowercase word -> its stem; cached because vocabularies are small."""
    if word.isdigit():
        return word
    root = _indonesian.stem(word)
    return root if root and root != word else _english.stemWord(word)


def analyze(text: str) -> list[str]:
    """Text -> BM25 terms, in order (stopwords removed, stems kept)."""
    words = TOKEN.findall(text.lower())
    return [stem(w) for w in words if w not in STOPWORDS]
