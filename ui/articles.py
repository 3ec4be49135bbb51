"""Turn what a user gives the Articles tab (a pasted text, an uploaded file, a URL) into a
Document.

What it does: checks an upload's name and size and reads it by its format with the same
rules as the CLI (``rag.articles.formats``: UTF-8 text or Markdown up to 1 MB, a web page's HTML up
to 5 MB), wraps pasted text as a Document, and reads a page from a URL (fetched safely:
``rag.articles.fetch``). Every problem is an ``InputError`` whose message says what to do, raised
before anything is indexed.

What it does not do: index anything or touch the pipeline; ``ui.actions`` does that.

>>> document_from_paste("Toko Baru", "PT Contoh membuka toko di Makassar.").doc_id
'toko-baru'
"""

from __future__ import annotations

from pathlib import Path

from rag.articles.corpus import decode_article, document_from_text, slugify
from rag.articles.formats import described, is_url, read_file, read_url, suffixes
from rag.errors import InputError
from rag.values import Document

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
    """An uploaded file (a path on the server) -> Document named after the original file.

    Its format and size are checked before it is read, so a huge file is never loaded."""
    if not path:
        raise InputError(f"choose a file to upload first ({', '.join(suffixes())}).")
    path = Path(path)
    return read_file(path, name or path.name)


def document_from_url(url: str | None, allow_private: bool = False) -> Document:
    """The article at a pasted http(s) URL -> Document named by the page's title."""
    url = (url or "").strip()
    if not url:
        raise InputError("paste the address of an article page first (https://...).")
    if not is_url(url):
        raise InputError(f"{url}: not a web address; give {described()}.")
    return read_url(url, allow_private)
