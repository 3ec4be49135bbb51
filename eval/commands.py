"""``rag eval``: scoring on a question set, registered with the ``rag`` command (entry
point ``rag.commands``), so that ``rag`` itself does not depend on the evaluation."""

from __future__ import annotations

import argparse
from pathlib import Path

from rag import cli


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.run import run_evaluation  # the evaluation pulls in plotting: load on demand

    summary = run_evaluation(
        cli.pipeline_for(args),
        Path(args.dataset),
        Path(args.out),
        retrieval_only=args.retrieval_only,
        baselines=[] if args.no_baselines else args.baselines.split(","),
        conversations=Path(args.conversations) if args.conversations else None,
    )
    print(summary)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score retrieval and answers on a question set")
    p.add_argument("--dataset", required=True, help="JSONL question set (see eval/README.md)")
    p.add_argument("--out", required=True, help="folder for records, metrics and report")
    p.add_argument("--retrieval-only", action="store_true", help="skip the LLM")
    p.add_argument(
        "--conversations", help="JSONL conversations with follow-ups (see eval/README.md)"
    )
    p.add_argument(
        "--baselines",
        default="langchain_tutorial,whole_article",
        help="comma-separated baselines to score beside the assistant",
    )
    p.add_argument(
        "--no-baselines",
        action="store_true",
        help="score only the assistant, not the baseline pipelines",
    )
    p.add_argument("--k", type=int)
    p.add_argument("--backend", help=cli.BACKEND_HELP)
    p.add_argument("--profile", help=cli.PROFILE_HELP)
    p.set_defaults(func=cmd_eval)
