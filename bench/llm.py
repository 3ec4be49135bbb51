"""Measurements of the language model and of whole answers, on the production components.

- ``llm_speed``: the pipeline's own backend (``rag.factory.make_backend``: the profile's
  GGUF model in its supervised process, ``rag.llm.runtime.ModelServer``), streamed through its
  ``stream`` method with the prompts, stop sequences and token limits the pipeline uses:
  start time, time to the first token with a cold and with a prefix-cached prompt, prompt
  and decoding tokens/s.
- ``ask_latency``: ``Pipeline.ask_stream`` end to end and to the first token.

The prompts are built as ``Pipeline.ask_stream`` builds them (``answer_prompt``).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from pathlib import Path

import numpy as np

from bench.measure import decode_rate, ms_since, timed_stream
from eval.stats import summarize
from rag.answer.drafts import Prompt, generation_limits
from rag.llm.base import Backend
from rag.llm.llamacpp import LlamaCppBackend
from rag.pipeline import Pipeline
from rag.values import EventKind

logger = logging.getLogger(__name__)


def answer_prompt(pipeline: Pipeline, question: str) -> Prompt:
    """The prompt the pipeline first gives its model for a question (``Pipeline.ground``,
    then ``Drafter.first_prompt``, as ``ask_stream`` does)."""
    return pipeline.drafter().first_prompt(pipeline.ground(question))


def unique(prompt: Prompt, tag: str) -> Prompt:
    """The prompt with a unique first line, so llama.cpp can reuse none of it.

    >>> unique("Q: why?", "(1)")
    '(1)\\nQ: why?'
    >>> unique([("system", "S"), ("user", "U")], "(1)")
    [('system', '(1)\\nS'), ('user', 'U')]
    """
    if isinstance(prompt, str):
        return f"{tag}\n{prompt}"
    (role, first), *rest = prompt
    return [(role, f"{tag}\n{first}"), *rest]


def prompt_text(prompt: Prompt) -> str:
    """All the text of a prompt, for counting its tokens."""
    return prompt if isinstance(prompt, str) else "\n".join(text for _, text in prompt)


def count_tokens(base_url: str, text: str) -> int:
    """Tokens of a text, counted by the model process (llama-server's ``/tokenize``)."""
    body = json.dumps({"content": text}).encode()
    request = urllib.request.Request(
        f"{base_url.removesuffix('/v1')}/tokenize",
        body,
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return len(json.load(reply)["tokens"])


def started_backend(pipeline: Pipeline) -> tuple[LlamaCppBackend, float]:
    """The pipeline's backend, made now by its factory (the model process starts), and the
    seconds that took."""
    start = time.perf_counter()
    backend: Backend = pipeline.backend
    seconds = time.perf_counter() - start
    if not isinstance(backend, LlamaCppBackend):
        raise TypeError(
            f"the benchmark times the embedded model (llm_backend=llamacpp), not {backend.name}"
        )
    return backend, seconds


def llm_speed(backend: LlamaCppBackend, load_s: float, prompts: list[Prompt]) -> dict:
    """The production backend (the model in its supervised process): start time, TTFT cold
    (a unique first line defeats llama.cpp's prefix reuse) and prefix-cached (the few-shot
    prefix or the article is reused, as in the running app), prompt and decoding tokens/s."""
    stop, max_tokens = generation_limits(backend.mode)
    url = backend.server.ensure()
    list(backend.stream(prompts[0], stop, 4))  # warm-up
    cold, prompt_rates, cached, decode_rates, sizes = [], [], [], [], []
    for i, prompt in enumerate(prompts):
        fresh = unique(prompt, f"({i}, {time.time_ns()})")
        first, _, _ = timed_stream(backend.stream(fresh, [], 1))
        cold.append(first)
        sizes.append(count_tokens(url, prompt_text(fresh)))
        prompt_rates.append(sizes[-1] / first * 1000)
    for prompt in prompts:
        first, count, total = timed_stream(backend.stream(prompt, stop, max_tokens))
        cached.append(first)
        if (rate := decode_rate(count, first, total)) is not None:
            decode_rates.append(rate)
    logger.info("model process: first token %.0f ms prefix cached", np.median(cached))
    return {
        "model": Path(backend.path).name,
        "where": "supervised model process (rag.llm.runtime), through the OpenAI protocol",
        "threads": backend.server.threads,
        "load_s": round(load_s, 2),
        "max_tokens": max_tokens,
        "ttft_cold_ms": summarize(cold),
        "ttft_prefix_cached_ms": summarize(cached),
        "prompt_tokens": int(np.median(sizes)),
        "prompt_tokens_per_s": round(float(np.median(prompt_rates)), 1),
        "decode_tokens_per_s": round(float(np.median(decode_rates or [0.0])), 1),
    }


def timed_answer(pipeline: Pipeline, question: str) -> tuple[float, float | None, dict]:
    """(ms in total, ms to the first 'token' event or None, the answer's timings_ms)."""
    start = time.perf_counter()
    first, answer = None, None
    for event in pipeline.ask_stream(question):
        if first is None and event.kind == EventKind.TOKEN:
            first = ms_since(start)
        answer = event.answer or answer
    if answer is None:
        raise RuntimeError(f"ask_stream gave no final answer to {question!r}")
    return ms_since(start), first, dict(answer.timings_ms)


def ask_latency(pipeline: Pipeline, questions: list[str]) -> dict:
    """End-to-end answer latency, time to the first token and the answer's own stage
    timings, through Pipeline.ask_stream, from the first question after the app's start
    (``warm_up``: the models load and the shared prompt prefix is evaluated)."""
    start = time.perf_counter()
    pipeline.warm_up()
    warm_up_s = time.perf_counter() - start
    timed = [timed_answer(pipeline, q) for q in questions]
    stages: dict[str, list[float]] = {}
    for _, _, timings in timed:
        for name, ms in timings.items():
            stages.setdefault(name, []).append(ms)
    ttft = [first for _, first, _ in timed if first is not None]
    return {
        "available": True,
        "via": "ask_stream",
        "profile": pipeline.profile.name,
        "warm_up_s": round(warm_up_s, 2),
        "questions": len(questions),
        "first_question_ms": round(timed[0][0], 1),
        "total_ms": summarize([total for total, _, _ in timed]),
        "first_token_ms": summarize(ttft) if ttft else None,
        "stages_ms": {name: summarize(v) for name, v in stages.items()},
    }
