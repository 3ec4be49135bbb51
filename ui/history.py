"""Conversations kept by the browser: they survive a reload and a server restart.

What it does: after every answer the session's finished turns (the ``ask`` objects, their
passages and citations included) are written into a ``gr.BrowserState``, that is the
browser's localStorage, under the current conversation; on load the current one comes
back with its sources and highlights. "Past conversations" lists them (newest first, at
most ``MAX_CONVERSATIONS``); picking one restores it, "Delete conversation" removes it, and
"New conversation" starts another. The stored value is encrypted with a key that stays
the same across restarts, so it can be read again.

What it does not do: keep anyone's conversations on the server, or restore
a turn that was still being answered when the page went away.

>>> store = save_turns(empty_store(), [Turn("Apa?", STOPPED, partial="Ada")], now=1.0)
>>> [c["title"] for c in store["conversations"]], restore(store).turns[0].partial
(['Apa?'], 'Ada')
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.values import Answer, Citation, Hit, Passage
from ui import export
from ui.actions import SKIP, Actions
from ui.conversation import DONE, FAILED, STOPPED, Conversation, Turn
from ui.export import title_of
from ui.i18n import DEFAULT, DETECT_JS, Labels, t

STORAGE_KEY = "rag-conversations"
MAX_CONVERSATIONS = 30
KEPT = (DONE, STOPPED, FAILED)


def empty_store() -> dict[str, Any]:
    return {"version": 1, "current": "", "conversations": []}


def browser_secret(index_dir: Path | str) -> str:
    """The key the browser's copy is encrypted with: the same after a restart.

    Gradio hands this key to the page that decrypts the copy, so it hides nothing from
    that browser; it only has to be stable, hence derived from the index's folder.
    """
    folder = str(Path(index_dir).expanduser().resolve())
    return hashlib.sha256(f"{STORAGE_KEY}:{folder}".encode()).hexdigest()[:32]


# -- turns <-> JSON -----------------------------------------------------------------------------
def hit_from_json(d: dict) -> Hit:
    passage = Passage(
        d["id"], d["doc_id"], d["paragraph"], d["start"], d["end"], d["text"], d.get("page")
    )
    return Hit(passage, d["score"], d["rank"])


def answer_from_json(d: dict) -> Answer:
    """The inverse of Answer.to_json (the stored copy leaves out the raw model output)."""
    citations = tuple(
        Citation(
            c["marker"],
            c["passage_id"],
            c["doc_id"],
            c["start"],
            c["end"],
            c["text"],
            c.get("support", 0.0),
            c.get("page"),
        )
        for c in d["citations"]
    )
    return Answer(
        question=d["question"],
        standalone_question=d["standalone_question"],
        language=d["language"],
        answer=d["answer"],
        abstained=d["abstained"],
        citations=citations,
        hits=tuple(hit_from_json(h) for h in d["passages"]),
        backend=d.get("backend", ""),
        timings_ms=dict(d.get("timings_ms", {})),
        language_note=d.get("language_note", ""),
        fallback=d.get("fallback", ""),
        route=d.get("route", "passages"),
        profile=d.get("profile", ""),
    )


def turn_to_json(turn: Turn) -> dict[str, Any]:
    answer = turn.answer.to_json() if turn.answer is not None else None
    if answer is not None:
        answer.pop("raw_answer", None)
        answer.pop("signals", None)
    return {
        "question": turn.question,
        "state": turn.state,
        "partial": turn.partial if turn.answer is None else "",
        "hits": [h.to_json() for h in turn.hits] if turn.answer is None else [],
        "standalone": turn.standalone,
        "doc_id": turn.doc_id,
        "answer": answer,
        "error": turn.error,
    }


def turn_from_json(d: dict) -> Turn:
    answer = answer_from_json(d["answer"]) if d.get("answer") else None
    hits = answer.hits if answer else tuple(hit_from_json(h) for h in d.get("hits", []))
    state = d["state"] if d.get("state") in KEPT else STOPPED
    partial, standalone, error = d.get("partial", ""), d.get("standalone", ""), d.get("error", "")
    return Turn(d["question"], state, partial, hits, standalone, d.get("doc_id"), answer, error)


# -- the browser's store ------------------------------------------------------------------------
def checked_store(store: Any) -> dict[str, Any]:
    """The browser's value, or an empty store when it is missing or not ours."""
    if not isinstance(store, dict) or not isinstance(store.get("conversations"), list):
        return empty_store()
    return store


def save_turns(store: Any, turns: Sequence[Turn], now: float | None = None) -> dict[str, Any]:
    """The store with the current conversation's finished turns (a new one if none is)."""
    store = checked_store(store)
    kept = [turn_to_json(turn) for turn in turns if turn.state in KEPT]
    if not kept:
        return store
    current = store.get("current") or uuid.uuid4().hex[:12]
    entry = {
        "id": current,
        "title": title_of(turns),
        "updated": now if now is not None else time.time(),
        "turns": kept,
    }
    others = [c for c in store["conversations"] if c.get("id") != current]
    conversations = [entry, *others][:MAX_CONVERSATIONS]
    return {**store, "current": current, "conversations": conversations}


def find(store: Any, conversation_id: str | None) -> dict[str, Any] | None:
    store = checked_store(store)
    return next((c for c in store["conversations"] if c.get("id") == conversation_id), None)


def restore(store: Any, conversation_id: str | None = None) -> Conversation:
    """A conversation of the store (the current one by default) as the session's state.

    A stored turn that cannot be read (an older or damaged copy) is left out.
    """
    entry = find(store, conversation_id or checked_store(store).get("current"))
    turns = []
    for d in (entry or {}).get("turns", []):
        try:
            turns.append(turn_from_json(d))
        except (KeyError, TypeError, ValueError):
            continue
    return Conversation(turns=turns)


def delete(store: Any, conversation_id: str | None) -> dict[str, Any]:
    """The store without that conversation; deleting the current one starts a new one."""
    store = checked_store(store)
    left = [c for c in store["conversations"] if c.get("id") != conversation_id]
    current = "" if store.get("current") == conversation_id else store.get("current", "")
    return {**store, "current": current, "conversations": left}


def choices(store: Any) -> list[tuple[str, str]]:
    """(label, id) of the stored conversations, newest first: title and date."""
    out = []
    for c in checked_store(store)["conversations"]:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.get("updated", 0)))
        out.append((f"{c.get('title') or '…'} · {when}", c.get("id", "")))
    return out


# -- in the app -------------------------------------------------------------------------------
@dataclass
class HistoryParts:
    """The browser's copy, the list of past conversations and the download buttons."""

    store: gr.BrowserState
    past: gr.Dropdown
    delete: gr.Button
    markdown: gr.DownloadButton
    json: gr.DownloadButton


def layout(labels: Labels, index_dir: Path | str) -> HistoryParts:
    """Downloads of the conversation, then the past conversations and Delete."""
    store = gr.BrowserState(
        empty_store(), storage_key=STORAGE_KEY, secret=browser_secret(index_dir)
    )
    with gr.Row(elem_id="export-row"):
        hidden = {"size": "sm", "visible": False}
        markdown = labels.make(
            gr.DownloadButton, {"label": "download_md"}, elem_id="download-md", **hidden
        )
        json = labels.make(
            gr.DownloadButton, {"label": "download_json"}, elem_id="download-json", **hidden
        )
    with gr.Row(equal_height=True, elem_id="history-row"):
        past = gr.Dropdown(
            [], value=None, label=t(DEFAULT, "conversations"), elem_id="past", scale=3
        )
        delete = labels.make(
            gr.Button, {"value": "conversation_delete"}, size="sm", elem_id="delete-conv", scale=1
        )
    return HistoryParts(store, past, delete, markdown, json)


class Keeper:
    """Saves the session's conversation into the browser and brings conversations back."""

    def __init__(self, actions: Actions):
        self.actions = actions

    def _files(self, conv: Conversation, lang: str) -> tuple[Any, Any]:
        md, js = export.write_files(conv.turns, self.actions.documents, lang)
        return (
            gr.DownloadButton(value=md, visible=md is not None),
            gr.DownloadButton(value=js, visible=js is not None),
        )

    def _past(self, store: dict, lang: str) -> Any:
        current = store.get("current") or None
        return gr.Dropdown(choices=choices(store), value=current, label=t(lang, "conversations"))

    def keep(self, conv: Conversation, store: Any, lang: str) -> tuple:
        """After answers: (store, past conversations, Markdown file, JSON file)."""
        store = save_turns(store, conv.turns)
        return store, self._past(store, lang), *self._files(conv, lang)

    def open(
        self,
        conversation_id: str | None,
        conv: Conversation,
        store: Any,
        show_rewritten: bool,
        whole_article: bool,
        lang: str,
    ) -> tuple:
        """Show a stored conversation: (store, past, chat, sources, Markdown, JSON).

        Refused while an answer is written (the list is changed back).
        """
        store = checked_store(store)
        if conv.busy or find(store, conversation_id) is None:
            return store, self._past(store, lang), SKIP, SKIP, SKIP, SKIP
        conv.turns[:] = restore(store, conversation_id).turns
        store = {**store, "current": conversation_id}
        chat, sources = self.actions.rerender(conv, show_rewritten, whole_article, lang)
        return store, self._past(store, lang), chat, sources, *self._files(conv, lang)

    def on_load(
        self, lang: str, store: Any, conv: Conversation, show_rewritten: bool, whole_article: bool
    ) -> tuple:
        """The page (re)loaded: the current conversation comes back."""
        store = checked_store(store)
        return self.open(store.get("current"), conv, store, show_rewritten, whole_article, lang)

    def forget(
        self,
        conversation_id: str | None,
        conv: Conversation,
        store: Any,
        show_rewritten: bool,
        whole_article: bool,
        lang: str,
    ) -> tuple:
        """Delete the chosen conversation; the chat empties if it was the one shown."""
        store = checked_store(store)
        if conv.busy or not conversation_id:
            return store, self._past(store, lang), SKIP, SKIP, SKIP, SKIP
        if conversation_id == store.get("current"):
            conv.turns.clear()
        store = delete(store, conversation_id)
        chat, sources = self.actions.rerender(conv, show_rewritten, whole_article, lang)
        return store, self._past(store, lang), chat, sources, *self._files(conv, lang)

    def new_chat(self, conv: Conversation, store: Any, lang: str) -> tuple:
        """New conversation: the one shown stays in the list; the next answer starts another."""
        store = checked_store(store)
        if conv.busy:
            return store, SKIP, SKIP, SKIP
        store = {**store, "current": ""}
        return store, self._past(store, lang), *self._files(conv, lang)


def wire(
    h: HistoryParts,
    keeper: Keeper,
    app: gr.Blocks,
    answered: Any,
    conv: gr.State,
    view: list,
    shown: list,
    clear: gr.Button,
    ui_lang: gr.Radio,
) -> None:
    """view: [show_rewritten, whole_article]; shown: [chat, sources]; answered: the answer
    runner's event, after which the conversation is saved."""
    private = {"api_visibility": "private", "show_progress": "hidden"}
    files = [h.markdown, h.json]
    answered.then(keeper.keep, [conv, h.store, ui_lang], [h.store, h.past, *files], **private)
    opened = [h.store, h.past, *shown, *files]
    app.load(keeper.on_load, [ui_lang, h.store, conv, *view], opened, js=DETECT_JS, **private)
    h.past.input(keeper.open, [h.past, conv, h.store, *view, ui_lang], opened, **private)
    h.delete.click(keeper.forget, [h.past, conv, h.store, *view, ui_lang], opened, **private)
    clear.click(keeper.new_chat, [conv, h.store, ui_lang], [h.store, h.past, *files], **private)
