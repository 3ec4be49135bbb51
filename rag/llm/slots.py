"""Which question decodes in which slot of the model process, and who waits for one.

The model process decodes up to N sequences together (``rag.llm.runtime``: N slots). Every
request is placed in a slot here and sent pinned to it, so the slot's contents are known:
a question about an article goes to a free slot that already holds that article's
evaluated prefix when there is one, else to the free slot used longest ago, whose prefix
is then restored from disk (``rag.llm.states``) or evaluated. A prompt read once (retrieved
passages, not kept) goes back to the slot that read the same system message, for a second
try; else to the slot that last read another such prompt, whose instructions it shares
(llama.cpp evaluates only what differs), so that no article's prefix gives way for it.
When every slot is busy the request waits in line, first come first served, and can say how
many are ahead of it; past ``max_waiting`` it is refused at once with ``BusyError`` rather
than left to time out.

Doesn't: talk to the model process (``rag.llm.llamacpp`` does) or know what a prefix holds.

>>> pool = SlotPool(slots=2, max_waiting=1)
>>> with pool.place("article-a") as first:
...     with pool.place("article-a") as second:
...         (first.slot, first.holds, second.slot, second.holds)
(0, None, 1, None)
>>> with pool.place("article-a") as again:
...     (again.slot, again.holds)
(0, 'article-a')
>>> with pool.place("passages-1", kept=False) as once:
...     once.slot
1
>>> with pool.place("passages-2", kept=False) as next_once:
...     next_once.slot
1
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rag.errors import BusyError


@dataclass
class Ticket:
    """A request's place in line (see SlotPool.line_up)."""

    pool: SlotPool
    number: int
    prefix: str | None
    kept: bool = True  # the prefix is kept (saved, restored); else read once

    def ahead(self) -> int:
        """How many requests will get a slot before this one (0: next, or served now)."""
        return self.pool._ahead(self)

    def wait(self, timeout: float) -> Placement | None:
        """The slot, once it is this request's turn; None when the timeout passed first."""
        return self.pool._grant(self, timeout)

    def cancel(self) -> None:
        """Leave the line (the request was given up)."""
        self.pool._cancel(self)


@dataclass
class Placement:
    """A request's slot, and the prefix that slot holds now (None: unknown or empty)."""

    slot: int
    holds: str | None
    kept: bool = True  # what the request puts in the slot is a kept prefix


class SlotPool:
    """N slots, what each holds, and a first-come-first-served line for them."""

    def __init__(self, slots: int, max_waiting: int):
        self.slots = slots
        self.max_waiting = max_waiting
        self._holds: list[str | None] = [None] * slots
        self._kept = [False] * slots  # whether what the slot holds is a kept prefix
        self._last_used = [0.0] * slots
        self._free = set(range(slots))
        self._line: list[int] = []  # tickets waiting, in order of arrival
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    def forget(self) -> None:
        """The model process restarted: no slot holds anything any more."""
        with self._changed:
            self._holds = [None] * self.slots

    def holding(self, slot: int) -> str | None:
        """What the slot holds now (None after a restart of the model process)."""
        with self._changed:
            return self._holds[slot]

    def ahead(self) -> int:
        """Requests waiting for a slot now."""
        with self._changed:
            return len(self._line)

    def line_up(self, prefix: str | None, kept: bool = True) -> Ticket:
        """A place in line for a slot; a full line raises BusyError at once."""
        with self._changed:
            if not self._free and len(self._line) >= self.max_waiting:
                raise BusyError(
                    f"all {self.slots} answer slots are busy and {len(self._line)} questions "
                    "are waiting; try again in a moment."
                )
            ticket = Ticket(self, next(self._tickets), prefix, kept)
            self._line.append(ticket.number)
            return ticket

    @contextlib.contextmanager
    def place(
        self,
        prefix: str | None,
        on_wait: Callable[[int], None] | None = None,
        kept: bool = True,
    ) -> Iterator[Placement]:
        """A slot for one request, held until the block ends (when the slot is marked as
        holding ``prefix``, kept or read once). ``on_wait(n)`` is told how many requests
        are ahead while it waits; a full line raises BusyError."""
        ticket = self.line_up(prefix, kept)
        placement, told = None, -1
        try:
            while placement is None:
                if on_wait is not None and (ahead := ticket.ahead()) != told:
                    on_wait(ahead)
                    told = ahead
                placement = ticket.wait(1.0)
        finally:
            if placement is None:
                ticket.cancel()
        with self.held(placement, prefix):
            yield placement

    @contextlib.contextmanager
    def held(self, placement: Placement, prefix: str | None) -> Iterator[Placement]:
        """Give the slot back when the block ends, marked as holding ``prefix`` (or as
        unknown when the block failed: the request may have left it half-written)."""
        ok = False
        try:
            yield placement
            ok = True
        finally:
            with self._changed:
                self._holds[placement.slot] = prefix if ok else None
                self._kept[placement.slot] = ok and placement.kept
                self._last_used[placement.slot] = time.monotonic()
                self._free.add(placement.slot)
                self._changed.notify_all()

    def _grant(self, ticket: Ticket, timeout: float) -> Placement | None:
        with self._changed:
            if not (self._free and self._line[0] == ticket.number):
                self._changed.wait(timeout)
                if not (self._free and self._line[0] == ticket.number):
                    return None
            self._line.remove(ticket.number)
            slot = self._choose(ticket.prefix, ticket.kept)
            self._free.discard(slot)
            self._changed.notify_all()
            return Placement(slot, self._holds[slot], ticket.kept)

    def _ahead(self, ticket: Ticket) -> int:
        with self._changed:
            return self._line.index(ticket.number) if ticket.number in self._line else 0

    def _cancel(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket.number in self._line:
                self._line.remove(ticket.number)
                self._changed.notify_all()

    def _choose(self, prefix: str | None, kept: bool = True) -> int:
        """A free slot holding the prefix; for a prompt read once, else the free slot that
        last read another such prompt; else the free slot used longest ago."""
        free = sorted(self._free)
        holding = [s for s in free if prefix is not None and self._holds[s] == prefix]
        if holding:
            return holding[0]
        once = [s for s in free if self._holds[s] is not None and not self._kept[s]]
        if not kept and once:
            return max(once, key=lambda s: (self._last_used[s], -s))
        return min(free, key=lambda s: (self._holds[s] is not None, self._last_used[s], s))
