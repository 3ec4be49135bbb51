"""Tune the refusal thresholds on the dev split; check them on the test split.

    python -m eval.tune_refusal --dataset eval/dataset.jsonl [--records DIR/records.jsonl]
        [--profile NAME]

Asks every question once (or reads the answers of a `rag eval` run), keeps each answer's
measured signals (question relevance, answer support; see ``rag.refusal``), then picks
the pair of thresholds with the best balance on the dev split: the share of unanswerable
questions refused minus the share of answerable ones refused (optionally capped by
``--max-false``), and writes them to the profile's file (``rag/data/refusal-NAME.json``).
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from eval.dataset import Question, load_dataset
from rag.factory import build_pipeline
from rag.fileio import read_jsonl
from rag.refusal import RefusalPolicy
from rag.settings import resolve_settings

Row = tuple[Question, dict[str, float]]  # a question and its answer's measured signals
SIGNALS = ("relevance", "support", "semantic")
NO_REFUSAL = RefusalPolicy(0.0, 0.0)


def rates(policy: RefusalPolicy, rows: list[Row]) -> tuple[float, float]:
    """(share of unanswerable questions refused, share of answerable ones refused)."""
    refused = [
        (q, policy.abstain(s["relevance"], s["support"], s.get("semantic", 1.0))) for q, s in rows
    ]
    unans = [r for q, r in refused if not q.answerable]
    ans = [r for q, r in refused if q.answerable]
    return float(np.mean(unans)) if unans else 0.0, float(np.mean(ans)) if ans else 0.0


def cut_points(values: list[float]) -> list[float]:
    """0, then the midpoints between consecutive distinct values: every distinct split.

    >>> cut_points([0.0, 1.0, 0.5, 1.0])
    [0.0, 0.25, 0.75]
    """
    distinct = sorted(set(values))
    return [0.0] + [round((a + b) / 2, 4) for a, b in itertools.pairwise(distinct)]


def tune(
    rows: list[Row],
    max_false: float = 1.0,
    names: tuple[str, str] = ("relevance", "support"),
    fixed: RefusalPolicy = NO_REFUSAL,
    spend_budget: bool = False,
) -> RefusalPolicy:
    """The two named thresholds with the best recall minus false-refusal rate, under the
    cap; the third keeps its value in ``fixed``.

    Ties go to the lowest thresholds (refuse as little as possible for the same recall).
    With ``spend_budget``, the best recall under the cap wins and ties go to the highest
    thresholds: a small dev split holds few unanswerable questions, so the false-refusal
    budget is spent on refusing what the dev answers suggest is weakly supported.
    """
    best, best_key = fixed, (-1.0, 0.0)
    first, second = names
    for x in cut_points([s.get(first, 1.0) for _, s in rows]):
        for y in cut_points([s.get(second, 1.0) for _, s in rows]):
            policy = replace(fixed, **{f"min_{first}": x, f"min_{second}": y})
            recall, false = rates(policy, rows)
            key = (recall, x + y) if spend_budget else (recall - false, -false)
            if false <= max_false and key > best_key:
                best, best_key = policy, key
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="eval/dataset.jsonl")
    parser.add_argument("--records", help="records.jsonl of a full `rag eval` on the dataset")
    parser.add_argument(
        "--max-false",
        type=float,
        default=0.10,
        help="refuse at most this share of answerable dev questions",
    )
    parser.add_argument("--profile", help="the profile to tune (default: the configured one)")
    parser.add_argument(
        "--tune",
        default="relevance,support",
        help="the two signals to tune (of relevance, support, semantic); the third keeps "
        "the profile's value",
    )
    parser.add_argument(
        "--spend-budget",
        action="store_true",
        help="best recall under --max-false, ties to the highest thresholds",
    )
    args = parser.parse_args()
    pipeline = build_pipeline(resolve_settings(profile=args.profile))
    questions = load_dataset(Path(args.dataset))
    if args.records:
        signals = {r["id"]: r["signals"] for r in read_jsonl(Path(args.records))}
    else:
        signals = {q.id: pipeline.ask(q.question).signals for q in questions}
    rows: list[Row] = [(q, signals[q.id]) for q in questions]
    names = tuple(args.tune.split(","))
    if len(names) != 2 or not set(names) <= set(SIGNALS):
        parser.error(f"--tune takes two of {', '.join(SIGNALS)}")
    dev = [r for r in rows if r[0].split == "dev"]
    test = [r for r in rows if r[0].split == "test"]
    policy = tune(dev, args.max_false, names, pipeline.refusal, args.spend_budget)
    summary = {}
    for name, part in (("dev", dev), ("test", test)):
        recall, false = rates(policy, part)
        summary[name] = {
            "questions": len(part),
            "refusal_recall": round(recall, 3),
            "false_refusals": round(false, 3),
        }
        print(
            f"{name}: {len(part)} questions, refusal recall {recall:.2f}, "
            f"false refusals {false:.2f}"
        )
    policy.save(
        pipeline.profile.refusal_path,
        tuned_on=f"dev split of {args.dataset}",
        max_false=args.max_false,
        tuned=list(names),
        spend_budget=args.spend_budget,
        **summary,
    )
    print(
        f"thresholds: relevance >= {policy.min_relevance}, support >= {policy.min_support}, "
        f"semantic >= {policy.min_semantic}"
    )


if __name__ == "__main__":
    main()
