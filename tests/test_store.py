"""The index on disk: manifest checks, checksums, incremental builds, atomic versions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.errors import IndexCorruptError, IndexMismatchError
from rag.store.index import current_version, load_index
from tests.conftest import make_pipeline

pytestmark = pytest.mark.slow


def tree_digest(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_manifest_records_model_chunking_and_hashes(pipeline, index_dir):
    manifest = json.loads((current_version(index_dir) / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["embedding"]["model_id"] == "intfloat/multilingual-e5-small"
    assert manifest["embedding"]["dim"] == 384
    assert manifest["embedding"]["fingerprint"]
    assert manifest["chunking"]["max_chars"] == pipeline.settings.max_chars
    assert set(manifest["documents"]) == {"jack-ma-bali"}
    assert len(manifest["documents"]["jack-ma-bali"]["hash"]) == 64
    assert {"vectors.npy", "dense.faiss", "passages.jsonl"} <= set(manifest["files"])


def test_every_passage_is_an_exact_slice_without_boilerplate(pipeline):
    store = pipeline.store
    for p in store.passages:
        assert store.documents[p.doc_id].text[p.start : p.end] == p.text
        assert "Baca juga" not in p.text


def test_reindexing_unchanged_articles_does_no_work(pipeline, index_dir):
    before = tree_digest(index_dir)
    report = pipeline.index([])
    assert not report.changed and report.embedded == 0
    assert tree_digest(index_dir) == before


def test_adding_an_article_embeds_only_it(tmp_path):
    pipeline = make_pipeline(tmp_path / "index")
    pipeline.index([])
    article = tmp_path / "makassar.txt"
    article.write_text(
        "PT Contoh Jaya membuka pabrik di Makassar.\nPabrik itu dibuka Senin.\n", encoding="utf-8"
    )
    report = pipeline.index([article])
    assert report.changed and report.embedded == 1
    assert report.documents == 2
    hits = pipeline.search("Di mana PT Contoh Jaya membuka pabrik?", k=1).hits
    assert hits[0].passage.doc_id == "makassar"


def test_another_chunking_is_refused_with_the_fix(pipeline, index_dir):
    other = make_pipeline(index_dir, max_chars=900)
    with pytest.raises(IndexMismatchError, match="rag index --rebuild"):
        other.search("Siapa Rudiantara?")


def test_rebuild_adopts_new_settings_and_keeps_articles(tmp_path):
    first = make_pipeline(tmp_path / "index")
    first.index([])
    rebuilt = make_pipeline(tmp_path / "index", max_chars=900)
    report = rebuilt.index([], rebuild=True)
    assert report.changed and report.documents == 1
    assert rebuilt.search("Siapa Rudiantara?").hits


def test_an_altered_index_file_is_detected(tmp_path):
    pipeline = make_pipeline(tmp_path / "index")
    article = tmp_path / "makassar.txt"
    article.write_text("PT Contoh Jaya membuka pabrik di Makassar.\n", encoding="utf-8")
    pipeline.index([])
    pipeline.index([article])
    vectors = current_version(tmp_path / "index") / "vectors.npy"
    data = vectors.read_bytes()
    vectors.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(IndexCorruptError, match="rag index --rebuild"):
        load_index(tmp_path / "index")
    report = make_pipeline(tmp_path / "index").index([], rebuild=True)
    assert report.changed
    assert set(load_index(tmp_path / "index").documents) == {"jack-ma-bali", "makassar"}


def test_a_killed_build_leaves_the_previous_index_usable(tmp_path):
    index = tmp_path / "index"
    make_pipeline(index).index([])
    before = tree_digest(index)
    big = tmp_path / "big.txt"
    paragraph = "Perusahaan {n} membuka kantor baru di kota nomor {n} pada tahun {n}. " * 3
    big.write_text("\n".join(paragraph.format(n=i) for i in range(600)), encoding="utf-8")
    env = {**os.environ, "RAG_INDEX_DIR": str(index)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "index", str(big)],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.time() + 120
    line = ""
    while time.time() < deadline and "Embedding passages" not in line:
        line = proc.stderr.readline() if proc.stderr else ""
        if proc.poll() is not None:
            break
    assert proc.poll() is None, "the build finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert tree_digest(index) == before
    fresh = make_pipeline(index)
    assert set(fresh.store.documents) == {"jack-ma-bali"}
    assert fresh.search("Siapa Rudiantara?").hits
