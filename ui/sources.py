"""The sources panel: the sources of every turn (the cited span in ``<mark>``; the panel
shows one turn at a time and follows the marker clicked) and the whole article with every
cited span highlighted in place.

Like ``ui.render``: pure functions from values to HTML, every piece of text escaped first;
no Gradio, no pipeline, no state.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rag.values import Answer, Citation, Document, Hit
from ui.conversation import Turn
from ui.i18n import t
from ui.render import View, doc_name, source_id


# -- sources panel ------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """A stretch of text to highlight, in the same coordinates as the text given."""

    start: int
    end: int
    label: str = ""


def _merged(spans: Iterable[Span], length: int) -> list[Span]:
    """Spans clipped to [0, length], sorted, overlapping ones merged (labels joined)."""
    clipped = sorted(
        (Span(max(0, s.start), min(length, s.end), s.label) for s in spans),
        key=lambda s: (s.start, s.end),
    )
    merged: list[Span] = []
    for s in (s for s in clipped if s.end > s.start):
        if merged and s.start <= merged[-1].end:
            last = merged[-1]
            labels = " ".join(dict.fromkeys(f"{last.label} {s.label}".split()))
            merged[-1] = Span(last.start, max(last.end, s.end), labels)
        else:
            merged.append(s)
    return merged


def highlight(text: str, spans: Iterable[Span], offset: int = 0) -> str:
    """Escape text, wrapping each span in <mark>; spans are in coordinates text starts at.

    ``offset`` is where ``text`` starts in the document, so document offsets (citations)
    can highlight a passage: the span is text[start - offset : end - offset].

    >>> highlight("a <b> c", [Span(12, 15, "[1]")], offset=10)
    'a <mark title="[1]">&lt;b&gt;</mark> c'
    """
    local = [Span(s.start - offset, s.end - offset, s.label) for s in spans]
    out, pos = [], 0
    for s in _merged(local, len(text)):
        out.append(html.escape(text[pos : s.start]))
        marked = html.escape(text[s.start : s.end])
        out.append(f'<mark title="{html.escape(s.label)}">{marked}</mark>')
        pos = s.end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def citation_spans(citations: Iterable[Citation]) -> list[Span]:
    """Document-coordinate spans of citations, labelled with their markers."""
    return [Span(c.start, c.end, f"[{c.marker}]") for c in citations]


def _passage_html(
    hit: Hit,
    citations: Sequence[Citation],
    documents: Mapping[str, Document],
    lang: str,
    turn: int = 0,
) -> str:
    """One passage with its header (markers, article, paragraph, score) and cited spans.

    A cited passage carries the id of its first marker (the link target) and a class per
    marker (``m-2``), so every marker of the turn finds it.
    """
    p = hit.passage
    markers = sorted({c.marker for c in citations})
    labels = "".join(f"[{m}] " for m in markers)
    page = next((c.page for c in citations if c.page), p.page)  # the cited span's page
    where = f"{t(lang, 'page')} {page} · " if page else ""
    head = (
        f"{labels}{doc_name(documents, p.doc_id)} · {where}{t(lang, 'paragraph')} "
        f"{p.paragraph} · {t(lang, 'score')} {hit.score:.4f} · {p.id}"
    )
    classes = "".join(f" m-{m}" for m in markers)
    attrs = f' id="{source_id(turn, markers[0])}"' if markers else ""
    body = highlight(p.text, citation_spans(citations), offset=p.start)
    return (
        f'<div class="source{classes}"{attrs} tabindex="-1"><div class="meta source-head">'
        f'{html.escape(head)}</div><div class="passage">{body}</div></div>'
    )


def cited_hits(answer: Answer) -> list[tuple[Hit, list[Citation]]]:
    """The retrieved passages that hold citations, in marker order, with their citations."""
    by_passage: dict[str, list[Citation]] = {}
    for c in sorted(answer.citations, key=lambda c: (c.marker, c.start)):
        by_passage.setdefault(c.passage_id, []).append(c)
    hits = {h.passage.id: h for h in answer.hits}
    return [(hits[pid], cs) for pid, cs in by_passage.items() if pid in hits]


def article_html(doc: Document, citations: Sequence[Citation]) -> str:
    """The whole article with the cited spans highlighted in place."""
    return (
        f'<div class="article"><div class="meta source-head">{html.escape(doc.name)}</div>'
        f'<div class="passage">{highlight(doc.text, citation_spans(citations))}</div></div>'
    )


def _articles_part(answer: Answer, documents: Mapping[str, Document], lang: str) -> list[str]:
    """The articles behind an answer (cited ones, else the top hit's), highlighted."""
    doc_ids = list(dict.fromkeys(c.doc_id for c in answer.citations))
    if not doc_ids and answer.hits:
        doc_ids = [answer.hits[0].passage.doc_id]
    parts = [f"<h4>{t(lang, 'whole')}</h4>"]
    for doc_id in doc_ids:
        if doc_id in documents:
            mine = [c for c in answer.citations if c.doc_id == doc_id]
            parts.append(article_html(documents[doc_id], mine))
    return parts


def answer_sources(
    answer: Answer, n: int, documents: Mapping[str, Document], view: View = View()
) -> list[str]:
    """Turn n's cited passages, the other retrieved ones folded, optionally the articles."""
    lang = view.lang
    cited = cited_hits(answer)
    parts = [f"<h4>{t(lang, 'cited')}</h4>" if cited else f"<p>{t(lang, 'no_cited')}</p>"]
    parts += [_passage_html(h, cs, documents, lang, n) for h, cs in cited]
    cited_ids = {h.passage.id for h, _ in cited}
    others = [h for h in answer.hits if h.passage.id not in cited_ids]
    if others:
        rest = "".join(_passage_html(h, [], documents, lang) for h in others)
        summary = t(lang, "others", n=len(others))
        parts.append(f"<details><summary>{summary}</summary>{rest}</details>")
    if view.whole_article:
        parts += _articles_part(answer, documents, lang)
    return parts


def _turn_sources(turn: Turn, n: int, documents: Mapping[str, Document], view: View) -> list[str]:
    if turn.answer is not None:
        return answer_sources(turn.answer, n, documents, view)
    rows = "".join(_passage_html(h, [], documents, view.lang) for h in turn.hits)
    return [f"<h4>{t(view.lang, 'in_progress')}</h4>{rows}"]


def sources_html(
    turns: Sequence[Turn], documents: Mapping[str, Document], view: View = View()
) -> str:
    """The sources panel: one section per turn that has passages; the latest is shown.

    Clicking a marker of an older answer shows that answer's section (the browser script
    does this; the markup holds every section so no round trip is needed).
    """
    numbered = [(n, turn) for n, turn in enumerate(turns, start=1) if turn.hits or turn.answer]
    if not numbered:
        return f'<div class="sources empty"><p>{t(view.lang, "sources_empty")}</p></div>'
    sections = []
    for n, turn in numbered:
        hidden = "" if n == numbered[-1][0] else " hidden"
        title = t(view.lang, "sources_for", n=n, q=turn.question)
        head = (
            f'<div class="sources-head"><span class="meta">{html.escape(title)}</span>'
            f'<button type="button" class="back" hidden>{t(view.lang, "back")}</button></div>'
        )
        body = "".join(_turn_sources(turn, n, documents, view))
        sections.append(
            f'<section class="turn-sources turn-{n}" data-turn="{n}"{hidden}>{head}{body}</section>'
        )
    return f'<div class="sources">{"".join(sections)}</div>'
