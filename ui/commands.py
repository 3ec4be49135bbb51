"""``rag serve``: the web chat, registered with the ``rag`` command (entry point
``rag.commands``), so that ``rag`` itself needs neither this package nor Gradio."""

from __future__ import annotations

import argparse
import logging

from rag import cli

log = logging.getLogger(__name__)


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.app import serve  # Gradio is only needed for the web app

    pipeline = cli.pipeline_for(args)
    log.info("Loading the index and the models…")
    pipeline.warm_up()  # a model that cannot start stops here, with its reason
    serve(pipeline, host=args.host, port=args.port, auth=args.auth, no_auth=args.no_auth)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the web chat (Gradio) at http://HOST:PORT")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", help="user:password, required to bind a non-local address")
    p.add_argument("--no-auth", action="store_true", help="bind a non-local address openly")
    p.add_argument("--profile", help=cli.PROFILE_HELP)
    cli.add_engine_flags(p)
    p.add_argument(
        "--replicas",
        type=int,
        help="with --engine ray: Ray Serve replicas that answer, each with its own model "
        "process (default 1)",
    )
    p.set_defaults(func=cmd_serve)
