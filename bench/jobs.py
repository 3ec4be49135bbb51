"""The benchmark's measurement jobs; each runs alone in a fresh process (``bench.workers``).

- ``compute``: a float32 matmul peak, the embedder's throughput, question-embedding
  latency; it embeds the questions and the article's sentences once for the other jobs
  (``Shared``) and calibrates the noise of generated vectors.
- ``vectors``: the first synthetic passages embedded for real (the build jobs reuse them),
  and the approximate index's recall on them against generated vectors.
- ``article``: the production pipeline (``rag.factory.build_pipeline``) over the bundled
  article in a temp dir: index build, size and retrieval latency; then its language model
  and its answers (``bench.llm``).
- ``build``: one synthetic corpus indexed with ``rag.store.index`` and saved: throughput, peak
  RSS, size on disk, recall@10.
- ``serve``: that index loaded as the app loads it (``rag.store.index.load_index``), then
  queried: load time, RSS, retrieval latency per mode and exact search, BM25's parts.

Memory peaks are read from the job's own process, so they never mix. A job returns a dict
of figures (``compute`` also returns the ``Shared`` vectors).
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.llm import (
    answer_prompt,
    ask_latency,
    llm_speed,
    started_backend,
)
from bench.measure import (
    best_of,
    disk_usage_mb,
    embed_all,
    embedding_throughput,
    matmul_peak,
    peak_rss_mb,
    query_latency,
    reset_peak_rss,
    rss_mb,
)
from bench.retrieval import (
    bm25_breakdown,
    dense_quality,
    describe_index,
    exact_latency,
    recall_curve,
    retrieval_latency,
)
from bench.synthetic import (
    CORPUS_SEED,
    SyntheticCorpus,
    bench_questions,
    generated_vectors,
    noise_sigma,
    sentence_pool,
    spread,
    synthetic_corpus,
)
from eval.stats import summarize
from rag.config.settings import Settings
from rag.factory import build_pipeline, make_embedder
from rag.pipeline import Pipeline
from rag.store.dense import build_dense_index
from rag.store.index import (
    EMBED_BATCH,
    IndexStore,
    build_bm25,
    current_version,
    load_index,
    save_index,
)

logger = logging.getLogger(__name__)

REAL_VECTORS = "real-vectors.npz"  # in the run's work dir: the vectors job's embeddings


@dataclass(frozen=True)
class Shared:
    """Real vectors the compute job embeds once for the others."""

    questions: list[str]
    question_vectors: np.ndarray
    sentence_vectors: np.ndarray
    sigma: float


@dataclass(frozen=True)
class Job:
    """What a job is given: the settings, the run's work dir (real vectors, built indexes),
    the timing repetitions, a corpus size, the compute job's vectors, and whether Ray runs."""

    settings: Settings
    workdir: Path
    runs: int
    size: int = 0
    shared: Shared | None = None
    ray: bool = True  # the parts that start a local Ray instance (the shards' actors)

    @property
    def shared_vectors(self) -> Shared:
        if self.shared is None:
            raise ValueError("this job needs the compute job's vectors")
        return self.shared

    @property
    def index_dir(self) -> Path:
        return self.workdir / f"index-{self.size}"


# --------------------------------------------------------------------------- compute


def work_compute(job: Job) -> tuple[dict, Shared]:
    """Matmul peak, embedder throughput, question latency; the vectors the others share."""
    before = matmul_peak(job.runs)
    logger.info("matmul peak %s GFLOP/s", before["peak_gflops"])
    out: dict[str, Any] = {}
    start = time.perf_counter()
    embedder = make_embedder(job.settings)
    out["embedder_load_s"] = round(time.perf_counter() - start, 2)
    pool, questions = sentence_pool(), bench_questions()
    sample = synthetic_corpus(pool, 64 * job.runs, seed=7)
    texts = [p.text for p in sample.passages]
    batches = [texts[i : i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
    out["embedding"], real = embedding_throughput(embedder, batches)
    logger.info("embedding %s passages/s", out["embedding"]["passages_per_s"])
    out["matmul"] = best_of(before, matmul_peak(job.runs))  # the machine's load drifts
    out["embedding"]["fraction_of_matmul_peak"] = round(
        out["embedding"]["achieved_gflops"] / out["matmul"]["peak_gflops"], 3
    )
    asked = spread(questions, 50)
    out["query_embedding_ms"] = query_latency(embedder, asked, job.runs, threads=2)
    out["query_embedding_1_thread_ms"] = query_latency(embedder, asked, job.runs, threads=1)
    sentence_vectors = embedder.embed_many(pool, "passage")
    sigma = noise_sigma(real, sentence_vectors, sample.members)
    out["generated_vector_noise_sigma"] = round(sigma, 5)
    shared = Shared(questions, embedder.embed(questions, "query"), sentence_vectors, sigma)
    return out, shared


# --------------------------------------------------------------------------- vectors


def work_vectors(job: Job) -> dict:
    """Embed the first job.size synthetic passages for real (the build jobs reuse them),
    and compare the approximate index's recall on them with generated vectors for the
    same passages: how far generated data misleads."""
    shared, n = job.shared_vectors, job.size
    corpus = synthetic_corpus(sentence_pool(), n, seed=CORPUS_SEED)
    embedder = make_embedder(job.settings)
    start = time.perf_counter()
    real = embed_all(embedder, [p.text for p in corpus.passages])
    embed_s = time.perf_counter() - start
    np.savez(job.workdir / REAL_VECTORS, vectors=real, embed_s=embed_s)
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


# --------------------------------------------------------------------------- article


def work_article(job: Job) -> dict:
    """The production pipeline over the bundled article, indexed in a temp dir: build, size
    and retrieval latency; then its language model alone, then its answers. Memory is read
    before the model starts, so the peak is the index's."""
    shared = job.shared_vectors
    with tempfile.TemporaryDirectory(prefix="rag-bench-article-", dir=job.workdir) as tmp:
        pipeline = build_pipeline(replace(job.settings, index_dir=Path(tmp)))
        article = article_index(pipeline, shared, job.runs, Path(tmp))
        logger.info("article indexed in %s s; timing the LLM", article["build_s"])
        backend, load_s = started_backend(pipeline)
        try:
            prompts = [answer_prompt(pipeline, q) for q in spread(shared.questions, 2 * job.runs)]
            llm = llm_speed(backend, load_s, prompts)
            try:
                ask = ask_latency(pipeline, spread(shared.questions, 2 * job.runs))
            except Exception as exc:  # reported beside the model's figures, which still stand
                logger.exception("ask_stream failed")
                ask = {"available": True, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            backend.server.stop()
    return {"article": article, "llm": {"llm": llm, "ask": ask}}


def article_index(pipeline: Pipeline, shared: Shared, runs: int, index_dir: Path) -> dict:
    """The pipeline's index over the bundled article: built and timed, then searched."""
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


# ---------------------------------------------------------------- synthetic corpora


def recall_queries(shared: Shared, members: np.ndarray, n: int = 100) -> dict[str, np.ndarray]:
    """Real question vectors, and passage-like generated ones (new noise on corpus rows)."""
    rows = np.random.default_rng(1).choice(len(members), min(n, len(members)), replace=False)
    generated = generated_vectors(shared.sentence_vectors, members[rows], shared.sigma, seed=2)
    return {"real_questions": shared.question_vectors, "generated_queries": generated}


def corpus_vectors(job: Job, corpus: SyntheticCorpus) -> tuple[np.ndarray, dict]:
    """The corpus's vectors, real ones (embedded by the vectors job) when there are
    enough, else generated; with the time they took (embedding time prorated)."""
    real = job.workdir / REAL_VECTORS
    if real.is_file():
        data = np.load(real)
        if len(data["vectors"]) >= job.size:
            seconds = float(data["embed_s"]) * job.size / len(data["vectors"])
            return data["vectors"][: job.size].copy(), {"embed_s": seconds}
    shared = job.shared_vectors
    start = time.perf_counter()
    vectors = generated_vectors(shared.sentence_vectors, corpus.members, shared.sigma, seed=4)
    return vectors, {"generate_vectors_s": time.perf_counter() - start}


def work_build(job: Job) -> dict:
    """A synthetic corpus of job.size passages: vectors, BM25 and FAISS built, saved."""
    shared, n = job.shared_vectors, job.size
    baseline = rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    corpus = synthetic_corpus(sentence_pool(), n, seed=CORPUS_SEED)
    t = {"generate_text_s": time.perf_counter() - start}
    vectors, vector_times = corpus_vectors(job, corpus)
    t.update(vector_times)
    logger.info("%s passages and vectors ready; building BM25", f"{n:,}")
    start = time.perf_counter()
    bm25 = build_bm25(corpus.passages)
    t["bm25_s"] = time.perf_counter() - start
    logger.info("BM25 built in %.1f s; building the dense index", t["bm25_s"])
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
    version = save_index(store, job.index_dir)
    out["save_s"] = round(time.perf_counter() - start, 2)
    out["disk_mb"] = disk_usage_mb(version)
    return out


def work_serve(job: Job) -> dict:
    """The saved index loaded as the app loads it, then queried."""
    shared = job.shared_vectors
    baseline = rss_mb()
    reset_peak_rss()
    start = time.perf_counter()
    store = load_index(job.index_dir)
    load_s = time.perf_counter() - start
    loaded_rss = rss_mb()
    logger.info("loaded in %.1f s; timing retrieval", load_s)
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
