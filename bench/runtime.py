"""What a reader waits for: cold starts, restarts, switching articles, many articles,
many readers at once. Every figure is taken the way a user meets it, on the real models.

- ``cold_ask``: ``rag ask`` in a new process (``bench.cold``) with the article's state on
  disk: seconds from the launch to the first token and to the end, per stage;
- ``model_first``: the same, the model process started before the imports (a design not
  taken: on 2 cores the load and the imports slow each other);
- ``kept_ask``: the same, with ``llm_keep_alive`` set: the model process of a first
  (untimed) ``rag ask`` is kept and used by the timed ones (``rag.llm.kept``);
- ``serve_ready``: ``rag serve`` from launch until the page answers, and its first answer;
- ``restart``: the first answer after the model process was killed (restart, restore);
- ``switching``: "Ask about" cycling over 5 articles, the model process fresh, so each
  switch restores a saved state: first token after the switch;
- ``passages``: the passages route over the FacQA dev corpus (273 short articles): latency
  and whether the answer holds the gold span;
- ``load``: 1, 4 and 8 concurrent clients against ``rag serve`` (``ui.loadtest``);
- ``replicas``: the load test against ``rag serve --engine ray`` with 1 and 2 Ray Serve
  replicas, and with one replica's model process killed mid-run (``bench.replicas``);
- ``batching``: what the model process can do at most: tokens/s for one long prompt (the
  article) and for 1, 2, 4 and 8 sequences decoded together, the tokens one answer costs
  (prompts and generated, the load test's questions, from the model process's own log),
  and so the answers/s that no scheduling of requests can exceed on this machine.

Each returns a dict of medians (of ``runs`` runs) in seconds or milliseconds, named so.
Doesn't: assert targets (docs/performance.md and the issue's note compare), or run in tests.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from statistics import median

from bench import replicas as bench_replicas
from eval.metrics import answer_correct
from rag.config.settings import Settings, resolve_settings
from rag.factory import build_pipeline
from rag.fileio import read_jsonl
from rag.values import EventKind

logger = logging.getLogger(__name__)
RAG = str(Path(sys.executable).with_name("rag"))
QUESTION = "Siapa Menteri Komunikasi dan Informatika yang disebut dalam artikel?"
FACQA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "facqa-valid"
SERVE_TIMEOUT_S = 300


KEEP_ALIVE_S = 30  # the kept_ask part's process outlives the runs by this much


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "RAG_INDEX_DIR": str(settings.index_dir),
        "RAG_PROFILE": settings.profile,
        "RAG_MODEL_CACHE": str(settings.model_cache),
        **extra,
    }


def _s(value: float) -> float:
    return round(value, 2)


def cold_ask(
    settings: Settings,
    runs: int,
    question: str = QUESTION,
    keep_alive: int = 0,
    model_first: bool = False,
) -> dict:
    """``rag ask`` from a new process, the article's state saved: launch -> each stage.
    With ``keep_alive`` seconds, a first untimed run leaves the model process kept;
    ``model_first``: the model process is started before the imports (``bench.cold``)."""
    primer = build_pipeline(settings)
    primer.warm_up()  # the index and the saved state exist beforehand
    primer.backend.server.stop()
    env = _env(settings, RAG_LLM_KEEP_ALIVE=str(keep_alive))
    flags = ["--model-first"] if model_first else []
    rows = []
    for run in range(runs + bool(keep_alive)):
        launched = time.time()
        done = subprocess.run(
            [sys.executable, "-m", "bench.cold", *flags, question],
            env=env,
            capture_output=True,
            text=True,
            timeout=SERVE_TIMEOUT_S,
            check=True,
        )
        stamps = json.loads(done.stdout.strip().splitlines()[-1])["stamps"]
        if run or not keep_alive:
            rows.append({name: at - launched for name, at in stamps.items()})
    stages = {name: _s(median(r[name] for r in rows)) for name in rows[0]}
    return {
        "runs": runs,
        "first_token_s": stages.get("first_token"),
        "end_s": stages["end"],
        "stages_s": stages,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect(url: str, process: subprocess.Popen, deadline: float):
    from gradio_client import Client

    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rag serve exited with {process.returncode}")
        try:
            return Client(url, verbose=False)
        except Exception:  # not listening yet
            time.sleep(0.2)
    raise TimeoutError(f"rag serve did not answer within {SERVE_TIMEOUT_S} s")


class Served:
    """``rag serve`` on a free loopback port, for as long as the block lasts."""

    def __init__(self, settings: Settings, log_path: Path, env: dict[str, str] | None = None):
        self.settings, self.log_path, self.env = settings, log_path, env or {}
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> Served:
        self.launched = time.monotonic()
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [RAG, "serve", "--port", str(self.port)],
            env=_env(self.settings, **self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = _connect(self.url, self.process, self.launched + SERVE_TIMEOUT_S)
        self.ready_s = time.monotonic() - self.launched
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def serve_ready(settings: Settings, runs: int, workdir: Path) -> dict:
    """``rag serve`` from launch until its page answers, and until its first answer."""
    ready, first = [], []
    for _ in range(runs):
        with Served(settings, workdir / "serve.log") as served:
            ready.append(served.ready_s)
            served.client.predict(QUESTION, "auto", 4, api_name="/ask")
            first.append(time.monotonic() - served.launched)
    return {"runs": runs, "ready_s": _s(median(ready)), "first_answer_s": _s(median(first))}


def _timed(pipeline, question: str, doc_id: str | None = None) -> tuple[float, float, object]:
    start = time.perf_counter()
    first, answer = None, None
    for event in pipeline.ask_stream(question, doc_id=doc_id):
        if first is None and event.kind == EventKind.TOKEN:
            first = time.perf_counter() - start
        answer = event.answer or answer
    return first or 0.0, time.perf_counter() - start, answer


def restart(settings: Settings, runs: int) -> dict:
    """The first answer after the model process was killed (SIGKILL) while idle, and what
    it is made of, from the new process's log: its start until the model is loaded, and
    the question's prompt (tokens and tokens/s); then restoring the article's state into
    a slot that holds it, as every question does (milliseconds, the process's own timing)."""
    pipeline = build_pipeline(settings)
    pipeline.warm_up()
    backend = pipeline.backend
    server = backend.server
    firsts, ends, fallbacks, loaded, prompts = [], [], 0, [], []
    for _ in range(runs):
        os.kill(server.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        before = server.log_path.stat().st_size
        first, end, answer = _timed(pipeline, QUESTION)
        firsts.append(first)
        ends.append(end)
        fallbacks += bool(answer.fallback)
        with server.log_path.open(encoding="utf-8", errors="replace") as handle:
            handle.seek(before)
            start = handle.read()
        loaded.append(loaded_at(start))
        prompts.append(next(m for m in PRINT_TIMING.finditer(start) if m[1] == "prompt eval"))
    slot, key = next((s, k) for s in range(server.slots) if (k := backend.pool.holding(s)))
    restores = [
        server.slot_action(slot, "restore", backend.states.filename(key))["timings"]["restore_ms"]
        for _ in range(runs)
    ]
    return {
        "runs": runs,
        "first_token_s": _s(median(firsts)),
        "end_s": _s(median(ends)),
        "fallbacks": fallbacks,
        "model_loaded_s": _s(median(loaded)),
        "question_prompt_tokens": int(median(int(m[3]) for m in prompts)),
        "question_prompt_tokens_per_s": _s(median(int(m[3]) / float(m[2]) * 1000 for m in prompts)),
        "restore_ms": _s(median(restores)),
    }


def loaded_at(log_text: str) -> float:
    r"""Seconds from the model process's start until its model was loaded, from the stamp
    llama-server puts on each log line (minutes.seconds.milliseconds.microseconds).

    >>> loaded_at("0.00.005.827 I srv  load_model: ...\n0.04.278.331 I srv  model loaded")
    4.278
    """
    stamp = re.search(r"^(\d+)\.(\d+)\.(\d+)\.\d+ .*model loaded", log_text, re.MULTILINE)
    if stamp is None:
        raise ValueError("the model process's log has no 'model loaded' line")
    return round(int(stamp[1]) * 60 + int(stamp[2]) + int(stamp[3]) / 1000, 3)


def switching(settings: Settings, runs: int, workdir: Path) -> dict:
    """First token after "Ask about" moves to another of 5 articles, each switch loading
    the article's saved state into a fresh model process's slot."""
    files = sorted((FACQA / "corpus").glob("*.txt"))[:5]
    index_dir = workdir / "five-articles"
    five = replace(settings, index_dir=index_dir)
    pipeline = build_pipeline(five)
    pipeline.index(files)
    docs = [d.doc_id for d in pipeline.documents()]
    for doc_id in docs:  # every article's state evaluated once and saved
        _timed(pipeline, QUESTION, doc_id)
    firsts = []
    for _ in range(runs):
        pipeline.backend.server.stop()  # a fresh process: no slot holds any article
        for doc_id in docs:
            firsts.append(_timed(pipeline, QUESTION, doc_id)[0])
    return {"articles": len(docs), "switches": len(firsts), "first_token_s": _s(median(firsts))}


def passages(settings: Settings, workdir: Path, every: int = 15, read: int | None = None) -> dict:
    """The passages route over FacQA's 273 articles (every ``every``-th question): latency,
    gold span in the answer, refusals; ``read`` sets how many passages the model reads
    first (the profile's ``passages``; 0: all retrieved at once)."""
    index_dir = workdir / "facqa"
    facqa = replace(settings, index_dir=index_dir)
    pipeline = build_pipeline(facqa)
    if read is not None:
        pipeline.profile = replace(pipeline.profile, passages=read)
    pipeline.index(sorted((FACQA / "corpus").glob("*.txt")))
    rows = read_jsonl(FACQA / "questions.jsonl")[::every]
    pipeline.warm_up()
    ends, firsts, right, refused = [], [], 0, 0
    for row in rows:
        first, end, answer = _timed(pipeline, row["question"])
        firsts.append(first)
        ends.append(end)
        right += not answer.abstained and answer_correct(answer.answer, row["answers"])
        refused += answer.abstained
    return {
        "questions": len(rows),
        "route": answer.route,
        "passages_read_first": pipeline.profile.passages,
        "end_s": _s(median(ends)),
        "first_token_s": _s(median(firsts)),
        "accuracy": round(right / len(rows), 3),
        "refused": round(refused / len(rows), 3),
    }


def load(settings: Settings, workdir: Path, clients: list[int], rounds: int) -> dict:
    """Concurrent clients against ``rag serve`` (the load test behind ``make load``)."""
    from ui.loadtest import references, run

    out = {}
    with Served(settings, workdir / "serve.log") as served:
        reference = references(served.url)
        for n in clients:
            result = run(served.url, n, rounds, reference)
            result.pop("answers")
            out[f"{n}_clients"] = result
            logger.info("load, %d clients: %s", n, result)
    return out


PRINT_TIMING = re.compile(r"\| +(prompt eval|eval) time = +([\d.]+) ms / +(\d+) tokens")


def logged_tokens(log_text: str) -> tuple[int, int]:
    r"""(prompt tokens evaluated, tokens generated) over llama-server's ``print_timing``
    lines; a request stopped after its first token logs "eval time = 0.00 ms / 1 tokens",
    a token that was sampled from the prompt's last step, so it is not counted.

    >>> logged_tokens(
    ...     "slot print_timing: id  0 | task 3 | prompt eval time = 1766.99 ms /    35 tokens\n"
    ...     "slot print_timing: id  0 | task 3 |        eval time = 4690.08 ms /    44 tokens\n"
    ...     "slot print_timing: id  0 | task 4 | prompt eval time =  776.60 ms /    17 tokens\n"
    ...     "slot print_timing: id  0 | task 4 |        eval time =    0.00 ms /     1 tokens\n")
    (52, 44)
    """
    prompt = generated = 0
    for line in log_text.splitlines():
        if match := PRINT_TIMING.search(line):
            kind, ms, count = match[1], float(match[2]), int(match[3])
            if kind == "prompt eval":
                prompt += count
            elif ms > 0:
                generated += count
    return prompt, generated


def _completion(root_url: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{root_url}/completion", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=SERVE_TIMEOUT_S) as reply:
        return json.load(reply)


def batching(settings: Settings, runs: int, widths=(1, 2, 4, 8), new_tokens: int = 48) -> dict:
    """The model process's ceiling: tokens/s by batch width, tokens per answer, answers/s."""
    from ui.loadtest import QUESTIONS

    pipeline = build_pipeline(settings)
    pipeline.warm_up()
    server = pipeline.backend.server
    root = server.root_url
    article = pipeline.store.documents[pipeline.documents()[0].doc_id].text

    def rate(width: int, run: int) -> float:
        bodies = [
            {
                "prompt": f"({run}.{i}) Tulis satu kalimat tentang kota nomor {i} di Indonesia.",
                "n_predict": new_tokens,
                "ignore_eos": True,
                "cache_prompt": False,
            }
            for i in range(width)
        ]
        start = time.perf_counter()
        with ThreadPoolExecutor(width) as pool:
            replies = list(pool.map(lambda body: _completion(root, body), bodies))
        tokens = sum(r["timings"]["prompt_n"] + r["timings"]["predicted_n"] for r in replies)
        return tokens / (time.perf_counter() - start)

    long_prompt = [
        _completion(root, {"prompt": f"({run})\n{article}", "n_predict": 1, "cache_prompt": False})
        for run in range(runs)
    ]
    by_width = {w: _s(median(rate(w, run) for run in range(runs))) for w in widths}
    log = server.log_path
    before = log.stat().st_size
    for question in QUESTIONS:
        pipeline.ask(question)
    with log.open(encoding="utf-8", errors="replace") as handle:
        handle.seek(before)
        prompt, generated = logged_tokens(handle.read())
    per_answer = (prompt + generated) / len(QUESTIONS)
    long_rate = median(r["timings"]["prompt_per_second"] for r in long_prompt)
    best = max(long_rate, *by_width.values())
    return {
        "runs": runs,
        "long_prompt_tokens": long_prompt[0]["timings"]["prompt_n"],
        "long_prompt_tokens_per_s": _s(long_rate),
        "decode_tokens_per_s_by_width": by_width,
        "answers": len(QUESTIONS),
        "prompt_tokens_per_answer": _s(prompt / len(QUESTIONS)),
        "generated_tokens_per_answer": _s(generated / len(QUESTIONS)),
        "answers_per_s_ceiling": _s(best / per_answer),
    }


PARTS = (
    "cold_ask", "model_first", "kept_ask", "serve_ready", "restart", "switching", "passages",
    "load", "batching", "replicas",
)  # fmt: skip


def run_runtime(
    settings: Settings,
    runs: int,
    workdir: Path,
    parts=PARTS,
    every: int = 15,
    read: int | None = None,
) -> dict:
    """Every part, each failure recorded in its place (the others still run)."""
    jobs = {
        "cold_ask": lambda: cold_ask(settings, runs),
        "model_first": lambda: cold_ask(settings, runs, model_first=True),
        "kept_ask": lambda: cold_ask(settings, runs, keep_alive=KEEP_ALIVE_S),
        "serve_ready": lambda: serve_ready(settings, runs, workdir),
        "restart": lambda: restart(settings, runs),
        "switching": lambda: switching(settings, runs, workdir),
        "passages": lambda: passages(settings, workdir, every, read),
        "load": lambda: load(settings, workdir, [1, 4, 8], 3),
        "batching": lambda: batching(settings, runs),
        "replicas": lambda: bench_replicas.replicas(settings, workdir, Served),
    }
    results = {}
    for name in parts:
        started = time.perf_counter()
        try:
            results[name] = jobs[name]()
        except Exception as exc:  # recorded; the next part runs
            logger.exception("runtime part %s failed", name)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        results[name]["wall_s"] = _s(time.perf_counter() - started)
        logger.info("%s: %s", name, results[name])
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.runtime [PART ...]``: the parts named (default all), JSON out."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts", nargs="*", metavar="PART", choices=[*PARTS, []], help=f"of {', '.join(PARTS)}"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--every", type=int, default=15, help="passages: every N-th FacQA question (default 15)"
    )
    parser.add_argument(
        "--read",
        type=int,
        default=None,
        help="passages: how many retrieved passages the model reads first (default: the "
        "profile's; 0: all at once)",
    )
    parser.add_argument("--out", default="bench-runtime.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  [%(asctime)s] %(message)s")
    with tempfile.TemporaryDirectory(prefix="rag-bench-runtime-") as tmp:
        results = run_runtime(
            resolve_settings(), args.runs, Path(tmp), args.parts or PARTS, args.every, args.read
        )
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
