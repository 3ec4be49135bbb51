"""The yes/no check alone, for every question of a set: records to tune its threshold.

    python -m eval.checks --dataset eval/dataset.jsonl --out DIR/checks.jsonl
    RAG_INDEX_DIR=/tmp/idk python -m eval.checks \\
        --dataset ../shared/datasets/idkmrc-valid/questions.jsonl --out DIR/idk-checks.jsonl

Each question is retrieved as ``rag ask`` retrieves it (about its ``doc`` when it names one)
and the model is asked only whether the text states the answer (``rag.answer.drafts.check_stated``:
one generated token), not to answer: one token a question instead of a whole answer.
Every question gets a record in the format of ``rag eval``'s, written as it is made, with
the signals the check measures (``p_unstated``, ``text_tokens``); a question that fails is
recorded as failed and the run goes on. ``python -m eval.tune_refusal --tune unstated
--records DIR/checks.jsonl --dev-records DIR/idk-checks.jsonl`` tunes on them: the check is
then tuned on its own, without the other checks' votes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

from eval.dataset import Question, load_dataset
from eval.records import RecordLog, attempt, question_fields
from rag.answer.drafts import Draft, check_stated
from rag.errors import BackendError, RagError
from rag.factory import build_pipeline
from rag.pipeline import Pipeline


def result_of(steps: Generator[Any, None, Draft]) -> Draft:
    """What a drafting generator returns, its events passed over."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def check_signals(pipeline: Pipeline, q: Question) -> dict:
    """The check's signals for one question, asked as the pipeline asks it."""
    grounds = pipeline.ground(q.question, [], None, None, q.doc)
    draft = result_of(
        check_stated(pipeline.drafter(), Draft(), grounds.question, grounds.hits, q.doc)
    )
    if not draft.text_tokens:  # the check answers nothing when its request fails
        raise BackendError("the check got no answer from the model")
    return {"p_unstated": draft.p_unstated, "text_tokens": draft.text_tokens}


def run(pipeline: Pipeline, questions: list[Question], out: Path) -> int:
    """Write one record per question; the number that failed."""
    failed = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with RecordLog(out) as log:
        for q in questions:
            signals, reason = attempt(lambda q=q: check_signals(pipeline, q))
            if signals is None:
                failed += 1
                log.write(question_fields(q) | {"failed": reason})
                print(f"{q.id}: failed ({reason})", file=sys.stderr)
                continue
            log.write(question_fields(q) | {"question": q.question, "signals": signals})
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="eval/dataset.jsonl")
    parser.add_argument("--out", required=True, help="the JSONL records file to write")
    args = parser.parse_args(argv)
    try:
        pipeline = build_pipeline()
        questions = load_dataset(Path(args.dataset))
        failed = run(pipeline, questions, Path(args.out))
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"{len(questions)} questions, {failed} failed: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
