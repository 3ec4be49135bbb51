"""How well the model answers when it reads only the paragraph that holds the answer.

An upper bound for the answer stage alone: retrieval and routing are taken out of the
picture by giving the model the passage that contains each answerable question's
evidence string, with the same chat prompt the assistant uses. Scored as ``rag eval``
scores answers (a gold answer contained in the reply), by language.

    python -m eval.oracle [--dataset eval/dataset.jsonl]

Needs an instruction-tuned profile (``quality`` or ``fast``, via ``RAG_PROFILE``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eval.dataset import load_dataset
from eval.metrics import answer_correct, normalize
from rag.answer.context import Context, chat_messages
from rag.answer.drafts import MAX_CHAT_TOKENS
from rag.factory import build_pipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.oracle", description=__doc__)
    parser.add_argument("--dataset", default="eval/dataset.jsonl")
    args = parser.parse_args(argv)
    pipeline = build_pipeline()
    if pipeline.backend.mode != "chat":
        parser.error("the oracle context uses the chat prompt: choose RAG_PROFILE=quality or fast")
    right: dict[str, list[bool]] = {}
    for q in load_dataset(Path(args.dataset)):
        if not q.answerable:
            continue
        holding = [p for p in pipeline.store.passages if normalize(q.evidence) in normalize(p.text)]
        if not holding:
            continue
        context = Context("passages", (holding[0],))
        reply = "".join(
            pipeline.backend.stream(chat_messages(context, q.question, q.lang), [], MAX_CHAT_TOKENS)
        )
        right.setdefault(q.lang, []).append(answer_correct(reply, q.answers))
    right["all"] = [ok for lang in list(right) for ok in right[lang]]
    for lang, oks in right.items():
        print(
            f"{lang}: {sum(oks)}/{len(oks)} = {sum(oks) / len(oks):.2f} answered right "
            "from the paragraph that holds the answer"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
