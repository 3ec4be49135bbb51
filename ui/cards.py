"""The chat tab's article card, the Articles tab's list, status lines and the models line.

Like ``ui.render``: pure functions from values to HTML, every piece of text escaped first;
no Gradio, no pipeline, no state.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from rag.values import Document
from ui.i18n import t
from ui.render import doc_name, icon, text_html

CARD_DOCS = 3  # articles described on the chat tab's card; the rest are counted


# -- the chat tab's article card ---------------------------------------------------------------
def _language_name(code: str, lang: str) -> str:
    return t(lang, f"lang_{code}") if code in ("id", "en") else t(lang, "lang_unknown")


def page_meta_html(meta: Mapping[str, str], name: str, lang: str) -> str:
    """A web page's title (when not its name), author, date and site, and a link to it."""
    parts = [meta["title"]] if meta.get("title") and meta["title"] != name else []
    parts += [t(lang, "card_by", author=meta["author"])] if meta.get("author") else []
    parts += [meta[key] for key in ("date", "site") if meta.get(key)]
    shown = [html.escape(" · ".join(parts))] if parts else []
    url = meta.get("url", "")
    if url.startswith(("https://", "http://")):  # never a javascript: or data: link
        href = html.escape(url, quote=True)
        shown.append(
            f'<a href="{href}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{html.escape(url)}</a>"
        )
    return f'<div class="meta page-meta">{"<br>".join(shown)}</div>' if shown else ""


def _doc_card(doc: Document, passages: int, lang: str) -> str:
    size = f"{t(lang, 'words', n=len(doc.text.split()))} · {t(lang, 'passages', n=passages)}"
    return (
        f'<div class="card-doc"><div class="card-title">{html.escape(doc.name)}</div>'
        f"{page_meta_html(doc.meta, doc.name, lang)}"
        f'<div class="meta">{_language_name(doc.language, lang)} · {size}</div>'
        f"<details><summary>{t(lang, 'view_article')}</summary>"
        f'<div class="article-text">{html.escape(doc.text)}</div></details></div>'
    )


def article_card(
    documents: Sequence[Document],
    passages: Mapping[str, int],
    restricted: str | None = None,
    lang: str = "en",
) -> str:
    """What questions are asked about: the restricted article, else the indexed ones."""
    shown = [d for d in documents if d.doc_id == restricted] if restricted else list(documents)
    head = t(lang, "card_one") if len(shown) == 1 else t(lang, "card_many", n=len(shown))
    cards = "".join(_doc_card(d, passages.get(d.doc_id, 0), lang) for d in shown[:CARD_DOCS])
    more = ""
    if len(shown) > CARD_DOCS:
        more = f'<div class="meta">{t(lang, "card_more", n=len(shown) - CARD_DOCS)}</div>'
    return f'<div class="article-card"><div class="meta card-head">{head}</div>{cards}{more}</div>'


def restriction_html(documents: Mapping[str, Document], restricted: str | None, lang: str) -> str:
    """The notice above the question box while questions are restricted to one article."""
    if not restricted:
        return ""
    text = t(lang, "restriction_banner", name=doc_name(documents, restricted))
    return f'<div class="restriction">{icon("info", "i")} {html.escape(text)}</div>'


# -- articles tab -------------------------------------------------------------------------
def articles_html(
    documents: Sequence[Document], passages: Mapping[str, int], lang: str = "en"
) -> str:
    """A table of the indexed articles: id, name, language, size and passage count."""
    rows = "".join(
        f"<tr><td>{html.escape(d.doc_id)}</td><td>{html.escape(d.name)}</td>"
        f"<td>{html.escape(d.language or '?')}</td>"
        f"<td>{t(lang, 'words', n=len(d.text.split()))}</td>"
        f"<td>{passages.get(d.doc_id, 0)}</td></tr>"
        for d in documents
    )
    heads = "".join(f"<th>{t(lang, key)}</th>" for key in ("th_id", "th_name", "th_lang"))
    heads += f"<th>{t(lang, 'th_size')}</th><th>{t(lang, 'th_passages')}</th>"
    return f'<table class="articles"><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>'


STATUS_GLYPHS = {"ok": "✓", "info": "i", "error": "!"}


def status_html(message: str, kind: str = "ok") -> str:
    """A one-line message ("ok", "info" or "error"), escaped, announced to screen readers."""
    role = "alert" if kind == "error" else "status"
    glyph = icon(kind, STATUS_GLYPHS[kind])
    return f'<div class="status {kind}" role="{role}">{glyph} {text_html(message)}</div>'


def backend_html(backend: str, embed_model: str, lang: str = "en") -> str:
    """The active models, as shown in the settings."""
    return (
        f'<div class="models"><span class="meta">{t(lang, "models")}</span><br>'
        f"{t(lang, 'llm')}: <code>{html.escape(backend)}</code><br>"
        f"{t(lang, 'embeddings')}: <code>{html.escape(embed_model)}</code></div>"
    )
