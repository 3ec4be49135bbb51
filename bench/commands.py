"""``rag bench``: registered with the ``rag`` command (entry point ``rag.commands``); its
options, ``--help`` included, are the benchmark's own (``bench.cli``)."""

from __future__ import annotations

import argparse


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.cli import main as bench_main  # the benchmark has its own options

    return bench_main(args.options)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="speed, memory and scale figures (see rag bench --help)", add_help=False
    )
    p.add_argument("options", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_bench, passthrough=True)
