"""What the model reads. An instruction-tuned model: whole articles when they fit, else
retrieved passages; a base model: a few-shot completion prompt over the evidence sentences.

Does: route a question (``article`` when the articles it may draw on fit the profile's
context budget, ``passages`` otherwise), number the context units the model sees (every
passage of those articles in reading order, or the retrieved passages by rank), and fill
the chat prompt. The system message holds the instructions and the numbered context and
nothing that depends on the question, so consecutive questions share the evaluated prefix
(llama.cpp reuses it); the user message holds the question and the answer language.

Doesn't: retrieve (``rag.retrieval.retrieve``), call the model, or check the answer
(``rag.answer.cite``).

>>> estimate_tokens("x" * 300)
100
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

from rag.retrieval.evidence import Evidence
from rag.store.index import IndexStore
from rag.values import Hit, Passage

PROMPTS = Path(__file__).parents[1] / "prompts"
CHARS_PER_TOKEN = 3.0  # Indonesian news text in Qwen's tokenizer: about 3.3; err long
RESERVED_TOKENS = 700  # instructions, the question, the answer
Route = Literal["article", "passages"]  # whole articles, or the retrieved passages
STOP = ["\n"]  # a base model's answer is one line
SUMMARY_PARTS = 4  # a summary: one sentence for each of up to 4 stretches of the text


@dataclass(frozen=True)
class Context:
    """The numbered units in the prompt: ``units[i]`` is marker i + 1."""

    route: Route
    units: tuple[Passage, ...]

    def system_message(self) -> str:
        numbered = "\n".join(
            f"[{i}] {unit.text.replace(chr(10), ' ')}" for i, unit in enumerate(self.units, 1)
        )
        return load_prompt("chat-system.txt").format(context=numbered)


def estimate_tokens(text: str) -> int:
    return int(len(text) / CHARS_PER_TOKEN)


def article_passages(store: IndexStore, doc_ids: list[str]) -> list[Passage]:
    """Every passage of the given articles, article by article, in reading order."""
    wanted = set(doc_ids)
    chosen = [p for p in store.passages if p.doc_id in wanted]
    order = {doc_id: i for i, doc_id in enumerate(doc_ids)}
    return sorted(chosen, key=lambda p: (order[p.doc_id], p.start))


def build_context(
    store: IndexStore, hits: list[Hit], doc_id: str | None, context_tokens: int, read: int = 0
) -> Context:
    """The whole article(s) when they fit the budget, else the first ``read`` retrieved
    passages (0: all of them)."""
    doc_ids = [doc_id] if doc_id else sorted(store.documents)
    whole = article_passages(store, doc_ids)
    budget = context_tokens - RESERVED_TOKENS
    if whole and sum(estimate_tokens(p.text) for p in whole) <= budget:
        return Context("article", tuple(whole))
    return Context("passages", tuple(h.passage for h in hits[: read or None]))


def spread(units: int) -> list[range]:
    """Unit numbers (1-based) cut into consecutive stretches of near-equal size, from the
    beginning of the text to its end: ``SUMMARY_PARTS`` of them, fewer for a short text
    (one per two units, and one more).

    >>> spread(9)
    [range(1, 3), range(3, 5), range(5, 8), range(8, 10)]
    >>> spread(3), spread(1)
    ([range(1, 3), range(3, 4)], [range(1, 2)])
    """
    parts = max(1, min(SUMMARY_PARTS, units // 2 + 1, units))
    cuts = [1 + round(i * units / parts) for i in range(parts + 1)]
    return [range(a, b) for a, b in pairwise(cuts) if b > a]


def parts_list(units: int, language: str) -> str:
    """The stretches of ``spread`` as the summary prompt lists them, one line each.

    >>> print(parts_list(5, "en"))
    1. paragraphs [1]-[2]
    2. paragraph [3]
    3. paragraphs [4]-[5]
    """
    word = {"id": ("paragraf", "paragraf"), "en": ("paragraph", "paragraphs")}[language]
    lines = []
    for i, r in enumerate(spread(units), 1):
        one = len(r) == 1
        span = f"[{r[0]}]" if one else f"[{r[0]}]-[{r[-1]}]"
        lines.append(f"{i}. {word[0] if one else word[1]} {span}")
    return "\n".join(lines)


@lru_cache(maxsize=32)
def load_prompt(name: str) -> str:
    """A prompt template, package data in ``rag/prompts``."""
    return (PROMPTS / name).read_text("utf-8")


def build_prompt(family: str, language: str, evidence: list[Evidence], question: str) -> str:
    """A base model's completion prompt: few-shot examples (about an unrelated story, so
    nothing leaks into answers), the evidence, the question, and the answer cue."""
    context = " ".join(e.sentence.text.replace("\n", " ") for e in evidence)
    template = load_prompt(f"answer-{family}-{language}.txt")
    prompt = template.format(context=context, question=question.strip())
    return prompt.rstrip()  # end on the cue itself: a trailing newline would start a new turn


def chat_messages(
    context: Context,
    question: str,
    language: str,
    kind: str = "",
    overview: str = "",
    check: bool = False,
) -> list[tuple[str, str]]:
    """The (role, text) messages for one question; ``kind`` ('time', 'number', 'name')
    adds the line that asks for that kind of answer (a second try, see rag.answer.check);
    ``overview`` ('summary', 'people'; see rag.answer.overview) asks for the whole article's
    overview instead, with the same system message; ``check`` asks whether the text
    states the answer at all (yes or no; see rag.answer.drafts.check_stated)."""
    template = f"{overview}-user-{language}.txt" if overview else f"chat-user-{language}.txt"
    template = "check-user.txt" if check else template
    parts = parts_list(len(context.units), language) if overview == "summary" else ""
    user = load_prompt(template).format(question=question.strip(), parts=parts).strip()
    if kind:
        user += "\n" + answer_kinds()[language][kind]
    return [("system", context.system_message()), ("user", user)]


@lru_cache(maxsize=1)
def answer_kinds() -> dict[str, dict[str, str]]:
    """The second-try lines by language and kind (``rag/prompts/answer-kinds.toml``)."""
    return tomllib.loads(load_prompt("answer-kinds.toml"))
