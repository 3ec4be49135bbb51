"""Measurements of the machine and the embedder: time, memory, disk, arithmetic throughput.

Memory comes from ``/proc/self/status`` (Linux): the current RSS and its high-water mark,
which ``reset_peak_rss`` restarts so that a peak belongs to the step that follows. The
compute figures relate the embedder's achieved GFLOP/s to a float32 matmul on the same
cores, with the encoder's arithmetic counted per token (``encoder_flops``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import numpy as np

from eval.stats import summarize
from rag.embedding.embedder import Embedder

logger = logging.getLogger(__name__)

EMBED_BATCH = 32  # rag.embedding.embedder encodes in batches of 32: padding is counted the same way
VERSIONED = ("faiss-cpu", "bm25s", "torch", "sentence-transformers", "llama-cpp-python")


def ms_since(since: float) -> float:
    """Milliseconds from a ``time.perf_counter()`` reading to now."""
    return (time.perf_counter() - since) * 1000


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def rss_mb() -> float:
    """The process's resident memory now, in MB.

    >>> rss_mb() > 0
    True
    """
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """The process's RSS high-water mark since it started or since reset_peak_rss()."""
    return _status_mb("VmHWM")


def reset_peak_rss() -> None:
    """Restart the high-water mark from the current RSS (Linux >= 4.0: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def disk_usage_mb(folder: Path) -> dict[str, float]:
    """MB per top-level entry of folder (directories with their contents), plus 'total'."""
    sizes = {}
    for entry in sorted(folder.iterdir()):
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes[entry.name] = round(sum(p.stat().st_size for p in files) / 2**20, 3)
    sizes["total"] = round(sum(sizes.values()), 3)
    return sizes


def timed_stream(chunks: Iterable) -> tuple[float, int, float]:
    """(ms to the first chunk, chunks streamed, ms in total) of one streamed completion.

    >>> first, count, total = timed_stream(iter("abc"))
    >>> count, 0 <= first <= total
    (3, True)
    """
    start, first, count = time.perf_counter(), 0.0, 0
    for _ in chunks:
        count += 1
        if count == 1:
            first = ms_since(start)
    return first, count, ms_since(start)


def decode_rate(count: int, first_ms: float, total_ms: float) -> float | None:
    """Tokens/s after the first chunk of a stream, None when only one came.

    >>> decode_rate(11, 100.0, 600.0), decode_rate(1, 100.0, 100.0)
    (20.0, None)
    """
    return (count - 1) / (total_ms - first_ms) * 1000 if count > 1 else None


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    """The CPU, cores, RAM, load, library versions and llama.cpp build this run is on."""
    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": load_average(),
        "versions": versions,
        "llama_cpp_build": llama_build(),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def llama_build() -> str:
    """The CPU features the llama.cpp runtime was compiled for (portable or native)."""
    from rag.doctor import runtime_features

    try:
        return " ".join(name for name, on in runtime_features().items() if on)
    except Exception as exc:  # reported in the figures, never fatal to the benchmark
        logger.warning("cannot read the llama.cpp build's CPU features: %s", exc)
        return f"unknown ({exc})"


def matmul_peak(runs: int, n: int = 2048, reps: int = 5) -> dict:
    """GFLOP/s of an n x n float32 matmul in torch on 2 threads: the reference peak."""
    import torch  # heavy: only the compute job needs it directly

    torch.set_num_threads(2)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up: thread pool and allocator
    rates = []
    for _ in range(runs * reps):
        start = time.perf_counter()
        a @ b
        rates.append(2 * n**3 / (time.perf_counter() - start) / 1e9)
    return {
        "n": n,
        "threads": 2,
        "peak_gflops": round(max(rates), 1),
        "median_gflops": round(float(np.median(rates)), 1),
    }


def best_of(before: dict, after: dict) -> dict:
    """Matmul figures measured before and after the embedding runs, combined.

    >>> best_of({"n": 8, "threads": 2, "peak_gflops": 3.0, "median_gflops": 2.0},
    ...         {"n": 8, "threads": 2, "peak_gflops": 4.0, "median_gflops": 1.5})
    {'n': 8, 'threads': 2, 'peak_gflops': 4.0, 'median_gflops_before_after': [2.0, 1.5]}
    """
    return {
        "n": before["n"],
        "threads": before["threads"],
        "peak_gflops": max(before["peak_gflops"], after["peak_gflops"]),
        "median_gflops_before_after": [before["median_gflops"], after["median_gflops"]],
    }


# -------------------------------------------------------------------------- embedder


def encoder_flops(length: int, layers: int, hidden: int, ff: int) -> float:
    """FLOPs of one BERT-style encoder pass over ``length`` tokens, a multiply-add being 2.

    Per layer: 2*L*(4*H^2 + 2*H*FF) for the Q, K, V and output projections and the two
    feed-forward matmuls, plus 4*L^2*H for the attention scores (Q K^T) and the weighted
    sum of values. Embedding lookups, layer norms, softmax, GELU and pooling are O(L*H)
    and left out. For multilingual-e5-small, per token at L=100:

    >>> round(encoder_flops(100, 12, 384, 1536) / 100 / 1e6, 1)
    44.3
    """
    return layers * (2 * length * (4 * hidden**2 + 2 * hidden * ff) + 4 * length**2 * hidden)


def padded_lengths(texts: list[str], lengths: list[int]) -> list[int]:
    """Token lengths after padding, batching as sentence-transformers does: longest texts
    (in characters) first, EMBED_BATCH per batch, each padded to its longest.

    >>> padded_lengths(["a", "bbb", "cc"], [1, 3, 2])
    [3, 3, 3]
    """
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = []
    for lo in range(0, len(order), EMBED_BATCH):
        batch = [lengths[i] for i in order[lo : lo + EMBED_BATCH]]
        out += [max(batch)] * len(batch)
    return out


def embedding_throughput(embedder: Embedder, batches: list[list[str]]) -> tuple[dict, np.ndarray]:
    """Passages/s, tokens/s and GFLOP/s of the embedder on passage batches (median of runs),
    and the vectors it made.

    Tokens are counted with the embedder's own sentence-transformers model (its tokenizer,
    passage prompt and layer shapes), the one ``rag.embedding.embedder`` runs.
    """
    embedder = embedder.bulk()  # what builds indexes
    model = embedder._model  # the sentence-transformers model: its tokenizer and config
    config = model[0].auto_model.config
    shape = (config.num_hidden_layers, config.hidden_size, config.intermediate_size)
    prefix = (model.prompts or {}).get("passage", "")
    embedder.embed(batches[0][:EMBED_BATCH], "passage")  # warm-up
    per_run, vectors = [], []
    for texts in batches:
        ids = model.tokenizer(
            [prefix + t for t in texts], truncation=True, max_length=model.max_seq_length
        )["input_ids"]
        lengths = [len(x) for x in ids]
        start = time.perf_counter()
        vectors.append(embedder.embed(texts, "passage"))
        seconds = time.perf_counter() - start
        useful = sum(encoder_flops(n, *shape) for n in lengths)
        padded = sum(encoder_flops(n, *shape) for n in padded_lengths(texts, lengths))
        per_run.append(
            (
                len(texts) / seconds,
                sum(lengths) / seconds,
                useful / seconds / 1e9,
                padded / seconds / 1e9,
                float(np.mean(lengths)),
            )
        )
    rate, tokens, gflops, padded_gflops, mean_len = np.median(np.array(per_run), axis=0)
    figures = {
        "passages": sum(len(b) for b in batches),
        "runs": len(batches),
        "passages_per_s": round(rate, 1),
        "tokens_per_s": round(tokens, 0),
        "mean_tokens": round(mean_len, 1),
        "layers_hidden_ff": list(shape),
        "mflop_per_token": round(encoder_flops(round(mean_len), *shape) / mean_len / 1e6, 2),
        "flops_formula": "layers * (2*L*(4*H^2 + 2*H*FF) + 4*L^2*H) per sequence of L tokens",
        "achieved_gflops": round(gflops, 1),
        "achieved_gflops_with_padding": round(padded_gflops, 1),
    }
    return figures, np.vstack(vectors)


def query_latency(embedder: Embedder, questions: list[str], runs: int, threads: int) -> dict:
    """ms to embed one question (what every search pays before retrieval) with torch on
    ``threads`` threads: on a busy 2-core machine one thread can beat two by far, as two
    threads wait on each other at every small operation."""
    import torch

    default = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for q in questions[:3]:
            embedder.embed_query(q)
        samples = []
        for _ in range(runs):
            for q in questions:
                start = time.perf_counter()
                embedder.embed_query(q)
                samples.append(ms_since(start))
    finally:
        torch.set_num_threads(default)
    return summarize(samples)


def embed_all(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed a corpus in slices, logging progress every tenth."""
    step = max(256, len(texts) // 10)
    out = []
    for lo in range(0, len(texts), step):
        out.append(embedder.embed_many(texts[lo : lo + step], "passage"))
        logger.info("embedded %s/%s", f"{min(lo + step, len(texts)):,}", f"{len(texts):,}")
    return np.vstack(out)
