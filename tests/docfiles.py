"""PDF and Word files made in the tests themselves (fpdf2 and python-docx), so that no binary
fixture is committed: a paged article with running headers and page numbers, a scan, an
encrypted file, and the like.
"""

from __future__ import annotations

import io
from datetime import datetime

HEADER = "Warta Nusantara - Laporan Khusus"


def pdf_bytes(
    pages: list[list[str]],
    header: str | None = HEADER,
    numbers: bool = True,
    title: str = "",
    author: str = "",
    created: datetime | None = None,
    password: str | None = None,
) -> bytes:
    """A PDF with one list of paragraphs per page, a running header and page numbers."""
    from fpdf import FPDF

    pdf = FPDF(format=(148, 210))  # A5, in mm
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    if created:
        pdf.set_creation_date(created)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    for number, paragraphs in enumerate(pages, start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=8)
        if header:
            pdf.set_xy(10, 6)
            pdf.cell(0, 4, header)
        if numbers:
            pdf.set_xy(10, 200)
            pdf.cell(0, 4, f"Halaman {number} dari {len(pages)}", align="C")
        pdf.set_font("Helvetica", size=10)
        pdf.set_xy(10, 20)
        for paragraph in paragraphs:
            pdf.multi_cell(128, 5, paragraph)
            pdf.ln(4)
    return bytes(pdf.output())


def scanned_pdf_bytes(pages: int = 2) -> bytes:
    """A PDF whose pages are only pictures (drawn shapes): what a scanner makes."""
    from fpdf import FPDF

    pdf = FPDF(format=(148, 210))  # A5, in mm
    for _ in range(pages):
        pdf.add_page()
        for row in range(30):
            pdf.rect(10, 10 + 6 * row, 100 + row, 3, style="F")
    return bytes(pdf.output())


def docx_bytes(
    paragraphs: list[str],
    title: str = "",
    author: str = "",
    created: datetime | None = None,
    header: str = HEADER,
    table: list[list[str]] | None = None,
) -> bytes:
    """A Word document with a header (not the body's), paragraphs and an optional table."""
    import docx

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = header
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        cells = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                cells.cell(r, c).text = value
    props = document.core_properties
    props.title, props.author = title, author
    if created:
        props.created = created
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
