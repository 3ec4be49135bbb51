"""Read a news page's HTML into an article: its body as the text, and its metadata.

What it does: hands the HTML to trafilatura (its default settings, comments left out), which
keeps the article body and drops menus, related links, comments, cookie and share text;
then drops the lines that still point at other articles ("Baca juga: ...", "Read also:
...") or mark ads. What remains is the article's text: offsets, passages and citations
point into it, as for a text file. Kept beside it: the title, author, date (YYYY-MM-DD),
site and URL that were found (``Document.meta``) and the HTML itself (``Document.source``).

What it does not do: fetch anything (``rag.articles.fetch``), run scripts (a page that writes its
text with JavaScript has none to give), or join an article split over several pages.

>>> drop_link_lines("Jack Ma tiba di Bali.\\nBaca juga: Alibaba buka kantor\\nIa disambut.")
'Jack Ma tiba di Bali.\\nIa disambut.'
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from rag.articles.corpus import BOILERPLATE, document_from_text, slugify
from rag.errors import InputError
from rag.values import Document

MAX_PAGE_BYTES = 5_000_000  # a news page's HTML, scripts and styles included
META_KEYS = ("title", "author", "date", "site", "url")
# Lines trafilatura may keep that are not the article's: ad markers of Indonesian news sites.
AD_LINE = re.compile(
    r"^\W*(advertisement|iklan|scroll to continue with content|baca juga|read also)\W*$",
    re.IGNORECASE,
)
MAX_ID_CHARS = 60
# Fewer words than this is a page's leftovers (a menu, "enable JavaScript"), not an article.
MIN_ARTICLE_WORDS = 20


def decode_html(data: bytes, charset: str | None = None) -> str:
    """HTML bytes -> text: in the charset the server named, else as the page declares or
    as detected (trafilatura), never failing on a stray byte."""
    if charset:
        try:
            return data.decode(charset, errors="replace")
        except LookupError:  # a charset name Python does not know: detect instead
            pass
    from trafilatura.utils import decode_file  # a third of a second: loaded for pages only

    return decode_file(data)


def drop_link_lines(text: str) -> str:
    """The text without lines pointing at other articles or marking ads."""
    kept = [line for line in text.splitlines() if not _is_link_line(line)]
    return "\n".join(kept).strip()


def _is_link_line(line: str) -> bool:
    return bool(BOILERPLATE.match(line) or AD_LINE.match(line))


def extract(html: str, url: str | None = None) -> tuple[str, dict[str, str]]:
    """The article body of a page and its metadata (the keys of META_KEYS that were found).

    The text is empty when the page has no article body.
    """
    import trafilatura

    found = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_images=False
    )
    if found is None:
        return "", {}
    values = {
        "title": found.title,
        "author": found.author,
        "date": found.date,
        "site": found.sitename or found.hostname,
        "url": found.url or url,
    }
    meta = {key: " ".join(str(v).split()) for key, v in values.items() if v and str(v).strip()}
    return drop_link_lines(found.text or ""), meta


def page_id(meta: dict[str, str], fallback: str) -> str:
    """A doc id for a page read from the web: its title, shortened, else the address.

    >>> page_id({"title": "Jack Ma Kunjungi Bali, Alibaba Siap Pasarkan 5 Produk Indonesia"}, "")
    'jack-ma-kunjungi-bali-alibaba-siap-pasarkan-5-produk'
    """
    if meta.get("title"):
        slug = slugify(meta["title"].replace("/", " ").replace(".", " ") + ".html")
    else:
        parts = urlsplit(fallback)
        slug = slugify(f"{parts.hostname or ''} {parts.path}".replace("/", " ") + ".html")
    if len(slug) <= MAX_ID_CHARS:
        return slug
    return slug[: MAX_ID_CHARS + 1].rsplit("-", 1)[0]


def document_from_html(
    data: bytes | str, name: str, url: str | None = None, charset: str | None = None
) -> Document:
    """A page's HTML -> a Document of its article text, metadata and source.

    A page read from a URL is named by its title (else the URL) and gets an id from it; a
    saved file keeps its file name, like a text file.
    """
    size = len(data)
    if size > MAX_PAGE_BYTES:
        raise InputError(
            f"{name}: {size:,} bytes is over the {MAX_PAGE_BYTES:,}-byte limit for one page; "
            "save the article's text and add it as a file."
        )
    html = data if isinstance(data, str) else decode_html(data, charset)
    text, meta = extract(html, url)
    if len(text.split()) < MIN_ARTICLE_WORDS:
        raise InputError(
            f"{name}: no article text found in the page ({len(text.split())} words; it may be "
            "written by JavaScript, behind a login, or not an article); save the article's "
            "text and add it as a file."
        )
    if url:
        meta.setdefault("url", url)
        name, doc_id = meta.get("title", url), page_id(meta, url)
    else:
        doc_id = slugify(name)
    document = document_from_text(text, name, doc_id=doc_id)
    return replace(document, meta=meta, source=html)


def describe(meta: dict[str, str]) -> list[str]:
    """The metadata as lines to print, in a fixed order ('title: ...', 'date: ...').

    >>> describe({"url": "https://x.id/a", "title": "Berita"})
    ['title: Berita', 'url: https://x.id/a']
    """
    return [f"{key}: {meta[key]}" for key in META_KEYS if meta.get(key)]
