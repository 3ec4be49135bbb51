"""A PDF and a Word file indexed next to the bundled article, asked about with the real
model: the answer cites each file, the PDF's citation names the page its span is on, and
every span is the extracted text (slow: the real embedder and LLM)."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import make_pipeline
from tests.docfiles import docx_bytes, pdf_bytes

pytestmark = pytest.mark.slow

REPORT = [
    ["Pemerintah Provinsi Bali meresmikan program pelatihan digital bagi pelaku usaha kecil "
     "pada Senin (12/3) di Denpasar. Program itu akan berlangsung selama enam bulan."],
    ["Menurut Dinas Koperasi Bali, pelatihan tahap kedua akan dibuka di Singaraja untuk "
     "800 peserta pada bulan Juli."],
]  # fmt: skip
RELEASE = [
    "Bank Nusantara membuka kantor cabang baru di Kota Kupang pada Kamis (14/3).",
    "Kepala cabang Kupang, Maria Lende, mengatakan kantor itu akan melayani 15 ribu nasabah "
    "di Nusa Tenggara Timur.",
]


@pytest.fixture(scope="module")
def asked(index_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("documents")
    shutil.copytree(index_dir, folder / "index")
    pipeline = make_pipeline(folder / "index")
    (folder / "laporan-bali.pdf").write_bytes(pdf_bytes(REPORT, title="Pelatihan Digital Bali"))
    (folder / "siaran-pers.docx").write_bytes(docx_bytes(RELEASE, title="Kantor Kupang"))
    pipeline.index([folder / "laporan-bali.pdf", folder / "siaran-pers.docx"])
    return pipeline


@pytest.mark.parametrize(
    "question, doc_id, expected, page",
    [
        ("Berapa peserta pelatihan tahap kedua di Singaraja?", "laporan-bali", "800", 2),
        ("Berapa nasabah yang akan dilayani kantor cabang Kupang?", "siaran-pers", "15", None),
    ],
)
def test_a_question_about_a_file_cites_its_span_and_page(asked, question, doc_id, expected, page):
    answer = asked.ask(question, doc_id=doc_id)
    assert not answer.abstained and expected in answer.answer
    doc = asked.store.documents[doc_id]
    cited = [c for c in answer.citations if c.doc_id == doc_id]
    assert cited
    for c in cited:
        assert doc.text[c.start : c.end] == c.text
        assert c.page == doc.page_at(c.start) and c.to_json()["page"] == c.page
    assert any(expected in c.text for c in cited)
    assert any(c.page == page for c in cited if expected in c.text)
    assert all(c.page is None for c in answer.citations if c.doc_id == "jack-ma-bali")
