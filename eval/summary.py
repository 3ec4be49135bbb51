"""How much of the bundled article an overview answer states, with citations.

Asks the overview questions (``QUESTIONS``: summaries and "who is mentioned", in Indonesian
and English) through the real pipeline over the bundled article and reports, per question:
the answer's sentences, the sentences that carry a verified citation, the share of the
article's key facts (``eval/summary_facts.jsonl``: a fact is stated when a cited sentence
contains any of its strings, case-insensitively) and which of the article's three people a
cited sentence names. Prints a table and writes the records as JSON.

    RAG_INDEX_DIR=/tmp/sum-idx python -m eval.summary [--out eval/results/summary.json]

Doesn't: judge whether a sentence is true (rag.answer.cite checked that each is supported) or
score fluency; a refusal or an extractive fallback is counted as it is, and flagged.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from rag.answer.cite import MARKER, answer_sentences
from rag.factory import build_pipeline
from rag.values import Answer

QUESTIONS = [
    "Ringkas artikel ini",
    "Apa isi artikel ini?",
    "Apa inti berita ini?",
    "Siapa saja yang disebut dalam artikel?",
    "Summarize the article",
    "What is this article about?",
    "What are the main points?",
    "Who is mentioned in the article?",
]
PEOPLE = ("Jack Ma", "Rudiantara", "Darmin")
FACTS = Path(__file__).parent / "summary_facts.jsonl"


@dataclass(frozen=True)
class Fact:
    id: str
    fact: str
    any: tuple[str, ...]


def load_facts(path: Path = FACTS) -> list[Fact]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [Fact(r["id"], r["fact"], tuple(r["any"])) for r in rows]


def _plain(text: str) -> str:
    return text.lower().replace("’", "'")


def cited_sentences(answer: str) -> list[str]:
    """The sentences of an answer that carry a citation marker.

    >>> cited_sentences("Jack Ma ke Bali [1]. Tanpa sumber. Lima produk [2].")
    ['Jack Ma ke Bali [1].', 'Lima produk [2].']
    """
    return [s for s in answer_sentences(answer) if MARKER.search(s)]


def facts_stated(sentences: list[str], facts: list[Fact]) -> list[str]:
    """Ids of the facts that one of the sentences states (any of its strings).

    >>> facts_stated(["Ada lima produk [2]."], [Fact("five", "", ("lima produk",))])
    ['five']
    """
    text = _plain(" ".join(sentences))
    return [f.id for f in facts if any(_plain(s) in text for s in f.any)]


def record(answer: Answer, facts: list[Fact]) -> dict:
    """One question's figures."""
    text = "" if answer.abstained else answer.answer
    cited = cited_sentences(text)
    stated = facts_stated(cited, facts)
    return {
        "question": answer.question,
        "language": answer.language,
        "abstained": answer.abstained,
        "fallback": answer.fallback,
        "sentences": len(answer_sentences(text)),
        "cited_sentences": len(cited),
        "facts_stated": stated,
        "fact_share": round(len(stated) / len(facts), 3),
        "people": [p for p in PEOPLE if _plain(p) in _plain(" ".join(cited))],
        "seconds": round(answer.timings_ms.get("total", 0.0) / 1000, 1),
        "answer": answer.answer,
        "raw_answer": answer.raw_answer,
    }


def table(records: list[dict], n_facts: int) -> str:
    """The records as a Markdown table."""
    lines = [
        "| question | lang | sentences | cited | key facts | people | refused / fallback | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        flag = "refused" if r["abstained"] else ("fallback" if r["fallback"] else "")
        lines.append(
            f"| {r['question']} | {r['language']} | {r['sentences']} | {r['cited_sentences']} "
            f"| {len(r['facts_stated'])}/{n_facts} ({r['fact_share']:.2f}) "
            f"| {len(r['people'])}/{len(PEOPLE)} | {flag} | {r['seconds']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.summary", description=__doc__)
    parser.add_argument("--out", default="eval/results/summary.json", help="JSON records")
    parser.add_argument("--facts", default=str(FACTS))
    args = parser.parse_args(argv)
    facts = load_facts(Path(args.facts))
    pipeline = build_pipeline()
    records = []
    for question in QUESTIONS:
        records.append(record(pipeline.ask(question), facts))
        print(f"{question!r}: {records[-1]['answer']}", flush=True)
    print(table(records, len(facts)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(records, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
