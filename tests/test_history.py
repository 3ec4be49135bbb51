"""Conversations kept in the browser: turns to JSON and back (sources and highlights
intact), the store's list, switching, deleting and starting a new conversation, over the
fake pipeline of test_ui."""

from __future__ import annotations

import json

import gradio as gr

from tests.test_ui import DOC, FakePipeline, answer, done
from ui import history, render, sources
from ui.actions import SKIP, Actions
from ui.app import build_app
from ui.conversation import DONE, STOPPED, Conversation, Turn
from ui.render import View


def round_trip(turn: Turn) -> Turn:
    return history.turn_from_json(json.loads(json.dumps(history.turn_to_json(turn))))


def test_a_restored_answer_shows_the_same_sources_and_highlights():
    turn = done(doc_id="berita")
    back = round_trip(turn)
    assert back.answer.citations == turn.answer.citations and back.answer.hits == turn.answer.hits
    assert back.doc_id == "berita" and back.state == DONE
    docs, view = {DOC.doc_id: DOC}, View(whole_article=True)
    assert sources.sources_html([back], docs, view) == sources.sources_html([turn], docs, view)
    assert render.gradio_messages([back], view, docs) == render.gradio_messages([turn], view, docs)
    assert round_trip(Turn("Apa?", STOPPED, partial="Ada", hits=answer().hits)).hits


def test_the_store_keeps_conversations_newest_first_and_caps_them():
    store = history.empty_store()
    for i in range(history.MAX_CONVERSATIONS + 2):
        store = history.save_turns({**store, "current": ""}, [done()], now=float(i))
    assert len(store["conversations"]) == history.MAX_CONVERSATIONS
    assert store["conversations"][0]["updated"] == history.MAX_CONVERSATIONS + 1
    assert history.checked_store("not ours") == history.empty_store()
    damaged = {**store, "conversations": [{"id": store["current"], "turns": [{"x": 1}]}]}
    assert history.restore(damaged).turns == []  # an unreadable turn is left out


def test_switching_deleting_and_new_conversations():
    keeper = history.Keeper(Actions(FakePipeline()))
    conv = Conversation(turns=[done()])
    store, past, md, js = keeper.keep(conv, None, "en")
    first = store["current"]
    assert past.value == first and md.visible and js.visible
    store, *_ = keeper.new_chat(conv, store, "en")
    assert store["current"] == ""
    conv.turns[:] = [Turn("Lalu?", STOPPED, partial="Ia")]
    store, *_ = keeper.keep(conv, store, "en")
    second = store["current"]
    assert second != first and [c[1] for c in history.choices(store)] == [second, first]

    store, past, chat, sources, *_ = keeper.open(first, conv, store, False, False, "en")
    assert store["current"] == first and conv.turns[0].answer == answer()
    assert 'id="src-1-1"' in sources and "[1]</a>" in chat[-1]["content"]
    store, past, chat, *_ = keeper.forget(first, conv, store, False, False, "en")
    assert conv.turns == [] and [c[1] for c in history.choices(store)] == [second]
    assert store["current"] == ""
    on_load = keeper.on_load("en", {**store, "current": second}, conv, False, False)
    assert conv.turns[0].partial == "Ia" and on_load[2] is not SKIP
    conv.busy = True  # while an answer is written, nothing is switched
    assert keeper.open(first, conv, store, False, False, "en")[2] is SKIP


def test_the_app_keeps_conversations_in_the_browser_under_a_stable_key():
    fake = FakePipeline()
    blocks = build_app(fake)
    states = [b for b in blocks.blocks.values() if isinstance(b, gr.BrowserState)]
    assert [s.storage_key for s in states] == [history.STORAGE_KEY]
    assert states[0].secret == history.browser_secret(fake.settings.index_dir)  # after a restart
    ids = {getattr(b, "elem_id", None) for b in blocks.blocks.values()}
    assert {"past", "delete-conv", "download-md", "download-json"} <= ids
    assert list(blocks.get_api_info()["named_endpoints"]) == ["/ask"]
