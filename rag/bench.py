"""Measure how fast and how big the assistant is on this machine: the figures behind `make bench`.

What it measures, each part in a fresh subprocess so that memory peaks never mix:

- compute: a float32 matmul peak (torch, 2 threads) as the machine's reference; the
  embedder's achieved tokens/s and GFLOP/s against its arithmetic per token; the latency
  of embedding one question.
- vectors: synthetic passages embedded for real, as many as fit a time budget, and the
  FAISS index's recall on them against vectors generated for the same passages.
- article: the real pipeline's index over the bundled article, built in a temp dir (build
  time, peak RSS, size, retrieval latency); then the local GGUF model alone through
  llama-cpp-python (time to first token with a cold and a prefix-cached prompt, decoding
  tokens/s) and the pipeline's answers (``ask``/``ask_stream``: end to end and to the
  first token), when the pipeline has them.
- one synthetic corpus per size: index build throughput, peak RSS, size on disk (via
  ``rag.store.save_index``); then, in another fresh process that loads it with
  ``rag.store.load_index``: load time, RSS, retrieval latency (dense, BM25, fused, and
  exact search for comparison) and recall@10 of the FAISS index against exact search.

Synthetic corpora recombine the bundled article's sentences into passages (clauses
shuffled, numbers and capitalised words swapped for Zipf-distributed pseudo-names), so
BM25 sees a text-like, growing vocabulary. As many passages as the measured embedding rate
gets through in three minutes (at most 10k) are embedded for real, and the corpora that
small use them; above, each passage's vector is *generated*: the normalised mean of its
sentences' real vectors plus Gaussian noise, calibrated so generated vectors stray from
that mean as far as really embedded synthetic passages do.

What it does not measure: answer quality (that is ``rag eval``), concurrent users, cold
disk caches (index files were just written), anything on a GPU. Generated vectors come
from one article's two dozen sentences, so they cluster more than a news archive would;
at the largest embedded size the FAISS index's recall is also checked on real vectors to
show how much that matters. Figures are printed and written to JSON, never asserted: the
machine is shared, so quote medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.analyzer import analyze
from rag.answer import STOP, load_template
from rag.context import build_context, chat_messages
from rag.corpus import default_documents, split_sentences
from rag.embed import Embedder, load_embedder
from rag.language import text_language
from rag.llm import get_backend
from rag.pipeline import Pipeline
from rag.retrieve import MODES, retrieve
from rag.settings import PROJECT_DIR, Settings, resolve_settings
from rag.store import (
    EXACT_SEARCH_LIMIT,
    IndexStore,
    build_bm25,
    build_dense_index,
    current_version,
    load_index,
    save_index,
)
from rag.types import Document, Passage

DEFAULT_SIZES = [10_000, 100_000, 1_000_000]
DEFAULT_RUNS = 3
REAL_EMBED_LIMIT = 10_000  # at most this many synthetic passages are embedded for real,
REAL_EMBED_BUDGET_S = 180  # and only as many as the measured rate embeds in 3 minutes
CORPUS_SEED = 0  # every size draws the same sequence: a smaller corpus is a prefix
RECALL_K = 10
EMBED_BATCH = 32  # rag.embed encodes in batches of 32: padding is counted the same way

PASSAGES_PER_DOC = 10  # paragraphs per synthetic article, as in a typical news story
SENTENCES_PER_PASSAGE = (2, 3)  # about 300 characters, like the article's own passages
NAME_POOL = 500_000  # distinct pseudo-names a corpus may draw from
NAME_ZIPF = 1.2  # their frequencies fall off as rank**-1.2, like names in news
SWAP_PROBABILITY = 0.5  # chance that a number, or a distinct name in a passage, is replaced
SHUFFLE_PROBABILITY = 0.2  # chance that two inner clauses of a sentence trade places
# Numbers, and capitalised words inside a sentence (not after a stop or an opening quote).
SLOT = re.compile(r"(\d+(?:[.,]\d+)*|(?<=[^.!?\"“]\s)[A-Z][^\W\d_]*)")
_SYLLABLES = [c + v for c in "bcdgjklmnprstw" for v in "aiueo"]


# ------------------------------------------------------------------------ measuring


def summarize(samples_ms: list[float]) -> dict[str, float]:
    """Latency samples -> median, 95th percentile and count.

    >>> summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    {'p50': 3.0, 'p95': 80.8, 'n': 5}
    """
    a = np.asarray(samples_ms, dtype=float)
    return {
        "p50": round(float(np.median(a)), 3),
        "p95": round(float(np.percentile(a, 95)), 3),
        "n": len(a),
    }


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def rss_mb() -> float:
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


def _say(message: str) -> None:
    """Progress of a worker, on stderr: stdout carries only the parent's table."""
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- synthetic corpora


def sentence_pool() -> list[str]:
    """The sentences of the bundled article(s): the material synthetic passages reuse."""
    return [s.text for doc in default_documents() for s in split_sentences(doc)]


def bench_questions() -> list[str]:
    """The evaluation set's questions (Indonesian and English); the pool if it is absent."""
    path = PROJECT_DIR / "eval" / "dataset.jsonl"
    if not path.is_file():
        return sentence_pool()
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [row["question"] for row in rows]


def spread(items: list, n: int) -> list:
    """n items taken evenly across a list (so both languages of the question set appear).

    >>> spread(list(range(10)), 3)
    [0, 3, 6]
    """
    n = min(n, len(items))
    return [items[i * len(items) // n] for i in range(n)]


def pseudo_name(rank: int) -> str:
    """A pronounceable capitalised name for a frequency rank.

    >>> pseudo_name(0), pseudo_name(71), pseudo_name(5000)
    ('Baba', 'Bibi', 'Labibi')
    """
    n = len(_SYLLABLES)
    length = 2 if rank < n**2 else 3 if rank < n**3 else 4
    syllables = []
    for _ in range(length):
        rank, digit = divmod(rank, n)
        syllables.append(_SYLLABLES[digit])
    return "".join(syllables).capitalize()


@dataclass(frozen=True)
class SyntheticCorpus:
    """Articles and passages made of recombined sentences; ``members[i]`` lists the pool
    sentences passage i was made from (-1 pads)."""

    documents: list[Document]
    passages: list[Passage]
    members: np.ndarray


class PassageWriter:
    """Writes passages by sampling pool sentences and varying their names, numbers, clauses."""

    def __init__(self, sentences: list[str], seed: int = 0):
        self.templates = [SLOT.split(s) for s in sentences]  # literals at even, slots at odd
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self._ranks: list[int] = []

    def _name(self) -> str:
        if not self._ranks:  # drawn in bulk: one numpy call per 65k names
            self._ranks = ((self.np_rng.zipf(NAME_ZIPF, 1 << 16) - 1) % NAME_POOL).tolist()
        return pseudo_name(self._ranks.pop())

    def _number(self, original: str) -> str:
        if "." in original or "," in original:  # "1.000" stays a thousands-style number
            return f"{self.rng.randint(1, 999)}.{self.rng.randint(0, 999):03d}"
        digits = len(original)
        return str(self.rng.randint(10 ** (digits - 1), 10**digits - 1))

    def _sentence(self, index: int, names: dict[str, str]) -> str:
        parts = list(self.templates[index])
        for i in range(1, len(parts), 2):
            slot = parts[i]
            if slot[0].isdigit():
                parts[i] = self._number(slot) if self.rng.random() < SWAP_PROBABILITY else slot
                continue
            if slot not in names:  # a name is swapped consistently within a passage
                names[slot] = self._name() if self.rng.random() < SWAP_PROBABILITY else slot
            parts[i] = names[slot]
        clauses = "".join(parts).split(", ")
        if len(clauses) > 3 and self.rng.random() < SHUFFLE_PROBABILITY:
            i, j = self.rng.sample(range(1, len(clauses) - 1), 2)  # the last keeps the stop
            clauses[i], clauses[j] = clauses[j], clauses[i]
        return ", ".join(clauses)

    def passage(self) -> tuple[str, list[int]]:
        """One passage's text and the pool sentences it was made from."""
        chosen = self.rng.sample(
            range(len(self.templates)), self.rng.randint(*SENTENCES_PER_PASSAGE)
        )
        names: dict[str, str] = {}
        return " ".join(self._sentence(i, names) for i in chosen), chosen


def synthetic_corpus(sentences: list[str], n: int, seed: int = 0) -> SyntheticCorpus:
    """n passages, grouped into articles of PASSAGES_PER_DOC paragraphs with exact offsets."""
    writer = PassageWriter(sentences, seed)
    members = np.full((n, SENTENCES_PER_PASSAGE[1]), -1, dtype=np.int16)
    documents, passages = [], []
    for first in range(0, n, PASSAGES_PER_DOC):
        doc_id = f"syn-{first // PASSAGES_PER_DOC:06d}"
        texts = []
        for row in range(first, min(first + PASSAGES_PER_DOC, n)):
            text, chosen = writer.passage()
            members[row, : len(chosen)] = chosen
            texts.append(text)
        start = 0
        for number, text in enumerate(texts, start=1):
            passages.append(
                Passage(f"{doc_id}#{number}", doc_id, number, start, start + len(text), text)
            )
            start += len(text) + 1
        documents.append(Document(doc_id, f"{doc_id}.txt", "\n".join(texts), language="id"))
    return SyntheticCorpus(documents, passages, members)


def mean_vectors(sentence_vectors: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Each passage's normalised mean of its sentences' vectors (the rows of ``members``)."""
    mask = (members >= 0)[..., None]
    total = (sentence_vectors[np.maximum(members, 0)] * mask).sum(axis=1)
    return total / np.linalg.norm(total, axis=1, keepdims=True)


def generated_vectors(
    sentence_vectors: np.ndarray,
    members: np.ndarray,
    sigma: float,
    seed: int = 0,
    chunk: int = 65_536,
) -> np.ndarray:
    """Vectors for passages that are not embedded: normalise(mean + N(0, sigma^2)), in
    chunks so that only the float32 result is held whole."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(members), sentence_vectors.shape[1]), dtype=np.float32)
    for lo in range(0, len(members), chunk):
        v = mean_vectors(sentence_vectors, members[lo : lo + chunk])
        v += rng.standard_normal(v.shape, dtype=np.float32) * sigma
        out[lo : lo + chunk] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def noise_sigma(real: np.ndarray, sentence_vectors: np.ndarray, members: np.ndarray) -> float:
    """The per-component noise that makes generated vectors stray from their sentences'
    mean as far as really embedded passages do."""
    residual = real - mean_vectors(sentence_vectors, members)
    return float(np.sqrt(np.mean(np.sum(residual**2, axis=1)) / real.shape[1]))


# ------------------------------------------------------------------ compute and model


def matmul_peak(runs: int, n: int = 2048, reps: int = 5) -> dict:
    """GFLOP/s of an n x n float32 matmul in torch on 2 threads: the reference peak."""
    import torch  # heavy: only the compute worker needs it directly

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


def _padded_lengths(texts: list[str], lengths: list[int]) -> list[int]:
    """Token lengths after padding, batching as sentence-transformers does: longest texts
    (in characters) first, EMBED_BATCH per batch, each padded to its longest."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = []
    for lo in range(0, len(order), EMBED_BATCH):
        batch = [lengths[i] for i in order[lo : lo + EMBED_BATCH]]
        out += [max(batch)] * len(batch)
    return out


def embedding_throughput(embedder: Embedder, batches: list[list[str]]) -> tuple[dict, np.ndarray]:
    """Passages/s, tokens/s and GFLOP/s of the embedder on passage batches (median of runs),
    and the vectors it made."""
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
        padded = sum(encoder_flops(n, *shape) for n in _padded_lengths(texts, lengths))
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
    for q in questions[:3]:
        embedder.embed_query(q)
    samples = []
    for _ in range(runs):
        for q in questions:
            start = time.perf_counter()
            embedder.embed_query(q)
            samples.append(_ms(start))
    torch.set_num_threads(default)
    return summarize(samples)


# ----------------------------------------------------------------------- retrieval


def describe_index(index: faiss.Index) -> str:
    """'flat (exact)', 'HNSW M=32 efConstruction=80 efSearch=128', 'IVF4096 nprobe=32'..."""
    if isinstance(index, faiss.IndexHNSW):
        h = index.hnsw
        return f"HNSW M={h.nb_neighbors(1)} efConstruction={h.efConstruction} efSearch={h.efSearch}"
    if isinstance(index, faiss.IndexIVF):
        return f"IVF{index.nlist},Flat nprobe={index.nprobe}"
    if isinstance(index, faiss.IndexFlat):
        return "flat (exact)"
    return type(index).__name__


def recall_at_k(
    index: faiss.Index, vectors: np.ndarray, queries: np.ndarray, k: int = RECALL_K
) -> float:
    """Mean share of the exact top-k (brute force over ``vectors``) the index returns."""
    _, exact = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = index.search(queries, k)
    return round(
        float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, found, strict=True)])), 4
    )


def recall_queries(shared: Shared, members: np.ndarray, n: int = 100) -> dict[str, np.ndarray]:
    """Real question vectors, and passage-like generated ones (new noise on corpus rows)."""
    rows = np.random.default_rng(1).choice(len(members), min(n, len(members)), replace=False)
    generated = generated_vectors(shared.sentence_vectors, members[rows], shared.sigma, seed=2)
    return {"real_questions": shared.question_vectors, "generated_queries": generated}


def dense_quality(index: faiss.Index, vectors: np.ndarray, queries: dict[str, np.ndarray]) -> dict:
    """Recall@10 of a FAISS index per query set (1.0 by construction for flat search)."""
    return {name: recall_at_k(index, vectors, q) for name, q in queries.items()}


def retrieval_latency(
    store: IndexStore, questions: list[str], vectors: np.ndarray, runs: int, k: int
) -> dict[str, dict]:
    """ms per ``rag.retrieve.retrieve`` call and mode, the query vector given (so embedding
    is excluded); the first pass warms caches and is not counted."""
    out = {}
    for mode in MODES:
        samples = []
        for run in range(runs + 1):
            for q, v in zip(questions, vectors, strict=True):
                start = time.perf_counter()
                retrieve(store, None, q, k=k, mode=mode, query_vector=v)  # type: ignore[arg-type]
                if run:
                    samples.append(_ms(start))
        out[mode] = summarize(samples)
    return out


def exact_latency(store: IndexStore, vectors: np.ndarray, runs: int, pool: int = 50) -> dict:
    """ms of brute-force search over the same vectors: what the FAISS index saves."""
    samples = []
    for run in range(runs + 1):
        for v in vectors:
            start = time.perf_counter()
            faiss.knn(
                v[None],
                store.vectors,
                min(pool, len(store.vectors)),
                metric=faiss.METRIC_INNER_PRODUCT,
            )
            if run:
                samples.append(_ms(start))
    return summarize(samples)


def bm25_breakdown(store: IndexStore, questions: list[str], pool: int = 50) -> dict:
    """Where a BM25 query's time goes: analysing the question (with the vocabulary filter),
    bm25s scoring and top-k, and language detection (fused mode); and how many postings
    a query touches. Medians in ms."""
    vocab, indptr = store.bm25.vocab_dict, store.bm25.scores["indptr"]
    parts: dict[str, list[float]] = {"analyze": [], "bm25s_retrieve": [], "language": []}
    postings = []
    for q in questions:
        start = time.perf_counter()
        terms = [t for t in analyze(q) if t in vocab]
        parts["analyze"].append(_ms(start))
        if terms:
            start = time.perf_counter()
            store.bm25.retrieve(
                [terms], k=min(pool, len(store.passages)), show_progress=False, n_threads=1
            )
            parts["bm25s_retrieve"].append(_ms(start))
        start = time.perf_counter()
        text_language(q)
        parts["language"].append(_ms(start))
        postings.append(sum(int(indptr[vocab[t] + 1] - indptr[vocab[t]]) for t in terms))
    out = {name: round(float(np.median(v)), 3) for name, v in parts.items() if v}
    out["postings_per_query"] = int(np.median(postings))
    out["vocabulary"] = len(vocab)
    return out


# -------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class Job:
    """What a worker subprocess is asked to do."""

    part: str
    settings: Settings
    shared: Path  # the bench's temp dir: shared vectors, built indexes
    runs: int
    size: int = 0


@dataclass(frozen=True)
class Shared:
    """Real vectors the compute worker embeds once for the others."""

    questions: list[str]
    question_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sigma: float

    @classmethod
    def load(cls, folder: Path) -> Shared:
        data = np.load(folder / "shared.npz")
        questions = json.loads((folder / "questions.json").read_text("utf-8"))
        return cls(questions, data["questions"], data["sentences"], float(data["sigma"]))

    def save(self, folder: Path) -> None:
        np.savez(
            folder / "shared.npz",
            questions=self.question_vectors,
            sentences=self.sentence_vectors,
            sigma=self.sigma,
        )
        (folder / "questions.json").write_text(json.dumps(self.questions, ensure_ascii=False))


def _embedder(settings: Settings) -> Embedder:
    return load_embedder(settings.embed_model, settings.model_cache)


def work_compute(job: Job) -> dict:
    """Matmul peak, embedder throughput, question latency; saves the shared vectors."""
    before = matmul_peak(job.runs)
    _say(f"matmul peak {before['peak_gflops']} GFLOP/s")
    out: dict[str, Any] = {}
    start = time.perf_counter()
    embedder = _embedder(job.settings)
    out["embedder_load_s"] = round(time.perf_counter() - start, 2)
    pool, questions = sentence_pool(), bench_questions()
    sample = synthetic_corpus(pool, 64 * job.runs, seed=7)
    texts = [p.text for p in sample.passages]
    batches = [texts[i : i + 64] for i in range(0, len(texts), 64)]
    out["embedding"], real = embedding_throughput(embedder, batches)
    _say(f"embedding {out['embedding']['passages_per_s']} passages/s")
    out["matmul"] = _best_of(before, matmul_peak(job.runs))  # the machine's load drifts
    out["embedding"]["fraction_of_matmul_peak"] = round(
        out["embedding"]["achieved_gflops"] / out["matmul"]["peak_gflops"], 3
    )
    asked = spread(questions, 50)
    out["query_embedding_ms"] = query_latency(embedder, asked, job.runs, threads=2)
    out["query_embedding_1_thread_ms"] = query_latency(embedder, asked, job.runs, threads=1)
    sentence_vectors = embedder.embed(pool, "passage")
    sigma = noise_sigma(real, sentence_vectors, sample.members)
    out["generated_vector_noise_sigma"] = round(sigma, 5)
    Shared(questions, embedder.embed(questions, "query"), sentence_vectors, sigma).save(job.shared)
    return out


def _best_of(before: dict, after: dict) -> dict:
    """Matmul figures measured before and after the embedding runs, combined."""
    return {
        "n": before["n"],
        "threads": before["threads"],
        "peak_gflops": max(before["peak_gflops"], after["peak_gflops"]),
        "median_gflops_before_after": [before["median_gflops"], after["median_gflops"]],
    }


def _llm_prompt(
    question: str, vector: np.ndarray, shared: Shared, pool: list[str], family: str
) -> str:
    """The answer prompt as the pipeline fills it: the two pool sentences closest to the
    question as evidence."""
    best = sorted(np.argsort(-(shared.sentence_vectors @ vector))[:2])
    language = _language(question)
    context = " ".join(pool[i] for i in best)
    return load_template(f"answer-{family}", language).format(context=context, question=question)


def _timed_stream(chunks: Any) -> tuple[float, int, float]:
    """(ms to the first chunk, chunks streamed, ms in total) of one streamed completion."""
    start, first, count = time.perf_counter(), 0.0, 0
    for _ in chunks:
        count += 1
        if count == 1:
            first = _ms(start)
    return first, count, _ms(start)


def _count_tokens(base_url: str, text: str) -> int:
    """Tokens of a text, counted by the model process (llama-cpp-python's extras API)."""
    import urllib.request

    body = json.dumps({"input": text}).encode()
    request = urllib.request.Request(
        f"{base_url.removesuffix('/v1')}/extras/tokenize/count",
        body,
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return int(json.load(reply)["count"])


Prompt = str | list[tuple[str, str]]  # a completion prompt, or chat messages


def _unique(prompt: Prompt, tag: str) -> Prompt:
    """The prompt with a unique first line, so llama.cpp can reuse none of it."""
    if isinstance(prompt, str):
        return f"{tag}\n{prompt}"
    (role, first), *rest = prompt
    return [(role, f"{tag}\n{first}"), *rest]


def _text(prompt: Prompt) -> str:
    return prompt if isinstance(prompt, str) else "\n".join(text for _, text in prompt)


def llm_speed(settings: Settings, prompts: list[Prompt], max_tokens: int = 48) -> dict:
    """The production backend (the model in its supervised process): start time, TTFT cold
    (a unique first line defeats llama.cpp's prefix reuse) and prefix-cached (the few-shot
    prefix is reused, as in the running app), prompt and decoding tokens/s."""
    start = time.perf_counter()
    backend = get_backend(settings)  # starts the model process
    load_s = time.perf_counter() - start
    url = backend.server.ensure()
    list(backend.stream(prompts[0], STOP, 4))  # warm-up
    cold, prompt_rates, cached, decode_rates, sizes = [], [], [], [], []
    for i, prompt in enumerate(prompts):
        unique = _unique(prompt, f"({i}, {time.time_ns()})")
        first, _, _ = _timed_stream(backend.stream(unique, [], 1))
        cold.append(first)
        sizes.append(_count_tokens(url, _text(unique)))
        prompt_rates.append(sizes[-1] / first * 1000)
    for prompt in prompts:
        first, count, total = _timed_stream(backend.stream(prompt, STOP, max_tokens))
        cached.append(first)
        if count > 1:
            decode_rates.append((count - 1) / (total - first) * 1000)
    return {
        "model": Path(backend.path).name,
        "where": "supervised model process (rag.runtime), through the OpenAI protocol",
        "threads": backend.server.threads,
        "load_s": round(load_s, 2),
        "max_tokens": max_tokens,
        "ttft_cold_ms": summarize(cold),
        "ttft_prefix_cached_ms": summarize(cached),
        "prompt_tokens": int(np.median(sizes)),
        "prompt_tokens_per_s": round(float(np.median(prompt_rates)), 1),
        "decode_tokens_per_s": round(float(np.median(decode_rates or [0.0])), 1),
    }


def llm_inprocess_reference(
    model_path: str, context: int, prompts: list[Prompt], max_tokens: int = 48
) -> dict:
    """The same GGUF and runtime loaded in this process, as the app ran it before the model
    moved to its own process: what the process boundary costs, in one run."""
    from llama_cpp import Llama  # compiled extension: loaded only by this worker

    llama = Llama(model_path=model_path, n_ctx=context, n_threads=2, verbose=False, seed=0)

    def stream(prompt: Prompt, n: int) -> Any:
        if isinstance(prompt, str):
            return llama.create_completion(
                prompt, max_tokens=n, temperature=0.0, top_k=1, stop=STOP, stream=True
            )
        messages = [{"role": role, "content": text} for role, text in prompt]
        return llama.create_chat_completion(
            messages, max_tokens=n, temperature=0.0, top_k=1, stream=True
        )

    _timed_stream(stream(prompts[0], 4))  # warm-up
    cached, decode_rates = [], []
    for prompt in prompts:
        first, count, total = _timed_stream(stream(prompt, max_tokens))
        cached.append(first)
        if count > 1:
            decode_rates.append((count - 1) / (total - first) * 1000)
    return {
        "where": "in the benchmark's own process (reference)",
        "ttft_prefix_cached_ms": summarize(cached),
        "decode_tokens_per_s": round(float(np.median(decode_rates or [0.0])), 1),
    }


def ask_latency(pipeline: Pipeline, questions: list[str]) -> dict:
    """End-to-end answer latency, time to the first token and the answer's own stage
    timings, through Pipeline.ask_stream, from the first question after the app's start
    (``warm_up``: the models load and the shared prompt prefix is evaluated)."""
    start = time.perf_counter()
    pipeline.warm_up()
    warm_up_s = time.perf_counter() - start
    timed = [_timed_answer(pipeline, q) for q in questions]
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


def _timed_answer(pipeline: Pipeline, question: str) -> tuple[float, float | None, dict]:
    """(ms in total, ms to the first 'token' event or None, the answer's timings_ms)."""
    start = time.perf_counter()
    first, answer = None, None
    for event in pipeline.ask_stream(question):
        if first is None and event.kind == "token":
            first = _ms(start)
        answer = event.answer or answer
    return _ms(start), first, dict(answer.timings_ms)


def _llm_prompts(shared: Shared, n: int, pipeline: Pipeline) -> list[Prompt]:
    """Prompts as the pipeline fills them: chat messages over the whole article for an
    instruction-tuned profile, few-shot completions over close sentences for a base one."""
    picked = spread(list(range(len(shared.questions))), n)
    if pipeline.backend.mode == "chat":
        context = build_context(pipeline.store, [], None, pipeline.profile.context)
        return [
            chat_messages(context, shared.questions[i], _language(shared.questions[i]))
            for i in picked
        ]
    pool = sentence_pool()
    family = pipeline.profile.prompts
    return [
        _llm_prompt(shared.questions[i], shared.question_vectors[i], shared, pool, family)
        for i in picked
    ]


def _language(question: str) -> str:
    return "id" if text_language(question) == "id" else "en"


def work_article(job: Job) -> dict:
    """The real pipeline over the bundled article, indexed in a temp dir: build, size and
    retrieval latency; then the LLM alone, then the pipeline's answers. Memory is read
    before the LLM loads, so its peak is the index's."""
    shared = Shared.load(job.shared)
    with tempfile.TemporaryDirectory(prefix="rag-bench-article-", dir=job.shared) as tmp:
        pipeline = Pipeline(replace(job.settings, index_dir=Path(tmp)))
        article = _article_index(pipeline, shared, job.runs, Path(tmp))
        _say(f"article indexed in {article['build_s']} s; timing the LLM")
        prompts = _llm_prompts(shared, 2 * job.runs, pipeline)
        llm = llm_speed(job.settings, prompts)
        reference = llm_inprocess_reference(
            pipeline.backend.path, pipeline.profile.context, prompts
        )
        try:
            ask = ask_latency(pipeline, spread(shared.questions, 2 * job.runs))
        except Exception as exc:  # the ask API is young: report a failure, don't abort
            ask = {"available": True, "error": f"{type(exc).__name__}: {exc}"}
    return {"article": article, "llm": {"llm": llm, "llm_in_process": reference, "ask": ask}}


def _article_index(pipeline: Pipeline, shared: Shared, runs: int, index_dir: Path) -> dict:
    pipeline.embedder  # noqa: B018 - load the model first: the build is timed alone
    baseline = rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    pipeline.index([])
    build_s = time.perf_counter() - start
    peak = peak_rss_mb()
    store = pipeline.store
    searches = []
    for _ in range(runs):
        for q in spread(shared.questions, 10):
            searches.append(pipeline.search(q).timings_ms["retrieve"])
    return {
        "passages": len(store.passages),
        "vectors": "embedded",
        "dense_index": describe_index(store.dense),
        "build_s": round(build_s, 3),
        "build_passages_per_s_with_embedding": round(len(store.passages) / build_s, 1),
        "baseline_rss_mb": round(baseline, 1),
        "build_peak_rss_mb": round(peak, 1),
        "disk_mb": disk_usage_mb(current_version(index_dir)),
        "retrieval_ms": retrieval_latency(
            store, shared.questions, shared.question_vectors, runs, pipeline.settings.k
        ),
        "search_with_query_embedding_ms": summarize(searches),
    }


def _embed_all(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Embed a corpus in slices, reporting progress every tenth."""
    step = max(256, len(texts) // 10)
    out = []
    for lo in range(0, len(texts), step):
        out.append(embedder.embed(texts[lo : lo + step], "passage"))
        _say(f"embedded {min(lo + step, len(texts)):,}/{len(texts):,}")
    return np.vstack(out)


def _index_dir(job: Job) -> Path:
    return job.shared / f"index-{job.size}"


def recall_curve(vectors: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """Recall@10 of the approximate index (forced, whatever the size) as nprobe doubles;
    'default' is the nprobe rag.store chooses."""
    index = build_dense_index(vectors, exact_limit=0)
    default = index.nprobe
    curve = {}
    for nprobe in [1 << i for i in range(int(np.log2(index.nlist)) + 1)]:
        index.nprobe = nprobe
        curve[str(nprobe)] = recall_at_k(index, vectors, queries)
    index.nprobe = default
    curve["default"] = recall_at_k(index, vectors, queries)
    return {"index": describe_index(index), **curve}


def work_vectors(job: Job) -> dict:
    """Embed the first job.size synthetic passages for real (the build workers reuse them),
    and compare the approximate index's recall on them with generated vectors for the
    same passages: how far generated data misleads."""
    shared, n = Shared.load(job.shared), job.size
    corpus = synthetic_corpus(sentence_pool(), n, seed=CORPUS_SEED)
    embedder = _embedder(job.settings)
    start = time.perf_counter()
    real = _embed_all(embedder, [p.text for p in corpus.passages])
    embed_s = time.perf_counter() - start
    np.savez(job.shared / "real-vectors.npz", vectors=real, embed_s=embed_s)
    generated = generated_vectors(shared.sentence_vectors, corpus.members, shared.sigma, seed=3)
    cosine = float(np.mean(np.sum(real * generated, axis=1)))
    return {
        "passages": n,
        "embed_s": round(embed_s, 1),
        "passages_per_s": round(n / embed_s, 1),
        "mean_cosine_real_vs_generated": round(cosine, 4),
        "recall_at_10_vs_nprobe": {
            "real_vectors": recall_curve(real, shared.question_vectors),
            "generated_vectors": recall_curve(generated, shared.question_vectors),
        },
    }


def _corpus_vectors(job: Job, corpus: SyntheticCorpus, shared: Shared) -> tuple[np.ndarray, dict]:
    """The corpus's vectors, real ones (embedded by the vectors worker) when there are
    enough, else generated; with the time they took (embedding time prorated)."""
    real = job.shared / "real-vectors.npz"
    if real.is_file():
        data = np.load(real)
        if len(data["vectors"]) >= job.size:
            seconds = float(data["embed_s"]) * job.size / len(data["vectors"])
            return data["vectors"][: job.size].copy(), {"embed_s": seconds}
    start = time.perf_counter()
    vectors = generated_vectors(shared.sentence_vectors, corpus.members, shared.sigma, seed=4)
    return vectors, {"generate_vectors_s": time.perf_counter() - start}


def work_build(job: Job) -> dict:
    """A synthetic corpus of job.size passages: vectors, BM25 and FAISS built, saved."""
    shared, n = Shared.load(job.shared), job.size
    baseline = rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    corpus = synthetic_corpus(sentence_pool(), n, seed=CORPUS_SEED)
    t = {"generate_text_s": time.perf_counter() - start}
    vectors, vector_times = _corpus_vectors(job, corpus, shared)
    t.update(vector_times)
    _say(f"{n:,} passages and vectors ready; building BM25")
    start = time.perf_counter()
    bm25 = build_bm25(corpus.passages)
    t["bm25_s"] = time.perf_counter() - start
    _say(f"BM25 built in {t['bm25_s']:.1f} s; building the dense index")
    start = time.perf_counter()
    dense = build_dense_index(vectors)
    t["dense_s"] = time.perf_counter() - start
    build_peak = peak_rss_mb()
    manifest = {"synthetic": True, "passages": n, "dense_index": describe_index(dense)}
    documents = {d.doc_id: d for d in corpus.documents}
    store = IndexStore(documents, corpus.passages, vectors, dense, bm25, manifest)
    index_s = t["bm25_s"] + t["dense_s"]
    out: dict[str, Any] = {
        "passages": n,
        "vectors": "embedded" if "embed_s" in t else "generated, not embedded",
        "vocabulary": len(bm25.vocab_dict),
        "dense_index": describe_index(dense),
        "timings_s": {k: round(v, 2) for k, v in t.items()},
        "index_passages_per_s": round(n / index_s, 1),
        "baseline_rss_mb": round(baseline, 1),
        "build_peak_rss_mb": round(build_peak, 1),
        "recall_at_10": dense_quality(dense, vectors, recall_queries(shared, corpus.members)),
    }
    if "embed_s" in t:
        out["build_passages_per_s_with_embedding"] = round(n / (t["embed_s"] + index_s), 1)
    start = time.perf_counter()
    version = save_index(store, _index_dir(job))
    out["save_s"] = round(time.perf_counter() - start, 2)
    out["disk_mb"] = disk_usage_mb(version)
    return out


def work_serve(job: Job) -> dict:
    """The saved index loaded as the app loads it, then queried."""
    shared = Shared.load(job.shared)
    baseline = rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    store = load_index(_index_dir(job))
    load_s = time.perf_counter() - start
    loaded_rss = rss_mb()
    _say(f"loaded in {load_s:.1f} s; timing retrieval")
    q, v = shared.questions, shared.question_vectors
    few = spread(list(range(len(q))), 30)
    return {
        "load_s": round(load_s, 2),
        "baseline_rss_mb": round(baseline, 1),
        "loaded_rss_mb": round(loaded_rss, 1),
        "load_peak_rss_mb": round(peak_rss_mb(), 1),
        "dense_index": describe_index(store.dense),
        "retrieval_ms": retrieval_latency(store, q, v, job.runs, job.settings.k),
        "exact_search_ms": exact_latency(store, v[few], job.runs),
        "bm25_breakdown_ms": bm25_breakdown(store, q),
    }


WORKERS: dict[str, Callable[[Job], dict]] = {
    "compute": work_compute,
    "vectors": work_vectors,
    "article": work_article,
    "build": work_build,
    "serve": work_serve,
}


# ---------------------------------------------------------------------- the parent


def _settings_flags(settings: Settings) -> dict[str, str]:
    return {f.name: str(getattr(settings, f.name)) for f in fields(Settings)}


def spawn(job: Job, progress: bool) -> dict:
    """Run one worker in a fresh Python process; its result, or {'error': ...}."""
    result = job.shared / f"{job.part}-{job.size}.json"
    command = [
        sys.executable,
        "-m",
        "rag.bench",
        "--worker",
        job.part,
        "--shared",
        str(job.shared),
        "--runs",
        str(job.runs),
        "--size",
        str(job.size),
        "--result",
        str(result),
        "--settings",
        json.dumps(_settings_flags(job.settings)),
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        command, stdout=subprocess.DEVNULL, text=True, stderr=None if progress else subprocess.PIPE
    )
    if proc.returncode != 0 or not result.is_file():
        tail = (proc.stderr or "").strip().splitlines()[-5:]
        return {"error": f"{job.part} worker exited with {proc.returncode}", "stderr": tail}
    out = json.loads(result.read_text("utf-8"))
    out["worker_wall_s"] = round(time.perf_counter() - start, 1)
    return out


def _worker_main(args: argparse.Namespace) -> int:
    settings = resolve_settings(**json.loads(args.settings))
    job = Job(args.worker, settings, Path(args.shared), args.runs, args.size)
    out = WORKERS[job.part](job)
    Path(args.result).write_text(json.dumps(out, indent=2, ensure_ascii=False), "utf-8")
    return 0


def _machine() -> dict:
    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    versions = {}
    for name in ("faiss-cpu", "bm25s", "torch", "sentence-transformers", "llama-cpp-python"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "llama_cpp_build": _llama_build(),
    }


def _llama_build() -> str:
    """The CPU features the llama.cpp runtime was compiled for (portable or native)."""
    from rag.doctor import runtime_features

    try:
        return " ".join(name for name, on in runtime_features().items() if on)
    except Exception as exc:  # reported, never fatal to the benchmark
        return f"unknown ({exc})"


def _label(size: int) -> str:
    """10000 -> '10k', 1000000 -> '1M'."""
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


def run_bench(
    settings: Settings,
    out: Path,
    sizes: list[int],
    runs: int,
    progress: bool = True,
    *,
    embed_limit: int | None = None,
) -> dict:
    """Run every part, print the table as it goes, write all figures to ``out`` (JSON).

    ``embed_limit`` caps how many synthetic passages are embedded for real; by default, as
    many as the measured embedding rate gets through in REAL_EMBED_BUDGET_S, at most
    REAL_EMBED_LIMIT. Larger corpora get generated vectors.
    """
    started = time.perf_counter()
    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": sizes,
        "runs": runs,
        "machine": _machine(),
        "exact_search_limit": EXACT_SEARCH_LIMIT,
    }
    results: dict[str, Any] = {"meta": meta, "corpora": {}}
    table = Table()
    table.header(meta)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        job = Job("compute", settings, Path(tmp), runs)
        results["compute"] = spawn(job, progress)
        table.section("compute", results["compute"])
        limit = _affordable(results["compute"]) if embed_limit is None else embed_limit
        meta["real_embed_limit"] = limit
        if limit:
            results["vectors"] = spawn(replace(job, part="vectors", size=limit), progress)
            table.section("vectors", results["vectors"])
        both = spawn(replace(job, part="article"), progress)
        for part in ("article", "llm"):
            results[part] = both.get(part, both)  # a failed worker's error goes to both
            results[part].setdefault("worker_wall_s", both.get("worker_wall_s"))
            table.section(part, results[part])
        _write(out, results, started)
        for size in sizes:
            sized = replace(job, size=size)
            build = spawn(replace(sized, part="build"), progress)
            serve = {} if "error" in build else spawn(replace(sized, part="serve"), progress)
            results["corpora"][_label(size)] = {"build": build, "serve": serve}
            table.corpus(_label(size), build, serve)
            shutil.rmtree(_index_dir(sized), ignore_errors=True)
            _write(out, results, started)
    table.summary(results)
    _write(out, results, started)
    print(f"\nTotal {meta['total_s'] / 60:.1f} min; all figures in {out}")
    return results


def _affordable(compute: dict) -> int:
    """How many passages the measured embedding rate gets through in the time budget."""
    if "error" in compute:
        return 0
    rate = compute["embedding"]["passages_per_s"]
    return min(REAL_EMBED_LIMIT, int(rate * REAL_EMBED_BUDGET_S) // 100 * 100)


def _write(out: Path, results: dict, started: float) -> None:
    results["meta"]["total_s"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_now"] = [round(x, 2) for x in os.getloadavg()]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")


# ------------------------------------------------------------------------ the table


def _lat(s: dict | None) -> str:
    """A latency summary as 'p50/p95' ms."""
    return "-" if not s else f"{s['p50']:.2f}/{s['p95']:.2f}"


def _mb(x: float) -> str:
    """A size in MB, readably: 0.05 -> '51 KB', 12.3 -> '12 MB', 2048 -> '2.00 GB'."""
    if x < 1:
        return f"{x * 1024:.0f} KB"
    return f"{x / 1024:.2f} GB" if x >= 1024 else f"{x:.0f} MB"


class Table:
    """Prints the figures as they come in, one block per part, then a summary table."""

    def header(self, meta: dict) -> None:
        m = meta["machine"]
        print(
            f"rag bench: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average "
            f"{m['load_average_at_start'][0]} at start (a shared machine: read medians)"
        )
        print(
            f"corpora {', '.join(_label(s) for s in meta['sizes'])}; {meta['runs']} run(s) "
            "per timing",
            flush=True,
        )

    def section(self, part: str, r: dict) -> None:
        print(f"\n== {part} " + "=" * (76 - len(part)), flush=True)
        if "error" in r:
            print(f"  FAILED: {r['error']}\n  " + "\n  ".join(r.get("stderr", [])), flush=True)
            return
        getattr(self, "_" + part)(r)
        sys.stdout.flush()

    def _compute(self, r: dict) -> None:
        m, e = r["matmul"], r["embedding"]
        print(
            f"  matmul {m['n']}x{m['n']} float32, torch, 2 threads:  peak "
            f"{m['peak_gflops']} GFLOP/s, median {m['median_gflops_before_after'][0]} before "
            f"and {m['median_gflops_before_after'][1]} after the embedding runs"
        )
        print(
            f"  embedding passages:  {e['passages_per_s']} passages/s, {e['tokens_per_s']:.0f} "
            f"tokens/s (mean {e['mean_tokens']} tokens), median of {e['runs']} runs"
        )
        print(f"  model arithmetic:    {e['mflop_per_token']} MFLOP/token = {e['flops_formula']}")
        print(
            f"  achieved:            {e['achieved_gflops']} GFLOP/s useful "
            f"({e['achieved_gflops_with_padding']} with padding) = "
            f"{e['fraction_of_matmul_peak']:.0%} of the matmul peak"
        )
        print(
            f"  query embedding:     {_lat(r['query_embedding_ms'])} ms p50/p95 on 2 torch "
            f"threads (the app's default), {_lat(r['query_embedding_1_thread_ms'])} on 1"
        )

    def _vectors(self, r: dict) -> None:
        print(
            f"  {r['passages']:,} synthetic passages embedded for real in {r['embed_s']} s "
            f"({r['passages_per_s']} passages/s); corpora up to that size use them, larger "
            "ones generated vectors"
        )
        print(
            f"  mean cosine of real and generated vectors of the same passages: "
            f"{r['mean_cosine_real_vs_generated']}"
        )
        curves = r["recall_at_10_vs_nprobe"]
        real, generated = curves["real_vectors"], curves["generated_vectors"]
        probes = [k for k in real if k != "index"]
        print(f"  recall@10 of {real['index'].split()[0]} for the real questions, by nprobe:")
        print("    nprobe     " + "".join(f"{k:>8}" for k in probes))
        for name, curve in (("real", real), ("generated", generated)):
            print(f"    {name:<11}" + "".join(f"{curve[k]:>8.3f}" for k in probes))

    def _llm(self, r: dict) -> None:
        llm, ask, ref = r["llm"], r["ask"], r["llm_in_process"]
        print(
            f"  {llm['model']} in its own process: started in {llm['load_s']} s; prompt "
            f"~{llm['prompt_tokens']} tokens, {llm['threads']} threads"
        )
        print(
            f"  first token {_lat(llm['ttft_cold_ms'])} ms cold, "
            f"{_lat(llm['ttft_prefix_cached_ms'])} prefix cached; {llm['prompt_tokens_per_s']} "
            f"prompt, {llm['decode_tokens_per_s']} decoded tokens/s"
        )
        print(
            f"  same model in the benchmark's process (reference): first token "
            f"{_lat(ref['ttft_prefix_cached_ms'])} ms prefix cached, "
            f"{ref['decode_tokens_per_s']} decoded tokens/s"
        )
        if not ask.get("available"):
            print("  ask: not available")
        elif "error" in ask:
            print(f"  ask: failed: {ask['error']}")
        else:
            stages = ", ".join(f"{k} {v['p50']:.0f}" for k, v in ask["stages_ms"].items())
            print(
                f"  {ask['via']} ({ask['profile']} profile) after a {ask['warm_up_s']} s "
                f"warm-up, {ask['questions']} questions: {_lat(ask['total_ms'])} ms end to "
                f"end (p50 by stage: {stages} ms); "
                f"the first question {ask['first_question_ms']:.0f} ms"
            )
            print(f"  {ask['via']} first token: {_lat(ask['first_token_ms'])} ms")

    def _article(self, r: dict) -> None:
        lat = r["retrieval_ms"]
        print(
            f"  {r['passages']} passages, {r['dense_index']}: built in {r['build_s']} s "
            f"(embedding included), {_mb(r['disk_mb']['total'])} on disk, peak RSS "
            f"{_mb(r['build_peak_rss_mb'])}"
        )
        print(
            f"  retrieval ms p50/p95: dense {_lat(lat['dense'])}, bm25 {_lat(lat['bm25'])}, "
            f"fused {_lat(lat['fused'])}; search incl. query embedding "
            f"{_lat(r['search_with_query_embedding_ms'])}"
        )

    def corpus(self, label: str, build: dict, serve: dict) -> None:
        vectors = build.get("vectors", "")
        print(f"\n== corpus {label} ({vectors}) " + "=" * max(0, 60 - len(label) - len(vectors)))
        for name, r in (("build", build), ("serve", serve)):
            if not r or "error" in r:
                print(f"  {name} FAILED: {r['error']}\n  " + "\n  ".join(r.get("stderr", [])))
                return
        t, lat = build["timings_s"], serve["retrieval_ms"]
        extra = (
            f", {build['build_passages_per_s_with_embedding']} passages/s with embedding"
            if "build_passages_per_s_with_embedding" in build
            else ""
        )
        print(
            f"  build: {build['index_passages_per_s']:,} passages/s for BM25 + dense{extra} "
            f"(bm25 {t['bm25_s']} s, dense {t['dense_s']} s, {build['dense_index']})"
        )
        print(
            f"         peak RSS {_mb(build['build_peak_rss_mb'])} (process started at "
            f"{_mb(build['baseline_rss_mb'])}); {_mb(build['disk_mb']['total'])} on disk; "
            f"vocabulary {build['vocabulary']:,}"
        )
        print(
            f"  serve: load {serve['load_s']} s, RSS {_mb(serve['loaded_rss_mb'])}; ms p50/p95 "
            f"dense {_lat(lat['dense'])}, bm25 {_lat(lat['bm25'])}, fused {_lat(lat['fused'])}, "
            f"exact {_lat(serve['exact_search_ms'])}"
        )
        rec = build["recall_at_10"]
        print(
            f"  recall@10 vs exact: {rec['real_questions']} real questions, "
            f"{rec['generated_queries']} generated queries"
        )
        if "approximate_on_real_vectors" in build:
            a = build["approximate_on_real_vectors"]
            print(
                f"  approximate index forced ({a['real']['index']}): recall@10 "
                f"{a['real']['real_questions']} on real vectors, "
                f"{a['generated']['real_questions']} on generated ones"
            )
        b = serve["bm25_breakdown_ms"]
        print(
            f"  bm25 parts (median ms): analyze {b['analyze']}, bm25s {b.get('bm25s_retrieve')}, "
            f"language {b['language']}; {b['postings_per_query']:,} postings/query"
        )
        sys.stdout.flush()

    def summary(self, results: dict) -> None:
        print("\n== summary " + "=" * 69)
        print(
            f"  {'corpus':<8}{'passages':>10}  {'vectors':<10}{'build p/s':>10}"
            f"{'peak RSS':>10}{'disk':>10}  {'fused p50/p95 ms':>17}  {'recall@10':>9}"
        )
        rows = [("article", results.get("article", {}), None)]
        rows += [(k, v["build"], v["serve"]) for k, v in results["corpora"].items()]
        for label, build, serve in rows:
            if not build or "error" in build or (serve is not None and "error" in serve):
                print(f"  {label:<8} failed")
                continue
            rate = build.get("build_passages_per_s_with_embedding") or build["index_passages_per_s"]
            fused = (serve or build)["retrieval_ms"]["fused"]
            recall = build.get("recall_at_10", {}).get("real_questions", 1.0)
            print(
                f"  {label:<8}{build['passages']:>10,}  {build['vectors'].split(',')[0]:<10}"
                f"{rate:>10,.0f}{_mb(build['build_peak_rss_mb']):>10}"
                f"{_mb(build['disk_mb']['total']):>10}  {_lat(fused):>17}  {recall:>9}"
            )


# ------------------------------------------------------------------------- commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="bench-results.json", help="JSON file for all figures")
    parser.add_argument(
        "--sizes", help="synthetic corpus sizes (default 10000,100000,1000000; '' for none)"
    )
    parser.add_argument("--runs", type=int, help=f"timing repetitions (default {DEFAULT_RUNS})")
    parser.add_argument("--quick", action="store_true", help="10k passages only, one run")
    parser.add_argument(
        "--embed-limit",
        type=int,
        help="synthetic passages embedded for real (default: what 3 minutes allow; 0: none)",
    )
    parser.add_argument("--profile", help="embedded model profile to time (default: quality)")
    hidden = argparse.SUPPRESS  # the parent's way to start a worker
    for flag, kind in (
        ("--worker", str),
        ("--shared", str),
        ("--size", int),
        ("--result", str),
        ("--settings", str),
    ):
        parser.add_argument(flag, type=kind, help=hidden)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return _worker_main(args)
    sizes = (
        [int(s) for s in args.sizes.split(",") if s.strip()]
        if args.sizes is not None
        else ([10_000] if args.quick else DEFAULT_SIZES)
    )
    runs = args.runs or (1 if args.quick else DEFAULT_RUNS)
    settings = resolve_settings(profile=args.profile)
    results = run_bench(settings, Path(args.out), sizes, runs, embed_limit=args.embed_limit)
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    failed += [
        k for k, v in results["corpora"].items() if "error" in v["build"] or "error" in v["serve"]
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
