"""Read a Word document (.docx) into an article: its body's paragraphs, and its properties.

What it does: reads the body with python-docx in document order: each non-empty paragraph
becomes one line of the article's text, paragraphs separated by a blank line, and a table
is read row by row, a row as one line ("Kota | Peserta"). Headers, footers, footnotes and
comments sit in other parts of the file and are not read. ``Document.meta`` holds the
title, author and date (created) of the file's own properties, when set.

What it does not do: read the old binary .doc format or a password-protected file (both
are refused with what to do), images, text boxes, or tracked changes not yet accepted;
a .docx has no fixed pages, so its spans have none.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace

from rag.articles.corpus import MAX_ARTICLE_BYTES, document_from_text, slugify
from rag.errors import InputError
from rag.values import Document

# A long report with its pictures; the text alone is capped like any article.
MAX_DOCX_BYTES = 20_000_000
# The body's XML unpacked: a zip bomb is refused before it is inflated.
MAX_XML_BYTES = 50_000_000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .doc, or an encrypted .docx


def _refuse(name: str, what: str) -> InputError:
    return InputError(f"{name}: {what}")


def _check_package(data: bytes, name: str) -> None:
    """An InputError unless the bytes are a .docx package of a sane size."""
    if data.startswith(OLE_MAGIC):
        raise _refuse(
            name,
            "a password-protected or old-format (.doc) Word file; save it as .docx "
            "without a password.",
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            body = package.getinfo("word/document.xml")
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError):
        raise _refuse(
            name, "not a Word document (.docx) or a damaged one; save it again as .docx."
        ) from None
    if body.file_size > MAX_XML_BYTES or unpacked > 4 * MAX_XML_BYTES:
        raise _refuse(name, "the document unpacks to more than an article holds; split it.")


def body_paragraphs(document) -> list[str]:  # document: docx.document.Document
    """The body's paragraphs and table cells in document order, whitespace tidied."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:  # a row on one line keeps its facts together
                cells = [" ".join(c.text.split()) for c in row.cells]
                out.append(" | ".join(dict.fromkeys(c for c in cells if c)))  # merged: once
    tidy = (" ".join(p.split()) for p in out)
    return [p for p in tidy if p]


def _metadata(document) -> dict[str, str]:
    props = document.core_properties
    meta = {
        "title": props.title or "",
        "author": props.author or "",
        "date": props.created.strftime("%Y-%m-%d") if props.created else "",
    }
    return {key: " ".join(v.split()) for key, v in meta.items() if v and v.strip()}


def document_from_docx(data: bytes, name: str) -> Document:
    """A .docx file's bytes -> a Document of its body text and its properties."""
    if len(data) > MAX_DOCX_BYTES:
        raise _refuse(
            name,
            f"{len(data):,} bytes is over the {MAX_DOCX_BYTES:,}-byte limit for one Word "
            "file; save the article's part as its own file.",
        )
    _check_package(data, name)
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = body_paragraphs(document)
        meta = _metadata(document)
    except Exception as exc:  # a damaged package can fail anywhere in the XML reader
        raise _refuse(
            name, f"damaged Word document ({type(exc).__name__}); save it again as .docx."
        ) from None
    text = "\n\n".join(paragraphs)
    if not text:
        raise _refuse(name, "the document has no text; give a file with text in it.")
    if len(text.encode()) > MAX_ARTICLE_BYTES:
        raise _refuse(
            name,
            f"its text is over the {MAX_ARTICLE_BYTES:,}-byte limit for one article; "
            "split it into smaller files.",
        )
    return replace(document_from_text(text, name, doc_id=slugify(name)), meta=meta)
