"""Turn what a user gives the Articles tab (a pasted text, an uploaded file) into a Document.

What it does: checks an upload's name and size, decodes it with the same rules as the CLI
(``rag.corpus.decode_article``: UTF-8 text, not binary, not empty, at most 1 MB) and wraps
pasted or uploaded text as a Document. Every problem is an ``InputError`` whose message
says what to do, raised before anything is indexed.

What it does not do: index anything or touch the pipeline; ``ui.actions`` does that.

>>> document_from_paste("Toko Baru", "PT Contoh membuka toko di Makassar.").doc_id
'toko-baru'
"""

from __future__ import annotations

from pathlib import Path

from rag.corpus import (
    MAX_ARTICLE_BYTES,
    TEXT_SUFFIXES,
    decode_article,
    document_from_text,
    slugify,
)
from rag.errors import InputError
from rag.types import Document

MAX_TITLE_CHARS = 200


def title_slug(title: str) -> str:
    """A title -> its doc id. A title is not a file name: 'Harga 2.5/10' keeps every part.

    >>> title_slug("Harga naik 2.5 persen/tahun")
    'harga-naik-2-5-persen-tahun'
    """
    return slugify(title.replace("/", " ").replace("\\", " ") + ".txt")  # nothing to strip


def document_from_paste(title: str | None, text: str | None) -> Document:
    """A pasted article with its title -> Document (the title becomes its name and id)."""
    title = (title or "").strip()
    if not title:
        raise InputError("give the pasted article a title; it names the article in answers.")
    if len(title) > MAX_TITLE_CHARS:
        raise InputError(
            f"the title is {len(title)} characters long; keep it under {MAX_TITLE_CHARS}."
        )
    data = (text or "").encode("utf-8")
    return document_from_text(decode_article(data, title), title, doc_id=title_slug(title))


def document_from_upload(path: str | Path | None, name: str | None = None) -> Document:
    """An uploaded file (a path on the server) -> Document named after the original file."""
    if not path:
        raise InputError("choose a .txt or .md file to upload first.")
    path = Path(path)
    name = name or path.name
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise InputError(
            f"{name}: only UTF-8 text or Markdown files "
            f"({', '.join(sorted(TEXT_SUFFIXES))}) can be added."
        )
    size = path.stat().st_size
    if size > MAX_ARTICLE_BYTES:  # checked before reading, so a huge file is never loaded
        raise InputError(
            f"{name}: {size:,} bytes is over the {MAX_ARTICLE_BYTES:,}-byte "
            "limit for one article; split it into smaller files."
        )
    return document_from_text(decode_article(path.read_bytes(), name), name)
