"""Load articles and cut them into paragraphs and sentences, keeping offsets.

What it does: reads UTF-8 text or Markdown, drops lines that are not the article's own
content ("(Baca juga: ...)", "Read also: ...", Markdown rules and fences), and splits the
rest into paragraphs and sentences whose ``start``/``end`` point into the original text.

What it does not do: rewrite text. Nothing is normalised or stripped inside a sentence,
so ``document.text[s.start:s.end] == s.text`` holds for every sentence.

>>> doc = Document("d", "d.txt", 'Ia datang Sabtu (13/10). Ada 1.000 orang.\\n(Baca juga: X)')
>>> [s.text for s in split_sentences(doc)]
['Ia datang Sabtu (13/10).', 'Ada 1.000 orang.']
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from rag.errors import InputError
from rag.text.language import document_language
from rag.text.wordlists import data_lines
from rag.values import Document, Sentence

MAX_ARTICLE_BYTES = 1_000_000

# Lines that point at other articles. They are navigation, not content, and must never be
# retrieved or cited.
BOILERPLATE = re.compile(
    r"^\W*(baca juga|baca pula|lihat juga|simak juga|read also|see also|read more|related)\b.*:",
    re.IGNORECASE,
)
MARKDOWN_NOISE = re.compile(r"^\s*(```.*|~~~.*|[-*_]{3,}|<!--.*-->)\s*$")
MARKDOWN_PREFIX = re.compile(r"^\s*(#{1,6}\s+|>\s+|[-*+]\s+|\d+[.)]\s+)")

# Words ending in "." that do not end a sentence (Indonesian and English): "Dr.", "PT.".
ABBREVIATIONS = frozenset(data_lines("abbreviations.txt"))
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*")
OPENING = re.compile(r"[\"“‘'(\[]*\s?[A-Z0-9\u00C0-\u024F]")


def slugify(name: str) -> str:
    """'Jack Ma di Bali.txt' -> 'jack-ma-di-bali'."""
    stem = Path(name).stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")
    return slug or "article"


def check_size(name: str, size: int, limit: int = MAX_ARTICLE_BYTES) -> None:
    """An InputError when an article of ``size`` bytes is over ``limit``."""
    if size > limit:
        raise InputError(
            f"{name}: {size:,} bytes is over the {limit:,}-byte limit for one article; "
            "split it into smaller files."
        )


def decode_article(data: bytes, name: str) -> str:
    """Bytes of an uploaded or read file -> text, or an InputError saying what is wrong."""
    check_size(name, len(data))
    if b"\x00" in data:
        raise InputError(f"{name}: looks like a binary file; give a UTF-8 text or Markdown file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not valid UTF-8 (byte {exc.start}); save it as UTF-8 and try again."
        ) from None
    if not text.strip():
        raise InputError(f"{name}: the article is empty; give a file with text in it.")
    return text


def document_from_text(text: str, name: str, doc_id: str | None = None) -> Document:
    """Wrap pasted or uploaded text as a Document, checking it has content."""
    if not text.strip():
        raise InputError(f"{name}: the article is empty; give a file with text in it.")
    doc = Document(doc_id or slugify(name), name, text)
    spans = paragraphs(doc)
    if not spans:
        raise InputError(f"{name}: no article text left after removing links and markup.")
    body = " ".join(text[a:b] for a, b in spans)
    return Document(doc.doc_id, name, text, language=document_language(body))


def read_article_file(path: str | Path) -> tuple[str, bytes]:
    """(path, raw bytes) of one article file, or an InputError saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path.")
    if not path.is_file():
        raise InputError(f"{path}: not a file; give a .txt or .md article.")
    return str(path), path.read_bytes()


def document_from_file_bytes(path: str, data: bytes) -> Document:
    """An article file's bytes -> a checked, cleaned Document (named after the file)."""
    return document_from_text(decode_article(data, path), Path(path).name)


def load_document(path: str | Path) -> Document:
    """Read one article file (UTF-8 .txt or .md)."""
    return document_from_file_bytes(*read_article_file(path))


def _content_span(line: str, start: int) -> tuple[int, int] | None:
    """The part of one line that is article content, as offsets, or None for noise."""
    if not line.strip() or BOILERPLATE.match(line) or MARKDOWN_NOISE.match(line):
        return None
    prefix = MARKDOWN_PREFIX.match(line)
    lo = prefix.end() if prefix else len(line) - len(line.lstrip())
    hi = len(line.rstrip())
    return (start + lo, start + hi) if hi > lo else None


def paragraphs(doc: Document) -> list[tuple[int, int]]:
    """Spans of the document's paragraphs, boilerplate removed.

    A file with blank lines between paragraphs (wrapped text, Markdown) joins the lines of
    each block; a file without blank lines treats every line as a paragraph, as news
    sites export them.
    """
    lines, pos = [], 0
    for raw in doc.text.splitlines(keepends=True):
        lines.append((raw, pos))
        pos += len(raw)
    blocks_by_blank = any(not raw.strip() for raw, _ in lines[1:-1])
    spans: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for raw, start in lines:
        span = _content_span(raw, start)
        if span is None or not blocks_by_blank:
            if current:
                spans.append(current)
            current = span if not blocks_by_blank else None
            continue
        current = (current[0], span[1]) if current else span
    if current:
        spans.append(current)
    return spans


def _is_boundary(text: str, end: int, match_start: int, quote_depth: int) -> bool:
    """Whether the punctuation ending at ``end`` closes a sentence."""
    if quote_depth % 2:  # inside a quotation: "Ada banyak kemajuan. Rapat ini ..." stays whole
        return False
    rest = text[end:]
    if not rest[:1].isspace():  # "1.000", "e.g.x" or the very end
        return False
    if not OPENING.match(rest.lstrip()):  # next word starts in lower case
        return False
    word = re.search(r"(\S+)$", text[:match_start])
    token = word.group(1).lower().lstrip("(\"'“") if word else ""
    is_abbreviation = token in ABBREVIATIONS or re.fullmatch(r"[a-z]", token)
    return not (text[match_start] == "." and is_abbreviation)


def _split_span(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Sentence spans inside text[lo:hi]."""
    spans, start = [], lo
    chunk = text[lo:hi]
    for m in SENTENCE_END.finditer(chunk):
        end = lo + m.end()
        quotes = (
            chunk[: m.end()].count('"') + chunk[: m.end()].count("“") + chunk[: m.end()].count("”")
        )
        if end < hi and _is_boundary(text, end, lo + m.start(), quotes):
            spans.append((start, end))
            start = end + (len(text[end:hi]) - len(text[end:hi].lstrip()))
    if start < hi:
        spans.append((start, hi))
    return spans


def split_sentences(doc: Document) -> list[Sentence]:
    """All content sentences of a document, in order, with 1-based paragraph numbers."""
    out = []
    for number, (lo, hi) in enumerate(paragraphs(doc), start=1):
        for start, end in _split_span(doc.text, lo, hi):
            text = doc.text[start:end]
            out.append(Sentence(doc.doc_id, number, start, end, text, doc.page_at(start)))
    return out


def default_documents() -> list[Document]:
    """The article that ships with the package, used when no other corpus is given."""
    data_dir = Path(__file__).parents[1] / "data" / "articles"
    return [load_document(p) for p in sorted(data_dir.glob("*.txt"))]
