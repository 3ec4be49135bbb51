"""Loading, cleaning and sentence splitting keep offsets exact and drop boilerplate."""

import pytest

from rag.articles.corpus import (
    decode_article,
    default_documents,
    load_document,
    paragraphs,
    slugify,
    split_sentences,
)
from rag.errors import InputError
from rag.values import Document


def sentences(text: str) -> list[str]:
    return [s.text for s in split_sentences(Document("d", "d.txt", text))]


def test_bundled_article_offsets_are_exact_and_boilerplate_is_gone(article):
    found = split_sentences(article)
    assert len(found) > 20
    for s in found:
        assert article.text[s.start : s.end] == s.text
        assert "Baca juga" not in s.text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ada 1.000 pengusaha. Mereka belajar.", ["Ada 1.000 pengusaha.", "Mereka belajar."]),
        ("Ia bertemu Sabtu (13/10). Lalu pulang.", ["Ia bertemu Sabtu (13/10).", "Lalu pulang."]),
        (
            '"Ada kemajuan. Rapat penting," ujarnya. Ia pergi.',
            ['"Ada kemajuan. Rapat penting," ujarnya.', "Ia pergi."],
        ),
        (
            "Dr. Budi dari PT. Maju datang. Dia senang.",
            ["Dr. Budi dari PT. Maju datang.", "Dia senang."],
        ),
        (
            "Mr. Ma met officials, e.g. the minister. It went well.",
            ["Mr. Ma met officials, e.g. the minister.", "It went well."],
        ),
        ("Harga naik 2.5 persen. Bagus!", ["Harga naik 2.5 persen.", "Bagus!"]),
        (
            "Tanggal 11 November 2018 mendatang. Oke.",
            ["Tanggal 11 November 2018 mendatang.", "Oke."],
        ),
        (
            'Ia berkata. " Akan ada e-government," kata dia.',
            ["Ia berkata.", '" Akan ada e-government," kata dia.'],
        ),
    ],
)
def test_sentence_boundaries(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "line",
    [
        "(Baca juga: Sempat Diragukan, Ini Rahasia)",
        "Read also: Jack Ma's secret",
        "BACA JUGA : Berita lain",
        "Lihat juga: foto",
        "See also: more",
    ],
)
def test_boilerplate_lines_are_dropped(line):
    doc = Document("d", "d.txt", f"Paragraf satu.\n{line}\nParagraf dua.")
    texts = [doc.text[a:b] for a, b in paragraphs(doc)]
    assert texts == ["Paragraf satu.", "Paragraf dua."]


def test_markdown_blocks_join_wrapped_lines_and_skip_markup():
    text = "# Judul Berita\n\nBaris satu\nbaris dua.\n\n---\n\n> Kutipan penting.\n"
    doc = Document("d", "d.md", text)
    assert [text[a:b] for a, b in paragraphs(doc)] == [
        "Judul Berita",
        "Baris satu\nbaris dua.",
        "Kutipan penting.",
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("Berita dalam latin-1: café".encode("latin-1"), "UTF-8"),
        (b"a" * 1_000_001, "limit"),
    ],
)
def test_bad_bytes_are_refused_with_a_reason(data, message):
    with pytest.raises(InputError, match=message):
        decode_article(data, "upload.txt")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_document(tmp_path / "nope.txt")


def test_only_boilerplate_is_refused(tmp_path):
    path = tmp_path / "links.txt"
    path.write_text("(Baca juga: Berita lain)\n", encoding="utf-8")
    with pytest.raises(InputError, match="no article text"):
        load_document(path)


def test_default_corpus_is_the_bundled_article():
    (doc,) = default_documents()
    assert doc.doc_id == "jack-ma-bali"
    assert doc.text.startswith("Di sela kunjungannya ke Bali")


def test_slugify():
    assert slugify("Jack Ma di Bali (2018).md") == "jack-ma-di-bali-2018"
    assert slugify("!!!.txt") == "article"
