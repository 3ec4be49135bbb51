"""Web pages and URLs: extraction keeps the article and drops the page around it; fetching
is safe (schemes, addresses, redirects, size, time, content type); what is indexed keeps
the page's metadata and source; failures leave the index as it was.

A local HTTP server on 127.0.0.1 serves a news page written for these tests
(tests/data/berita-pasar-digital.html: menu, "Baca juga" links, ads, share buttons, a
cookie banner, comments, related links, footer and scripts around the article).
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rag import cli
from rag.articles import fetch, formats
from rag.articles.fetch import FetchLimits, refused_reason
from rag.articles.formats import read_file, read_source, read_url
from rag.errors import FetchError, InputError
from rag.store.index import current_version, read_manifest
from tests.conftest import make_pipeline
from tests.fakes import fake_pipeline
from ui import cards
from ui.articles import document_from_upload, document_from_url

PAGE_FILE = Path(__file__).parent / "data" / "berita-pasar-digital.html"
PAGE = PAGE_FILE.read_bytes()
PAGE_ID = "makassar-resmikan-pasar-digital-untuk-1-200-umkm"
MUST = [
    "Pemerintah Kota Makassar meresmikan Pasar Digital Makassar pada Selasa (12/3/2024)",
    "ongkos pemasaran bisa ditekan hingga separuhnya",
    "Pemerintah kota menyiapkan anggaran Rp 4,5 miliar untuk pelatihan pemasaran daring",
    "pendampingan selama enam bulan",
    "sistem pembayaran QRIS dari Bank Indonesia",
    "nilai transaksi di platform tersebut mencapai Rp 25 miliar",
]
MUST_NOT = [
    "Berita Terkini",  # menu
    "Baca juga",
    "Harga Beras di Makassar",  # a "Baca juga" link
    "ADVERTISEMENT",
    "Bagikan ke Facebook",
    "cookie",
    "Mantap, semoga pedagang",  # a comment
    "Berita Terkait",
    "Pelabuhan Makassar Perluas",  # a related article
    "Terpopuler",
    "Hak cipta",  # footer
    "gtag",
]
# A page whose article is written by JavaScript: nothing to read without running it.
APP_SHELL = b"""<html><head><title>Warta Sulawesi</title></head><body>
<nav><a href="/">Beranda</a> <a href="/ekonomi">Ekonomi</a></nav><div id="app"></div>
<noscript>Aktifkan JavaScript untuk membaca berita ini.</noscript>
<script>renderArticle(window.__DATA__)</script></body></html>"""
LIMITS = FetchLimits(timeout=0.5, max_bytes=50_000, max_redirects=3)


class NewsSite(BaseHTTPRequestHandler):
    """The test server's pages: the article, and every way a fetch can go wrong."""

    def do_GET(self) -> None:
        routes = {
            "/berita/pasar-digital": lambda: self._send(200, "text/html; charset=utf-8", PAGE),
            "/pindah": lambda: self._redirect("/berita/pasar-digital"),
            "/putar": lambda: self._redirect("/putar"),
            "/ke-mesin-lain": lambda: self._redirect(f"http://127.0.0.2:{self.server_port}/x"),
            "/laporan.pdf": lambda: self._send(200, "application/pdf", b"%PDF-1.4 ..."),
            "/foto.png": lambda: self._send(200, "image/png", b"\x89PNG ..."),
            "/besar": lambda: self._send(200, "text/html", b"<p>" + b"a" * 60_000),
            "/besar-tanpa-panjang": self._stream_big,
            "/lambat": self._slow,
            "/kosong": lambda: self._send(200, "text/html", APP_SHELL),
        }
        routes.get(self.path, lambda: self._send(404, "text/html", b"<h1>Tidak ada</h1>"))()

    @property
    def server_port(self) -> int:
        return self.server.server_address[1]

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stream_big(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Connection", "close")
        self.end_headers()
        for _ in range(10):
            self.wfile.write(b"<p>" + b"b" * 10_000 + b"</p>")

    def _slow(self) -> None:
        time.sleep(1.5)
        self._send(200, "text/html", PAGE)

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hangs up on a page it refuses is expected here


@pytest.fixture(scope="module")
def site():
    server = QuietServer(("127.0.0.1", 0), NewsSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_private(monkeypatch):
    monkeypatch.setenv("RAG_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setattr(fetch, "DEFAULT_LIMITS", LIMITS)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def tree_digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_body_only(text: str) -> None:
    missing = [s for s in MUST if s not in text]
    kept = [s for s in MUST_NOT if s.lower() in text.lower()]
    assert not missing and not kept, f"missing {missing}, boilerplate kept {kept}"


# -- extraction ----------------------------------------------------------------------------
def test_a_page_from_a_url_keeps_the_article_and_its_metadata(site, allow_private):
    doc = read_url(f"{site}/berita/pasar-digital", allow_private=True)
    assert_body_only(doc.text)
    assert doc.doc_id == PAGE_ID and doc.name.startswith("Makassar Resmikan Pasar Digital")
    assert doc.language == "id"
    assert doc.meta == {
        "title": "Makassar Resmikan Pasar Digital untuk 1.200 UMKM",
        "author": "Andi Rahmawati",
        "date": "2024-03-12",
        "site": "Warta Sulawesi",
        "url": f"{site}/berita/pasar-digital",
    }
    assert doc.source == PAGE.decode("utf-8")


def test_a_saved_page_reads_like_the_url_and_keeps_its_file_name(tmp_path):
    path = tmp_path / "Pasar Digital.htm"
    path.write_bytes(PAGE)
    doc = read_file(path)
    assert_body_only(doc.text)
    assert (doc.doc_id, doc.name) == ("pasar-digital", "Pasar Digital.htm")
    assert doc.meta["title"] == "Makassar Resmikan Pasar Digital untuk 1.200 UMKM"


def test_rag_extract_json_prints_what_the_assistant_reads(capsys, site, allow_private, tmp_path):
    code, out, _ = run(capsys, "extract", f"{site}/pindah", "--json")  # through a redirect
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"title", "author", "date", "site", "url", "language", "text"}
    assert data["url"] == f"{site}/berita/pasar-digital" and data["language"] == "id"
    assert_body_only(data["text"])
    assert not (tmp_path / "index").exists()
    code, out, _ = run(capsys, "extract", str(PAGE_FILE))
    assert code == 0
    assert out.startswith("title: Makassar Resmikan Pasar Digital untuk 1.200 UMKM\n")
    assert "author: Andi Rahmawati\ndate: 2024-03-12\nsite: Warta Sulawesi\n" in out
    assert MUST[0] in out


# -- fetching safely -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path, message",
    [
        ("/tidak-ada", "no such page (HTTP 404"),
        ("/foto.png", "sent image/png, not a web page (text/html"),
        ("/laporan.pdf", "damaged PDF"),  # a PDF is read by its format, and this one is broken
        ("/besar", "60,003 bytes is over the 50,000-byte limit"),
        ("/besar-tanpa-panjang", "the page is over the 50,000-byte limit"),
        ("/lambat", "no complete answer within 0.5 s"),
        ("/putar", "more than 3 redirects (a redirect loop?)"),
        ("/kosong", "no article text found"),
    ],
)
def test_a_page_that_cannot_be_read_is_one_clear_line_and_exit_2(
    capsys, site, allow_private, path, message
):
    code, out, err = run(capsys, "extract", f"{site}{path}")
    assert code == 2 and not out
    assert err.startswith(f"error: {site}") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_this_machine_is_refused_without_the_setting(capsys, site, monkeypatch):
    monkeypatch.delenv("RAG_ALLOW_PRIVATE_URLS", raising=False)
    code, _, err = run(capsys, "extract", f"{site}/berita/pasar-digital")
    assert code == 2
    assert "127.0.0.1 is a loopback address" in err and "RAG_ALLOW_PRIVATE_URLS=1" in err


def test_every_redirect_hop_is_checked(site, monkeypatch):
    # The first server counts as public here; its redirect to another loopback address must
    # still be refused, before any connection to it.
    monkeypatch.setattr(
        fetch, "refused_reason", lambda ip: "a loopback address" if ip.packed[-1] == 2 else None
    )
    with pytest.raises(FetchError, match=r"127\.0\.0\.2 is a loopback address"):
        read_url(f"{site}/ke-mesin-lain")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "::1", "fe80::1", "fd00:ec2::254", "::ffff:127.0.0.1", "224.0.0.1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address):
    assert refused_reason(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111"])
def test_public_addresses_are_fetched(address):
    assert refused_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "source, message",
    [
        ("file:///etc/passwd", "only http:// and https://"),
        ("ftp://example.com/berita.html", "only http:// and https://"),
        ("http://:80/", "no host name"),
        ("laporan.doc", ".doc files are not read; give UTF-8 text (.txt, .text), Markdown"),
    ],
)
def test_what_is_not_read_says_what_is(source, message):
    with pytest.raises(InputError, match=re.escape(message)):
        read_source(source)


# -- indexing --------------------------------------------------------------------------------
def test_rag_index_url_keeps_the_pages_metadata_and_source(
    capsys, site, allow_private, tmp_path, monkeypatch
):
    index = tmp_path / "index"
    pipeline, _ = fake_pipeline(index, [])
    monkeypatch.setattr(cli, "build_pipeline", lambda settings, progress=True: pipeline)
    code, out, _ = run(capsys, "--index-dir", str(index), "index", f"{site}/berita/pasar-digital")
    assert code == 0
    assert "Indexed 2 article(s)" in out
    assert f"{PAGE_ID}: title: Makassar Resmikan Pasar Digital untuk 1.200 UMKM; " in out
    entry = read_manifest(index)["documents"][PAGE_ID]
    assert entry["metadata"]["author"] == "Andi Rahmawati"
    assert entry["metadata"]["url"] == f"{site}/berita/pasar-digital"
    rows = (current_version(index) / "documents.jsonl").read_text("utf-8").splitlines()
    stored = next(json.loads(r) for r in rows if json.loads(r)["doc_id"] == PAGE_ID)
    assert stored["source"] == PAGE.decode("utf-8") and MUST[2] in stored["text"]
    hits = pipeline.search("anggaran pelatihan pemasaran daring", k=1).hits
    assert hits[0].passage.doc_id == PAGE_ID


def test_a_rebuild_needs_no_network(site, allow_private, tmp_path, monkeypatch):
    index = tmp_path / "index"
    pipeline, _ = fake_pipeline(index, [])
    pipeline.index([f"{site}/berita/pasar-digital"])
    monkeypatch.setattr(formats, "fetch_page", lambda *a, **k: pytest.fail("fetched again"))
    rebuilt, _ = fake_pipeline(index, [])
    report = rebuilt.index([], rebuild=True)
    assert report.changed and report.documents == 2
    assert rebuilt.store.documents[PAGE_ID].meta["site"] == "Warta Sulawesi"


@pytest.mark.parametrize("path", ["/tidak-ada", "/laporan.pdf", "/lambat", "/kosong"])
def test_a_failed_page_leaves_the_index_byte_identical(site, allow_private, tmp_path, path):
    index = tmp_path / "index"
    pipeline, _ = fake_pipeline(index, [])
    before = tree_digest(index)
    with pytest.raises(FetchError if path not in ("/kosong", "/laporan.pdf") else InputError):
        pipeline.index([f"{site}{path}"])
    assert tree_digest(index) == before


# -- the web app -----------------------------------------------------------------------------
def test_the_articles_tab_reads_uploaded_pages_and_urls(site, tmp_path):
    path = tmp_path / "upload-123"  # Gradio's copy; the original name decides the format
    path.write_bytes(PAGE)
    doc = document_from_upload(path, "berita.html")
    assert (doc.doc_id, doc.meta["site"]) == ("berita", "Warta Sulawesi")
    assert document_from_url(f" {site}/berita/pasar-digital ", allow_private=True).meta
    with pytest.raises(InputError, match="paste the address"):
        document_from_url("  ")
    with pytest.raises(InputError, match="not a web address"):
        document_from_url("berita.html")
    with pytest.raises(FetchError, match="loopback"):
        document_from_url(f"{site}/berita/pasar-digital")


def test_the_article_card_shows_the_page_metadata_as_text():
    meta = {
        "title": "<script>alert(1)</script>",
        "author": "Andi",
        "date": "2024-03-12",
        "site": "Warta",
        "url": "javascript:alert(1)",
    }
    shown = cards.page_meta_html(meta, "berita.html", "id")
    assert "&lt;script&gt;" in shown and "oleh Andi · 2024-03-12 · Warta" in shown
    assert "<a " not in shown  # only http(s) addresses become links
    link = cards.page_meta_html({"url": 'https://x.id/a?b="c"'}, "x", "en")
    assert 'href="https://x.id/a?b=&quot;c&quot;"' in link


# -- the real models -------------------------------------------------------------------------
@pytest.mark.slow
def test_ask_about_an_indexed_url_cites_the_extracted_text(site, allow_private, tmp_path):
    pipeline = make_pipeline(tmp_path / "index", allow_private_urls=1)
    pipeline.index([f"{site}/berita/pasar-digital"])
    answer = pipeline.ask("Berapa anggaran yang disiapkan untuk pelatihan pemasaran daring?")
    assert not answer.abstained and answer.citations
    text = pipeline.store.documents[PAGE_ID].text
    for c in answer.citations:
        assert c.doc_id == PAGE_ID and text[c.start : c.end] == c.text
    assert any("4,5 miliar" in c.text for c in answer.citations)
