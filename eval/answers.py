"""The full evaluation: answers, refusals, citations and latency, against baselines.

Scores per language (and both), on the same questions and the same LLM:
- answer accuracy (a gold answer occurs in the answer after normalisation) and
  SQuAD-style token F1, over answerable questions; an abstention counts as wrong;
- refusal precision and recall over unanswerable questions, false-refusal rate over
  answerable ones;
- citation precision (citations on correct answers whose span overlaps the evidence or
  lies in the passage that holds it) and recall (correct answers citing the evidence);
- latency p50/p95 of the whole answer;
- the refusal trade-off of the model's own refusal probability (see ``eval.tradeoff``).

A question whose call fails (a timed-out model, a crashed baseline) is recorded as failed
and counted per system; every rate is over the questions the system answered. Records are
written as they are made: the assistant's to ``records.jsonl``, each baseline's to
``records-NAME.jsonl``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eval import metrics as m
from eval import tradeoff
from eval.baselines import BASELINES
from eval.dataset import Question
from eval.records import RecordLog, attempt, question_fields
from eval.stats import percentile
from rag.answer.grounded import model_refused
from rag.errors import InputError
from rag.pipeline import Pipeline

MAX_ANSWER_WORDS = 40

LANGS = ("id", "en", "all")
log = logging.getLogger(__name__)


def _evidence_spans(pipeline: Pipeline, q: Question) -> tuple[set[str], list[tuple[str, int, int]]]:
    """Passages holding the evidence, and the evidence's (doc_id, start, end) spans, in the
    question's article when it names one."""
    store = pipeline.store
    passages = {
        p.id
        for p in store.passages
        if q.evidence and q.evidence in p.text and q.doc in (None, p.doc_id)
    }
    spans = []
    for doc in store.documents.values():
        if q.doc not in (None, doc.doc_id):
            continue
        start = doc.text.find(q.evidence) if q.evidence else -1
        if start >= 0:
            spans.append((doc.doc_id, start, start + len(q.evidence)))
    return passages, spans


def _cites_evidence(citation: dict, passages: set[str], spans: list) -> bool:
    overlaps = any(
        citation["doc_id"] == d and citation["start"] < e and s < citation["end"]
        for d, s, e in spans
    )
    return overlaps or citation["passage_id"] in passages


@dataclass(frozen=True)
class Score:
    """How one system did on one question."""

    lang: str
    answerable: bool
    abstained: bool
    words: int
    correct: bool
    f1: float
    citations_good: int
    citations_total: int
    cites_evidence: bool
    latency_ms: float
    split: str
    failed: bool = False

    @classmethod
    def failure(cls, q: Question) -> Score:
        """A question the system did not answer: counted as failed, in no rate."""
        return cls(q.lang, q.answerable, False, 0, False, 0.0, 0, 0, False, 0.0, q.split, True)


def score_record(pipeline: Pipeline, q: Question, record: dict) -> Score:
    """Per-question scores of one `rag ask --json` record (or of a failed question's)."""
    if record.get("failed"):
        return Score.failure(q)
    correct = (
        q.answerable and not record["abstained"] and m.answer_correct(record["answer"], q.answers)
    )
    passages, spans = _evidence_spans(pipeline, q)
    good = [_cites_evidence(c, passages, spans) for c in record["citations"]] if correct else []
    return Score(
        lang=q.lang,
        answerable=q.answerable,
        abstained=record["abstained"],
        words=len(record["answer"].split()),
        correct=correct,
        f1=m.best_f1(q.answers, record["answer"]) if q.answerable else 0.0,
        citations_good=sum(good),
        citations_total=len(good),
        cites_evidence=any(good),
        latency_ms=record["timings_ms"]["total"],
        split=q.split,
    )


def summarize(scores: list[Score]) -> dict:
    """Aggregate per-question scores for one language subset; failed questions are only
    counted."""
    failed = sum(s.failed for s in scores)
    scores = [s for s in scores if not s.failed]
    answerable = [s for s in scores if s.answerable]
    unanswerable = [s for s in scores if not s.answerable]
    abstained = [s for s in scores if s.abstained]
    correct = [s for s in answerable if s.correct]
    latencies = [s.latency_ms for s in scores]
    cited = sum(s.citations_total for s in correct)
    return {
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "failed": failed,
        "accuracy": m.mean([float(s.correct) for s in answerable]),
        "f1": m.mean([s.f1 for s in answerable]),
        "refusal_precision": m.mean([float(not s.answerable) for s in abstained]),
        "refusal_recall": m.mean([float(s.abstained) for s in unanswerable]),
        "false_refusal_rate": m.mean([float(s.abstained) for s in answerable]),
        "citation_precision": (
            sum(s.citations_good for s in correct) / cited if cited else float("nan")
        ),
        "citation_recall": m.mean([float(s.cites_evidence) for s in correct]),
        "answers_over_40_words": sum(
            1 for s in scores if not s.abstained and s.words > MAX_ANSWER_WORDS
        ),
        "latency_p50_ms": percentile(latencies, 50) if latencies else float("nan"),
        "latency_p95_ms": percentile(latencies, 95) if latencies else float("nan"),
    }


def by_language(scores: list[Score]) -> dict:
    return {lang: summarize([s for s in scores if lang in ("all", s.lang)]) for lang in LANGS}


def baseline_record(name: str, answer, q: Question) -> dict:
    """One baseline answer, timed, or the question recorded as failed."""
    t0 = time.perf_counter()
    text, reason = attempt(lambda: answer(q.question, q.doc))
    if reason:
        log.warning("%s failed on %s: %s", name, q.id, reason)
        return {**question_fields(q), "failed": reason}
    return {
        **question_fields(q),
        "answer": text,
        "abstained": model_refused(text),
        "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
    }


def score_baseline(q: Question, record: dict) -> Score:
    """A baseline cites nothing; it abstains when the model's own words say the text lacks
    the answer (as for the assistant)."""
    if record.get("failed"):
        return Score.failure(q)
    text, refused = record["answer"], record["abstained"]
    return Score(
        lang=q.lang,
        answerable=q.answerable,
        abstained=refused,
        words=len(text.split()),
        correct=q.answerable and not refused and m.answer_correct(text, q.answers),
        f1=m.best_f1(q.answers, text) if q.answerable else 0.0,
        citations_good=0,
        citations_total=0,
        cites_evidence=False,
        latency_ms=record["latency_ms"],
        split=q.split,
    )


def run_baseline(name: str, pipeline: Pipeline, questions: list[Question], path: Path) -> dict:
    """Accuracy, refusals, F1, latency and failures of one baseline; its records go to
    ``path`` as they are made. A baseline that cannot start fails every question."""
    answer, reason = attempt(lambda: BASELINES[name](pipeline))
    if reason:
        log.warning("baseline %s could not start: %s", name, reason)
    scores = []
    with RecordLog(path) as records:
        for q in questions:
            if answer is None:
                record = records.write({**question_fields(q), "failed": f"not started: {reason}"})
            else:
                record = records.write(baseline_record(name, answer, q))
            scores.append(score_baseline(q, record))
    return by_language(scores)


def _fmt(x: float, digits: int = 2) -> str:
    return "–" if x != x else f"{x:.{digits}f}"  # NaN (nothing to count) shows as a dash


def report(metrics: dict, tradeoff_section: str = "") -> str:
    systems = metrics["systems"]
    lines = [
        "## Answers",
        "",
        "Answer accuracy and token F1 over answerable questions (an abstention counts as "
        "wrong), by language; same questions and LLM for every system. A failed question "
        "(the call raised or timed out; see the records) is counted and left out of the rates.",
        "",
        "| system | acc id | acc en | acc all | F1 all | refusals | false refusals | "
        "> 40 words | p50 ms | p95 ms | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in systems.items():
        lines.append(
            f"| {name} | {_fmt(s['id']['accuracy'])} | {_fmt(s['en']['accuracy'])} | "
            f"{_fmt(s['all']['accuracy'])} | {_fmt(s['all']['f1'])} | "
            f"{_fmt(s['all']['refusal_recall'])} | {_fmt(s['all']['false_refusal_rate'])} | "
            f"{s['all']['answers_over_40_words']} | "
            f"{_fmt(s['all']['latency_p50_ms'], 0)} | {_fmt(s['all']['latency_p95_ms'], 0)} | "
            f"{s['all']['failed']} |"
        )
    ours = systems["assistant"]
    lines += [
        "",
        "### The assistant: refusals and citations",
        "",
        "Answerable questions give accuracy and F1 (and false refusals); unanswerable ones "
        "give refusal recall.",
        "",
        "| lang | answerable | unanswerable | accuracy | F1 | refusal precision | "
        "refusal recall | false refusals | citation precision | citation recall |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lang in LANGS:
        s = ours[lang]
        lines.append(
            f"| {lang} | {s['n_answerable']} | {s['n_unanswerable']} | {_fmt(s['accuracy'])} "
            f"| {_fmt(s['f1'])} | {_fmt(s['refusal_precision'])} | {_fmt(s['refusal_recall'])} "
            f"| {_fmt(s['false_refusal_rate'])} | {_fmt(s['citation_precision'])} | "
            f"{_fmt(s['citation_recall'])} |"
        )
    lines += [
        "",
        "### By split (refusal thresholds are tuned on dev)",
        "",
        "| split | accuracy | refusal recall | false refusals |",
        "|---|---|---|---|",
    ]
    for split, s in metrics["assistant_by_split"].items():
        lines.append(
            f"| {split} | {_fmt(s['accuracy'])} | {_fmt(s['refusal_recall'])} | "
            f"{_fmt(s['false_refusal_rate'])} |"
        )
    lines += ["", "![accuracy](accuracy.png) ![latency](latency.png)"]
    return "\n".join(lines) + "\n\n" + tradeoff_section


def charts(metrics: dict, latencies: list[float], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    systems = metrics["systems"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(systems)
    for i, (name, s) in enumerate(systems.items()):
        ax.bar(
            [x + i * width for x in range(3)],
            [s[lang]["accuracy"] for lang in LANGS],
            width,
            label=name,
        )
    ax.set_xticks([x + width for x in range(3)], ["Indonesian", "English", "all"])
    ax.set_ylim(0, 1)
    ax.set_ylabel("answer accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=100)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist(latencies, bins=20)
    ax.set_xlabel("total latency per answer (ms)")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=100)
    plt.close("all")


def ask_assistant(pipeline: Pipeline, q: Question) -> dict:
    """The `rag ask --json` record of one question, or the question recorded as failed."""
    answer, reason = attempt(lambda: pipeline.ask(q.question, doc_id=q.doc))
    if answer is None:
        log.warning("the assistant failed on %s: %s", q.id, reason)
        return {**question_fields(q), "question": q.question, "failed": reason}
    return {**question_fields(q), **answer.to_json()}


def refusal_tradeoff(pipeline: Pipeline, records: list[dict], out: Path) -> tuple[dict, str]:
    """The p_refuse trade-off of the assistant's records at the profile's threshold: its
    metrics, and its report section (the chart written to ``out``)."""
    rows = [tradeoff.row_of(r["lang"], r["answerable"], r) for r in records]
    rows = [r for r in rows if r is not None]
    chosen = getattr(pipeline.refusal, "max_p_refuse", None)
    points = [tradeoff.at_threshold(rows, t) for t in tradeoff.REPORT_THRESHOLDS] if rows else []
    at_profile = tradeoff.at_threshold(rows, chosen) if rows and chosen is not None else None
    metrics = {
        "answers_with_p_refuse": len(rows),
        "max_p_refuse": chosen,
        "at_profile": asdict(at_profile) if at_profile else None,
        "points": [asdict(p) for p in points],
    }
    return metrics, tradeoff.report_section(rows, chosen, out)


def evaluate_answers(
    pipeline: Pipeline, questions: list[Question], out: Path, baselines: list[str] | None = None
) -> tuple[dict, str]:
    """Ask every question, writing each record as it is made; returns the metrics and the
    report section."""
    names = list(BASELINES) if baselines is None else baselines
    unknown = sorted(set(names) - set(BASELINES))
    if unknown:
        raise InputError(f"unknown baselines {unknown}; known: {', '.join(BASELINES)}.")
    records, scores = [], []
    pipeline.warm_up()  # the shared prompt prefix is evaluated once, as the app does at start
    with RecordLog(out / "records.jsonl") as record_log:
        for q in questions:
            records.append(record_log.write(ask_assistant(pipeline, q)))
            scores.append(score_record(pipeline, q, records[-1]))
    systems = {"assistant": by_language(scores)}
    for name in names:
        systems[name] = run_baseline(name, pipeline, questions, out / f"records-{name}.jsonl")
    tradeoff_metrics, tradeoff_section = refusal_tradeoff(pipeline, records, out)
    metrics = {
        "systems": systems,
        "assistant_by_split": {
            split: summarize([s for s in scores if s.split == split]) for split in ("dev", "test")
        },
        "refusal_tradeoff": tradeoff_metrics,
    }
    charts(metrics, [s.latency_ms for s in scores if not s.failed], out)
    return metrics, report(metrics, tradeoff_section)
