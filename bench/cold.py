"""One cold question, as ``rag ask`` runs it: a new process from imports to the answer.

    python -m bench.cold [--model-first] "QUESTION" [DOC_ID]

Prints one JSON line: wall-clock times (``time.time()``) of the stages, so the caller, which
noted when it started this process, gets the time to each from the launch itself:
``imported`` (the package), ``retrieved`` (index and embedder loaded, the question
retrieved; the model process starts meanwhile), ``first_token`` and ``end``, and the answer.

``--model-first`` starts the model process before the package's imports rather than when
the question is asked (``rag ask`` does the latter): a design measured against it
(``python -m bench.runtime cold_ask model_first``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import Future


def start_model_first() -> Future:
    """The settings' LLM backend, made in a thread from now on (its model process spawned).
    As rag.factory.make_backend, without importing the factory (and so the index's libraries)."""
    from rag.config.settings import resolve_settings
    from rag.llm.profiles import get_profile
    from rag.llm.registry import make_backend

    settings, made = resolve_settings(), Future()

    def make() -> None:
        profile = get_profile(settings.profile)
        try:
            backend = make_backend(
                settings.llm_backend, settings.options(), profile, settings.model_cache
            )
        except BaseException as exc:  # handed to whoever waits for the backend
            made.set_exception(exc)
        else:
            made.set_result(backend)

    threading.Thread(target=make, daemon=True).start()
    return made


def main(argv: list[str]) -> int:
    stamps = {"python": time.time()}
    model = start_model_first() if argv[0] == "--model-first" else None
    argv = argv[1:] if model else argv
    from rag.config.settings import resolve_settings  # the imports are part of what is measured
    from rag.factory import make_backend, make_embedder
    from rag.pipeline import Pipeline
    from rag.values import EventKind

    stamps["imported"] = time.time()
    settings = resolve_settings()
    pipeline = Pipeline(
        settings,
        make_embedder=lambda: make_embedder(settings),
        make_backend=model.result if model else lambda: make_backend(settings),
    )
    final = None
    for event in pipeline.ask_stream(argv[0], doc_id=argv[1] if len(argv) > 1 else None):
        if event.kind == EventKind.RETRIEVED:
            stamps["retrieved"] = time.time()
        if event.kind == EventKind.TOKEN and "first_token" not in stamps:
            stamps["first_token"] = time.time()
        final = event.answer or final
    stamps["end"] = time.time()
    print(json.dumps({"stamps": stamps, "answer": final.answer if final else ""}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
