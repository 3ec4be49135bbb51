"""Pure functions that turn turns, passages and articles into HTML for the Gradio app.

What it does: escapes every piece of text that comes from a user, an article or the model
(``html.escape``) and only then adds the app's own markup: linked citation markers, the
refusal, warning and "stopped" boxes, per-step timings, each answer's copy and regenerate
buttons; the helpers ``ui.sources`` (the sources panel) and ``ui.cards`` (the article
card, the list of articles, status lines) share. The app's own words come from ``ui.i18n``
in the interface language.

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
from rag.values import Answer, Citation, Document
from ui.conversation import DONE, FAILED, STOPPED, WAITING, Turn
from ui.i18n import t

# "[2]" or "[1, 3]" as written by rag.answer.cite (after escaping, brackets and digits are intact).
TIMING_STEPS = ("retrieve", "generate", "total")


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


def doc_name(documents: Mapping[str, Document], doc_id: str) -> str:
    doc = documents.get(doc_id)
    return doc.name if doc else doc_id


def icon(kind: str, glyph: str) -> str:
    """A glyph every font has, drawn in a circle by CSS (emoji glyphs may be missing)."""
    return f'<span class="icon {kind}">{glyph}</span>'


# -- chat messages ----------------------------------------------------------------------------
def answer_body(answer: Answer, turn: int, lang: str) -> list[str]:
    """The answer or refusal, with its warnings and notes."""
    if answer.abstained:
        parts = [
            f'<div class="refusal">{icon("info", "i")}<span class="refusal-label">'
            f"{t(lang, 'refusal')}</span> {text_html(answer.answer)}</div>"
        ]
    else:
        linked = linked_answer(answer.answer, markers_of(answer.citations), turn)
        parts = [f'<div class="answer-text">{linked}</div>']
    if answer.fallback:
        parts.append(f'<div class="warning">{icon("warn", "!")} {text_html(answer.fallback)}</div>')
    if not answer.abstained and not answer.citations:
        parts.append(f'<div class="warning">{icon("warn", "!")} {t(lang, "no_support")}</div>')
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
        only = t(view.lang, "restricted_to", name=doc_name(documents, turn.doc_id))
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
        where = doc_name(documents, c.doc_id)
        if c.page:
            where += f", {t(lang, 'page')} {c.page}"
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
            f'<div class="stopped">{icon("stop", "■")} {t(lang, "stopped")}</div>',
        ]
    elif turn.state == FAILED:
        failed = t(lang, "failed", error=turn.error)
        parts = [f'<div class="warning">{icon("warn", "!")} {text_html(failed)}</div>']
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
