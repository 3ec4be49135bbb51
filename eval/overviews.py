"""Overview questions over several articles: in the reader's language, covering the article,
every sentence checked.

Asks six overview questions (a summary, the main points and who is mentioned, in Indonesian
and in English) about the bundled article and a few development articles (the longest
FacQA validation passages and the longest IDK-MRC passages of ``eval/idkmrc-dev-ids.txt``,
from ``/work/shared/datasets``), each question restricted to its article, through the real
pipeline. Every answer is written to a JSONL file as soon as it is made (a failed item is
recorded with its error, and the run goes on), then the figures per question language:

- ``in language``: answers whose own words (markers and the extractive note left out) are
  in the question's language, by ``rag.text.language.document_language``;
- ``passages``: distinct passages cited, on average, and the share of answers that cite
  the article's beginning, middle and end (its passages cut into thirds) when it has 3+;
- ``not shown``: the model's sentences (up to 10 read) that the answer does not show, of
  all it wrote: withdrawn by the checks, or past the 5 an overview keeps;
- ``faithful``: answer sentences whose own cited span supports them by the project's
  check (``rag.answer.cite.supports`` against that span alone), of all cited sentences;
- ``fallback``: answers that are the article's first sentences (the model's did not hold).

    RAG_INDEX_DIR=/tmp/ov-idx python -m eval.overviews --out /tmp/overviews.jsonl

Doesn't: judge truth beyond the support check (read a sample of the JSONL), or score
fluency; ``eval.summary`` counts the bundled article's key facts.
"""

from __future__ import annotations

import argparse
import json
import traceback
from pathlib import Path

from rag.answer.cite import MARKER, answer_sentences, split_markers, supports
from rag.answer.overview import MAX_SENTENCES, overview_sentences
from rag.answer.summaries import QUOTED
from rag.factory import build_pipeline
from rag.retrieval.evidence import Evidence
from rag.text.language import document_language
from rag.values import Answer, Hit, Sentence

QUESTIONS = [
    ("Apa isi artikel ini?", "id"),
    ("Apa poin-poin utama artikel ini?", "id"),
    ("Siapa saja yang disebut dalam artikel?", "id"),
    ("What is this article about?", "en"),
    ("What are the main points?", "en"),
    ("Who is mentioned in the article?", "en"),
]
DATASETS = Path("/work/shared/datasets")
DEV_IDS = Path(__file__).parent / "idkmrc-dev-ids.txt"


def dev_articles(facqa: int, idkmrc: int, root: Path = DATASETS) -> list[Path]:
    """The longest ``facqa`` FacQA validation passages and the longest ``idkmrc`` IDK-MRC
    passages of the development ids (longest first: they have the most to cover)."""
    longest = lambda paths, n: sorted(paths, key=lambda p: -p.stat().st_size)[:n]  # noqa: E731
    fac = longest((root / "facqa-valid" / "corpus").glob("*.txt"), facqa)
    ids = {line.strip() for line in DEV_IDS.read_text("utf-8").splitlines()}
    rows = (root / "idkmrc-valid" / "questions.jsonl").read_text("utf-8").splitlines()
    stems = {json.loads(r)["passage"] for r in rows if r and json.loads(r)["id"] in ids}
    idk = longest([root / "idkmrc-valid" / "corpus" / f"{s}.txt" for s in stems], idkmrc)
    return fac + idk


def own_words(answer: str) -> str:
    """The answer without its markers and without the extractive overview's note."""
    for note in QUOTED.values():
        answer = answer.replace(note, "")
    return " ".join(split_markers(s)[0] for s in answer_sentences(answer))


def thirds(pipeline, doc_id: str, passage_ids: set[str]) -> list[bool]:
    """Whether the cited passages reach the article's beginning, middle and end thirds."""
    ids = [
        p.id for p in sorted(pipeline.store.passages, key=lambda p: p.start) if p.doc_id == doc_id
    ]
    n = len(ids)
    return [any(i in passage_ids for i in ids[n * k // 3 : n * (k + 1) // 3]) for k in range(3)]


def faithful(pipeline, answer: Answer) -> tuple[int, int]:
    """(cited sentences whose own cited spans support them, cited sentences)."""
    by_marker: dict[int, list] = {}
    for c in answer.citations:  # a marker may cite several spans of its passage
        by_marker.setdefault(c.marker, []).append(c)
    passages = {p.id: p for p in pipeline.store.passages}
    good = total = 0
    for sentence in answer_sentences(answer.answer):
        clean, markers = split_markers(sentence)
        spans = [c for m in markers for c in by_marker.get(m, [])]
        if not spans:
            continue
        total += 1
        evidence = [
            Evidence(
                Sentence(c.doc_id, 0, c.start, c.end, c.text),
                Hit(passages[c.passage_id], 0.0, c.marker),
                0.0,
            )
            for c in spans
        ]
        ranked = supports("", clean, evidence, pipeline.embedder, answer.language != "id")
        good += any(s.holds for s in ranked)
    return good, total


def written_sentences(raw: str) -> int:
    """The sentences of a model's overview that the checks read (up to 10)."""
    return len(answer_sentences(overview_sentences(raw, 2 * MAX_SENTENCES))) if raw else 0


def record(pipeline, question: str, language: str, doc_id: str, answer: Answer) -> dict:
    words = own_words(answer.answer)
    written = (
        len(answer_sentences(overview_sentences(answer.raw_answer))) if answer.raw_answer else 0
    )
    cited = [s for s in answer_sentences(answer.answer) if MARKER.search(s)]
    kept = 0 if answer.fallback else len(cited)
    passages = {c.passage_id for c in answer.citations}
    good, total = faithful(pipeline, answer)
    return {
        "doc_id": doc_id,
        "question": question,
        "language": language,
        "answer_language": document_language(words) if words else "",
        "fallback": answer.fallback,
        "abstained": answer.abstained,
        "sentences": len(answer_sentences(answer.answer)),
        "written": written,
        "withdrawn": max(0, written - kept),
        "passages": sorted(passages),
        "article_passages": sum(p.doc_id == doc_id for p in pipeline.store.passages),
        "thirds": thirds(pipeline, doc_id, passages),
        "faithful": good,
        "cited_sentences": total,
        "first_marker": (MARKER.search(answer.answer) or [""])[0],
        "seconds": round(answer.timings_ms.get("total", 0.0) / 1000, 1),
        "answer": answer.answer,
        "raw_answer": answer.raw_answer,
    }


def summary(records: list[dict]) -> str:
    """The figures per question language (see the module docstring)."""
    lines = [
        "| lang | answers | in language | passages cited (mean) | begin/middle/end reached "
        "| not shown | faithful | fallback | failed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for lang in ("id", "en"):
        rows = [r for r in records if r["language"] == lang]
        ok = [r for r in rows if "error" not in r]
        if not rows:
            continue
        n = max(1, len(ok))
        long = [r for r in ok if r["article_passages"] >= 3] or [{"thirds": [0, 0, 0]}]
        reach = [sum(r["thirds"][k] for r in long) / len(long) for k in range(3)]
        written = sum(r["written"] for r in ok)
        lines.append(
            f"| {lang} | {len(ok)} | {sum(r['answer_language'] == lang for r in ok) / n:.2f} "
            f"| {sum(len(r['passages']) for r in ok) / n:.1f} "
            f"| {' / '.join(f'{x:.2f}' for x in reach)} "
            f"| {sum(r['withdrawn'] for r in ok)}/{written} "
            f"| {sum(r['faithful'] for r in ok)}/{sum(r['cited_sentences'] for r in ok)} "
            f"| {sum(bool(r['fallback']) for r in ok)} | {len(rows) - len(ok)} |"
        )
    return "\n".join(lines)


def print_table(path: Path) -> int:
    """The figures of a finished (or partial) run, its model sentences counted again."""
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    for r in records:
        if "error" not in r:
            r["written"] = written_sentences(r["raw_answer"])
            kept = 0 if r["fallback"] else r["cited_sentences"]
            r["withdrawn"] = max(0, r["written"] - kept)
    print(summary(records))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.overviews", description=__doc__)
    parser.add_argument("--out", default="eval/results/overviews.jsonl", help="JSONL records")
    parser.add_argument("--facqa", type=int, default=2, help="FacQA articles (longest first)")
    parser.add_argument("--idkmrc", type=int, default=2, help="IDK-MRC dev articles")
    parser.add_argument("--questions", default="", help="indexes into QUESTIONS, e.g. 0,3")
    parser.add_argument("--table", default="", help="only print the figures of a JSONL run")
    args = parser.parse_args(argv)
    if args.table:
        return print_table(Path(args.table))
    pipeline = build_pipeline()
    extra = dev_articles(args.facqa, args.idkmrc)
    pipeline.store  # noqa: B018 -- a new index holds the bundled article before the others
    if extra:
        pipeline.index(extra)
    doc_ids = ["jack-ma-bali", *(p.stem for p in extra)]
    chosen = [QUESTIONS[int(i)] for i in args.questions.split(",")] if args.questions else QUESTIONS
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = []
    with out.open("w", encoding="utf-8") as sink:
        for doc_id in doc_ids:
            for question, language in chosen:
                try:
                    answer = pipeline.ask(question, lang=language, doc_id=doc_id)
                    rec = record(pipeline, question, language, doc_id, answer)
                except Exception as exc:  # one failed item is recorded, the run goes on
                    rec = {
                        "doc_id": doc_id,
                        "question": question,
                        "language": language,
                        "error": f"{type(exc).__name__}: {exc}",
                        "trace": traceback.format_exc(),
                    }
                records.append(rec)
                sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
                sink.flush()
                print(f"{doc_id} | {question} -> {rec.get('answer', rec.get('error'))}", flush=True)
    print(summary(records))
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
