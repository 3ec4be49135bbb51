"""The registries' contracts, run over every entry (the LLM backends' is in test_llm.py):
retrieval modes (rag.retrieval.retrieve.MODES) and article formats
(rag.articles.formats.FORMATS). A new entry is tested here without a new test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.articles.formats import FORMATS, content_types, described, read_file, suffixes
from rag.errors import InputError
from rag.retrieval.retrieve import MODES, ranker, retrieve
from tests.docfiles import docx_bytes, pdf_bytes
from tests.fakes import fake_pipeline

STORY = (
    "Jack Ma datang ke Jakarta pada hari Sabtu. Dia bertemu Presiden Joko Widodo di Istana "
    "Bogor untuk membahas pelatihan bagi pengusaha digital muda dari seluruh Indonesia."
)

# One small article per format, as the format carries it.
SAMPLES: dict[str, bytes] = {
    "UTF-8 text": b"Jack Ma datang ke Jakarta. Dia bertemu Presiden Joko Widodo.\n",
    "Markdown": b"# Jack Ma di Jakarta\n\nJack Ma datang ke Jakarta. Dia bertemu Presiden.\n",
    "web page": (Path(__file__).parent / "data" / "berita-pasar-digital.html").read_bytes(),
    "PDF": pdf_bytes([[STORY]]),
    "Word document": docx_bytes([STORY]),
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return fake_pipeline(tmp_path_factory.mktemp("index"), [])[0]


@pytest.mark.parametrize("mode", list(MODES))
def test_every_retrieval_mode_ranks_passages_of_the_index(pipeline, mode):
    store, embedder = pipeline.store, pipeline.embedder
    hits = retrieve(store, embedder, "Siapa Menteri Komunikasi dan Informatika?", k=3, mode=mode)
    assert 0 < len(hits) <= 3
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.passage in store.passages for h in hits)
    doc_id = store.passages[0].doc_id
    within = retrieve(store, embedder, "Jack Ma", k=2, mode=mode, doc_id=doc_id)
    assert all(h.passage.doc_id == doc_id for h in within)
    assert pipeline.search("Jack Ma", k=2, mode=mode).hits  # reachable by name


def test_an_unknown_mode_lists_the_registered_ones():
    with pytest.raises(InputError, match=re.escape("use one of " + ", ".join(MODES))):
        ranker("semantic")


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_every_format_reads_its_files_and_is_listed(fmt, tmp_path):
    assert fmt.name in SAMPLES, f"add a sample article for {fmt.name!r} to SAMPLES"
    assert fmt.name in described() and set(fmt.suffixes) <= set(suffixes())
    assert set(fmt.content_types) <= set(content_types())
    for suffix in fmt.suffixes:
        path = tmp_path / f"berita{suffix.upper() if suffix == fmt.suffixes[-1] else suffix}"
        path.write_bytes(SAMPLES[fmt.name])
        doc = read_file(path)
        assert doc.text.strip() and doc.language in ("id", "en", "")
        assert doc.name == path.name
    for content_type in fmt.content_types:
        doc = fmt.read(SAMPLES[fmt.name], "https://example.com/b", "https://example.com/b", None)
        assert doc.text.strip(), content_type
    big = tmp_path / f"besar{fmt.suffixes[0]}"
    big.write_bytes(b"a" * (fmt.max_bytes + 1))
    with pytest.raises(InputError, match="limit"):
        read_file(big)


def test_an_unread_suffix_is_refused_with_the_formats_listed(tmp_path):
    path = tmp_path / "berita.doc"
    path.write_bytes(b"%PDF")
    with pytest.raises(InputError, match=re.escape("give " + described())):
        read_file(path)
