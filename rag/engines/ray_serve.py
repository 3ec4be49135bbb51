"""Answering on a Ray cluster: the model part of every question served by Ray Serve replicas.

The web app, the ``ask`` API and the OpenAI-compatible endpoint stay in the ``rag serve``
process; only the model's part of an answer (``Backend.stream``) goes to a deployment of
``settings.replicas`` replicas (``ServedBackend``). Each replica owns an embedded model
process (a ``LlamaCppBackend``: its slots, its line, its saved article states).

- Routing by article: a request carries its article prefix's key as Ray Serve's
  multiplexed model id, so Serve sends it to a replica that already holds that article
  (``@serve.multiplexed``), another one when those are full.
- The line: a replica takes as many requests as its slots and its own line
  (``max_ongoing_requests``), and reports the reader's place in it (``Waiting``); past
  that Serve keeps ``max_queued_requests`` more, and refuses the rest (``BackPressureError``,
  the same "busy, try again" as one machine's: a ``BusyError``).
- Faults: Serve pings each replica's model process (``check_health``) and replaces a
  replica whose process is gone. A request that fails on a replica (the replica died, its
  model process was killed) is sent once more, to any replica; greedy decoding gives the
  same text again, and the part the reader already has is skipped.
- More replicas while serving: ``ServedBackend.scale`` (Serve updates the deployment).

Doesn't: run the web app, retrieve, or serve the ``openai`` backend (that server scales
on its own).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import ray
from ray import serve
from ray.exceptions import RayTaskError
from ray.serve.exceptions import BackPressureError

from rag.config.settings import Settings
from rag.errors import BackendError, BusyError, ConfigError
from rag.llm.base import Backend, Report, Waiting
from rag.llm.llamacpp import MAX_WAITING_PER_SLOT, LlamaCppBackend
from rag.llm.profiles import get_profile
from rag.llm.runtime import default_slots

if TYPE_CHECKING:
    from langchain_core.language_models import BaseLanguageModel
    from ray.serve.handle import DeploymentHandle

log = logging.getLogger(__name__)
APP = "rag-answering"
RETRIES = 1  # a failed request is sent once more, to any replica
ARTICLES_PER_REPLICA = 8  # article keys a replica is routed by (its states stay on disk)
HEALTH_CHECK_S = 5.0


class Answerer:
    """One replica: an embedded model process and its slots (a LlamaCppBackend)."""

    def __init__(self, settings: Settings, threads: int):
        options = settings.options("llamacpp")
        profile = get_profile(settings.profile)
        self.backend = LlamaCppBackend(options, profile, settings.model_cache)
        # the backend's stream blocks (it waits for a slot, then for the model): each
        # request reads it in a thread of its own
        self.threads = ThreadPoolExecutor(max_workers=threads)

    @serve.multiplexed(max_num_models_per_replica=ARTICLES_PER_REPLICA)
    async def hold(self, key: str) -> str:
        """Note that this replica holds the article ``key`` (its state: in a slot, on disk)."""
        return key

    async def stream(
        self, prompt: str | list, stop: list[str], max_tokens: int, keep: bool, fresh: bool
    ):
        """The backend's stream (text and ``Waiting``), then its ``Report``."""
        if key := serve.get_multiplexed_model_id():
            await self.hold(key)
        report = Report()
        pieces = self.backend.stream(prompt, stop, max_tokens, report, keep, fresh)
        loop = asyncio.get_running_loop()
        while (piece := await loop.run_in_executor(self.threads, next, pieces, None)) is not None:
            yield piece
        yield report

    def check_health(self) -> None:
        """Serve's ping: a replica without its model process is replaced."""
        if not self.backend.server.running():
            raise BackendError("the replica's model process is not running")

    def model_pid(self) -> int | None:
        """The model process's id (for the fault test and the bench)."""
        return self.backend.server.pid


def article_key(prompt: str | list) -> str:
    """The multiplexed model id of a prompt: its article prefix (a chat prompt's system
    message), hashed; "" when it has none (any replica).

    >>> article_key([("system", "An article."), ("user", "Who?")])
    '3b6ae5cd8d79bdf2'
    >>> article_key("Question: who?")
    ''
    """
    if not isinstance(prompt, list) or not prompt or prompt[0][0] != "system":
        return ""
    return hashlib.sha256(prompt[0][1].encode("utf-8")).hexdigest()[:16]


def deploy(settings: Settings, replicas: int | None = None) -> DeploymentHandle:
    """Run (or update) the answering deployment with ``replicas`` replicas (default: the
    settings'), and return its handle."""
    slots = settings.llm_slots or default_slots()
    line = settings.llm_queue or MAX_WAITING_PER_SLOT * slots
    deployment = serve.deployment(
        Answerer,
        name="answerer",
        num_replicas=replicas or settings.replicas,
        max_ongoing_requests=slots + line,
        max_queued_requests=slots,
        health_check_period_s=HEALTH_CHECK_S,
        ray_actor_options={"num_cpus": 1},
    )
    # Serve 2.60 gives a deployment a new random version on every serve.run, so a new
    # number of replicas would restart the running ones too (and empty their slots); the
    # same version for the same settings makes it an update that only adds or removes
    # replicas (no public way to say so: Deployment._version, read by serve.run).
    deployment._version = hashlib.sha256(repr((settings, slots, line)).encode()).hexdigest()
    serve.start(proxy_location="Disabled")  # no HTTP ingress: rag serve is the web app
    return serve.run(deployment.bind(settings, slots + line), name=APP, route_prefix=None)


def stop() -> None:
    """Delete the deployment (its replicas and their model processes)."""
    serve.delete(APP)


class ServedBackend(Backend):
    """The embedded model on Ray Serve replicas, behind the one Backend interface."""

    name = "llamacpp"  # the same model and answers as one machine's
    reports_probabilities = True

    def __init__(self, settings: Settings):
        self.settings = settings
        self.profile = get_profile(settings.profile)
        self.mode = self.profile.mode
        self.replicas = settings.replicas
        self.handle = deploy(settings)
        # a cluster outlives this process: its replicas (and their models) go with it
        atexit.register(self.close)

    def describe(self) -> str:
        return f"llamacpp ({self.profile.name}) on {self.replicas} Ray Serve replica(s)"

    def close(self) -> None:
        """Delete the deployment (nothing to do once Ray has shut down)."""
        if ray.is_initialized():  # else serve would start a Ray instance to delete it
            with contextlib.suppress(Exception):
                stop()

    def scale(self, replicas: int) -> None:
        """More (or fewer) replicas, while serving (Serve updates the running deployment)."""
        self.handle = deploy(self.settings, replicas)
        self.replicas = replicas

    def model_pids(self, tries: int = 50) -> set[int]:
        """The replicas' model process ids (asked until every replica has answered)."""
        pids: set[int] = set()
        while len(pids) < self.replicas and tries:
            pids.add(self.handle.model_pid.remote().result())
            tries -= 1
        return pids

    def runnable(self, max_tokens: int) -> BaseLanguageModel:
        raise ConfigError(
            "the eval's baseline chains run on one machine's model; unset RAG_ENGINE (or "
            "--engine local) for them."
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
        sent = ""  # the text the reader already has
        for attempt in range(RETRIES + 1):
            key = article_key(prompt) if attempt == 0 else ""  # a retry goes anywhere
            handle = self.handle.options(stream=True, multiplexed_model_id=key)
            text = ""
            try:
                for piece in handle.stream.remote(prompt, stop, max_tokens, keep_prefix, fresh):
                    if isinstance(piece, Report):
                        if report is not None:
                            report.first_tokens = piece.first_tokens
                    elif isinstance(piece, Waiting):
                        if not sent:
                            yield piece
                    elif len(text := text + piece) > len(sent):
                        yield _rest(text, sent)
                        sent = text
                return
            except _Diverged:
                raise
            except Exception as exc:  # the replica, its model or the request failed
                cause = exc.cause if isinstance(exc, RayTaskError) else exc
                if isinstance(cause, BackPressureError):
                    raise BusyError(
                        "every answering replica is busy and their line is full; try again "
                        "in a moment."
                    ) from None
                if isinstance(cause, BusyError) or attempt == RETRIES:
                    raise _as_backend_error(cause) from exc
                log.warning("an answering replica failed (%s); asking another", _short(cause))
        raise AssertionError("unreachable")  # pragma: no cover


def _rest(text: str, sent: str) -> str:
    """What a (retried) stream adds to what the reader has; a retry that does not repeat it
    fails (``_Diverged``)."""
    if not text.startswith(sent):
        raise _Diverged("an answer retried on another replica came out differently; ask again.")
    return text[len(sent) :]


class _Diverged(BackendError):
    """A retried answer does not begin with what the reader already has."""


def _as_backend_error(cause: BaseException) -> Exception:
    if isinstance(cause, BusyError | BackendError):
        return cause
    return BackendError(f"the answering replicas failed ({_short(cause)}); try again.")


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
