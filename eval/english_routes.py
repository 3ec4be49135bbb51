"""Two other ways to answer English questions about an Indonesian article, against the
assistant's own (the English question, answered in English):

- ``translated``: the model first translates the question into Indonesian (a few-shot
  chat prompt of its own), and the assistant answers that question in English;
- ``indonesian``: the assistant answers the English question in Indonesian, in the
  article's own words (what a translation back into English would start from).

Scored as ``rag eval`` scores answers (a gold answer contained in the answer, refusals
wrong), over the dataset's answerable English questions; one JSON line per question, as it
goes, and the right answers of each way at the end, with the questions each gets and the
other does not.

    python -m eval.english_routes [--dataset eval/dataset.jsonl] [--out FILE.jsonl]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.dataset import load_dataset
from eval.metrics import answer_correct
from rag.factory import build_pipeline
from rag.llm.base import text_of

ROUTES = ("english", "translated", "indonesian")
TRANSLATE = [
    ("system", "You translate English questions into Indonesian. You never answer them."),
    ("user", "How old is Jack Ma?"),
    ("assistant", "Berapa usia Jack Ma?"),
    ("user", "Which company will open an office in Jakarta?"),
    ("assistant", "Perusahaan apa yang akan membuka kantor di Jakarta?"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.english_routes", description=__doc__)
    parser.add_argument("--dataset", default="eval/dataset.jsonl")
    parser.add_argument("--out", default="english-routes.jsonl")
    args = parser.parse_args(argv)
    pipeline = build_pipeline()
    questions = [q for q in load_dataset(Path(args.dataset)) if q.lang == "en" and q.answerable]
    right: dict[str, set[str]] = {route: set() for route in ROUTES}
    with open(args.out, "w", encoding="utf-8") as out:
        for q in questions:
            translated = text_of(
                pipeline.backend.stream([*TRANSLATE, ("user", q.question)], ["\n"], 60)
            ).strip()
            asked = {
                "english": (q.question, "en"),
                "translated": (translated, "en"),
                "indonesian": (q.question, "id"),
            }
            row: dict = {"id": q.id, "question": q.question, "translated": translated}
            for route, (question, lang) in asked.items():
                answer = pipeline.ask(question, lang=lang)
                ok = not answer.abstained and answer_correct(answer.answer, q.answers)
                row[route] = {"answer": answer.answer, "right": ok}
                if ok:
                    right[route].add(q.id)
            print(json.dumps(row, ensure_ascii=False), file=out, flush=True)
    n = len(questions)
    for route in ROUTES:
        gained = sorted(right[route] - right["english"])
        lost = sorted(right["english"] - right[route])
        print(f"{route}: {len(right[route])}/{n} right; gains {gained}, loses {lost}")
    either = right["english"] | right["indonesian"]
    print(f"english or indonesian right: {len(either)}/{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
