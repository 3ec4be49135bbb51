"""`rag eval` on fakes: questions asked about one article, and answers that fail alone.

The pipeline is the real one over the hashing embedder (tests/fakes.py); its ``ask`` is
replaced by a script of answers and exceptions, and the baselines by stand-ins, so these
tests check what the evaluation does with answers and failures, not how answers are made.
"""

from __future__ import annotations

import json

import pytest

from eval import answers
from eval.dataset import load_dataset
from eval.run import run_evaluation
from rag import cli
from rag.articles.corpus import document_from_text, slugify
from rag.errors import InputError
from rag.values import Answer
from tests.fakes import fake_pipeline

COFFEE = (
    "Petani kopi di Kintamani memanen kopi arabika setiap bulan Mei.\n\n"
    "Kopi Kintamani dijual ke Jepang dan Korea Selatan."
)
TEA = "Kebun teh di Puncak dibuka pada tahun 1910.\n\nTeh hijau dari Puncak dijual ke Belanda."


class APITimeoutError(Exception):
    """Like openai's: what a client raises when the model takes too long."""


def question(qid: str, text: str, answers_: list[str], evidence: str, **extra) -> dict:
    return {
        "id": qid,
        "question": text,
        "lang": "id",
        "answerable": bool(answers_),
        "answers": answers_,
        "evidence": evidence,
        **extra,
    }


QUESTIONS = [
    question("q-1", "Kapan kopi dipanen?", ["Mei"], "setiap bulan Mei", passage="kopi-bali"),
    question("q-2", "Ke mana kopi dijual?", ["Jepang"], "Jepang dan Korea", passage="kopi-bali"),
    question("q-3", "Kapan kebun teh dibuka?", ["1910"], "pada tahun 1910", doc="teh-jawa"),
    question("q-4", "Siapa pemilik kebun teh?", [], "", doc="teh-jawa"),
]


def write_dataset(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")


def scripted_answer(text: str, abstained: bool = False, p_refuse: float = 0.01) -> Answer:
    return Answer(
        question="",
        standalone_question="",
        language="id",
        answer=text,
        abstained=abstained,
        citations=(),
        hits=(),
        backend="scripted",
        timings_ms={"total": 5.0},
        signals={"relevance": 0.9, "support": 0.9, "p_refuse": p_refuse},
    )


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A fake pipeline over two articles whose ``ask`` follows a script per question."""
    docs = [document_from_text(COFFEE, "kopi-bali.txt"), document_from_text(TEA, "teh-jawa.txt")]
    pipeline, _ = fake_pipeline(tmp_path / "index", [], documents=docs)
    script = {
        "Kapan kopi dipanen?": scripted_answer("Pada bulan Mei."),
        "Ke mana kopi dijual?": APITimeoutError("Request timed out."),
        "Kapan kebun teh dibuka?": scripted_answer("Tahun 1910."),
        "Siapa pemilik kebun teh?": scripted_answer("Tidak disebutkan.", True, p_refuse=0.6),
    }
    asked = []

    def ask(text, history=None, lang=None, k=None, doc_id=None):
        asked.append((text, doc_id))
        reply = script[text]
        if isinstance(reply, Exception):
            raise reply
        return reply

    monkeypatch.setattr(pipeline, "ask", ask)
    monkeypatch.setattr(pipeline, "warm_up", lambda: None)
    dataset = tmp_path / "questions.jsonl"
    write_dataset(dataset, QUESTIONS)
    return pipeline, dataset, asked


def slow_baseline(pipeline):
    """A baseline whose model times out on one question."""

    def answer(text: str, doc_id: str | None = None) -> str:
        if text == "Kapan kebun teh dibuka?":
            raise APITimeoutError("Request timed out.\nsecond line of the message")
        return "Mei"

    return answer


def broken_baseline(pipeline):
    raise RuntimeError("no embedding model here")


def read_records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_a_timed_out_answer_is_recorded_as_failed_and_the_run_exits_0(
    setup, tmp_path, monkeypatch, capsys
):
    pipeline, dataset, _ = setup
    monkeypatch.setattr(answers, "BASELINES", {"slow": slow_baseline})
    monkeypatch.setattr(cli, "pipeline_for", lambda args, progress=True: pipeline)
    out = tmp_path / "out"

    code = cli.main(["eval", "--dataset", str(dataset), "--out", str(out), "--baselines", "slow"])

    assert code == 0
    assert "2 answers failed (assistant 1, slow 1)" in capsys.readouterr().out
    records = read_records(out / "records.jsonl")
    assert [r["id"] for r in records] == ["q-1", "q-2", "q-3", "q-4"]
    assert records[1]["failed"] == "APITimeoutError: Request timed out."
    assert records[0]["answer"] == "Pada bulan Mei." and "failed" not in records[0]
    slow = read_records(out / "records-slow.jsonl")
    assert [r.get("failed") for r in slow] == [
        None,
        None,
        "APITimeoutError: Request timed out.",
        None,
    ]
    metrics = json.loads((out / "metrics.json").read_text())["answers"]["systems"]
    assert metrics["assistant"]["all"]["failed"] == 1 and metrics["slow"]["all"]["failed"] == 1
    assert metrics["assistant"]["all"]["accuracy"] == 1.0  # over the two answered ones
    assert metrics["slow"]["all"]["n_answerable"] == 2
    report = (out / "report.md").read_text()
    assert "| failed |" in report
    assert "| assistant | 1.00 | – | 1.00 |" in report


def test_a_baseline_that_cannot_start_fails_every_question_and_the_rest_is_scored(
    setup, tmp_path, monkeypatch
):
    pipeline, dataset, _ = setup
    monkeypatch.setattr(answers, "BASELINES", {"broken": broken_baseline})

    summary = run_evaluation(pipeline, dataset, tmp_path / "out", baselines=["broken"])

    systems = json.loads((tmp_path / "out" / "metrics.json").read_text())["answers"]["systems"]
    assert systems["broken"]["all"]["failed"] == 4
    assert systems["assistant"]["all"]["failed"] == 1
    assert "broken 4" in summary
    failed = read_records(tmp_path / "out" / "records-broken.jsonl")[0]["failed"]
    assert failed == "not started: RuntimeError: no embedding model here"


def test_an_interrupted_run_keeps_the_records_it_finished(setup, tmp_path, monkeypatch):
    pipeline, dataset, _ = setup
    real_ask = pipeline.ask

    def ask(text, **kwargs):
        if text == "Kapan kebun teh dibuka?":
            raise KeyboardInterrupt
        return real_ask(text, **kwargs)

    monkeypatch.setattr(pipeline, "ask", ask)

    with pytest.raises(KeyboardInterrupt):
        run_evaluation(pipeline, dataset, tmp_path / "out", baselines=[])

    assert [r["id"] for r in read_records(tmp_path / "out" / "records.jsonl")] == ["q-1", "q-2"]


def test_questions_about_one_article_are_searched_and_answered_in_it(setup, tmp_path):
    pipeline, dataset, asked = setup

    run_evaluation(pipeline, dataset, tmp_path / "out", baselines=[])

    assert [doc for _, doc in asked] == ["kopi-bali", "kopi-bali", "teh-jawa", "teh-jawa"]
    run_evaluation(pipeline, dataset, tmp_path / "ret", retrieval_only=True)
    for record in read_records(tmp_path / "ret" / "records.jsonl"):
        assert {p["doc_id"] for p in record["passages"]} == {record["doc"]}
    metrics = json.loads((tmp_path / "ret" / "metrics.json").read_text())
    assert metrics["retrieval"]["fused"]["all"]["hit@3"] == 1.0


def test_the_report_shows_the_refusal_tradeoff_when_answers_carry_p_refuse(setup, tmp_path):
    pipeline, dataset, _ = setup

    run_evaluation(pipeline, dataset, tmp_path / "out", baselines=[])

    report = (tmp_path / "out" / "report.md").read_text()
    assert "### Refusal trade-off" in report and "refusal_tradeoff.png" in report
    assert (tmp_path / "out" / "refusal_tradeoff.png").stat().st_size > 0
    tradeoff = json.loads((tmp_path / "out" / "metrics.json").read_text())["answers"][
        "refusal_tradeoff"
    ]
    assert tradeoff["answers_with_p_refuse"] == 3  # the failed question has none


def test_a_question_about_an_article_not_in_the_index_is_a_one_line_error(
    setup, tmp_path, monkeypatch, capsys
):
    pipeline, dataset, _ = setup
    write_dataset(dataset, [*QUESTIONS, question("q-5", "Apa?", [], "", doc="idk-valid-p000")])
    monkeypatch.setattr(cli, "pipeline_for", lambda args, progress=True: pipeline)

    code = cli.main(["eval", "--dataset", str(dataset), "--out", str(tmp_path / "out")])

    assert code == 2
    err = capsys.readouterr().err
    assert "idk-valid-p000" in err and "rag index" in err and "Traceback" not in err


def test_doc_and_passage_name_the_article_and_must_agree(tmp_path):
    path = tmp_path / "q.jsonl"
    write_dataset(path, QUESTIONS)
    assert [q.doc for q in load_dataset(path)] == ["kopi-bali", "kopi-bali", "teh-jawa", "teh-jawa"]
    write_dataset(path, [question("q", "Apa?", [], "", doc="a", passage="b")])
    with pytest.raises(InputError, match="different articles"):
        load_dataset(path)
    write_dataset(path, [question("q", "Apa?", [], "", doc=3)])
    with pytest.raises(InputError, match="must be a non-empty str"):
        load_dataset(path)


def test_a_paragraph_file_stem_is_its_doc_id():
    assert slugify("idk-valid-p000.txt") == "idk-valid-p000"


def test_a_conversation_whose_turn_fails_is_counted_and_the_others_are_scored(setup, tmp_path):
    pipeline, dataset, _ = setup
    conversations = tmp_path / "conversations.jsonl"
    rows = [
        {
            "id": "c-1",
            "lang": "id",
            "turns": [{"question": "Ke mana kopi dijual?"}, {"question": "Kapan kopi dipanen?"}],
        },
        {
            "id": "c-2",
            "lang": "id",
            "turns": [
                {"question": "Kapan kopi dipanen?"},
                {"question": "Kapan kebun teh dibuka?", "answers": ["1910"]},
            ],
        },
    ]
    write_dataset(conversations, rows)

    run_evaluation(pipeline, dataset, tmp_path / "out", baselines=[], conversations=conversations)

    turns = read_records(tmp_path / "out" / "conversations.jsonl")
    assert [t.get("failed") for t in turns] == ["APITimeoutError: Request timed out.", None]
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())["conversations"]["all"]
    assert (metrics["turns"], metrics["failed"], metrics["answer_accuracy"]) == (1, 1, 1.0)


def test_the_check_alone_writes_a_record_per_question_and_one_failure_does_not_stop_it(
    tmp_path,
):
    from eval.checks import run as run_checks
    from rag.errors import BackendError

    pipeline, backend = fake_pipeline(tmp_path / "index", [])
    backend.reports_probabilities = True
    backend.replies = ["Ya", BackendError("the model process crashed"), "Ya"]
    backend.first_tokens = [{"Ya": 0.99, "TID": 0.01}, {}, {"Ya": 0.5, "TIDAK": 0.5}]
    path = tmp_path / "set.jsonl"
    rows = [
        question("q1", "Siapa Menteri Kominfo?", ["Rudiantara"], "Rudiantara"),
        question("q2", "Berapa usia Jack Ma?", [], ""),
        question("q3", "Kapan Alibaba didirikan?", [], ""),
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")

    out = tmp_path / "checks.jsonl"
    failed = run_checks(pipeline, load_dataset(path), out)

    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert failed == 1 and "no answer" in records[1]["failed"]
    assert [records[i]["signals"]["p_unstated"] for i in (0, 2)] == [0.01, 0.5]
    assert all(records[i]["signals"]["text_tokens"] > 100 for i in (0, 2))
