"""Ratings of answers: the JSONL beside the index, a note added later, the export of the
disliked answers as evaluation records (readable by eval's own loader), the CLI command,
and the chat's handlers over the fake pipeline of test_ui."""

from __future__ import annotations

import json

import pytest

from eval.dataset import load_dataset
from rag import cli, feedback
from rag.errors import InputError
from tests.test_ui import DOC, FakePipeline, answer, done
from ui import feedback as feedback_ui
from ui import render
from ui.app import build_app
from ui.conversation import Conversation, Turn


def test_a_rating_is_appended_and_a_later_note_replaces_it(tmp_path):
    path = feedback.feedback_path(tmp_path)
    record = feedback.new_record(answer(), "down", doc_id="berita")
    feedback.append(path, record)
    feedback.append(path, {**record, "note": "the date is wrong"})
    path.open("a").write('{"id": "cut off\n')  # a line a crash left half-written
    [kept] = feedback.read(path)
    assert kept["note"] == "the date is wrong" and kept["rating"] == "down"
    assert kept["citations"][0]["text"] == "Ia menjual 5 produk & kopi."
    assert {"question", "answer", "citations", "profile", "time"} <= set(kept)
    with pytest.raises(InputError, match="rating 'meh' is unknown"):
        feedback.new_record(answer(), "meh")


def test_disliked_answers_become_eval_records_a_person_finishes(tmp_path):
    path = feedback.feedback_path(tmp_path)
    feedback.append(path, feedback.new_record(answer(), "up"))
    feedback.append(path, feedback.new_record(answer(), "down", doc_id="berita", note="no"))
    out = tmp_path / "review" / "to-review.jsonl"
    _, n = feedback.export(tmp_path, out)
    [row] = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert n == 1 and row["question"] == "Apa yang dijual?"  # the standalone question
    assert (row["answerable"], row["answers"], row["lang"], row["doc"]) == (
        True,
        [],
        "id",
        "berita",
    )
    assert row["review"]["note"] == "no" and row["review"]["answer"] == answer().answer
    [question] = load_dataset(out)  # eval reads it as it is
    assert (question.question, question.answerable) == ("Apa yang dijual?", True)


def test_rag_feedback_export_prints_or_writes_the_records(tmp_path, capsys):
    feedback.append(feedback.feedback_path(tmp_path), feedback.new_record(answer(), "down"))
    assert cli.main(["--index-dir", str(tmp_path), "feedback", "export"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["answers"] == [] and "1 disliked answer(s)" in printed.err
    out = tmp_path / "down.jsonl"
    assert cli.main(["--index-dir", str(tmp_path), "feedback", "export", "--out", str(out)]) == 0
    assert out.read_text("utf-8") == printed.out


def test_the_chat_records_a_thumb_and_a_note(tmp_path):
    ratings = feedback_ui.Ratings(tmp_path)
    conv = Conversation(turns=[done(doc_id="berita")])
    box, status, record, note = ratings.rate(1, "down", conv, "en")
    assert box.visible and "answer 1 is marked not helpful" in status and note == ""
    status, record = ratings.save_note("  Kopi is <b>not</b> a product ", record, "en")
    assert "Note saved" in status
    [kept] = feedback.read(feedback.feedback_path(tmp_path))
    assert kept["note"] == "Kopi is <b>not</b> a product" and kept["doc_id"] == "berita"
    _, status, record, _ = ratings.rate(5, "up", conv, "id")
    assert record is None and 'class="status error"' in status and "tidak ada lagi" in status
    assert "error" in ratings.save_note("x" * 2_001, {"id": "a"}, "en")[0]


def test_answers_carry_rating_buttons_and_unfinished_ones_do_not():
    out = render.turn_html(done(), 2, render.View(), {DOC.doc_id: DOC})
    assert 'class="rate up turn-2"' in out and 'class="rate down turn-2"' in out
    assert "rate" not in render.rate_buttons(Turn("Apa?", "stopped", partial="x"), 1, "en")


def test_the_app_has_the_rating_hand_over_and_no_new_public_endpoint(tmp_path):
    fake = FakePipeline()
    fake.settings = fake.settings.__class__(index_dir=tmp_path)
    blocks = build_app(fake)
    assert list(blocks.get_api_info()["named_endpoints"]) == ["/ask"]
    ids = {getattr(b, "elem_id", None) for b in blocks.blocks.values()}
    assert {"feedback-go", "feedback-turn", "feedback-rating", "feedback-note"} <= ids
