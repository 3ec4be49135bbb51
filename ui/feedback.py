"""Thumbs up or down, and an optional note, on each answer of the chat.

What it does: each answer carries "Helpful" and "Not helpful" buttons (drawn by
``ui.render``); a click hands the turn and the rating to a hidden button (the browser
script below), which appends the rating to ``feedback.jsonl`` beside the index
(``rag.feedback``) and opens a box for an optional note; saving the note rewrites that
record. ``rag feedback export`` turns the disliked answers into evaluation records.

What it does not do: send anything off this machine, or change the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag import feedback
from rag.errors import InputError
from ui import cards
from ui.conversation import Conversation
from ui.i18n import Labels, t

# A rating button (see render.tools_html) marks itself pressed and clicks the hidden one.
SCRIPT = """<script>
document.addEventListener('click', (event) => {
  const button = event.target.closest('#chat .rate');
  if (!button) return;
  for (const b of button.parentElement.querySelectorAll('.rate')) {
    b.setAttribute('aria-pressed', String(b === button));
  }
  window.__ragFeedback = {
    turn: Number(button.className.match(/turn-(\\d+)/)[1]),
    rating: button.classList.contains('up') ? 'up' : 'down',
  };
  document.querySelector('#feedback-go').click();
});
</script>"""
RATE_JS = """(turn, rating, ...rest) => {
  const chosen = window.__ragFeedback || {};
  return [chosen.turn ?? turn, chosen.rating ?? rating, ...rest];
}"""


@dataclass
class FeedbackParts:
    """The hidden hand-over from the rating buttons and the note box."""

    turn: gr.Number
    rating: gr.Textbox
    go: gr.Button
    record: gr.State
    box: gr.Column
    status: gr.HTML
    note: gr.Textbox
    save: gr.Button


def layout(labels: Labels) -> FeedbackParts:
    """The note box (shown after a rating) and the hidden components the script uses."""
    turn = gr.Number(visible="hidden", elem_id="feedback-turn")
    rating = gr.Textbox(visible="hidden", elem_id="feedback-rating")
    go = gr.Button("rate", visible="hidden", elem_id="feedback-go")
    record = gr.State(None)
    with gr.Column(visible=False, elem_id="feedback-box") as box:
        status = gr.HTML("", elem_id="feedback-status", js_on_load=None)
        with gr.Row(equal_height=True):
            note = labels.make(
                gr.Textbox,
                {"label": "feedback_note", "placeholder": "feedback_note_hint"},
                elem_id="feedback-note",
                scale=4,
                max_lines=3,
            )
            save = labels.make(
                gr.Button, {"value": "feedback_save"}, size="sm", elem_id="feedback-save", scale=1
            )
    return FeedbackParts(turn, rating, go, record, box, status, note, save)


class Ratings:
    """Records ratings of one app's answers in the feedback file of its index."""

    def __init__(self, index_dir: Any):
        self.path = feedback.feedback_path(index_dir)

    def rate(
        self, turn_number: float | None, rating: str, conv: Conversation, lang: str
    ) -> tuple[Any, str, dict | None, str]:
        """Record a rating of turn n (1-based): (note box, message, record, note)."""
        index = int(turn_number or 0) - 1
        turn = conv.turns[index] if 0 <= index < len(conv.turns) else None
        if turn is None or turn.answer is None:
            message = cards.status_html(t(lang, "feedback_none"), "error")
            return gr.Column(visible=True), message, None, ""
        try:
            record = feedback.new_record(turn.answer, rating, turn.doc_id)
        except InputError as exc:
            return gr.Column(visible=True), cards.status_html(str(exc), "error"), None, ""
        feedback.append(self.path, record)
        key = "feedback_saved_up" if rating == "up" else "feedback_saved_down"
        return gr.Column(visible=True), cards.status_html(t(lang, key, n=index + 1)), record, ""

    def save_note(self, note: str, record: dict | None, lang: str) -> tuple[str, dict | None]:
        """Add the note to the last rating: (message, record)."""
        if record is None:
            return cards.status_html(t(lang, "feedback_none"), "error"), None
        note = (note or "").strip()
        if len(note) > feedback.MAX_NOTE_CHARS:
            message = t(lang, "too_long", n=len(note), limit=feedback.MAX_NOTE_CHARS)
            return cards.status_html(message, "error"), record
        updated = {**record, "note": note}
        feedback.append(self.path, updated)
        return cards.status_html(t(lang, "feedback_noted")), updated


def wire(parts: FeedbackParts, ratings: Ratings, conv: gr.State, ui_lang: gr.Radio) -> None:
    """A rating is recorded at once; the note, when given, is added to it."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    parts.go.click(
        ratings.rate,
        [parts.turn, parts.rating, conv, ui_lang],
        [parts.box, parts.status, parts.record, parts.note],
        js=RATE_JS,
        concurrency_limit=None,
        **private,
    )
    save = (ratings.save_note, [parts.note, parts.record, ui_lang], [parts.status, parts.record])
    parts.save.click(*save, concurrency_limit=None, **private)
    parts.note.submit(*save, concurrency_limit=None, **private)


CSS = """
.answer .tools .rate[aria-pressed=true] { background: var(--ra-info-bg);
  color: var(--ra-info-fg); font-weight: 600; }
#feedback-status:not(:has(.status)) { display: none; }
"""
