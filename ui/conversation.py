"""One browser session's conversation: its turns, the questions waiting, and who answers.

What it does: keeps the turns (question, streamed text, retrieved passages, final Answer,
or how the turn ended: stopped, failed), the jobs waiting behind the answer being written
(new questions and regenerations), and the busy and stop flags. A second question sent
while an answer streams is queued here, never dropped; only one runner answers the queue
at a time, and the check "anything left?" and the enqueueing happen under one lock, so a
job added just as the runner finishes is picked up by the next runner.

What it does not do: call the pipeline or render anything (``ui.actions``, ``ui.render``).
It lives in a ``gr.State``, which hands every event of a session the same object; that is
why it is mutable, and why its lock is shared by the class (a state must be deep-copyable).

>>> c = Conversation()
>>> c.submit(Job("Apa?")), c.claim(), c.next_job().question, c.next_job(), c.busy
(False, True, 'Apa?', None, False)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import ClassVar

from rag.values import Answer, Hit

STREAMING, DONE, STOPPED, FAILED, WAITING = "streaming", "done", "stopped", "failed", "waiting"


@dataclass(frozen=True)
class Turn:
    """One question and what became of it."""

    question: str
    state: str = STREAMING
    partial: str = ""  # the text streamed so far (before citations are checked)
    hits: tuple[Hit, ...] = ()
    standalone: str = ""  # the question as retrieval saw it (follow-ups are rewritten)
    doc_id: str | None = None  # the article questions were restricted to, if any
    answer: Answer | None = None
    error: str = ""
    ahead: int = -1  # questions ahead of this one in the model's line (-1: not waiting)

    def stopped(self) -> Turn:
        return replace(self, state=STOPPED)

    def failed(self, error: str) -> Turn:
        return replace(self, state=FAILED, error=error)


@dataclass(frozen=True)
class Job:
    """A question to answer; ``replace`` is the index of the turn a regeneration redoes."""

    question: str
    replace: int | None = None
    queued: bool = False  # it waited behind another answer


@dataclass
class Conversation:
    """The session's turns, waiting jobs and the answer in progress."""

    turns: list[Turn] = field(default_factory=list)
    waiting: list[Job] = field(default_factory=list)
    live: tuple[Job, Turn] | None = None
    busy: bool = False
    stop_requested: bool = False
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def submit(self, job: Job) -> bool:
        """Queue a job; True when it waits behind an answer being written."""
        with self._lock:
            behind = self.busy
            self.waiting.append(replace(job, queued=behind))
            return behind

    def claim(self) -> bool:
        """Become the session's runner, if none is running and there is work."""
        with self._lock:
            if self.busy or not self.waiting:
                return False
            self.busy = True
            return True

    def next_job(self) -> Job | None:
        """The runner's next job, or None, which also ends the run."""
        with self._lock:
            if not self.waiting:
                self.busy = False
                return None
            self.stop_requested = False
            return self.waiting.pop(0)

    def abandon(self) -> None:
        """End a run that was cut off (the browser went away): drop its work."""
        with self._lock:
            self.busy, self.live, self.waiting = False, None, []

    def history(self, before: int | None = None) -> list[str]:
        """The standalone questions of the turns before index ``before`` (all by default)."""
        return [t.standalone for t in self.turns[:before] if t.standalone]

    def show(self, job: Job, turn: Turn) -> None:
        self.live = (job, turn)

    def finish(self, job: Job, turn: Turn) -> None:
        """Keep a finished turn: in place of the one it regenerates, else at the end."""
        if job.replace is not None and job.replace < len(self.turns):
            self.turns[job.replace] = turn
        else:
            self.turns.append(turn)
        self.live = None

    def shown(self) -> list[Turn]:
        """What the chat shows: the turns, the live one in its place, then those waiting."""
        turns = list(self.turns)
        if self.live is not None:
            job, turn = self.live
            if job.replace is not None and job.replace < len(turns):
                turns[job.replace] = turn
            else:
                turns.append(turn)
        waiting = [Turn(j.question, state=WAITING) for j in self.waiting if j.replace is None]
        return turns + waiting
