"""PDF and Word articles (rag.articles.pdf, rag.articles.word): the body in reading order,
pages that every span keeps, the files' own properties, and bad files refused in one line
with the index unchanged. The files are made here (tests/docfiles.py)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from rag.articles.chunking import chunk_document
from rag.articles.corpus import split_sentences
from rag.articles.formats import read_file
from rag.articles.pdf import MAX_PDF_PAGES, join_lines
from rag.cli import main
from rag.errors import InputError
from rag.store.index import stored_documents
from rag.values import Citation
from tests.docfiles import HEADER, docx_bytes, pdf_bytes, scanned_pdf_bytes
from tests.fakes import fake_pipeline
from tests.test_store import tree_digest
from ui.export import quote_line

PAGE_1 = [
    "Pemerintah Provinsi Bali meresmikan program pelatihan digital untuk 5.000 pelaku usaha "
    "kecil pada Senin (12/3). Program ini bagian dari pe-\nngembangan ekonomi digital yang "
    "dicanangkan pemerintah pusat.",
    "Gubernur Bali mengatakan pelatihan berlangsung enam bulan di sembilan kabupaten dan "
    "kota, dengan materi pemasaran daring dan",
]
PAGE_2 = [
    "pengelolaan keuangan sederhana bagi anak-\nanak muda yang terdaftar.",
    "Menurut Dinas Koperasi, sebanyak 1.200 peserta telah mendaftar pada minggu pertama.",
]
PAGE_3 = ["Pelatihan tahap kedua dibuka di Singaraja pada bulan Juli untuk 800 peserta lagi."]


@pytest.fixture(scope="module")
def report_pdf(tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "Laporan Bali.pdf"
    data = pdf_bytes(
        [PAGE_1, PAGE_2, PAGE_3],
        title="Pelatihan Digital Bali",
        author="Andi Rahmawati",
        created=datetime(2024, 3, 12, 9, 30),
    )
    path.write_bytes(data)
    return path


def test_a_pdf_reads_as_its_body_in_paragraphs(report_pdf):
    doc = read_file(report_pdf)
    assert doc.doc_id == "laporan-bali" and doc.language == "id"
    assert HEADER not in doc.text and "Halaman" not in doc.text  # running header, page numbers
    assert "pengembangan ekonomi" in doc.text  # a word broken at a line end is whole
    assert "anak-anak muda" in doc.text  # a reduplication keeps its hyphen
    # the paragraph that runs over the page break is one paragraph
    assert "pemasaran daring dan pengelolaan keuangan" in doc.text
    assert doc.text.count("\n\n") == 3  # four paragraphs
    assert doc.meta == {"title": "Pelatihan Digital Bali", "author": "Andi Rahmawati",
                        "date": "2024-03-12"}  # fmt: skip


def test_every_span_of_a_pdf_names_its_page(report_pdf):
    doc = read_file(report_pdf)
    assert len(doc.pages) == 3
    assert doc.page_at(doc.text.index("Pemerintah Provinsi")) == 1
    assert doc.page_at(doc.text.index("pengelolaan keuangan")) == 2  # mid-paragraph
    assert doc.page_at(doc.text.index("Gubernur Bali")) == 1
    assert doc.page_at(doc.text.index("Menurut Dinas")) == 2
    assert doc.page_at(doc.text.index("Singaraja")) == 3
    for s in split_sentences(doc):
        assert doc.text[s.start : s.end] == s.text and s.page == doc.page_at(s.start)
    passages = chunk_document(doc)
    assert [p.page for p in passages] == [doc.page_at(p.start) for p in passages]
    assert {p.page for p in passages} <= {1, 2, 3} and passages[-1].page in (2, 3)


def test_a_text_article_has_no_pages(tmp_path):
    path = tmp_path / "berita.txt"
    path.write_text("Jack Ma datang ke Jakarta. Dia bertemu Presiden.\n", "utf-8")
    doc = read_file(path)
    assert doc.pages == () and doc.page_at(3) is None
    assert all(p.page is None for p in chunk_document(doc))


def test_the_markdown_export_names_the_page():
    cited = Citation(1, "laporan#3", "laporan", 400, 420, "Menurut Dinas Koperasi", page=2)
    assert ", p. 2, characters 400–420" in quote_line(cited, {})


@pytest.mark.parametrize(
    "lines, joined",
    [
        (["program pe-", "ngembangan"], "program pengembangan"),
        (["anak-", "anak"], "anak-anak"),
        (["batu-", "batuan candi"], "batu-batuan candi"),
        (["Yogyakarta, Kompas-", "Drh Yuda"], "Yogyakarta, Kompas-Drh Yuda"),
        (["harga naik -", "turun"], "harga naik - turun"),
        (["soft\u00ad", "ware"], "software"),
        (["  Satu  dua ", "", "tiga"], "Satu dua tiga"),
    ],
)
def test_lines_join_into_words(lines, joined):
    assert join_lines(lines) == joined


def test_a_word_document_reads_its_body_and_properties(tmp_path):
    path = tmp_path / "Siaran Pers.docx"
    data = docx_bytes(
        PAGE_1[:1] + PAGE_2[1:],
        title="Siaran Pers Bali",
        author="Humas Bali",
        created=datetime(2024, 3, 13),
        table=[["Kota", "Peserta"], ["Denpasar", "300"]],
    )
    path.write_bytes(data)
    doc = read_file(path)
    assert HEADER not in doc.text  # the page header is not the body
    assert doc.text.endswith("Kota | Peserta\n\nDenpasar | 300")
    assert doc.meta == {"title": "Siaran Pers Bali", "author": "Humas Bali", "date": "2024-03-13"}
    assert doc.pages == () and all(p.page is None for p in chunk_document(doc))


def test_rag_extract_json_reads_a_pdf(capsys, report_pdf):
    assert main(["extract", "--json", str(report_pdf)]) == 0
    out = capsys.readouterr().out
    assert '"title": "Pelatihan Digital Bali"' in out and "Singaraja" in out


BAD_FILES = {
    "terkunci.pdf": (lambda: pdf_bytes([PAGE_1], password="rahasia"), "encrypted"),
    "pindaian.pdf": (scanned_pdf_bytes, "no text layer: this PDF is a scan; OCR it first"),
    "rusak.pdf": (lambda: pdf_bytes([PAGE_1, PAGE_2])[:900], "damaged PDF"),
    "bukan.pdf": (lambda: b"<html><body>Berita</body></html>", "not a PDF"),
    "buku.pdf": (
        lambda: pdf_bytes([["Bab."]] * (MAX_PDF_PAGES + 300), header=None, numbers=False),
        "500 pages is over the 200-page limit",
    ),
    "rusak.docx": (lambda: docx_bytes(PAGE_2)[:700], "not a Word document (.docx)"),
    "lama.docx": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old-format"),
    "kosong.docx": (lambda: docx_bytes([]), "no text"),
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    index = tmp_path_factory.mktemp("index")
    pipeline, _ = fake_pipeline(index, [])
    return pipeline, index


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_is_one_line_exit_2_and_the_index_unchanged(
    name, tmp_path, capsys, monkeypatch, indexed
):
    make, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(make())
    pipeline, index = indexed
    before = tree_digest(index)
    with pytest.raises(InputError, match=re.escape(message)):
        pipeline.index([path])
    assert tree_digest(index) == before
    monkeypatch.setenv("RAG_INDEX_DIR", str(index))
    assert main(["extract", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {name}: ") and message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert main(["index", str(path)]) == 2
    assert tree_digest(index) == before


def test_an_indexed_pdf_keeps_its_pages_through_a_reload(indexed, report_pdf):
    pipeline, index = indexed
    pipeline.index([report_pdf])
    stored = {d.doc_id: d for d in stored_documents(index)}
    assert stored["laporan-bali"].pages == read_file(report_pdf).pages
    hits = pipeline.search("Berapa peserta pelatihan di Singaraja?", k=8).hits
    pdf_hits = [h for h in hits if h.passage.doc_id == "laporan-bali"]
    assert pdf_hits and all(h.to_json()["page"] in (1, 2, 3) for h in pdf_hits)
    assert all(h.to_json()["page"] is None for h in hits if h.passage.doc_id != "laporan-bali")
