"""How often the assistant answers the questions it suggests, without refusing.

Over the bundled article: makes its pool of suggested questions when the index has none
(``rag.suggestions``; minutes, once), holds a short scripted conversation in each
language (``CONVERSATIONS``), takes the suggestions the chat would show after each answer,
and asks each distinct one through the real pipeline with the conversation so far, as a
click would. ``--pool`` asks every question of the pool instead. Prints the share answered
without refusing (and with citations), Indonesian and English apart, and appends one
JSON line per question to ``--out`` as it goes (a question that fails is recorded as
failed and the run goes on).

    RAG_INDEX_DIR=/tmp/sg-idx python -m eval.suggestions [--pool] [--out FILE]

``--bundle`` makes the bundled article's pool afresh (even when one is stored or shipped)
and copies it into the package data (``rag/data/suggestions/``), where a new index finds
it as long as the article, the model and the prompt are the same: this is the command that
made the shipped pool.

Doesn't: judge whether an answer is right (the eval set does that), or time anything.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from rag.errors import RagError
from rag.factory import build_pipeline
from rag.pipeline import Pipeline
from rag.suggestions import BUNDLED, PoolMaker, Suggester
from rag.values import Answer

DOC_ID = "jack-ma-bali"
CONVERSATIONS = {
    "id": [
        "Produk apa saja yang akan dipasarkan lewat Alibaba?",
        "Kapan kelima produk mulai dipasarkan di Tiongkok?",
        "Siapa Menteri Kominfo yang disebut dalam artikel?",
    ],
    "en": [
        "Which products will be sold through Alibaba?",
        "How many digital entrepreneurs will Alibaba create each year?",
        "Who is the Minister of Communication mentioned in the article?",
    ],
}


def outcome(answer: Answer | None) -> str:
    """'answered' (with citations), 'refused', or 'failed' (an error or the extractive
    fallback)."""
    if answer is None or answer.fallback:
        return "failed"
    if answer.abstained or not answer.citations:
        return "refused"
    return "answered"


def ask(pipeline: Pipeline, question: str, history: list[str]) -> tuple[Answer | None, str]:
    try:
        return pipeline.ask(question, history=list(history)), ""
    except RagError as exc:
        return None, str(exc)


def shown_in_conversations(pipeline: Pipeline) -> list[tuple[str, str, list[str]]]:
    """(language, suggestion, history it is asked after) for each distinct suggestion the
    scripted conversations are shown, in order."""
    suggester, found, seen = Suggester(pipeline), [], set()
    for language, questions in CONVERSATIONS.items():
        history: list[str] = []
        asked: list[str] = []
        for question in questions:
            answer = pipeline.ask(question, history=history)
            history.append(answer.standalone_question)
            asked += [question, answer.standalone_question]
            for suggestion in suggester.suggest(answer, asked):
                if suggestion not in seen:
                    seen.add(suggestion)
                    found.append((language, suggestion, list(history)))
    return found


def whole_pool(pipeline: Pipeline) -> list[tuple[str, str, list[str]]]:
    """Every question of the pool that can be offered, each asked on its own."""
    questions, _ = Suggester(pipeline).pool(DOC_ID)
    return [(s.language, s.question, []) for s in questions]


def share_table(records: list[dict]) -> str:
    lines = ["| language | suggestions | answered | refused | failed | share answered |"]
    lines.append("|---|---|---|---|---|---|")
    for language in ("id", "en"):
        rows = [r for r in records if r["language"] == language]
        counts = {
            k: sum(r["outcome"] == k for r in rows) for k in ("answered", "refused", "failed")
        }
        share = f"{counts['answered'] / len(rows):.2f}" if rows else "–"
        lines.append(
            f"| {language} | {len(rows)} | {counts['answered']} | {counts['refused']} | "
            f"{counts['failed']} | {share} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.suggestions", description=__doc__)
    parser.add_argument("--pool", action="store_true", help="ask every question of the pool")
    parser.add_argument(
        "--bundle", action="store_true", help="make the pool afresh and ship it in rag/data"
    )
    parser.add_argument("--out", default="eval/results/suggestions.jsonl", help="JSON lines")
    args = parser.parse_args(argv)
    pipeline = build_pipeline(progress=True)
    if DOC_ID not in pipeline.store.documents:
        pipeline.index([])
    maker = PoolMaker(pipeline, say=print)
    if args.bundle:
        maker.make(DOC_ID)
        BUNDLED.mkdir(parents=True, exist_ok=True)
        shutil.copy(maker.path(DOC_ID), BUNDLED / f"{DOC_ID}.json")
        print(f"Copied {maker.path(DOC_ID)} into {BUNDLED}")
    else:
        maker.make_missing([DOC_ID])
    items = whole_pool(pipeline) if args.pool else shown_in_conversations(pipeline)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("", "utf-8")
    records = []
    for language, question, history in items:
        answer, error = ask(pipeline, question, history)
        record = {
            "language": language,
            "question": question,
            "outcome": outcome(answer),
            "answer": answer.answer if answer else "",
            "error": error or (answer.fallback if answer else ""),
            "reasons": answer.signals.get("refusal_reasons", []) if answer else [],
        }
        records.append(record)
        with out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(f"[{language}] {record['outcome']}: {question} -> {record['answer']}", flush=True)
    print(share_table(records))
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
