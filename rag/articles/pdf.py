"""Read a PDF's text layer into an article: the body in reading order, with its pages.

What it does: lays each page out with pdfminer.six (text boxes in reading order, columns
included), drops running headers and footers (a line in a page's top or bottom band that
comes back on other pages, digits aside) and page numbers ("3", "- 3 -", "3/12", "Page 3
of 12", "Halaman 3"), joins a box's lines into one paragraph, repairing a word broken at a
line end ("pe-\\nngembangan" -> "pengembangan"; "anak-\\nanak", "batu-\\nbatuan" and
"Kompas-\\nDrh" keep theirs), and joins a paragraph that runs over a column or a page
break. Paragraphs are separated by a blank line. ``Document.pages`` holds the offset where
each page starts in that text, so any span names its page; ``Document.meta`` holds the
title, author and date of the file's own properties, when it has them.

What it does not do: OCR (a scan has no text layer and is refused with that reason), open a
password-protected file, read text drawn as pictures, tables as tables, or footnotes apart
from the body.

>>> join_lines(["Pemerintah akan me-", "ngembangkan program", "anak-", "anak muda."])
'Pemerintah akan mengembangkan program anak-anak muda.'
>>> [is_page_number(s) for s in ("- 12 -", "Halaman 3 dari 9", "2019", "(26/8).")]
[True, True, False, False]
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, replace

from rag.articles.corpus import MAX_ARTICLE_BYTES, document_from_text, slugify
from rag.errors import InputError
from rag.values import Document

# 20 MB holds a long report with its photos; a bigger file is a scan or a book.
MAX_PDF_BYTES = 20_000_000
# An article, a press release or a report; a 500-page book is not one article and would
# take minutes to lay out (about 0.1 s a page here) and embed.
MAX_PDF_PAGES = 200
MIN_WORDS = 20  # fewer words than this in the whole text layer: a scan
BAND = 0.09  # the top and bottom share of a page where running headers and footers sit
PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(?:(?:page|halaman|hal\.?|p\.)\s*)?\d{1,4}"
    r"(?:\s*(?:/|of|dari)\s*\d{1,4})?[-–—\s]*$",
    re.IGNORECASE,
)
URL_LINE = re.compile(r"^\s*(?:https?|file)://\S+\s*$")
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "\u00a0": " "})
BROKEN_WORD = re.compile(r"(\w+)[-\u00ad]$")
PARAGRAPH_END = re.compile(r"[.!?:;…\"'”’)\]]$")


@dataclass(frozen=True)
class Box:
    """One text box of a page: its lines and where it sits (0 = top, 1 = bottom)."""

    lines: tuple[str, ...]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def is_page_number(line: str) -> bool:
    """A line that is only a page number, in the ways pages are numbered."""
    line = line.strip()
    if re.fullmatch(r"(19|20)\d\d", line):  # a year on its own is content
        return False
    return bool(PAGE_NUMBER.match(line))


def _shape(line: str) -> str:
    """A line with its digits masked, to find the header that numbers its pages."""
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def join_lines(lines: list[str]) -> str:
    """A paragraph's lines as one line; a word broken at a line end is made whole again,
    except a reduplication ("anak-" "anak", "batu-" "batuan") or a hyphen before a capital
    ("Kompas-" "Drh"), whose hyphen belongs to the text."""
    out = ""
    for line in (" ".join(raw.split()) for raw in lines):
        if not line:
            continue
        broken = BROKEN_WORD.search(out)
        if broken and line[:1].isalnum():  # "Kompas-" "Drh" stays "Kompas-Drh"
            first = re.match(r"\w+", line)
            doubled = first and first.group(0).lower().startswith(broken.group(1).lower())
            if out.endswith("\u00ad") or (line[:1].islower() and not doubled):
                out = out[:-1]
            out += line
        elif out:
            out += " " + line
        else:
            out = line
    return out.replace("\u00ad", "")


def _continues(previous: str, following: str) -> bool:
    """Whether a paragraph runs on into the next box (a column or a page break)."""
    return bool(previous) and not PARAGRAPH_END.search(previous) and following[:1].islower()


def running_lines(pages: list[list[Box]]) -> set[str]:
    """The shapes of the lines that come back in the top or bottom band of other pages."""
    seen: Counter[str] = Counter()
    for boxes in pages:
        band = {_shape(line) for b in boxes if _in_band(b) for line in b.lines}
        seen.update(band)
    needed = max(2, (len(pages) + 1) // 2)
    return {shape for shape, n in seen.items() if n >= needed}


def _in_band(box: Box) -> bool:
    return box.top < BAND or box.bottom > 1 - BAND


def _kept_lines(box: Box, running: set[str]) -> list[str]:
    if not _in_band(box):
        return list(box.lines)
    return [
        line
        for line in box.lines
        if _shape(line) not in running and not is_page_number(line) and not URL_LINE.match(line)
    ]


def body_text(pages: list[list[Box]]) -> tuple[str, tuple[int, ...]]:
    """The pages' body as paragraphs separated by blank lines, and where each page starts.

    >>> body_text([[Box(("Ia datang ke", "Bali."), 0.2, 0.3)], [Box(("Lalu pe-", "rgi."), .2, .3)]])
    ('Ia datang ke Bali.\\n\\nLalu pergi.', (0, 20))
    """
    running = running_lines(pages)
    paragraphs: list[str] = []
    starts: list[int] = []
    for boxes in pages:
        starts.append(_length(paragraphs) + (2 if paragraphs else 0))
        first = True
        for box in boxes:
            text = join_lines(_kept_lines(box, running))
            if not text:
                continue
            if paragraphs and _continues(paragraphs[-1], text):
                paragraphs[-1] = join_lines([paragraphs[-1], text])
                if first:  # the page starts inside the previous page's paragraph
                    starts[-1] = _length(paragraphs) - len(text)
            else:
                paragraphs.append(text)
            first = False
    text = "\n\n".join(paragraphs)
    return text, tuple(min(s, len(text)) for s in starts)


def _length(paragraphs: list[str]) -> int:
    return sum(len(p) for p in paragraphs) + 2 * max(0, len(paragraphs) - 1)


def pdf_date(value: str) -> str | None:
    """A PDF date ("D:20240312093000+07'00'") as YYYY-MM-DD.

    >>> pdf_date("D:20240312093000+07'00'")
    '2024-03-12'
    """
    found = re.match(r"^(?:D:)?(\d{4})(\d{2})(\d{2})", value.strip())
    return "-".join(found.groups()) if found else None


def _metadata(info: dict) -> dict[str, str]:
    from pdfminer.pdftypes import resolve1
    from pdfminer.utils import decode_text

    def value(key: str) -> str:
        raw = resolve1(info.get(key))
        text = decode_text(raw) if isinstance(raw, bytes) else str(raw or "")
        return " ".join(text.replace("\x00", "").split())

    meta = {"title": value("Title"), "author": value("Author")}
    meta["date"] = pdf_date(value("CreationDate")) or ""
    return {key: v for key, v in meta.items() if v}


def _refuse(name: str, what: str) -> InputError:
    return InputError(f"{name}: {what}")


def _open(data: bytes, name: str):  # -> pdfminer.pdfdocument.PDFDocument
    """The parsed document, or an InputError for what is not a readable PDF."""
    from pdfminer.pdfdocument import PDFDocument, PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFParser

    if not data.lstrip()[:1024].startswith(b"%PDF-") and b"%PDF-" not in data[:1024]:
        raise _refuse(name, "not a PDF (it does not start with %PDF-); check the file.")
    try:
        return PDFDocument(PDFParser(io.BytesIO(data)))
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise _refuse(
            name, "the PDF is encrypted and needs a password; save an unprotected copy."
        ) from None
    except Exception as exc:  # a damaged file can fail anywhere in the parser
        raise _refuse(
            name, f"damaged PDF ({type(exc).__name__}); save or export it again."
        ) from None


def _page_count(document, name: str) -> int:
    from pdfminer.pdftypes import resolve1

    try:
        return int(resolve1(resolve1(document.catalog["Pages"])["Count"]))
    except Exception:  # a broken page tree: count by walking it
        from pdfminer.pdfpage import PDFPage

        try:
            return sum(1 for _ in PDFPage.create_pages(document))
        except Exception as exc:
            raise _refuse(name, f"damaged PDF ({type(exc).__name__}); save it again.") from None


def read_boxes(document, name: str) -> list[list[Box]]:
    """Every page's text boxes, in reading order."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LAParams, LTTextBox
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    manager = PDFResourceManager()
    device = PDFPageAggregator(manager, laparams=LAParams())
    interpreter = PDFPageInterpreter(manager, device)
    pages: list[list[Box]] = []
    try:
        for page in PDFPage.create_pages(document):
            interpreter.process_page(page)
            layout = device.get_result()
            height = float(layout.height) or 1.0
            pages.append(
                [
                    Box(
                        tuple(line.get_text().translate(LIGATURES).strip() for line in item),
                        (height - item.y1) / height,
                        (height - item.y0) / height,
                    )
                    for item in layout
                    if isinstance(item, LTTextBox)
                ]
            )
    except Exception as exc:  # a damaged page stream can fail anywhere in the interpreter
        raise _refuse(name, f"damaged PDF ({type(exc).__name__}); save it again.") from None
    return pages


def document_from_pdf(data: bytes, name: str) -> Document:
    """A PDF's bytes -> a Document of its body text, its pages and its properties."""
    if len(data) > MAX_PDF_BYTES:
        raise _refuse(
            name,
            f"{len(data):,} bytes is over the {MAX_PDF_BYTES:,}-byte limit for one PDF; "
            "save the pages the article is on as their own PDF.",
        )
    document = _open(data, name)
    count = _page_count(document, name)
    if count > MAX_PDF_PAGES:
        raise _refuse(
            name,
            f"{count:,} pages is over the {MAX_PDF_PAGES}-page limit for one PDF; "
            "save the pages the article is on as their own PDF.",
        )
    text, starts = body_text(read_boxes(document, name))
    if "(cid:" in text and text.count("(cid:") * 8 > len(text.split()):
        raise _refuse(name, "the PDF's fonts have no text mapping; OCR it first.")
    if len(text.split()) < MIN_WORDS:
        raise _refuse(name, "no text layer: this PDF is a scan; OCR it first (e.g. ocrmypdf).")
    if len(text.encode()) > MAX_ARTICLE_BYTES:
        raise _refuse(
            name,
            f"its text is over the {MAX_ARTICLE_BYTES:,}-byte limit for one article; "
            "save the pages the article is on as their own PDF.",
        )
    meta = _metadata(document.info[0] if document.info else {})
    doc = document_from_text(text, name, doc_id=slugify(name))
    return replace(doc, meta=meta, pages=starts)
