"""The line for the model's slots and the saved prefix states, without a model."""

from __future__ import annotations

import threading
import time

import pytest

from rag.errors import BusyError
from rag.llm.slots import SlotPool
from rag.llm.states import StateStore


def test_a_free_slot_that_holds_the_prefix_is_chosen_first():
    pool = SlotPool(slots=3, max_waiting=0)
    for prefix in ("a", "b", "c"):  # one after another: each takes the slot used longest ago
        with pool.place(prefix):
            time.sleep(0.01)
    with pool.place("b") as placed:
        assert placed.holds == "b"
    with pool.place("new") as placed:
        assert placed.holds == "a"  # the slot used longest ago gives way


def test_a_prompt_read_once_goes_back_to_its_slot_and_leaves_kept_prefixes_alone():
    pool = SlotPool(slots=3, max_waiting=0)
    with pool.place("article"):  # kept: slot 0
        pass
    with pool.place("passages-1", kept=False) as first:
        pass
    with pool.place("article-b") as other:  # kept, takes the slot used longest ago
        pass
    with pool.place("passages-2", kept=False) as second:
        pass
    with pool.place("passages-2", kept=False) as retry:
        pass
    assert first.slot == second.slot == retry.slot  # the slot that read such a prompt
    assert retry.holds == "passages-2"  # the same system message: only the rest is read
    assert other.slot not in (0, first.slot)
    with pool.place("article") as again:
        assert again.holds == "article"


def test_a_failed_request_leaves_its_slot_unknown():
    pool = SlotPool(slots=1, max_waiting=0)
    with pytest.raises(RuntimeError), pool.place("a"):
        raise RuntimeError("the model crashed mid-answer")
    with pool.place("a") as placed:
        assert placed.holds is None


def test_waiters_are_told_their_place_and_served_in_order():
    pool = SlotPool(slots=1, max_waiting=3)
    served, told = [], {}
    release = threading.Event()

    def ask(name: str) -> None:
        with pool.place(None, on_wait=lambda n: told.setdefault(name, []).append(n)):
            served.append(name)
            if name == "first":
                release.wait(5)

    threads = [threading.Thread(target=ask, args=("first",))]
    threads[0].start()
    time.sleep(0.2)
    for name in ("second", "third"):
        threads.append(threading.Thread(target=ask, args=(name,)))
        threads[-1].start()
        time.sleep(0.2)
    assert pool.ahead() == 2
    release.set()
    for thread in threads:
        thread.join(5)
    assert served == ["first", "second", "third"]
    assert told["second"] == [0] and told["third"][0] == 1


def test_a_full_line_is_refused_at_once_with_busy():
    pool = SlotPool(slots=1, max_waiting=0)
    with pool.place(None), pytest.raises(BusyError, match="try again"), pool.place(None):
        pass


def test_forget_after_a_restart():
    pool = SlotPool(slots=1, max_waiting=0)
    with pool.place("a"):
        pass
    pool.forget()
    with pool.place("a") as placed:
        assert placed.holds is None


def write_state(store: StateStore, key: str, size: int) -> None:
    store.directory.mkdir(parents=True, exist_ok=True)
    (store.directory / store.filename(key)).write_bytes(b"k" * size)
    store.record(key)


def test_a_recorded_state_is_usable_and_a_damaged_one_is_removed(tmp_path):
    store = StateStore(tmp_path, max_bytes=10_000)
    write_state(store, "good", 100)
    assert store.usable("good")
    (tmp_path / store.filename("good")).write_bytes(b"x" * 100)  # same size, other bytes
    fresh = StateStore(tmp_path)  # another process: no memory of the earlier check
    assert not fresh.usable("good")
    assert not (tmp_path / store.filename("good")).exists()


def test_a_state_without_its_record_is_not_trusted(tmp_path):
    store = StateStore(tmp_path)
    (tmp_path / store.filename("half")).write_bytes(b"k" * 10)  # the process died mid-save
    assert not store.usable("half")
    assert not list(tmp_path.iterdir())


def test_the_least_recently_used_states_go_first(tmp_path):
    store = StateStore(tmp_path, max_bytes=250)
    for key in ("old", "mid"):
        write_state(store, key, 100)
        time.sleep(0.02)
    store.touch("old")  # used again: now the newest
    time.sleep(0.02)
    write_state(store, "new", 100)
    assert store.usable("old") and store.usable("new")
    assert not store.usable("mid")
