"""The refusal trade-off of the model's own probability that the answer is not in the article.

Each answer's ``signals`` hold ``p_refuse`` and ``refusal_reasons`` (the checks that voted to
abstain). At a threshold t an answer is refused when a check other than ``p_refuse`` voted
to abstain, or when ``p_refuse >= t``. Over every t this module gives refusal recall (the
share of unanswerable questions refused) against false refusals (the share of answerable
ones refused): a table, a chart, and the threshold a dev set supports under a cap on false
refusals. It reads records only; a record without ``p_refuse`` (a failed question, an answer
made before the signal existed) is left out, and with none left there is no trade-off.

>>> rows = [Row("id", False, 0.4, False), Row("id", True, 0.1, False)]
>>> at_threshold(rows, 0.3)
Point(threshold=0.3, refusal_recall=1.0, false_refusals=0.0)
>>> choose_threshold(rows, max_false=0.0)
0.25
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

NEVER = 1.01  # a threshold no probability reaches: p_refuse never refuses
REPORT_THRESHOLDS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7)


@dataclass(frozen=True)
class Row:
    """One answered question, as the trade-off sees it."""

    lang: str
    answerable: bool
    p_refuse: float
    other_check_refused: bool


@dataclass(frozen=True)
class Point:
    threshold: float
    refusal_recall: float
    false_refusals: float


def row_of(lang: str, answerable: bool, record: dict) -> Row | None:
    """The trade-off's view of one ``rag ask --json`` record, or None without ``p_refuse``."""
    signals = record.get("signals") or {}
    if record.get("failed") or signals.get("p_refuse") is None:
        return None
    others = set(signals.get("refusal_reasons") or ()) - {"p_refuse"}
    return Row(lang, answerable, float(signals["p_refuse"]), bool(others))


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else float("nan")


def _or_zero(share: float) -> float:
    return 0.0 if share != share else share  # NaN: no question of that kind


def at_threshold(rows: list[Row], threshold: float) -> Point:
    refused = [(r.answerable, r.other_check_refused or r.p_refuse >= threshold) for r in rows]
    return Point(
        threshold,
        _share([no for answerable, no in refused if not answerable]),
        _share([no for answerable, no in refused if answerable]),
    )


def curve(rows: list[Row]) -> list[Point]:
    """One point per distinct p_refuse (refusing from that value up), then 'never'."""
    return [at_threshold(rows, t) for t in [*sorted({r.p_refuse for r in rows}), NEVER]]


def candidates(rows: list[Row]) -> list[float]:
    """0, the midpoints between consecutive distinct values, and 'never': every distinct
    split of the rows, each as far as possible from the values that fix it."""
    distinct = sorted({r.p_refuse for r in rows})
    return [0.0] + [round((a + b) / 2, 4) for a, b in itertools.pairwise(distinct)] + [NEVER]


def choose_threshold(rows: list[Row], max_false: float = 1.0, spend_budget: bool = False) -> float:
    """The threshold with the best refusal recall minus false refusals, false refusals at
    most ``max_false``; ties go to the highest threshold (refuse as little as possible).
    With ``spend_budget`` the best recall under the cap wins, ties to the lowest threshold.
    'Never' when nothing else stays under the cap."""
    best, best_key = NEVER, None
    for t in candidates(rows):
        point = at_threshold(rows, t)
        recall, false = _or_zero(point.refusal_recall), _or_zero(point.false_refusals)
        if false > max_false:
            continue
        key = (recall, -t) if spend_budget else (recall - false, -false, t)
        if best_key is None or key > best_key:
            best, best_key = t, key
    return best


def _label(threshold: float) -> str:
    return "never" if threshold >= NEVER else f"{threshold:g}"


def table(rows: list[Row], chosen: float | None) -> str:
    """A markdown table of recall and false refusals at a few thresholds, the chosen one in bold."""
    thresholds = sorted({*REPORT_THRESHOLDS, NEVER, *([chosen] if chosen is not None else [])})
    lines = [
        "| refuse when p_refuse ≥ | refusal recall | false refusals |",
        "|---|---|---|",
    ]
    for t in thresholds:
        point = at_threshold(rows, t)
        mark = "**" if t == chosen else ""
        lines.append(
            f"| {mark}{_label(t)}{' (profile)' if mark else ''}{mark} "
            f"| {point.refusal_recall:.2f} | {point.false_refusals:.2f} |"
        )
    return "\n".join(lines)


def chart(rows: list[Row], chosen: float | None, path: Path) -> None:
    """Refusal recall against false refusals as the threshold falls; the chosen one marked.
    One line for all questions, and one per language when there are several."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {"all": rows}
    langs = sorted({r.lang for r in rows})
    if len(langs) > 1:
        groups |= {lang: [r for r in rows if r.lang == lang] for lang in langs}
    fig, ax = plt.subplots(figsize=(5, 4))
    for name, group in groups.items():
        points = curve(group)
        ax.step(
            [p.false_refusals for p in points],
            [p.refusal_recall for p in points],
            where="post",
            marker=".",
            label=name,
        )
    if chosen is not None:
        point = at_threshold(rows, chosen)
        ax.plot(
            [point.false_refusals],
            [point.refusal_recall],
            "r*",
            markersize=14,
            label=f"profile: p_refuse ≥ {_label(chosen)}",
        )
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("false refusals (answerable questions refused)")
    ax.set_ylabel("refusal recall (unanswerable refused)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def report_section(rows: list[Row], chosen: float | None, out: Path) -> str:
    """The report's trade-off section, with its chart written to ``out``; a one-line note
    when no answer carries ``p_refuse``."""
    if not rows:
        return "### Refusal trade-off\n\nNo answer carries a `p_refuse` signal: no trade-off.\n"
    chart(rows, chosen, out / "refusal_tradeoff.png")
    n_unans = sum(not r.answerable for r in rows)
    return (
        "### Refusal trade-off\n\n"
        f"The model's probability that the answer is not in the article (`p_refuse`), over "
        f"{len(rows)} answered questions ({n_unans} unanswerable): a question is refused when "
        "another check refuses it or p_refuse reaches the threshold.\n\n"
        + table(rows, chosen)
        + "\n\n![refusal trade-off](refusal_tradeoff.png)\n"
    )
