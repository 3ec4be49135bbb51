"""One cold question, as ``rag ask`` runs it: a new process from imports to the answer.

    python -m bench.cold "QUESTION" [DOC_ID]

Prints one JSON line: wall-clock times (``time.time()``) of the stages, so the caller, which
noted when it started this process, gets the time to each from the launch itself:
``imported`` (the package), ``retrieved`` (index and embedder loaded, the question
retrieved; the model process starts meanwhile), ``first_token`` and ``end``, and the answer.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    stamps = {"python": time.time()}
    from rag.factory import build_pipeline  # the imports are part of what is measured
    from rag.values import EventKind

    stamps["imported"] = time.time()
    pipeline = build_pipeline()
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
