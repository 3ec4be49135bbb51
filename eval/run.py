"""``rag eval``: run a question set through the pipeline and write what it scored.

Writes ``records.jsonl`` (one line per question: the ``rag search --json`` or
``rag ask --json`` object plus the question's ``id``, ``lang``, ``answerable``, ``split`` and
``doc``), ``metrics.json`` and ``report.md`` (and PNG charts and each baseline's
``records-NAME.jsonl`` for the full evaluation) into the output folder. A question with a
``doc`` is searched and answered within that article only.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval import metrics as m
from eval.dataset import Question, load_dataset
from eval.records import question_fields
from rag.errors import InputError
from rag.fileio import write_jsonl
from rag.pipeline import Pipeline
from rag.retrieval.retrieve import MODES

RETRIEVAL_DEPTH = 10  # passages ranked per question for the retrieval metrics


def _relevance(question: Question, passages: list[dict]) -> list[bool]:
    return [question.evidence in p["text"] for p in passages]


def retrieval_metrics(rows: list[tuple[Question, list[bool], int]]) -> dict:
    """(question, relevance by rank, relevant passages in corpus) -> hit@1/3, MRR, nDCG@5."""
    rows = [r for r in rows if r[0].answerable]
    return {
        "n": len(rows),
        "hit@1": m.mean([m.hit_at(rel, 1) for _, rel, _ in rows]),
        "hit@3": m.mean([m.hit_at(rel, 3) for _, rel, _ in rows]),
        "mrr": m.mean([m.reciprocal_rank(rel) for _, rel, _ in rows]),
        "ndcg@5": m.mean([m.ndcg_at(rel, 5, n) for _, rel, n in rows]),
    }


def check_docs(pipeline: Pipeline, questions: list[Question]) -> None:
    """Every article the questions are asked about is in the index, or an InputError."""
    known = pipeline.store.documents
    missing = sorted({q.doc for q in questions if q.doc and q.doc not in known})
    if missing:
        named = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if missing[3:] else "")
        raise InputError(
            f"{len(missing)} article(s) the questions ask about are not in the index at "
            f"{pipeline.settings.index_dir}: {named}; index them there first "
            "(RAG_INDEX_DIR=DIR rag index FILES; see eval/README.md)."
        )


def n_relevant(pipeline: Pipeline, q: Question) -> int:
    """Passages holding the evidence, in the question's article when it names one."""
    if not q.answerable:
        return 0
    return sum(q.evidence in p.text and q.doc in (None, p.doc_id) for p in pipeline.store.passages)


def evaluate_retrieval(pipeline: Pipeline, questions: list[Question]) -> tuple[list, dict]:
    """Records of the fused retriever and metrics of every mode, by language."""
    records, per_mode = [], {mode: [] for mode in MODES}
    for q in questions:
        relevant_here = n_relevant(pipeline, q)
        for mode in MODES:
            found = pipeline.search(q.question, k=RETRIEVAL_DEPTH, mode=mode, doc_id=q.doc)
            result = found.to_json()
            per_mode[mode].append((q, _relevance(q, result["passages"]), relevant_here))
            if mode == "fused":
                records.append({**question_fields(q), **result})
    table = {
        mode: {
            lang: retrieval_metrics([r for r in rows if lang in ("all", r[0].lang)])
            for lang in ("id", "en", "all")
        }
        for mode, rows in per_mode.items()
    }
    return records, table


def _fmt(x: float) -> str:
    return "–" if x != x else f"{x:.3f}"  # NaN: no answerable question in that language


def retrieval_report(table: dict, dataset: Path, n: int) -> str:
    lines = [
        "## Retrieval",
        "",
        f"{n} questions from `{dataset}`; answerable ones scored; a passage is relevant when it "
        f"contains the evidence string; {RETRIEVAL_DEPTH} passages ranked per question.",
        "",
        "| retriever | lang | n | hit@1 | hit@3 | MRR | nDCG@5 |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, by_lang in table.items():
        for lang, s in by_lang.items():
            scores = " | ".join(_fmt(s[name]) for name in ("hit@1", "hit@3", "mrr", "ndcg@5"))
            lines.append(f"| {mode} | {lang} | {s['n']} | {scores} |")
    return "\n".join(lines) + "\n"


def run_evaluation(
    pipeline: Pipeline,
    dataset: Path,
    out: Path,
    retrieval_only: bool = False,
    baselines: list[str] | None = None,
    conversations: Path | None = None,
) -> str:
    """Evaluate, write the files, and return a short summary for the terminal."""
    questions = load_dataset(dataset)
    check_docs(pipeline, questions)
    out.mkdir(parents=True, exist_ok=True)
    records, table = evaluate_retrieval(pipeline, questions)
    report = "# Evaluation report\n\n" + retrieval_report(table, dataset, len(questions))
    result = {"dataset": str(dataset), "questions": len(questions), "retrieval": table}
    if not retrieval_only:
        from eval.answers import evaluate_answers  # needs the LLM: only for full runs

        # writes records.jsonl itself, each answer as it is made
        answer_metrics, answer_report = evaluate_answers(pipeline, questions, out, baselines)
        result["answers"] = answer_metrics
        report += "\n" + answer_report
    if conversations is not None and not retrieval_only:
        from eval.conversations import evaluate_conversations

        turns, result["conversations"], section = evaluate_conversations(pipeline, conversations)
        write_jsonl(out / "conversations.jsonl", turns)
        report += "\n" + section
    if retrieval_only:
        write_jsonl(out / "records.jsonl", records)
    (out / "metrics.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    (out / "report.md").write_text(report, "utf-8")
    fused = table["fused"]
    return (
        f"fused retrieval: hit@3 id {fused['id']['hit@3']:.3f} en {fused['en']['hit@3']:.3f}, "
        f"MRR id {fused['id']['mrr']:.3f} en {fused['en']['mrr']:.3f}; "
        f"{failures(result)}wrote {out}/report.md"
    )


def failures(result: dict) -> str:
    """'2 answers failed (langchain_tutorial 2); ' or '' when every call returned."""
    systems = result.get("answers", {}).get("systems", {})
    counts = {name: s["all"]["failed"] for name, s in systems.items() if s["all"]["failed"]}
    if not counts:
        return ""
    listed = ", ".join(f"{name} {n}" for name, n in counts.items())
    return f"{sum(counts.values())} answers failed ({listed}); "
