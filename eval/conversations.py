"""Conversations: a question and its follow-ups, asked in turn with the history.

Each line of the file is ``{"id", "lang", "turns": [{"question", "answers", "subject"?}]}``.
The first turn stands on its own; a later turn with a ``subject`` leans on the
conversation, and its rewritten (standalone) question must name that subject: each entry
of ``subject`` is a group of alternatives separated by ``|``, one of which must occur in
the rewrite (lowercase). Scores, by language: rewrite accuracy over the follow-up turns
and answer accuracy over every turn after the first. A turn whose answer fails (a
timed-out model) is recorded as failed with the rest of its conversation, which has lost
its history; failed turns are counted and left out of the rates.

>>> names_subject("Kapan produk Indonesia mulai dipasarkan?", ["produk|barang"])
True
"""

from __future__ import annotations

import logging
from pathlib import Path

from eval import metrics as m
from eval.records import attempt
from rag.errors import InputError
from rag.fileio import read_jsonl
from rag.pipeline import Pipeline

log = logging.getLogger(__name__)


def load_conversations(path: Path) -> list[dict]:
    try:
        rows = read_jsonl(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read conversations from {path} ({exc}).") from None
    if not all({"id", "lang", "turns"} <= set(r) for r in rows):
        raise InputError(f"{path}: every line needs id, lang and turns.")
    return rows


def names_subject(standalone: str, subject: list[str]) -> bool:
    text = standalone.lower()
    return all(any(alt in text for alt in group.split("|")) for group in subject)


def evaluate_conversations(pipeline: Pipeline, path: Path) -> tuple[list[dict], dict, str]:
    """Ask every conversation turn by turn; returns records, metrics and a report section."""
    records = []
    for conversation in load_conversations(path):
        history: list[str] = []
        failed = ""
        for turn_no, turn in enumerate(conversation["turns"]):
            turn_id = f"{conversation['id']}#{turn_no + 1}"
            if not failed:
                answer, failed = attempt(
                    lambda q=turn["question"], h=list(history): pipeline.ask(q, history=h)
                )
                if failed:
                    log.warning("the assistant failed on %s: %s", turn_id, failed)
                else:
                    history.append(answer.standalone_question)
            if turn_no == 0:
                continue
            base = {"id": turn_id, "lang": conversation["lang"], "question": turn["question"]}
            if failed:
                records.append({**base, "failed": failed})
                continue
            subject = turn.get("subject")
            records.append(
                {
                    **base,
                    "standalone_question": answer.standalone_question,
                    "answer": answer.answer,
                    "rewrite_correct": names_subject(answer.standalone_question, subject)
                    if subject
                    else None,
                    "correct": not answer.abstained
                    and m.answer_correct(answer.answer, turn["answers"]),
                }
            )
    metrics = {}
    for lang in ("id", "en", "all"):
        rows = [r for r in records if lang in ("all", r["lang"])]
        failures = sum(bool(r.get("failed")) for r in rows)
        rows = [r for r in rows if not r.get("failed")]
        rewrites = [r["rewrite_correct"] for r in rows if r["rewrite_correct"] is not None]
        metrics[lang] = {
            "turns": len(rows),
            "rewrite_accuracy": m.mean([float(x) for x in rewrites]),
            "answer_accuracy": m.mean([float(r["correct"]) for r in rows]),
            "failed": failures,
        }
    lines = [
        "## Conversations",
        "",
        f"Follow-up turns of `{path}`, asked with the conversation's history.",
        "",
        "| lang | follow-up turns | rewrite accuracy | answer accuracy | failed |",
        "|---|---|---|---|---|",
    ]
    for lang, s in metrics.items():
        lines.append(
            f"| {lang} | {s['turns']} | {s['rewrite_accuracy']:.2f} | "
            f"{s['answer_accuracy']:.2f} | {s['failed']} |"
        )
    return records, metrics, "\n".join(lines) + "\n"
