"""The ``rag`` command: index articles, search them, ask, chat, evaluate, serve.

Every expected failure becomes a one-line ``error: ...`` on stderr and an exit code
(2 for bad input), never a traceback.

The commands that belong to the assistant's users (``serve`` in ui, ``eval`` in eval,
``bench`` in bench) register themselves: each is an entry point of the group
``rag.commands`` (pyproject.toml), a function that adds its subcommand to the parser, so
this module imports none of them.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

from rag import engines
from rag.articles.formats import described, read_source
from rag.articles.webpage import describe
from rag.config.settings import BACKENDS, LANGUAGES, Settings, resolve_settings
from rag.errors import RagError
from rag.factory import build_pipeline
from rag.feedback import export as export_feedback
from rag.feedback import feedback_path
from rag.llm.profiles import profiles
from rag.pipeline import Pipeline
from rag.retrieval.retrieve import MODES
from rag.suggestions import PoolMaker, Suggester, make_in_background
from rag.values import Document, EventKind

# Choices are checked by resolve_settings, so that a flag, a variable and a config file
# are refused with the same message; the help lists them.
COMMANDS_GROUP = "rag.commands"
BACKEND_HELP = f"LLM backend: {' or '.join(BACKENDS)} (default {Settings.llm_backend})"
PROFILE_HELP = f"embedded model profile: {', '.join(profiles())} (default {Settings.profile})"


def add_engine_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        help="local (default) or ray: index, and search the shards, on a Ray cluster",
    )
    p.add_argument(
        "--address", help="the Ray cluster's host:port (`ray start --head`); default: local Ray"
    )


def pipeline_for(args: argparse.Namespace, progress: bool = True) -> Pipeline:
    """The pipeline a command's flags ask for (flags it does not have count as not given)."""
    names = ("k", "index_dir", "backend", "lang", "profile", "engine", "address", "shards")
    flags = {name: getattr(args, name, None) for name in names}
    flags["llm_backend"] = flags.pop("backend")
    flags["ray_address"] = flags.pop("address")
    flags["workers"] = getattr(args, "workers", None)
    flags["replicas"] = getattr(args, "replicas", None)
    return build_pipeline(resolve_settings(**flags), progress=progress)


def cmd_index(args: argparse.Namespace) -> int:
    pipeline = pipeline_for(args)
    documents = engines.read_articles(pipeline.settings, args.files)  # all checked first
    report = pipeline.index_documents(documents, rebuild=args.rebuild)
    print(report.message)
    for doc in documents:
        if doc.meta:  # a web page: what was found about it
            print(f"  {doc.doc_id}: " + "; ".join(describe(doc.meta)))
    if args.suggestions:  # the model writes and answers questions: minutes per article
        PoolMaker(pipeline).make_missing()
    return 0


def extracted_json(doc: Document) -> dict:
    """What `rag extract --json` prints: the metadata found (null when not), language, text."""
    meta = {key: doc.meta.get(key) for key in ("title", "author", "date", "site", "url")}
    return {**meta, "language": doc.language or None, "text": doc.text}


def cmd_extract(args: argparse.Namespace) -> int:
    """Print what the assistant would read from a file or URL, without indexing it."""
    settings = resolve_settings(index_dir=args.index_dir)
    doc = read_source(args.source, allow_private=bool(settings.allow_private_urls))
    if args.json:
        print(json.dumps(extracted_json(doc), ensure_ascii=False, indent=2))
        return 0
    for line in [*describe(doc.meta), f"language: {doc.language or '?'}", f"id: {doc.doc_id}"]:
        print(line)
    print()
    print(doc.text)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    result = pipeline_for(args, progress=not args.json).search(
        args.question, k=args.k, mode=args.mode
    )
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return 0
    for hit in result.hits:
        p = hit.passage
        print(f"[{hit.rank}] {p.id}  score={hit.score:.4f}  chars {p.start}-{p.end}")
        print(f"    {p.text}\n")
    print(", ".join(f"{k} {v:.0f} ms" for k, v in result.timings_ms.items()))
    return 0


def _print_answer(answer, verbose: bool) -> None:
    if verbose and answer.standalone_question != answer.question:
        print(f"(standalone question: {answer.standalone_question})")
    print(answer.answer)
    for c in answer.citations:
        print(f"  [{c.marker}] {c.doc_id} chars {c.start}-{c.end}: {c.text}")
    if answer.language_note:
        print(f"  note: {answer.language_note}")
    if answer.fallback:
        print(f"  warning: {answer.fallback}", file=sys.stderr)
    if verbose:
        print("  " + ", ".join(f"{k} {v:.0f} ms" for k, v in answer.timings_ms.items()))


def cmd_ask(args: argparse.Namespace) -> int:
    pipeline = pipeline_for(args, progress=not args.json)
    if args.json:
        answer = pipeline.ask(args.question, lang=args.lang, k=args.k)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        return 0
    final = None
    for event in pipeline.ask_stream(args.question, lang=args.lang, k=args.k):
        if event.kind == EventKind.TOKEN and args.verbose:
            print(event.text, end="", flush=True, file=sys.stderr)
        final = event.answer or final
    if args.verbose:
        print(file=sys.stderr)
    _print_answer(final, args.verbose)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """A terminal conversation: follow-up questions are rewritten with the history."""
    pipeline = pipeline_for(args)
    pipeline.warm_up()
    make_in_background(pipeline)  # suggested questions of articles that have none yet
    suggester = Suggester(pipeline)
    history: list[str] = []
    asked: list[str] = []
    print("Ask about the article (empty line or Ctrl-D to quit).")
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            print()
            return 0
        if not line:
            return 0
        try:
            answer = pipeline.ask(line, history=history, lang=args.lang, k=args.k)
        except RagError as exc:
            print(f"error: {exc}")
            continue
        history.append(answer.standalone_question)
        asked += [line, answer.standalone_question]
        _print_answer(answer, args.verbose)
        for suggestion in suggester.suggest(answer, asked):
            print(f"  suggested: {suggestion}")


def cmd_doctor(args: argparse.Namespace) -> int:
    from rag.doctor import run

    return run(pipeline_for(args, progress=False).settings, setup=args.setup)


def cmd_feedback_export(args: argparse.Namespace) -> int:
    """The web chat's disliked answers as evaluation records (eval/README.md) to review."""
    index_dir = resolve_settings(index_dir=args.index_dir).index_dir
    out = Path(args.out) if args.out else None
    text, n = export_feedback(index_dir, out)
    if out is None:
        sys.stdout.write(text)
    where = f", written to {out}" if out else ""
    print(
        f"{n} disliked answer(s) from {feedback_path(index_dir)}{where}; fill in 'answers' "
        "(and 'evidence') of each before adding it to an evaluation set.",
        file=sys.stderr,
    )
    return 0


def registered_commands() -> list[Callable[[argparse._SubParsersAction], None]]:
    """The installed packages' command registrations (entry points of ``rag.commands``), by
    name: each adds its subcommands to the ``rag`` parser."""
    found = sorted(entry_points(group=COMMANDS_GROUP), key=lambda ep: ep.name)
    return [ep.load() for ep in found]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag", description="Ask questions about news articles, with cited passages."
    )
    parser.add_argument("--index-dir", help="where the index lives (env RAG_INDEX_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)
    parser.commands = sub.choices  # type: ignore[attr-defined]  # name -> its parser

    p = sub.add_parser("index", help="add or update articles in the index")
    p.add_argument(
        "files",
        nargs="*",
        metavar="FILE|URL",
        help=f"articles: {described()} (default: the bundled one)",
    )
    p.add_argument("--rebuild", action="store_true", help="re-embed everything from scratch")
    p.add_argument(
        "--suggestions",
        action="store_true",
        help="also write and check the suggested questions of articles that have none "
        "(the model answers each: minutes per article)",
    )
    add_engine_flags(p)
    p.add_argument("--shards", type=int, help="cut the index into this many shards (default 1)")
    p.add_argument(
        "--workers", type=int, help="embedding workers of a Ray build (default: one per CPU)"
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser(
        "extract", help="print what the assistant would read from a file or URL (no indexing)"
    )
    p.add_argument("source", metavar="FILE|URL", help=f"an article: {described()}")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("search", help="show the passages that best match a question")
    p.add_argument("question")
    p.add_argument("--k", type=int, help="how many passages (default 4)")
    p.add_argument("--mode", default="fused", choices=MODES)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_search)

    for name, func, text in (
        ("ask", cmd_ask, "answer one question, with citations"),
        ("chat", cmd_chat, "a conversation in the terminal"),
    ):
        p = sub.add_parser(name, help=text)
        if name == "ask":
            p.add_argument("question")
            p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument("--k", type=int, help="how many passages to retrieve (default 4)")
        p.add_argument("--backend", help=BACKEND_HELP)
        p.add_argument("--profile", help=PROFILE_HELP)
        p.add_argument("--lang", choices=LANGUAGES, help="answer language")
        p.add_argument(
            "--verbose",
            action="store_true",
            help="show the standalone question, streamed tokens and timings",
        )
        p.set_defaults(func=func)

    for register in registered_commands():
        register(sub)

    p = sub.add_parser("doctor", help="versions, CPU, runtime build, models, index, a test run")
    p.add_argument("--profile", help="embedded model profile to check")
    p.add_argument(
        "--setup",
        action="store_true",
        help="only prove the model runs (joins a missing model file); run by `make setup`",
    )
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("feedback", help="the ratings given to answers in the web chat")
    actions = p.add_subparsers(dest="feedback_command", required=True)
    p = actions.add_parser(
        "export", help="the disliked answers as evaluation records to review (JSONL)"
    )
    p.add_argument("--out", help="write them to this file (default: print them)")
    p.set_defaults(func=cmd_feedback_export)

    return parser


def passthrough(parser: argparse.ArgumentParser, first: list[str]) -> Callable | None:
    """The function of a command that parses its own options (its parser's default
    ``passthrough=True``, as ``rag bench``), when ``first`` names one."""
    command = parser.commands.get(first[0]) if first else None  # type: ignore[attr-defined]
    if command is not None and command.get_default("passthrough"):
        return command.get_default("func")
    return None


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is logged (a caller may replace it)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def show_progress_lines() -> None:
    """The project's own progress and warnings go to stderr as plain lines (other
    libraries keep Python's default: warnings only)."""
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("rag", "ui", "eval", "bench"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if own := passthrough(parser, argv[:1]):  # its options, --help included, are its own
        return own(argparse.Namespace(options=argv[1:]))
    args = parser.parse_args(argv)
    show_progress_lines()
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; the index on disk is unchanged.", file=sys.stderr)
        return 130
    finally:
        # What the command made lives until the process ends: moved out of the collector's
        # sight, the interpreter's exit need not traverse it (a second after `rag ask`).
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
