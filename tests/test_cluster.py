"""Indexing and search on a real two-node Ray cluster (a head and a worker, each started by
`ray start` as its own process group on this machine), against the local build of the same
articles: same passages, offsets and ids, vectors equal within 1e-5, same top-10 results.
A sharded index (2 and 4 shards) must rank as the single one, BM25 included, searched in
threads or by Ray actors. The two-node build is the hard one: one of its embedding workers is
killed (SIGKILL) mid-build, and it still completes with the local index."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag.articles.corpus import default_documents
from rag.config.settings import resolve_settings
from rag.factory import build_pipeline
from rag.retrieval.retrieve import MODES, retrieve
from rag.store.index import build_index, load_index, save_index

# The cluster's own token, in the environment before Ray is imported (Ray reads it then).
TEMP = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must be short
(TEMP / "auth_token").write_text(secrets.token_hex(32))
os.environ.update(
    RAY_USAGE_STATS_ENABLED="0",
    RAY_AUTH_MODE="token",
    RAY_AUTH_TOKEN_PATH=str(TEMP / "auth_token"),
)
pytestmark = pytest.mark.slow

ARTICLES = 8  # 64 passages
BATCH = 16  # passages per embedding call: four batches for the two-node build's two workers
QUERIES = [
    "Produk apa saja yang akan dipasarkan lewat Alibaba?",
    "Siapa Menteri Kominfo?",
    "Berapa programmer yang dikembangkan pemerintah?",
    "Kapan kampanye Single's Day?",
    "What will Alibaba invest in?",
    "Who is Darmin Nasution?",
    "pengusaha digital setiap tahun",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def variants(folder: Path) -> list[Path]:
    """Articles that read like the bundled one, with other numbers and places."""
    text = default_documents()[0].text
    places = ["Bali", "Jakarta", "Surabaya", "Medan", "Makassar", "Bandung"]
    files = []
    for i in range(ARTICLES):
        body = re.sub(r"\d+", lambda m, i=i: str(int(m.group()) + i), text)
        body = body.replace("Bali", places[i % len(places)])
        path = folder / f"berita-{i:02d}.txt"
        path.write_text(body, "utf-8")
        files.append(path)
    return files


@pytest.fixture(scope="module")
def cluster():
    """A head and a worker node, one CPU each, sharing the token above (Ray is imported
    here, not when the module is collected: a fast run that deselects it pays nothing)."""
    ray = pytest.importorskip("ray")
    temp = TEMP
    ray_cli = str(Path(sys.executable).parent / "ray")
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--num-cpus=1", "--block"]
    head_args = ["--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}"]
    nodes = []
    for args in (head_args, [f"--address={address}"]):
        log = (temp / f"node-{len(nodes)}.log").open("w")
        nodes.append(
            subprocess.Popen(
                [ray_cli, "start", *args, *common],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        if len(nodes) == 1:
            _wait_for(lambda: _reachable(port), 60, "the head node")
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
        _wait_for(lambda: sum(n["Alive"] for n in ray.nodes()) == 2, 60, "two nodes")
        yield address
    finally:
        ray.shutdown()
        for node in reversed(nodes):
            os.killpg(node.pid, signal.SIGTERM)
            try:
                node.wait(5)
            except subprocess.TimeoutExpired:  # a node that lingers holds nothing of value
                os.killpg(node.pid, signal.SIGKILL)
                node.wait(10)


def _reachable(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(ready, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up in {seconds} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def articles(tmp_path_factory) -> list[Path]:
    return variants(tmp_path_factory.mktemp("articles"))


@pytest.fixture(scope="module")
def small_batches():
    """Embedding calls of BATCH passages, locally and on the cluster alike: the same batches
    give the same vectors."""
    from rag.engines import ray_engine
    from rag.store import index

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "EMBED_BATCH", BATCH)
        patch.setattr(ray_engine, "EMBED_BATCH", BATCH)
        yield


@pytest.fixture(scope="module")
def local(tmp_path_factory, articles, small_batches):
    """The local build of the articles: the reference."""
    pipeline = build_pipeline(resolve_settings(index_dir=tmp_path_factory.mktemp("local")))
    pipeline.index(articles)
    return pipeline


def top10(store, embedder) -> list:
    return [
        [(h.passage.id, round(h.score, 6)) for h in retrieve(store, embedder, q, 10, mode)]
        for q in QUERIES
        for mode in MODES
    ]


def assert_same_index(store, reference) -> None:
    assert [(p.id, p.doc_id, p.start, p.end, p.text) for p in store.passages] == [
        (p.id, p.doc_id, p.start, p.end, p.text) for p in reference.passages
    ]
    assert np.allclose(store.vectors, reference.vectors, atol=1e-5)


def ray_pipeline(index_dir: Path, address: str, **flags):
    settings = resolve_settings(
        index_dir=index_dir, engine="ray", ray_address=address, workers=2, **flags
    )
    return build_pipeline(settings)


@pytest.mark.parametrize("shards", [2, 4])
def test_a_sharded_index_ranks_as_a_single_one(cluster, local, tmp_path, shards):
    single = local.store
    sharded = build_index(
        list(single.documents.values()),
        local.embedder,
        local.chunking,
        previous=single,  # the same vectors, cut into shards
        progress=False,
        shards=shards,
    )
    save_index(sharded, tmp_path)
    from rag.engines.ray_engine import RayFanout

    for store in (sharded, load_index(tmp_path), load_index(tmp_path, RayFanout)):
        assert len(store.manifest["shards"]) == shards
        assert top10(store, local.embedder) == top10(single, local.embedder)


def embedding_workers() -> list[int]:
    """Processes of Ray embedding actors that are embedding right now."""
    found = subprocess.run(
        ["pgrep", "-f", "ray::PassageEmbedder.embed"], capture_output=True, text=True
    )
    return [int(pid) for pid in found.stdout.split()]


def test_a_two_node_build_whose_worker_is_killed_gives_the_local_index(
    cluster, local, articles, tmp_path, small_batches
):
    pipeline = ray_pipeline(tmp_path, cluster, shards=2)
    outcome: dict = {}

    def build() -> None:
        try:
            outcome["report"] = pipeline.index(articles)
        except Exception as exc:  # reported below, with the kill
            outcome["error"] = exc

    builder = threading.Thread(target=build)
    builder.start()
    _wait_for(lambda: embedding_workers() or not builder.is_alive(), 120, "an embedding worker")
    victims = embedding_workers()
    assert victims, "the build ended before a worker could be killed"
    os.kill(victims[0], signal.SIGKILL)
    builder.join(300)

    assert "error" not in outcome, outcome.get("error")
    assert len(local.store.passages) >= 4 * BATCH  # the killed worker had more to embed
    assert_same_index(pipeline.store, local.store)
    assert top10(pipeline.store, local.embedder) == top10(local.store, local.embedder)
    assert top10(load_index(tmp_path), local.embedder) == top10(local.store, local.embedder)
    import ray

    assert len({n["NodeID"] for n in ray.nodes() if n["Alive"]}) == 2
