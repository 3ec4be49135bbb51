"""The ``rag`` command: index articles, search them, ask, chat, evaluate, serve.

Every expected failure becomes a one-line ``error: ...`` on stderr and an exit code
(2 for bad input), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.settings import resolve_settings


def _pipeline(args: argparse.Namespace, progress: bool = True) -> Pipeline:
    flags = {name: getattr(args, name, None) for name in ("k", "index_dir", "backend", "lang")}
    flags["llm_backend"] = flags.pop("backend")
    return Pipeline(resolve_settings(**flags), progress=progress)


def cmd_index(args: argparse.Namespace) -> int:
    report = _pipeline(args).index(args.files, rebuild=args.rebuild)
    print(report.message)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    result = _pipeline(args, progress=not args.json).search(args.question, k=args.k,
                                                            mode=args.mode)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return 0
    for hit in result.hits:
        p = hit.passage
        print(f"[{hit.rank}] {p.id}  score={hit.score:.4f}  chars {p.start}-{p.end}")
        print(f"    {p.text}\n")
    print(", ".join(f"{k} {v:.0f} ms" for k, v in result.timings_ms.items()))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.run import run_evaluation  # the evaluation pulls in plotting: load on demand

    summary = run_evaluation(_pipeline(args), Path(args.dataset), Path(args.out),
                             retrieval_only=args.retrieval_only)
    print(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about news articles, with cited passages."
    )
    parser.add_argument("--index-dir", help="where the index lives (env RAG_INDEX_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="add or update articles in the index")
    p.add_argument("files", nargs="*", help="UTF-8 .txt or .md articles (default: the bundled one)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="show the passages that best match a question")
    p.add_argument("question")
    p.add_argument("--k", type=int, help="how many passages (default 4)")
    p.add_argument("--mode", default="fused", choices=["fused", "dense", "bm25"])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", help="score retrieval and answers on a question set")
    p.add_argument("--dataset", required=True, help="JSONL question set (see eval/README.md)")
    p.add_argument("--out", required=True, help="folder for records, metrics and report")
    p.add_argument("--retrieval-only", action="store_true", help="skip the LLM")
    p.add_argument("--k", type=int)
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; the index on disk is unchanged.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
