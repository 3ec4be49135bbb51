"""Tune the refusal thresholds on development data; check them on the test split.

    python -m eval.tune_refusal [--dataset eval/dataset.jsonl] [--records DIR/records.jsonl]
        [--dev-records DIR/records.jsonl]
        [--tune relevance,support | p_refuse | subject | unstated]
        [--max-false 0.10] [--spend-budget] [--profile NAME]

Asks every question of the dataset once, or reads the answers of `rag eval` runs, and keeps
each answer's measured signals (question relevance, answer support, the model's own
refusal probability; see ``rag.answer.refusal``):

- ``--records`` (repeatable): a run on a set with a dev and a test split
  (``eval/dataset.jsonl``): the dev split tunes, the test split checks;
- ``--dev-records`` (repeatable): a run on a development set (IDK-MRC's validation split):
  every question tunes.

A record of a failed question, or one without signals, is skipped. Two of relevance,
support and semantic are tuned as a pair: the best share of unanswerable questions refused
minus the share of answerable ones refused, optionally capped by ``--max-false``.
``--tune p_refuse`` tunes ``max_p_refuse`` alone (see ``eval.tradeoff``: a question is
refused when another recorded check refused it or p_refuse reaches the threshold), under
the same cap. ``--tune subject`` then tunes ``subject_p_refuse``, the lower threshold on
p_refuse for questions that name what their article never writes (``unknown_names``), with
the profile's ``max_p_refuse``. ``--tune unstated`` tunes ``max_p_unstated``, the threshold
on the model's doubt, asked yes or no, that the text states the answer. The thresholds go
to the profile's file (``rag/data/refusal-NAME.json``), keeping the notes of the other
tuning.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from eval import tradeoff
from eval.dataset import Question, load_dataset, split_of
from eval.records import attempt
from rag.answer.refusal import RefusalPolicy
from rag.config.settings import resolve_settings
from rag.errors import InputError, RagError
from rag.factory import build_pipeline
from rag.fileio import read_jsonl
from rag.pipeline import Pipeline

SIGNALS = ("relevance", "support", "semantic")
P_REFUSE = "p_refuse"
NO_REFUSAL = RefusalPolicy(0.0, 0.0)


@dataclass(frozen=True)
class Row:
    """One answered question and its answer's measured signals."""

    answerable: bool
    split: str  # "dev" tunes, "test" checks
    lang: str
    signals: dict


def rates(policy: RefusalPolicy, rows: list[Row]) -> tuple[float, float]:
    """(share of unanswerable questions refused, share of answerable ones refused)."""
    refused = [
        (
            r.answerable,
            policy.abstain(
                r.signals["relevance"], r.signals["support"], r.signals.get("semantic", 1.0)
            ),
        )
        for r in rows
    ]
    unans = [no for answerable, no in refused if not answerable]
    ans = [no for answerable, no in refused if answerable]
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
    for x in cut_points([r.signals.get(first, 1.0) for r in rows]):
        for y in cut_points([r.signals.get(second, 1.0) for r in rows]):
            policy = replace(fixed, **{f"min_{first}": x, f"min_{second}": y})
            recall, false = rates(policy, rows)
            key = (recall, x + y) if spend_budget else (recall - false, -false)
            if false <= max_false and key > best_key:
                best, best_key = policy, key
    return best


def tradeoff_rows(rows: list[Row]) -> list[tradeoff.Row]:
    """The rows that carry ``p_refuse``, as the trade-off sees them."""
    found = [tradeoff.row_of(r.lang, r.answerable, {"signals": r.signals}) for r in rows]
    return [r for r in found if r is not None]


def rows_from_records(path: Path, questions: dict[str, Question], all_dev: bool) -> list[Row]:
    """Rows of a `rag eval` records file; a record names its question's kind (or the
    dataset does, for records written before records did). Failed records are skipped."""
    try:
        records = read_jsonl(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read records from {path} ({exc}).") from None
    rows = []
    for record in records:
        q = questions.get(record.get("id", ""))
        answerable = record.get("answerable", q.answerable if q else None)
        if record.get("failed") or answerable is None or not record.get("signals"):
            continue
        split = "dev" if all_dev else record.get("split") or split_of(record["id"])
        lang = record.get("lang") or (q.lang if q else record.get("language", ""))
        rows.append(Row(answerable, split, lang, record["signals"]))
    return rows


def rows_by_asking(pipeline: Pipeline, questions: list[Question]) -> list[Row]:
    """Rows of every question asked once; a question whose answer fails is skipped."""
    rows = []
    for q in questions:
        answer, reason = attempt(lambda q=q: pipeline.ask(q.question, doc_id=q.doc))
        if answer is None:
            print(f"{q.id}: skipped ({reason})", file=sys.stderr)
            continue
        rows.append(Row(q.answerable, q.split, q.lang, answer.signals))
    return rows


def save(policy: RefusalPolicy, path: Path, **notes: object) -> None:
    """Write the thresholds with ``notes``, keeping the file's other notes."""
    previous = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    kept = {k: v for k, v in previous.items() if k not in asdict(policy)}
    policy.save(path, **(kept | notes))


def _rounded(share: float) -> float | None:
    return None if share != share else round(share, 3)  # NaN: no question of that kind


def check_rates(rows: list, measure) -> dict:
    """{"questions", "refusal_recall", "false_refusals"} of ``measure(rows)``."""
    recall, false = measure(rows)
    return {
        "questions": len(rows),
        "refusal_recall": _rounded(recall),
        "false_refusals": _rounded(false),
    }


def tune_pair(args, pipeline: Pipeline, dev: list[Row], test: list[Row]) -> None:
    names = tuple(args.tune.split(","))
    policy = tune(dev, args.max_false, names, pipeline.refusal, args.spend_budget)
    summary = {
        name: check_rates(part, lambda rows: rates(policy, rows))
        for name, part in (("dev", dev), ("test", test))
    }
    save(
        policy,
        pipeline.profile.refusal_path,
        tuned_on=args.tuned_on,
        max_false=args.max_false,
        tuned=list(names),
        spend_budget=args.spend_budget,
        **summary,
    )
    print_summary(summary)
    print(
        f"thresholds: relevance >= {policy.min_relevance}, support >= {policy.min_support}, "
        f"semantic >= {policy.min_semantic}"
    )


def tune_p_refuse(args, pipeline: Pipeline, dev: list[Row], test: list[Row]) -> None:
    if "max_p_refuse" not in {f.name for f in fields(RefusalPolicy)}:
        raise InputError("this version's refusal policy has no max_p_refuse to tune.")
    dev_rows, test_rows = tradeoff_rows(dev), tradeoff_rows(test)
    if not dev_rows:
        raise InputError(
            "no dev answer carries a p_refuse signal; run `rag eval` again with a version "
            "that records it."
        )
    threshold = tradeoff.choose_threshold(dev_rows, args.max_false, args.spend_budget)
    by_language = {}
    if args.by_language:  # each answer language's own threshold, on its own dev rows
        for lang in sorted({r.lang for r in dev_rows}):
            mine = [r for r in dev_rows if r.lang == lang]
            by_language[lang] = tradeoff.choose_threshold(mine, args.max_false, args.spend_budget)
    policy = replace(pipeline.refusal, max_p_refuse=threshold, p_refuse_by_language=by_language)

    def measure(rows: list[tradeoff.Row]) -> tuple[float, float]:
        refused = [
            (
                r.answerable,
                r.other_check_refused or r.p_refuse >= by_language.get(r.lang, threshold),
            )
            for r in rows
        ]
        unans = [no for answerable, no in refused if not answerable]
        ans = [no for answerable, no in refused if answerable]
        return (
            float(np.mean(unans)) if unans else float("nan"),
            float(np.mean(ans)) if ans else float("nan"),
        )

    summary = {
        name: check_rates(part, measure) for name, part in (("dev", dev_rows), ("test", test_rows))
    }
    note = {
        "tuned_on": args.tuned_on,
        "max_false": args.max_false,
        "spend_budget": args.spend_budget,
    }
    save(policy, pipeline.profile.refusal_path, p_refuse_tuning=note | summary)
    print_summary(summary)
    print(f"threshold: refuse when p_refuse >= {threshold}; by language: {by_language or '-'}")


def subject_refused(signals: dict, max_p_refuse: float, subject_p_refuse: float) -> bool:
    """Whether the answer is refused with these two thresholds on p_refuse (the other
    checks' votes as recorded).

    >>> s = {"p_refuse": 0.02, "unknown_names": ["Hayam Wuruk"], "refusal_reasons": []}
    >>> subject_refused(s, 0.1, 0.01), subject_refused(s, 0.1, 0.05)
    (True, False)
    """
    others = set(signals.get("refusal_reasons", [])) - {P_REFUSE, "subject"}
    p = signals.get("p_refuse", 0.0)
    return (
        bool(others)
        or p >= max_p_refuse
        or (bool(signals.get("unknown_names")) and p >= subject_p_refuse)
    )


def tune_subject(args, pipeline: Pipeline, dev: list[Row], test: list[Row]) -> None:
    """subject_p_refuse: the threshold on p_refuse for questions that name what their
    article never writes, with max_p_refuse as the profile has it."""
    max_p = pipeline.refusal.max_p_refuse
    usable = [r for r in dev if "unknown_names" in r.signals and "p_refuse" in r.signals]
    if not usable:
        raise InputError("no dev answer records unknown_names; run `rag eval` again.")

    def measure(rows: list[Row], t: float) -> tuple[float, float]:
        refused = [(r.answerable, subject_refused(r.signals, max_p, t)) for r in rows]
        unans = [no for answerable, no in refused if not answerable]
        ans = [no for answerable, no in refused if answerable]
        return float(np.mean(unans)) if unans else 0.0, float(np.mean(ans)) if ans else 0.0

    named = [r.signals["p_refuse"] for r in usable if r.signals.get("unknown_names")]
    best, best_key = 1.01, (-1.0, 0.0)
    for t in [*cut_points(named), 1.01]:
        recall, false = measure(usable, t)
        if false <= args.max_false and (recall - false, t) > best_key:
            best, best_key = t, (recall - false, t)
    policy = replace(pipeline.refusal, subject_p_refuse=best)
    tested = [r for r in test if "unknown_names" in r.signals]
    summary = {
        name: check_rates(part, lambda rows: measure(rows, best))
        for name, part in (("dev", usable), ("test", tested))
    }
    note = {"tuned_on": args.tuned_on, "max_false": args.max_false}
    save(policy, pipeline.profile.refusal_path, subject_tuning=note | summary)
    print_summary(summary)
    print(
        f"threshold: a question naming what its article never writes is refused when "
        f"p_refuse >= {best}"
    )


def unstated_refused(signals: dict, policy: RefusalPolicy, language: str = "") -> bool:
    """Whether the answer is refused with this policy's threshold on p_unstated (the other
    checks' votes as recorded).

    >>> policy = RefusalPolicy(0, 0, max_p_unstated=0.003, unstated_slope=-1)
    >>> unstated_refused({"p_unstated": 0.004, "text_tokens": 1000}, policy)
    True
    >>> unstated_refused({"p_unstated": 0.004, "text_tokens": 500}, policy)
    False
    """
    others = set(signals.get("refusal_reasons", [])) - {"unstated"}
    threshold = policy.unstated_threshold(signals.get("text_tokens", 1000), language)
    return bool(others) or signals.get("p_unstated", 0.0) >= threshold


UNSTATED_SLOPES = (0.0, -0.25, -0.5, -0.75, -1.0, -1.25, -1.5)


def tune_unstated(args, pipeline: Pipeline, dev: list[Row], test: list[Row]) -> None:
    """max_p_unstated and unstated_slope: the threshold on the model's doubt, asked yes or
    no, that the text states the answer (``rag.answer.drafts.check_stated``), as a power law in
    the text's length, with the profile's other thresholds."""
    usable = [r for r in dev if "p_unstated" in r.signals]
    if not usable:
        raise InputError("no dev answer records p_unstated; run `rag eval` again.")

    def measure(rows: list[Row], policy: RefusalPolicy) -> tuple[float, float]:
        refused = [(r.answerable, unstated_refused(r.signals, policy, r.lang)) for r in rows]
        unans = [no for answerable, no in refused if not answerable]
        ans = [no for answerable, no in refused if answerable]
        return float(np.mean(unans)) if unans else 0.0, float(np.mean(ans)) if ans else 0.0

    def best_for(rows: list[Row], slopes: tuple[float, ...]) -> RefusalPolicy:
        best, best_key = replace(pipeline.refusal, max_p_unstated=1.01), (-1.0, 0.0)
        for slope in slopes:
            # each row's p_unstated brought to a text of 1,000 tokens: its cut points
            scaled = [
                r.signals["p_unstated"]
                * (max(r.signals.get("text_tokens", 1000), 1) / 1000) ** -slope
                for r in rows
            ]
            for t in cut_points(scaled)[1:]:
                policy = replace(
                    pipeline.refusal,
                    max_p_unstated=t,
                    unstated_slope=slope,
                    unstated_by_language={},
                )
                recall, false = measure(rows, policy)
                key = (round(recall - false, 6), -abs(slope))
                if false <= args.max_false and key > best_key:
                    best, best_key = policy, key
        return best

    best = best_for(usable, UNSTATED_SLOPES)
    if args.by_language:  # each question language's own threshold, on its own dev rows
        by_language = {}
        for lang in sorted({r.lang for r in usable}):
            mine = best_for([r for r in usable if r.lang == lang], (best.unstated_slope,))
            by_language[lang] = mine.max_p_unstated
        best = replace(best, unstated_by_language=by_language)
    tested = [r for r in test if "p_unstated" in r.signals]
    summary = {
        name: check_rates(part, lambda rows: measure(rows, best))
        for name, part in (("dev", usable), ("test", tested))
    }
    for lang in sorted({r.lang for r in usable + tested}):
        summary[f"test {lang}"] = check_rates(
            [r for r in tested if r.lang == lang], lambda rows: measure(rows, best)
        )
    note = {"tuned_on": args.tuned_on, "max_false": args.max_false}
    save(best, pipeline.profile.refusal_path, unstated_tuning=note | summary)
    print_summary(summary)
    print(
        f"threshold: refuse when p_unstated >= {best.max_p_unstated} x "
        f"(text tokens / 1000) ^ {best.unstated_slope}; by language: "
        f"{best.unstated_by_language or '-'}"
    )


def print_summary(summary: dict) -> None:
    for name, s in summary.items():
        recall, false = (_shown(s[key]) for key in ("refusal_recall", "false_refusals"))
        print(
            f"{name}: {s['questions']} questions, refusal recall {recall}, false refusals {false}"
        )


def _shown(share: float | None) -> str:
    return "–" if share is None else f"{share:.2f}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m eval.tune_refusal", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--dataset",
        default="eval/dataset.jsonl",
        help="the questions to ask, or to look up for records that do not name their kind",
    )
    parser.add_argument(
        "--records",
        action="append",
        default=[],
        help="records.jsonl of a full `rag eval` on a set with a dev and a test split",
    )
    parser.add_argument(
        "--dev-records",
        action="append",
        default=[],
        help="records.jsonl of a full `rag eval` on a development set (all of it tunes)",
    )
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
        help="two signals tuned together (of relevance, support, semantic; the third keeps "
        "the profile's value), p_refuse alone (max_p_refuse), subject (subject_p_refuse) "
        "or unstated (max_p_unstated)",
    )
    parser.add_argument(
        "--by-language",
        action="store_true",
        help="with --tune p_refuse or unstated: a threshold per language as well",
    )
    parser.add_argument(
        "--spend-budget",
        action="store_true",
        help="best recall under --max-false, ties to the thresholds that refuse the most",
    )
    args = parser.parse_args(argv)
    names = args.tune.split(",")
    pair = len(names) == 2 and set(names) <= set(SIGNALS)
    if not pair and names not in ([P_REFUSE], ["subject"], ["unstated"]):
        parser.error(
            f"--tune takes two of {', '.join(SIGNALS)}, or {P_REFUSE}, subject or unstated"
        )
    return args


def load_rows(args: argparse.Namespace, pipeline: Pipeline) -> list[Row]:
    """Rows of the records given, or of every question of the dataset asked once."""
    dataset = Path(args.dataset)
    if not (args.records or args.dev_records):
        return rows_by_asking(pipeline, load_dataset(dataset))
    questions = {q.id: q for q in load_dataset(dataset)} if dataset.is_file() else {}
    rows = [r for path in args.records for r in rows_from_records(Path(path), questions, False)]
    for path in args.dev_records:
        rows += rows_from_records(Path(path), questions, True)
    return rows


def describe_sources(args: argparse.Namespace) -> str:
    """'dev split of A; all of B': what the thresholds were tuned on."""
    parts = [
        f"dev split of {path}"
        for path in args.records or ([] if args.dev_records else [args.dataset])
    ]
    return "; ".join(parts + [f"all of {path} (a development set)" for path in args.dev_records])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.tuned_on = describe_sources(args)
    try:
        pipeline = build_pipeline(resolve_settings(profile=args.profile))
        rows = load_rows(args, pipeline)
        dev = [r for r in rows if r.split == "dev"]
        test = [r for r in rows if r.split == "test"]
        if not dev:
            raise InputError("no dev question with signals to tune on; see --help.")
        tuners = {P_REFUSE: tune_p_refuse, "subject": tune_subject, "unstated": tune_unstated}
        tuner = tuners.get(args.tune, tune_pair)
        tuner(args, pipeline, dev, test)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
