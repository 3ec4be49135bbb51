"""Pure functions that turn answers, passages and articles into HTML for the Gradio app.

What it does: escapes every piece of text that comes from a user, an article or the model
(``html.escape``) and only then adds the app's own markup: linked citation markers, the
refusal and warning boxes, per-step timings, passages with the cited span in ``<mark>``,
the whole article with every cited span highlighted in place, the list of articles.

What it does not do: call the pipeline, import Gradio or keep state. Every function takes
values and returns a string, so it can be tested without a browser.

>>> linked_answer("Ada <b>lima</b> produk [3].", {3: "jack-ma-bali#3"}, turn=1)
'Ada &lt;b&gt;lima&lt;/b&gt; produk <a class="cite" href="#src-1-3" title="jack-ma-bali#3">[3]</a>.'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rag.types import Answer, Citation, Document, Hit

# "[2]" or "[1, 3]" as written by rag.cite (after escaping, brackets and digits are intact).
MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
TIMING_STEPS = ("retrieve", "generate", "total")


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
        numbers = [int(n) for n in match.group(1).split(",")]
        if not all(n in passages for n in numbers):
            return match.group(0)
        return ", ".join(
            f'<a class="cite" href="#{source_id(turn, n)}" '
            f'title="{html.escape(passages[n])}">[{n}]</a>'
            for n in numbers
        )

    return MARKER.sub(link, text_html(text))


def timings_html(timings_ms: Mapping[str, float]) -> str:
    """'retrieve 12 ms · generate 800 ms · total 830 ms' in a muted line.

    >>> timings_html({"retrieve": 12.4, "generate": 800, "total": 830.2})
    '<div class="timings">retrieve 12 ms · generate 800 ms · total 830 ms</div>'
    """
    steps = [f"{name} {timings_ms[name]:.0f} ms" for name in TIMING_STEPS if name in timings_ms]
    return f'<div class="timings">{" · ".join(steps)}</div>'


def markers_of(citations: Iterable[Citation]) -> dict[int, str]:
    """Marker -> passage id of the verified citations."""
    return {c.marker: c.passage_id for c in citations}


def answer_html(answer: Answer, turn: int, show_rewritten: bool = False) -> str:
    """One assistant message: the answer (or refusal), warnings, notes and timings."""
    if answer.abstained:
        body = f'<div class="refusal"><span class="icon">ⓘ</span> {text_html(answer.answer)}</div>'
    else:
        linked = linked_answer(answer.answer, markers_of(answer.citations), turn)
        body = f'<div class="answer-text">{linked}</div>'
    parts = [body]
    if answer.fallback:
        parts.append(f'<div class="warning">⚠ {text_html(answer.fallback)}</div>')
    if not answer.abstained and not answer.citations:
        parts.append(
            '<div class="warning">⚠ No sentence of the articles supports this '
            "answer: check it before relying on it.</div>"
        )
    if answer.language_note:
        parts.append(f'<div class="note">{text_html(answer.language_note)}</div>')
    if show_rewritten:
        parts.append(
            '<div class="rewritten">Rewritten question: '
            f"{text_html(answer.standalone_question)}</div>"
        )
    parts.append(timings_html(answer.timings_ms))
    return f'<div class="answer">{"".join(parts)}</div>'


def question_html(question: str) -> str:
    """A user message, shown exactly as typed."""
    return f'<div class="question">{text_html(question)}</div>'


def streaming_html(partial: str) -> str:
    """The answer while tokens arrive (before citations are verified)."""
    shown = text_html(partial) if partial.strip() else "Searching the articles…"
    return f'<div class="answer streaming">{shown}<span class="cursor">▌</span></div>'


def chat_messages(answers: Sequence[Answer], show_rewritten: bool = False) -> list[dict]:
    """The chatbot's value: a user and an assistant message per answered question."""
    messages: list[dict] = []
    for turn, answer in enumerate(answers, start=1):
        messages.append({"role": "user", "content": question_html(answer.question)})
        messages.append({"role": "assistant", "content": answer_html(answer, turn, show_rewritten)})
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


def _doc_name(documents: Mapping[str, Document], doc_id: str) -> str:
    doc = documents.get(doc_id)
    return doc.name if doc else doc_id


def _passage_html(
    hit: Hit, citations: Sequence[Citation], documents: Mapping[str, Document], element_id: str = ""
) -> str:
    """One passage with its header (marker, article, paragraph, score) and cited spans."""
    p = hit.passage
    marker = f"[{citations[0].marker}] " if citations else ""
    head = (
        f"{marker}{_doc_name(documents, p.doc_id)} · paragraph {p.paragraph} · "
        f"score {hit.score:.4f} · {p.id}"
    )
    attrs = f' id="{html.escape(element_id)}"' if element_id else ""
    body = highlight(p.text, citation_spans(citations), offset=p.start)
    return (
        f'<div class="source"{attrs}><div class="source-head">{html.escape(head)}</div>'
        f'<div class="passage">{body}</div></div>'
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
        f'<div class="article"><div class="source-head">{html.escape(doc.name)}</div>'
        f'<div class="passage">{highlight(doc.text, citation_spans(citations))}</div></div>'
    )


def sources_html(
    answer: Answer | None, documents: Mapping[str, Document], turn: int, whole_article: bool = False
) -> str:
    """The sources panel for an answer: cited passages, the rest, optionally the articles."""
    if answer is None:
        return '<div class="sources empty">Ask a question: its sources appear here.</div>'
    cited = cited_hits(answer)
    parts = (
        ["<h4>Cited passages</h4>"]
        if cited
        else ['<div class="note">No passage is cited for this answer.</div>']
    )
    parts += [_passage_html(h, cs, documents, source_id(turn, cs[0].marker)) for h, cs in cited]
    others = [h for h in answer.hits if h.passage.id not in {h.passage.id for h, _ in cited}]
    if others:
        rest = "".join(_passage_html(h, [], documents) for h in others)
        parts.append(
            f"<details><summary>Other retrieved passages ({len(others)})</summary>{rest}</details>"
        )
    if whole_article:
        parts += _articles_part(answer, documents)
    return f'<div class="sources">{"".join(parts)}</div>'


def _articles_part(answer: Answer, documents: Mapping[str, Document]) -> list[str]:
    """The articles behind an answer (cited ones, else the top hit's), highlighted."""
    doc_ids = list(dict.fromkeys(c.doc_id for c in answer.citations))
    if not doc_ids and answer.hits:
        doc_ids = [answer.hits[0].passage.doc_id]
    parts = ["<h4>Whole article</h4>"]
    for doc_id in doc_ids:
        if doc_id in documents:
            mine = [c for c in answer.citations if c.doc_id == doc_id]
            parts.append(article_html(documents[doc_id], mine))
    return parts


def retrieved_html(hits: Sequence[Hit], documents: Mapping[str, Document]) -> str:
    """The sources panel while the answer is being written: the passages found so far."""
    rows = "".join(_passage_html(h, [], documents) for h in hits)
    return f'<div class="sources"><h4>Retrieved passages (answer in progress)</h4>{rows}</div>'


# -- articles tab -------------------------------------------------------------------------
def articles_html(documents: Sequence[Document], passages: Mapping[str, int]) -> str:
    """A table of the indexed articles: id, name, language and passage count."""
    rows = "".join(
        f"<tr><td>{html.escape(d.doc_id)}</td><td>{html.escape(d.name)}</td>"
        f"<td>{html.escape(d.language or '?')}</td><td>{passages.get(d.doc_id, 0)}</td></tr>"
        for d in documents
    )
    return (
        '<table class="articles"><thead><tr><th>id</th><th>name</th><th>language</th>'
        f"<th>passages</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def status_html(message: str, ok: bool = True) -> str:
    """A one-line status message (success or error), escaped."""
    kind = "ok" if ok else "error"
    icon = "✓" if ok else "✗"
    return f'<div class="status {kind}">{icon} {text_html(message)}</div>'


def backend_html(backend: str, embed_model: str) -> str:
    """The active models, as shown under the controls."""
    return (
        f'<div class="models">LLM: <code>{html.escape(backend)}</code><br>'
        f"Embeddings: <code>{html.escape(embed_model)}</code></div>"
    )


CSS = """
.answer .refusal { font-style: italic; color: var(--body-text-color-subdued);
  background: var(--background-fill-secondary); border-left: 3px solid #8a8a8a;
  padding: 6px 10px; border-radius: 4px; }
.answer .refusal .icon { font-style: normal; font-weight: bold; }
.answer .warning { color: #8a5300; background: #fff4e0; border-left: 3px solid #e69500;
  padding: 4px 8px; margin-top: 6px; border-radius: 4px; font-size: 0.9em; }
.answer .note, .answer .rewritten { color: var(--body-text-color-subdued); font-size: 0.85em;
  margin-top: 4px; }
.answer .timings { color: var(--body-text-color-subdued); font-size: 0.75em; margin-top: 6px; }
.answer a.cite { text-decoration: none; font-weight: bold; }
.answer.streaming .cursor { opacity: 0.5; }
.sources .source, .sources .article { border: 1px solid var(--border-color-primary);
  border-radius: 6px; padding: 6px 10px; margin: 6px 0; }
.sources .source-head { font-size: 0.8em; color: var(--body-text-color-subdued); }
.sources .passage { white-space: pre-wrap; }
.sources .article .passage { max-height: 28em; overflow-y: auto; }
.sources mark { background: #ffe066; color: inherit; padding: 0 1px; }
.status.ok { color: #1d7a33; } .status.error { color: #b3261e; }
table.articles td, table.articles th { padding: 2px 8px; text-align: left; }
"""
