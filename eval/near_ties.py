"""Which answers a batch can reword: the first token's probabilities, each question alone.

Under load the model decodes concurrent questions together, and the rounding of a batched
step can tip a near-tie of greedy decoding (``ui.loadtest``'s differing answers). A
question whose two likeliest first tokens are close is one such near-tie. Each question is
asked alone over the whole article (the ``article`` route), with the assistant's chat
prompt, and its first tokens printed with their probabilities.

    python -m eval.near_ties                  # ui.loadtest's questions
    python -m eval.near_ties "Siapa ...?" ... # others

Needs an instruction-tuned profile (``quality`` or ``fast``, via ``RAG_PROFILE``).
"""

from __future__ import annotations

import argparse

from rag.answer.context import build_context, chat_messages
from rag.factory import build_pipeline
from rag.llm.base import Report, text_of
from rag.text.language import detect_language
from ui.loadtest import QUESTIONS

SHOWN = 3  # first tokens printed per question


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.near_ties", description=__doc__)
    parser.add_argument("questions", nargs="*", default=QUESTIONS)
    args = parser.parse_args(argv)
    pipeline = build_pipeline()
    if pipeline.backend.mode != "chat":
        raise SystemExit("eval.near_ties needs an instruction-tuned profile (quality or fast).")
    context = build_context(pipeline.store, [], None, pipeline.profile.context)
    if context.route != "article":
        raise SystemExit("eval.near_ties reads the whole article; the index holds more than fits.")
    print("| question | first words | first tokens (probability) |\n|---|---|---|")
    for question in args.questions:
        language, _ = detect_language(question)
        report = Report()
        messages = chat_messages(context, question, language)
        # from the article's saved state, as every question of the assistant starts
        stream = pipeline.backend.stream(messages, [], 8, report, keep_prefix=True, fresh=True)
        words = text_of(stream)
        top = sorted(report.first_tokens.items(), key=lambda kv: -kv[1])[:SHOWN]
        tokens = ", ".join(f"{token!r} {p:.3f}" for token, p in top)
        print(f"| {question} | {words.strip()!r} | {tokens} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
