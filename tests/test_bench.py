"""The benchmark runs end to end and writes every figure; the figures are never asserted."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from bench.cli import run_bench
from bench.retrieval import recall_curve
from bench.synthetic import generated_vectors, sentence_pool, synthetic_corpus
from bench.workers import WorkerFailed, run_isolated
from rag.config.settings import resolve_settings


def test_synthetic_passages_point_into_their_articles():
    corpus = synthetic_corpus(sentence_pool(), 25, seed=1)
    docs = {d.doc_id: d for d in corpus.documents}
    assert len(corpus.passages) == 25 and len(docs) == 3
    for p in corpus.passages:
        assert docs[p.doc_id].text[p.start : p.end] == p.text
    assert (corpus.members[:, :2] >= 0).all()


def test_generated_vectors_are_unit_length():
    rng = np.random.default_rng(0)
    sentences = rng.standard_normal((5, 8)).astype(np.float32)
    members = np.array([[0, 1, -1], [2, 3, 4]], dtype=np.int16)
    vectors = generated_vectors(sentences, members, sigma=0.01)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_recall_curve_reaches_exact_search_when_every_list_is_probed():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    curve = recall_curve(vectors, vectors[:20])
    probes = [k for k in curve if k not in ("index", "default")]
    assert curve["index"].startswith("IVF") and curve[probes[-1]] == 1.0
    assert curve[probes[0]] <= curve[probes[-1]]


def test_a_job_runs_in_its_own_process_and_its_failure_is_reported(tmp_path):
    value, wall_s = run_isolated(abs, -3, "abs", False, tmp_path)
    assert value == 3 and wall_s > 0
    with pytest.raises(WorkerFailed) as failed:
        run_isolated(int, "x", "int", False, tmp_path)
    assert "ValueError" in failed.value.figures["error"] and failed.value.figures["stderr"]
    with pytest.raises(WorkerFailed) as died:  # the worker process exits mid-job
        run_isolated(os._exit, 3, "exit", False, tmp_path)
    assert "died" in died.value.figures["error"]


def _numbers(value):
    """Every number in a nested JSON value."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


@pytest.mark.slow
def test_quick_bench_writes_every_figure(tmp_path):
    settings = resolve_settings(index_dir=tmp_path / "index", profile="tiny")  # the fastest
    out = tmp_path / "bench.json"
    # embed_limit=0: no synthetic passage is embedded for real (that alone takes minutes);
    # ray=False: the Ray engine's parts are tested on a real cluster in tests/test_cluster.py
    run_bench(
        settings,
        out,
        sizes=[2000],
        runs=1,
        progress=False,
        embed_limit=0,
        scale_passages=128,
        ray=False,
    )
    data = json.loads(out.read_text())

    for part in ("compute", "llm", "article"):
        assert "error" not in data[part], data[part]
    assert data["compute"]["embedding"]["tokens_per_s"] > 0
    assert data["compute"]["embedding"]["fraction_of_matmul_peak"] > 0
    assert data["llm"]["llm"]["ttft_cold_ms"]["p50"] > 0
    ask = data["llm"]["ask"]
    assert "error" not in ask, ask
    assert ask["total_ms"]["p50"] > 0 and ask["first_token_ms"]["p50"] > 0
    assert data["article"]["disk_mb"]["total"] > 0

    corpus = data["corpora"]["2k"]
    build, serve = corpus["build"], corpus["serve"]
    assert "error" not in build and "error" not in serve, corpus
    assert build["passages"] == 2000 and build["vectors"].startswith("generated")
    assert build["index_passages_per_s"] > 0 and build["build_peak_rss_mb"] > 0
    assert build["disk_mb"]["dense.faiss"] > 0
    assert set(serve["retrieval_ms"]) == {"dense", "bm25", "fused"}
    assert all(s["p50"] > 0 for s in serve["retrieval_ms"].values())
    assert 0 < build["recall_at_10"]["real_questions"] <= 1
    shards = corpus["shards"]
    assert "error" not in shards, shards
    for count in ("1", "2", "4"):
        assert shards[count]["retrieval_ms"]["fused"]["p50"] > 0
        assert shards[count]["same_top10_as_single"] == 1.0  # exact shards rank as one index
        assert shards[count]["dense_recall_at_10_vs_exact"] == 1.0
        assert "ray_actors_retrieval_ms" not in shards[count]
    assert "scale" not in data and data["meta"]["ray"] is False
    assert data["meta"]["total_s"] > 0
    assert all(n >= 0 for n in _numbers(build) + _numbers(serve))
