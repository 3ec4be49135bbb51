"""Reading articles by format: a registry from file suffix and content type to a reader.

What it does: knows the formats an article can come in (UTF-8 text, Markdown, a web page,
a PDF, a Word document)
and reads a source into a checked Document: a file by its suffix, an http(s) URL by the
content type its server sends (fetched with ``rag.articles.fetch``). The CLI help, the web app's
upload form and the error messages list what ``FORMATS`` holds, so a new format is one
reader and one entry here.

What it does not do: index anything, or read a format it does not list (a ``.doc`` is
refused with the list of those it reads).

>>> format_for_name("Berita.HTM").name
'web page'
>>> is_url("https://example.com/berita"), is_url("berita.txt")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.articles.corpus import (
    MAX_ARTICLE_BYTES,
    check_size,
    decode_article,
    document_from_text,
)
from rag.articles.fetch import FetchLimits, fetch_page
from rag.articles.pdf import MAX_PDF_BYTES, document_from_pdf
from rag.articles.webpage import MAX_PAGE_BYTES, document_from_html
from rag.articles.word import MAX_DOCX_BYTES, document_from_docx
from rag.errors import FetchError, InputError
from rag.values import Document

# (the bytes, a name for messages, the URL they came from or None, the charset or None)
Reader = Callable[[bytes, str, str | None, str | None], Document]
URL_START = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def read_text(data: bytes, name: str, url: str | None, charset: str | None) -> Document:
    """UTF-8 text or Markdown, named after its file."""
    return document_from_text(decode_article(data, name), Path(name).name)


def read_html(data: bytes, name: str, url: str | None, charset: str | None) -> Document:
    """A web page: its article text and metadata (``rag.articles.webpage``)."""
    return document_from_html(data, Path(name).name if url is None else name, url, charset)


def read_pdf(data: bytes, name: str, url: str | None, charset: str | None) -> Document:
    """A PDF's text layer, with its pages (``rag.articles.pdf``)."""
    return document_from_pdf(data, Path(name).name if url is None else name)


def read_docx(data: bytes, name: str, url: str | None, charset: str | None) -> Document:
    """A Word document's body (``rag.articles.word``)."""
    return document_from_docx(data, Path(name).name if url is None else name)


@dataclass(frozen=True)
class Format:
    """One way an article can come: its name, file suffixes, web content types, size cap."""

    name: str
    suffixes: tuple[str, ...]
    content_types: tuple[str, ...]  # read from a URL when the server sends one of these
    max_bytes: int
    read: Reader


FORMATS: tuple[Format, ...] = (
    Format("UTF-8 text", (".txt", ".text"), (), MAX_ARTICLE_BYTES, read_text),
    Format("Markdown", (".md", ".markdown"), (), MAX_ARTICLE_BYTES, read_text),
    Format(
        "web page",
        (".html", ".htm"),
        ("text/html", "application/xhtml+xml"),
        MAX_PAGE_BYTES,
        read_html,
    ),
    Format("PDF", (".pdf",), ("application/pdf",), MAX_PDF_BYTES, read_pdf),
    Format(
        "Word document",
        (".docx",),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
        MAX_DOCX_BYTES,
        read_docx,
    ),
)


def suffixes() -> list[str]:
    """Every file suffix a format reads: ['.txt', '.text', '.md', ...]."""
    return [s for f in FORMATS for s in f.suffixes]


def content_types() -> tuple[str, ...]:
    """Every content type read from a URL."""
    return tuple(c for f in FORMATS for c in f.content_types)


def described() -> str:
    """What can be read, for help texts and messages.

    >>> described()
    'UTF-8 text (.txt, .text), Markdown (.md, .markdown), web page (.html, .htm), PDF (.pdf), \
Word document (.docx) or an http(s) URL'
    """
    kinds = [f"{f.name} ({', '.join(f.suffixes)})" for f in FORMATS]
    return ", ".join(kinds) + " or an http(s) URL"


def is_url(source: str | Path) -> bool:
    """Whether a source names a URL (any scheme: a wrong one is refused with the reason)."""
    return isinstance(source, str) and bool(URL_START.match(source.strip()))


def format_for_name(name: str) -> Format:
    """The format of a file, by its suffix, or an InputError listing those read."""
    suffix = Path(name).suffix.lower()
    for fmt in FORMATS:
        if suffix in fmt.suffixes:
            return fmt
    kind = f"{suffix} files" if suffix else "files without a suffix"
    raise InputError(f"{name}: {kind} are not read; give {described()}.")


def format_for_content_type(url: str, content_type: str) -> Format:
    for fmt in FORMATS:
        if content_type in fmt.content_types:
            return fmt
    raise FetchError(f"{url}: {content_type} is not read; give {described()}.")


def read_file_bytes(path: str, data: bytes) -> Document:
    """An article file's bytes (read here or elsewhere, e.g. on a Ray worker) -> Document."""
    return format_for_name(path).read(data, path, None, None)


def read_file(path: str | Path, name: str | None = None) -> Document:
    """One article file -> Document; ``name`` is the original name of an uploaded copy.

    The format and the size are checked before the file is read, so a huge file is never
    loaded."""
    path = Path(path)
    name = name or str(path)
    fmt = format_for_name(name)
    if not path.is_file():
        what = "not a file" if path.exists() else "no such file"
        raise InputError(f"{name}: {what}; check the path.")
    check_size(Path(name).name, path.stat().st_size, fmt.max_bytes)
    return fmt.read(path.read_bytes(), name, None, None)


def read_url(url: str, allow_private: bool = False, limits: FetchLimits | None = None) -> Document:
    """The article at an http(s) URL: fetched safely (``rag.articles.fetch``), then read by
    format."""
    url = url.strip()
    page = fetch_page(url, content_types(), limits, allow_private)
    fmt = format_for_content_type(page.url, page.content_type)
    return fmt.read(page.body, page.url, page.url, page.charset)


def read_source(
    source: str | Path, allow_private: bool = False, limits: FetchLimits | None = None
) -> Document:
    """A file path or a URL -> a checked Document, or an InputError saying what is wrong."""
    if is_url(source):
        return read_url(str(source), allow_private, limits)
    return read_file(source)
