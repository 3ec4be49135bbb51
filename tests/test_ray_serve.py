"""Answering on Ray Serve replicas (``rag.engines.ray_serve``), on a local Ray instance.

The tiny profile keeps the two model processes light. The answers of the replicas are
compared with one local process's for the same questions (one slot per model process, so
no batch changes a rounding); then one replica's model process is killed while questions
are in flight on both, and every question is still answered, by the model, the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag.config.settings import resolve_settings
from rag.factory import build_pipeline

ray = pytest.importorskip("ray")
pytest.importorskip("ray.serve")
from rag.engines import ray_serve  # noqa: E402  (needs Ray Serve)

QUESTIONS = [
    "Siapa Menteri Koordinator Bidang Perekonomian?",
    "Berapa pengusaha digital yang akan diciptakan setiap tahun?",
    "Where did Jack Ma meet the ministers?",
    "How old is Jack Ma?",
]
FLAGS = {"profile": "tiny", "llm_slots": 1}


def test_an_article_is_routed_by_its_prefix_alone():
    article = [("system", "The article."), ("user", "Who?")]
    same = [("system", "The article."), ("user", "When?")]
    assert ray_serve.article_key(article) == ray_serve.article_key(same) != ""
    assert ray_serve.article_key([("system", "Another."), ("user", "Who?")]) != (
        ray_serve.article_key(article)
    )
    assert ray_serve.article_key("Question: who?\nAnswer:") == ""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(a local pipeline, one on Ray Serve replicas) over one index; a local Ray instance."""
    index_dir = tmp_path_factory.mktemp("index")
    local = build_pipeline(resolve_settings(index_dir=index_dir, **FLAGS))
    local.index([])  # indexed by the local engine, as one machine's reference
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths are short
    ray.init(  # "local": an instance of its own, even beside another test's cluster
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=str(temp),
    )
    try:
        settings = resolve_settings(index_dir=index_dir, engine="ray", replicas=1, **FLAGS)
        reference = {q: local.ask(q).raw_answer for q in QUESTIONS}
        yield reference, build_pipeline(settings)
    finally:
        ray_serve.stop()
        ray.shutdown()


@pytest.mark.slow
def test_replicas_added_while_serving_answer_as_one_process(served):
    reference, remote = served
    assert remote.ask(QUESTIONS[0]).raw_answer == reference[QUESTIONS[0]]  # one replica
    (first,) = remote.backend.model_pids()

    remote.backend.scale(2)
    pids = remote.backend.model_pids()
    assert len(pids) == 2 and first in pids  # one more model process, the first one kept
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(remote.ask, QUESTIONS))
    assert [a.raw_answer for a in answers] == [reference[q] for q in QUESTIONS]
    assert not any(a.fallback for a in answers)


@pytest.mark.slow
def test_a_killed_model_process_loses_no_question(served, caplog):
    reference, remote = served
    remote.backend.scale(2)
    victim = sorted(remote.backend.model_pids())[0]
    first_done = threading.Event()

    def ask(question: str):
        answer = remote.ask(question)
        first_done.set()
        return answer

    caplog.set_level(logging.WARNING, logger=ray_serve.__name__)
    with ThreadPoolExecutor(max_workers=len(QUESTIONS)) as pool:
        running = [pool.submit(ask, q) for q in QUESTIONS]
        first_done.wait()  # the others are in flight on both replicas (one slot each)
        os.kill(victim, signal.SIGKILL)
        answers = [f.result() for f in running]

    assert "an answering replica failed" in caplog.text  # a question was held, and retried
    assert not any(a.fallback for a in answers)  # every one answered by the model
    assert [a.raw_answer for a in answers] == [reference[q] for q in QUESTIONS]


@pytest.mark.slow
def test_an_article_is_indexed_while_the_replicas_hold_every_cpu(served, tmp_path):
    """Two replicas hold the instance's two CPUs for as long as they serve; an article
    added then (an upload in the chat) is still read, embedded and indexed on the
    instance, by workers and tasks that share the cores."""
    from rag.articles.corpus import default_documents

    _, remote = served
    remote.backend.scale(2)
    assert ray.available_resources().get("CPU", 0) < 1
    article = tmp_path / "berita-jakarta.txt"
    article.write_text(default_documents()[0].text.replace("Bali", "Jakarta"), "utf-8")
    # an index of its own: the served pipeline's index stays as the other tests have it
    other = build_pipeline(resolve_settings(index_dir=tmp_path / "index", engine="ray", **FLAGS))
    outcome: dict = {}

    def index() -> None:
        try:
            outcome["report"] = other.index([article])
        except Exception as exc:  # shown by the assertion below
            outcome["error"] = exc

    indexing = threading.Thread(target=index, daemon=True)
    indexing.start()
    indexing.join(timeout=180)  # it waited for a free CPU forever before
    assert "error" not in outcome, outcome.get("error")
    assert "report" in outcome, "indexing did not finish in 180 s"
    assert outcome["report"].changed and outcome["report"].embedded > 0


@pytest.mark.slow
def test_a_local_instance_started_from_a_passing_thread_outlives_it(tmp_path):
    """``rag serve`` makes its backend in a short-lived thread; the local Ray instance it
    starts there must outlive that thread (the kernel's parent-death signal follows it)."""
    import subprocess
    import sys

    script = (
        "import threading, time, ray\n"
        "from rag.engines import ray_engine\n"
        "t = threading.Thread(target=ray_engine.connect, args=('',))\n"
        "t.start(); t.join(); time.sleep(5)\n"
        "print(ray.get(ray.remote(lambda: 'alive').remote(), timeout=60))\n"
        "ray.shutdown()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.stdout.strip().endswith("alive"), done.stderr[-2000:]
