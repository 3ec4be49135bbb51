"""The refusal trade-off over p_refuse, and tuning max_p_refuse from `rag eval` records."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from eval import tradeoff, tune_refusal
from eval.tradeoff import NEVER, Row
from rag.answer.refusal import RefusalPolicy

ROWS = [
    Row("id", False, 0.9, False),
    Row("id", False, 0.3, False),
    Row("en", False, 0.01, True),  # refused by another check whatever the threshold
    Row("id", True, 0.0, False),
    Row("en", True, 0.05, False),
    Row("id", True, 0.4, False),
]


def test_a_row_needs_p_refuse_and_counts_only_the_other_checks_reasons():
    answered = {"signals": {"p_refuse": 0.2, "refusal_reasons": ["p_refuse"]}}
    other = {"signals": {"p_refuse": 0.2, "refusal_reasons": ["p_refuse", "support"]}}
    assert tradeoff.row_of("id", True, answered) == Row("id", True, 0.2, False)
    assert tradeoff.row_of("id", True, other) == Row("id", True, 0.2, True)
    assert tradeoff.row_of("id", True, {"signals": {"support": 0.5}}) is None
    assert tradeoff.row_of("id", True, {"failed": "TimeoutError: slow"}) is None


def test_recall_and_false_refusals_fall_together_as_the_threshold_rises():
    points = tradeoff.curve(ROWS)
    assert [p.threshold for p in points] == [0.0, 0.01, 0.05, 0.3, 0.4, 0.9, NEVER]
    assert points[0].refusal_recall == 1.0 and points[0].false_refusals == 1.0
    assert points[-1].refusal_recall == pytest.approx(1 / 3)  # only the other check refuses
    assert points[-1].false_refusals == 0.0
    recalls = [p.refusal_recall for p in points]
    assert recalls == sorted(recalls, reverse=True)


def test_the_chosen_threshold_keeps_false_refusals_under_the_cap():
    assert tradeoff.choose_threshold(ROWS, max_false=0.0) == 0.65  # between 0.4 and 0.9
    assert tradeoff.choose_threshold(ROWS, max_false=0.34) == 0.175  # refuses the 0.4 one
    assert tradeoff.choose_threshold([Row("id", True, 0.5, False)], max_false=0.0) == NEVER


def test_the_report_section_marks_the_profile_threshold_and_draws_the_chart(tmp_path):
    section = tradeoff.report_section(ROWS, 0.175, tmp_path)

    assert "| **0.175 (profile)** | 1.00 | 0.33 |" in section
    assert "| never | 0.33 | 0.00 |" in section
    assert (tmp_path / "refusal_tradeoff.png").stat().st_size > 0


def test_without_p_refuse_there_is_no_chart(tmp_path):
    assert "no trade-off" in tradeoff.report_section([], None, tmp_path)
    assert not (tmp_path / "refusal_tradeoff.png").exists()


@dataclass(frozen=True)
class PolicyWithPRefuse(RefusalPolicy):
    """The refusal policy with its p_refuse threshold (whether or not rag has it yet)."""

    max_p_refuse: float = NEVER


def record(qid: str, answerable: bool, p_refuse: float, split: str = "dev", **extra) -> dict:
    signals = {"relevance": 0.8, "support": 0.9, "semantic": 0.9, "p_refuse": p_refuse}
    return {"id": qid, "lang": "id", "answerable": answerable, "split": split, "signals": signals}


def write_records(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return str(path)


@pytest.fixture
def profile_file(tmp_path, monkeypatch) -> Path:
    """A stand-in pipeline whose profile file already holds tuned thresholds and notes."""
    path = tmp_path / "refusal-test.json"
    path.write_text(json.dumps({"min_relevance": 0.1, "min_support": 0.2, "tuned_on": "x"}))
    pipeline = SimpleNamespace(
        refusal=PolicyWithPRefuse(0.1, 0.2), profile=SimpleNamespace(refusal_path=path)
    )
    monkeypatch.setattr(tune_refusal, "RefusalPolicy", PolicyWithPRefuse)
    monkeypatch.setattr(tune_refusal, "build_pipeline", lambda settings: pipeline)
    return path


def test_max_p_refuse_is_tuned_on_dev_records_and_written_beside_the_other_thresholds(
    tmp_path, profile_file, capsys
):
    split_run = write_records(
        tmp_path / "a.jsonl",
        [
            record("d1", False, 0.7),
            record("d2", True, 0.1),
            record("t1", False, 0.2, split="test"),  # checks, never tunes
            {"id": "d3", "lang": "id", "answerable": True, "failed": "TimeoutError: slow"},
        ],
    )
    dev_set = write_records(
        tmp_path / "b.jsonl",
        [record("iv-1", False, 0.5, split="test"), record("iv-2", True, 0.3, split="test")],
    )

    code = tune_refusal.main(
        ["--tune", "p_refuse", "--records", split_run, "--dev-records", dev_set, "--max-false", "0"]
    )

    assert code == 0
    saved = json.loads(profile_file.read_text())
    assert saved["max_p_refuse"] == 0.4  # between the answerable 0.3 and the unanswerable 0.5
    assert saved["min_support"] == 0.2 and saved["tuned_on"] == "x"  # the other tuning kept
    notes = saved["p_refuse_tuning"]
    assert notes["dev"] == {"questions": 4, "refusal_recall": 1.0, "false_refusals": 0.0}
    assert notes["test"]["questions"] == 1 and notes["test"]["refusal_recall"] == 0.0
    assert "all of" in notes["tuned_on"] and str(tmp_path / "b.jsonl") in notes["tuned_on"]
    assert "p_refuse >= 0.4" in capsys.readouterr().out


def test_records_without_p_refuse_are_a_one_line_error(tmp_path, profile_file, capsys):
    rows = [record("d1", False, 0.7), record("d2", True, 0.1)]
    for r in rows:
        del r["signals"]["p_refuse"]
    path = write_records(tmp_path / "a.jsonl", rows)

    assert tune_refusal.main(["--tune", "p_refuse", "--dev-records", path]) == 2
    assert "no dev answer carries a p_refuse signal" in capsys.readouterr().err


def test_the_pair_of_thresholds_is_still_tuned_from_records_of_the_dataset(tmp_path, profile_file):
    rows = [record("d1", False, 0.0), record("d2", True, 0.0)]
    rows[0]["signals"]["support"] = 0.1
    path = write_records(tmp_path / "a.jsonl", rows)

    assert tune_refusal.main(["--records", path, "--max-false", "0"]) == 0

    saved = json.loads(profile_file.read_text())
    assert saved["min_support"] == 0.5 and saved["dev"]["refusal_recall"] == 1.0


def test_a_dev_set_alone_tunes_and_leaves_the_test_split_unmeasured(tmp_path, profile_file):
    path = write_records(tmp_path / "a.jsonl", [record("d1", False, 0.7), record("d2", True, 0.1)])

    assert tune_refusal.main(["--tune", "p_refuse", "--dev-records", path]) == 0

    notes = json.loads(profile_file.read_text())["p_refuse_tuning"]
    assert notes["test"] == {"questions": 0, "refusal_recall": None, "false_refusals": None}
