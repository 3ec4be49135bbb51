"""``llamacpp`` (the default backend): the profile's embedded GGUF model, run by llama.cpp
in a supervised child process (``rag.llm.runtime``) and spoken to over loopback with the
same OpenAI protocol as any server. A crash, OOM kill or hang of that process costs the
current answer (a BackendError, which the pipeline answers with extractive sentences) and
the process is restarted for the next question. Its options are the ``llm_*`` settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.checks import check_positive, check_range
from rag.errors import BackendError, ModelUnavailableError
from rag.fileio import file_identity
from rag.llm import gguf
from rag.llm.base import (
    PROBABLE_TOKENS,
    Backend,
    BackendOptions,
    Report,
    Waiting,
    explain_client_error,
    import_client,
    openai_runnable,
    stream_openai,
    text_of,
)
from rag.llm.kept import KeptServer
from rag.llm.profiles import Profile
from rag.llm.runtime import ModelServer, default_slots, engine_file
from rag.llm.slots import SlotPool
from rag.llm.states import StateStore

if TYPE_CHECKING:
    from langchain_core.language_models import BaseLanguageModel

log = logging.getLogger(__name__)
MAX_WAITING_PER_SLOT = 4  # questions that may wait for a slot, per slot, before "busy"
SLOTS_RANGE = (0, 64)  # 0: chosen from the cores and memory (rag.llm.runtime.default_slots)
QUEUE_RANGE = (0, 10_000)  # questions waiting for a slot; 0: four per slot
KEEP_ALIVE_RANGE = (0, 7 * 24 * 3600)  # seconds
THREADS_RANGE = (0, 1024)  # 0: every core this process may use


@cache
def model_server(
    path: str,
    context: int,
    slots: int,
    state_dir: Path,
    keep_alive: float = 0.0,
    threads: int = 0,
) -> ModelServer:
    """One supervised model process per model file, context size, slot count and thread
    count, per process; with ``keep_alive`` seconds, one that outlives the command
    (rag.llm.kept). ``threads`` 0: every core this process may use."""
    if keep_alive > 0:
        servers = state_dir.parent / "servers"
        return KeptServer(
            path, n_ctx=context, threads=threads, slots=slots, state_dir=state_dir,
            keep_alive=keep_alive, servers_dir=servers,
        )  # fmt: skip
    return ModelServer(path, n_ctx=context, threads=threads, slots=slots, state_dir=state_dir)


@cache
def slot_pool(server: ModelServer, max_waiting: int) -> SlotPool:
    """The line for one model process's slots (one per process, whoever asks)."""
    pool = SlotPool(server.slots, max_waiting)
    server.on_start.append(lambda _: pool.forget())
    return pool


@dataclass(frozen=True)
class LlamaCppOptions(BackendOptions):
    llm_model: str = ""  # a GGUF path for llamacpp instead of the profile's model
    llm_timeout: float = 60.0  # seconds without output before the embedded model is restarted
    llm_slots: int = 0  # questions the embedded model decodes together; 0: from cores and memory
    llm_queue: int = 0  # questions that may wait for a slot before "busy"; 0: 4 per slot
    # seconds the model process outlives the command without use, for the next `rag ask`
    # (rag.llm.kept); 0: it ends with the command
    llm_keep_alive: float = 0.0
    llm_threads: int = 0  # threads of the embedded model process; 0: every usable core

    def check(self) -> None:
        check_range("llm_slots", self.llm_slots, SLOTS_RANGE)
        check_range("llm_queue", self.llm_queue, QUEUE_RANGE)
        check_positive("llm_timeout", self.llm_timeout)
        check_range("llm_keep_alive", self.llm_keep_alive, KEEP_ALIVE_RANGE)
        check_range("llm_threads", self.llm_threads, THREADS_RANGE)


class LlamaCppBackend(Backend):
    """The profile's GGUF model in llama.cpp's server, supervised, on 127.0.0.1, its slots placed
    by a SlotPool and the article prefixes' evaluated states kept on disk."""

    name = "llamacpp"
    Options = LlamaCppOptions
    reports_probabilities = True

    def __init__(self, options: LlamaCppOptions, profile: Profile, model_cache: Path):
        self.profile = profile
        self.mode = self.profile.mode
        self.timeout = options.llm_timeout
        spec = gguf.get_model(self.profile.model)
        path = options.llm_model or str(gguf.provision(spec, model_cache))
        self.path = path
        slots = options.llm_slots or default_slots()
        state_dir = model_cache / "states"
        self.server = model_server(
            path,
            self.profile.context,
            slots,
            state_dir,
            keep_alive=options.llm_keep_alive,
            threads=options.llm_threads,
        )
        self.pool = slot_pool(self.server, options.llm_queue or MAX_WAITING_PER_SLOT * slots)
        self.states = StateStore(state_dir)
        # What determines a saved state besides the prefix text: the model and the runtime.
        self.fingerprint = (
            spec.sha256 if not options.llm_model else file_identity(Path(path)),
            file_identity(engine_file()),
        )
        # LangChain's client loads beside the model process (seconds of imports each)
        threading.Thread(target=import_client, daemon=True).start()
        self.server.ensure()  # a model that cannot start is an error now, not at the question

    def describe(self) -> str:
        return f"llamacpp ({self.profile.name}): {Path(self.path).name}"

    def runnable(self, max_tokens: int, slot: int | None = None) -> BaseLanguageModel:
        url = self.server.ensure()
        extra: dict[str, Any] = {} if slot is None else {"id_slot": slot}
        if self.mode == "chat":
            extra.update(logprobs=True, top_logprobs=PROBABLE_TOKENS)
        return openai_runnable(
            url, self.profile.model, self.mode, self.timeout, max_tokens, extra_body=extra
        )

    def stream(
        self,
        prompt: str | list,
        stop: list[str],
        max_tokens: int,
        report: Report | None = None,
        keep_prefix: bool = False,
        fresh: bool = False,
    ) -> Iterator[str | Waiting]:
        # The slot that last read this system message reads only the rest again (llama.cpp
        # keeps each slot's evaluated prompt): a second try or a check over retrieved
        # passages goes back to it. Only a kept prefix is also saved and restored, and a
        # fresh request has it restored (milliseconds) even in a slot that holds it: the
        # slot would otherwise reuse the previous question's first tokens too ("Question:
        # How many"), start reading at another token, round otherwise, and greedy
        # decoding can tip on that: the same question answered "5" or "Five ...".
        prefix = self._prefix_key(prompt)
        ticket = self.pool.line_up(prefix, kept=keep_prefix)  # a full line: BusyError now
        placement, told = ticket.wait(0), -1
        try:
            while placement is None:  # every slot busy: say how many are ahead, and wait
                if (ahead := ticket.ahead()) != told:
                    yield Waiting(ahead)
                    told = ahead
                placement = ticket.wait(0.5)
        finally:
            if placement is None:  # the reader gave up while waiting
                ticket.cancel()
        try:
            with self.pool.held(placement, prefix):
                self.server.ensure()  # a restart here empties every slot (SlotPool.forget)
                if keep_prefix and prefix and self._must_load(placement.slot, prefix, fresh):
                    self._load_prefix(placement.slot, prefix, prompt)
                runnable = self.runnable(max_tokens, placement.slot)
                yield from stream_openai(runnable, prompt, stop, report)
        except ModelUnavailableError as exc:
            raise BackendError(f"the embedded model could not start: {exc}") from exc
        except BackendError:
            raise
        except Exception as exc:  # the model process crashed, was killed or hangs
            cause = explain_client_error(exc, self.server.base_url, self.timeout)
            what = self.server.recover()
            raise BackendError(f"the embedded model process {what} ({cause}).") from exc

    # -- the article prefix, evaluated once and kept -----------------------------------------
    def _prefix_key(self, prompt: str | list) -> str | None:
        if not isinstance(prompt, list) or not prompt or prompt[0][0] != "system":
            return None
        return self.states.key(*self.fingerprint, self.profile.name, prompt[0][1])

    def _must_load(self, slot: int, key: str, fresh: bool) -> bool:
        """Whether the slot needs the prefix put in: it holds another, or the request is
        fresh and a saved state can reset it (never the prefix evaluated again for that)."""
        if self.pool.holding(slot) != key:
            return True
        return fresh and self.states.usable(key)

    def _load_prefix(self, slot: int, key: str, prompt: list) -> None:
        """Put the prefix's evaluated state into the slot: from disk when a whole state is
        saved there, else by evaluating it now (and saving it for next time)."""
        name = self.states.filename(key)
        if self.states.usable(key):
            try:
                self.server.slot_action(slot, "restore", name)
                self.states.touch(key)
                return
            except ModelUnavailableError as exc:  # llama.cpp refused the file
                log.warning("%s; evaluating the prefix again", exc)
                self.states.discard(key, "refused by the model process")
        warm = self.runnable(1, slot)
        text_of(stream_openai(warm, [prompt[0], ("user", "?")], []))
        try:
            self.server.slot_action(slot, "save", name)
            self.states.record(key, model=Path(self.path).name, profile=self.profile.name)
        except (ModelUnavailableError, OSError) as exc:  # a full disk costs speed, not answers
            log.warning("the article's evaluated state was not saved: %s", exc)
