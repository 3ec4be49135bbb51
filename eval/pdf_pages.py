"""How much of a news page printed to PDF by a browser the assistant reads: must-keep
snippets found, must-drop snippets left out, in what ``rag extract --json`` gives.

    python -m eval.pdf_pages [--corpus DIR] [--pages 60] [--out DIR] [--compare]

The pages: real Indonesian news paragraphs (the FacQA corpus, ``../shared/datasets``; 4 or 5
paragraphs a page, in the corpus's order) inside a news site's page of our own making: a
menu, a headline and byline, a "Baca juga" link, a "Terpopuler" sidebar and a footer; every
third page sets its body in two columns, every fourth in a large type that runs over
several pages. Headless Chromium prints each to PDF (its own running header and footer:
the date, the title, the file's address and "1/3"). Must-keep: the first, middle and last
six words of every paragraph. Must-drop: the menu, the sidebar, the footer, the link line
and Chromium's address line. The PDFs are made once under ``--out`` and reused.

``--compare`` also reads the same PDFs with pdfminer.six, pypdf and pypdfium2 as plain text
(each library's own extraction, whitespace collapsed) and prints seconds per page and the
share of must-keep snippets found: the measurement behind the choice of pdfminer.six.

Doesn't: fetch anything, or judge anything but snippets (paragraph breaks, reading order
inside a paragraph).
"""

from __future__ import annotations

import argparse
import html
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rag.articles.formats import read_source
from rag.cli import extracted_json

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "facqa-valid" / "corpus"
MENU = ["Beranda", "Nasional", "Ekonomi", "Olahraga", "Teknologi", "Gaya Hidup", "Indeks"]
SIDEBAR = [
    "Harga cabai rawit melonjak menjelang Lebaran",
    "Timnas U-23 lolos ke semifinal Piala Asia",
    "Lima tips menabung untuk pekerja muda",
]
FOOTER = "Hak cipta 2024 Warta Nusantara. Dilarang mengutip tanpa izin redaksi."
LINK = "Baca juga: Pemerintah siapkan insentif pajak bagi UMKM"


def page_html(number: int, paragraphs: list[str]) -> str:
    """One news page around the paragraphs (see the module docstring for its parts)."""
    title = " ".join(paragraphs[0].split()[:8])
    columns = "column-count: 2; column-gap: 2em;" if number % 3 == 0 else ""
    size = "font-size: 26px;" if number % 4 == 0 else "font-size: 15px;"
    body = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    body.insert(min(2, len(body)), f"<p><a href='#'>{html.escape(LINK)}</a></p>")
    menu = "".join(f"<li>{m}</li>" for m in MENU)
    side = "".join(f"<li><a href='#'>{html.escape(s)}</a></li>" for s in SIDEBAR)
    return f"""<!doctype html><html lang="id"><head><meta charset="utf-8">
<title>{html.escape(title)} | Warta Nusantara</title>
<style>nav ul {{ display: flex; gap: 1em; list-style: none; }}
main {{ display: flex; gap: 2em; }} article {{ flex: 3; {size} }}
.body {{ {columns} }} aside {{ flex: 1; font-size: 12px; }}</style></head>
<body><header><strong>Warta Nusantara</strong><nav><ul>{menu}</ul></nav></header>
<main><article><h1>{html.escape(title)}</h1><p class="byline">Oleh Redaksi, 12 Maret 2024</p>
<div class="body">{"".join(body)}</div></article>
<aside><h3>Terpopuler</h3><ol>{side}</ol></aside></main>
<footer><p>{FOOTER}</p></footer></body></html>"""


def snippets(paragraph: str, words: int = 6) -> list[str]:
    """The first, middle and last ``words`` words of a paragraph."""
    w = paragraph.split()
    if len(w) <= words:
        return [" ".join(w)]
    mid = (len(w) - words) // 2
    return list(dict.fromkeys(" ".join(w[i : i + words]) for i in (0, mid, len(w) - words)))


def make_pages(corpus: Path, out: Path, n: int) -> list[dict]:
    """The pages' HTML and PDF under ``out`` (printed once) and their snippets."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    files = sorted(corpus.glob("*.txt"))
    paragraphs = [" ".join(f.read_text("utf-8").split()) for f in files]
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for i in range(n):
        mine = paragraphs[i * len(paragraphs) // n : (i + 1) * len(paragraphs) // n]
        source, pdf = out / f"berita-{i:02d}.html", out / f"berita-{i:02d}.pdf"
        source.write_text(page_html(i, mine), "utf-8")
        if not pdf.is_file():
            if not chromium:
                sys.exit("error: chromium is needed to print the pages: apt-get install chromium")
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 f"--print-to-pdf={pdf}", source.as_uri()],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        keep = [s for p in mine for s in snippets(p)]
        drop = [*MENU[1:], *SIDEBAR, FOOTER, LINK, source.as_uri()]
        pages.append({"pdf": pdf, "keep": keep, "drop": drop})
    return pages


def flat(text: str) -> str:
    return " ".join(text.split())


def score(pages: list[dict], texts: list[str]) -> tuple[float, float]:
    """(share of must-keep snippets found, share of must-drop snippets left out)."""
    kept = [s in t for p, t in zip(pages, texts, strict=True) for s in p["keep"]]
    dropped = [s not in t for p, t in zip(pages, texts, strict=True) for s in p["drop"]]
    return sum(kept) / len(kept), sum(dropped) / len(dropped)


def assistant_text(pdf: Path) -> str:
    """What `rag extract --json` prints as the text."""
    return flat(extracted_json(read_source(pdf))["text"])


def library_readers() -> dict:
    """Plain-text extraction by each PDF library (installed ones only)."""
    readers = {}
    try:
        from pdfminer.high_level import extract_text

        readers["pdfminer.six"] = lambda path: extract_text(str(path))
    except ImportError:
        pass
    try:
        import pypdf

        readers["pypdf"] = lambda path: "\n".join(
            page.extract_text() or "" for page in pypdf.PdfReader(str(path)).pages
        )
    except ImportError:
        pass
    try:
        import pypdfium2

        def pdfium(path: Path) -> str:
            document = pypdfium2.PdfDocument(str(path))
            return "\n".join(page.get_textpage().get_text_range() for page in document)

        readers["pypdfium2"] = pdfium
    except ImportError:
        pass
    return readers


def timed(read, pages: list[dict]) -> tuple[list[str], float]:
    start = time.perf_counter()
    texts = [flat(read(p["pdf"])) for p in pages]
    return texts, time.perf_counter() - start


def page_count(pages: list[dict]) -> int:
    from pdfminer.pdfpage import PDFPage

    total = 0
    for p in pages:
        with p["pdf"].open("rb") as f:
            total += sum(1 for _ in PDFPage.get_pages(f))
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.pdf_pages", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--out", type=Path, default=Path("/tmp/rag-pdf-pages"))
    parser.add_argument("--compare", action="store_true", help="also time the PDF libraries")
    args = parser.parse_args(argv)
    pages = make_pages(args.corpus, args.out, args.pages)
    n_pages = page_count(pages)
    texts, seconds = timed(assistant_text, pages)
    keep, drop = score(pages, texts)
    result = {
        "pdfs": len(pages),
        "pdf_pages": n_pages,
        "must_keep": sum(len(p["keep"]) for p in pages),
        "must_drop": sum(len(p["drop"]) for p in pages),
        "assistant": {"kept": round(keep, 3), "dropped": round(drop, 3),
                      "s_per_page": round(seconds / n_pages, 3)},
    }  # fmt: skip
    if args.compare:
        for name, read in library_readers().items():
            texts, seconds = timed(read, pages)
            keep, drop = score(pages, texts)
            result[name] = {"kept": round(keep, 3), "dropped": round(drop, 3),
                            "s_per_page": round(seconds / n_pages, 3)}  # fmt: skip
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
