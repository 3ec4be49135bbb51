"""A conversation as Markdown (markers resolved to spans, titles and offsets) and as JSON
(the `ask` objects), and the files behind the download buttons."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_ui import DOC, answer, done
from ui import export
from ui.conversation import FAILED, STOPPED, WAITING, Turn


def test_markdown_resolves_each_marker_to_its_span_title_and_offsets():
    turns = [done(), Turn("Lalu?", STOPPED, partial="Ia menjual"), Turn("X?", FAILED, error="e")]
    md = export.markdown(turns, {DOC.doc_id: DOC})
    c = answer().citations[0]
    assert DOC.text[c.start : c.end] == c.text
    line = f"- [1] “Ia menjual 5 produk & kopi.” — {DOC.name}, characters {c.start}–{c.end}"
    assert line in md
    assert (
        "## 1. Apa <script>alert(1)</script>?" in md
        and "Ia menjual 5 produk <b>kopi</b> [1]." in md
    )
    assert "## 2. Lalu?" in md and "(stopped before the end)" in md
    assert "## 3. X?" in md and "No answer: e" in md


def test_json_holds_the_ask_objects_and_what_became_of_the_others():
    turns = [done(), Turn("Lalu?", STOPPED, partial="Ia"), Turn("Nanti?", WAITING)]
    data = json.loads(export.conversation_json(turns))
    assert data[0] == answer().to_json()
    assert data[1] == {"question": "Lalu?", "state": "stopped", "answer": "Ia"}
    assert len(data) == 2  # a question still waiting is not part of it


def test_files_are_written_for_a_conversation_and_none_for_an_empty_one():
    md, js = export.write_files([done()], {DOC.doc_id: DOC}, "id")
    assert Path(md).read_text("utf-8").count("Sumber:") == 1
    assert json.loads(Path(js).read_text("utf-8"))[0]["citations"]
    assert export.write_files([Turn("Apa?", WAITING)], {}) == (None, None)
