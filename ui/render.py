"""Pure functions that turn turns, passages and articles into HTML for the Gradio app.

What it does: escapes every piece of text that comes from a user, an article or the model
(``html.escape``) and only then adds the app's own markup: linked citation markers, the
refusal, warning and "stopped" boxes, per-step timings, each answer's copy and regenerate
buttons, the sources of every turn (the cited span in ``<mark>``; the panel shows one
turn at a time and follows the marker clicked), the whole article with every cited span
highlighted in place, the article card and the list of articles. The app's own words come
from ``ui.i18n`` in the interface language.

What it does not do: call the pipeline, import Gradio or keep state. Every function takes
values and returns a string, so it can be tested without a browser. The chat's sanitizer
drops ``data-*`` and ``id`` attributes, so what the browser script needs to know about a
message (its turn, a marker's passage) travels in class names and ``href``.

>>> linked_answer("Ada <b>lima</b> produk [3].", {3: "jack-ma-bali#3"}, turn=1)
'Ada &lt;b&gt;lima&lt;/b&gt; produk <a class="cite" href="#src-1-3" title="jack-ma-bali#3">[3]</a>.'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rag.answer.cite import MARKER, marker_numbers
from rag.values import Answer, Citation, Document, Hit
from ui.conversation import DONE, FAILED, STOPPED, WAITING, Turn
from ui.i18n import t

# "[2]" or "[1, 3]" as written by rag.answer.cite (after escaping, brackets and digits are intact).
TIMING_STEPS = ("retrieve", "generate", "total")
CARD_DOCS = 3  # articles described on the chat tab's card; the rest are counted


@dataclass(frozen=True)
class View:
    """How the chat and sources are shown: interface language and the display toggles."""

    lang: str = "en"
    show_rewritten: bool = False
    whole_article: bool = False


def text_html(text: str) -> str:
    """Escaped text with line breaks as <br>, safe inside a chat message.

    A blank line would end the message's HTML block and let Markdown rules apply to the
    text that follows, so no newline survives.

    >>> text_html('<script>x</script>\\n\\n*b*')
    '&lt;script&gt;x&lt;/script&gt;<br><br>*b*'
    """
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")


def source_id(turn: int, marker: int) -> str:
    """The HTML id of a source entry: markers of turn 2 link to 'src-2-<marker>'."""
    return f"src-{turn}-{marker}"


def linked_answer(text: str, passages: Mapping[int, str], turn: int) -> str:
    """Escape an answer and turn its [n] markers into links to the sources panel.

    ``passages`` maps a marker to its passage id (shown on hover); a marker without a
    verified citation stays plain text.
    """

    def link(match: re.Match[str]) -> str:
        numbers = marker_numbers(match)
        if not all(n in passages for n in numbers):
            return match.group(0)
        return ", ".join(
            f'<a class="cite" href="#{source_id(turn, n)}" '
            f'title="{html.escape(passages[n])}">[{n}]</a>'
            for n in numbers
        )

    return MARKER.sub(link, text_html(text))


def timings_html(timings_ms: Mapping[str, float], lang: str = "en") -> str:
    """'retrieve 12 ms · generate 800 ms · total 830 ms' in a muted line.

    >>> timings_html({"retrieve": 12.4, "generate": 800, "total": 830.2})
    '<div class="meta timings">retrieve 12 ms · generate 800 ms · total 830 ms</div>'
    """
    steps = [
        f"{t(lang, name)} {timings_ms[name]:.0f} ms" for name in TIMING_STEPS if name in timings_ms
    ]
    return f'<div class="meta timings">{" · ".join(steps)}</div>'


def markers_of(citations: Iterable[Citation]) -> dict[int, str]:
    """Marker -> passage id of the verified citations."""
    return {c.marker: c.passage_id for c in citations}


def _doc_name(documents: Mapping[str, Document], doc_id: str) -> str:
    doc = documents.get(doc_id)
    return doc.name if doc else doc_id


def _icon(kind: str, glyph: str) -> str:
    """A glyph every font has, drawn in a circle by CSS (emoji glyphs may be missing)."""
    return f'<span class="icon {kind}">{glyph}</span>'


# -- chat messages ----------------------------------------------------------------------------
def answer_body(answer: Answer, turn: int, lang: str) -> list[str]:
    """The answer or refusal, with its warnings and notes."""
    if answer.abstained:
        parts = [
            f'<div class="refusal">{_icon("info", "i")}<span class="refusal-label">'
            f"{t(lang, 'refusal')}</span> {text_html(answer.answer)}</div>"
        ]
    else:
        linked = linked_answer(answer.answer, markers_of(answer.citations), turn)
        parts = [f'<div class="answer-text">{linked}</div>']
    if answer.fallback:
        parts.append(
            f'<div class="warning">{_icon("warn", "!")} {text_html(answer.fallback)}</div>'
        )
    if not answer.abstained and not answer.citations:
        parts.append(f'<div class="warning">{_icon("warn", "!")} {t(lang, "no_support")}</div>')
    if answer.language_note:
        parts.append(f'<div class="meta note">{text_html(answer.language_note)}</div>')
    return parts


def _details(turn: Turn, view: View, documents: Mapping[str, Document]) -> list[str]:
    """The muted lines under an answer: rewritten question, restriction, timings."""
    parts = []
    if view.show_rewritten and turn.standalone:
        rewritten = t(view.lang, "rewritten", q=turn.standalone)
        parts.append(f'<div class="meta rewritten">{text_html(rewritten)}</div>')
    if turn.doc_id:
        only = t(view.lang, "restricted_to", name=_doc_name(documents, turn.doc_id))
        parts.append(f'<div class="meta restricted">{text_html(only)}</div>')
    if turn.answer is not None:
        parts.append(timings_html(turn.answer.timings_ms, view.lang))
    return parts


def copy_text(turn: Turn, documents: Mapping[str, Document], lang: str = "en") -> list[str]:
    """An answer as plain text lines: the text, then its sources ("[1] name, paragraph 3: …")."""
    if turn.state == FAILED:
        return [t(lang, "failed", error=turn.error)]
    answer = turn.answer
    lines = [answer.answer if answer else turn.partial.strip()]
    if turn.state == STOPPED:
        lines.append(t(lang, "copy_stopped"))
    hits = {h.passage.id: h.passage for h in (answer.hits if answer else turn.hits)}
    citations = sorted(answer.citations, key=lambda c: c.marker) if answer else []
    if citations:
        lines.append(t(lang, "copy_sources"))
    for c in citations:
        where = _doc_name(documents, c.doc_id)
        if c.passage_id in hits:
            where += f", {t(lang, 'paragraph')} {hits[c.passage_id].paragraph}"
        lines.append(f"[{c.marker}] {where}: “{c.text}”")
    return lines


def tools_html(turn: Turn, n: int, documents: Mapping[str, Document], lang: str) -> str:
    """Copy (plain text with citations) and Regenerate, with the text to copy kept hidden."""
    lines = "".join(
        f'<span class="line">{html.escape(line)}</span>'
        for line in copy_text(turn, documents, lang)
    )
    return (
        f'<div class="tools"><button type="button" class="copy-answer">{t(lang, "copy")}</button>'
        f'<button type="button" class="regen turn-{n}">{t(lang, "regenerate")}</button>'
        f"{rate_buttons(turn, n, lang)}</div>"
        f'<div class="copy-text">{lines}</div>'
    )


def rate_buttons(turn: Turn, n: int, lang: str) -> str:
    """Helpful / Not helpful on a finished answer (ui.feedback records the click)."""
    if turn.answer is None:
        return ""
    return "".join(
        f'<button type="button" class="rate {kind} turn-{n}" aria-pressed="false">'
        f"{t(lang, key)}</button>"
        for kind, key in (("up", "helpful"), ("down", "not_helpful"))
    )


def turn_html(turn: Turn, n: int, view: View, documents: Mapping[str, Document]) -> str:
    """The assistant message of turn n (1-based), whatever state the turn is in."""
    lang = view.lang
    if turn.state == DONE and turn.answer is not None:
        parts = answer_body(turn.answer, n, lang)
    elif turn.state == STOPPED:
        parts = [
            f'<div class="answer-text">{text_html(turn.partial.strip())}</div>',
            f'<div class="stopped">{_icon("stop", "■")} {t(lang, "stopped")}</div>',
        ]
    elif turn.state == FAILED:
        failed = t(lang, "failed", error=turn.error)
        parts = [f'<div class="warning">{_icon("warn", "!")} {text_html(failed)}</div>']
    else:
        if turn.partial.strip():
            shown = text_html(turn.partial)
        elif turn.ahead >= 0:
            shown = t(lang, "waiting_model", n=turn.ahead)
        else:
            shown = t(lang, "searching")
        return f'<div class="answer streaming">{shown}<span class="cursor">▌</span></div>'
    parts += _details(turn, view, documents)
    parts.append(tools_html(turn, n, documents, lang))
    return f'<div class="answer {turn.state}">{"".join(parts)}</div>'


def question_html(question: str, waiting_note: str = "") -> str:
    """A user message, shown exactly as typed (with a note while it waits its turn)."""
    note = f'<div class="meta waiting">{html.escape(waiting_note)}</div>' if waiting_note else ""
    return f'<div class="question">{text_html(question)}</div>{note}'


def gradio_messages(
    turns: Sequence[Turn], view: View = View(), documents: Mapping[str, Document] | None = None
) -> list[dict]:
    """The chatbot's value: a user and (unless it waits) an assistant message per turn."""
    documents = documents or {}
    messages: list[dict] = []
    for n, turn in enumerate(turns, start=1):
        note = t(view.lang, "waiting") if turn.state == WAITING else ""
        messages.append({"role": "user", "content": question_html(turn.question, note)})
        if turn.state != WAITING:
            content = turn_html(turn, n, view, documents)
            messages.append({"role": "assistant", "content": content})
    return messages


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
    head = (
        f"{labels}{_doc_name(documents, p.doc_id)} · {t(lang, 'paragraph')} {p.paragraph} · "
        f"{t(lang, 'score')} {hit.score:.4f} · {p.id}"
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
    text = t(lang, "restriction_banner", name=_doc_name(documents, restricted))
    return f'<div class="restriction">{_icon("info", "i")} {html.escape(text)}</div>'


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
    icon = _icon(kind, STATUS_GLYPHS[kind])
    return f'<div class="status {kind}" role="{role}">{icon} {text_html(message)}</div>'


def backend_html(backend: str, embed_model: str, lang: str = "en") -> str:
    """The active models, as shown in the settings."""
    return (
        f'<div class="models"><span class="meta">{t(lang, "models")}</span><br>'
        f"{t(lang, 'llm')}: <code>{html.escape(backend)}</code><br>"
        f"{t(lang, 'embeddings')}: <code>{html.escape(embed_model)}</code></div>"
    )
