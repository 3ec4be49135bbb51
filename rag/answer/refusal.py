"""Decide when the article does not hold the answer, from evidence that can be measured.

The base model never says "I don't know" by itself, so the decision is the system's. The
measured signals, each with a threshold tuned on the dev split of the project's test set
(``python -m eval.tune_refusal``, written to the profile's ``rag/data/refusal-*.json``) and
checked on the
test split:

- ``relevance``: e5 cosine between the question and the closest sentence of the
  retrieved passages: off-topic questions find no close sentence;
- ``support``: how well the retrieved sentences support the generated answer (see
  ``rag.answer.cite``): when the article lacks the fact, the model invents one that no sentence
  contains;
- ``p_refuse``: the model's own probability that its reply begins "NOT IN ARTICLE" (the
  first token's distribution): a model that answers greedily often still gives the refusal
  a real share of its belief when the article does not say;
- ``p_unstated``: the model's probability of "no" when asked, over the same text, whether
  it states the answer to the question (``rag.answer.drafts.check_stated``): its greedy reply is
  "yes" nearly always, its doubt separates the questions the article does not answer.
  Its scale depends on the text: over a whole news article (a thousand tokens) answerable
  questions get a few thousandths, over a short paragraph up to a few hundredths, so the
  threshold is a power law in the text's length (``max_p_unstated`` at 1,000 tokens);
- ``semantic``: e5 cosine between question-plus-answer and the sentences cited for it: a
  short answer that copies a name or date of the article ("13/10") has full lexical
  support, but the sentence holding it says nothing about what was asked.

>>> RefusalPolicy(0.8, 0.5).abstain(relevance=0.79, support=0.9)
True
>>> refusal_text("en", "How old is Jack Ma?")
'The article does not say: How old is Jack Ma?'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RefusalPolicy:
    min_relevance: float
    min_support: float
    min_semantic: float = 0.0
    max_p_refuse: float = 1.01  # abstain when the model's own refusal is at least this likely
    # ... per answer language, where tuned: the model doubts in English more than in the
    # language of the article, answerable or not
    p_refuse_by_language: dict[str, float] = field(default_factory=dict, hash=False)
    # ... or at least this likely when the question names something the article never does
    subject_p_refuse: float = 1.01
    # abstain when the model doubts, asked yes or no, that the text states the answer: at
    # least this probability of "no" over a text of 1,000 tokens, times (tokens / 1000) to
    # the power unstated_slope over a text of another length
    max_p_unstated: float = 1.01
    unstated_slope: float = 0.0
    # ... per question language, where tuned: an English question over an Indonesian text
    # leaves the model in more doubt, answerable or not
    unstated_by_language: dict[str, float] = field(default_factory=dict, hash=False)

    def reasons(
        self,
        relevance: float,
        support: float,
        semantic: float = 1.0,
        p_refuse: float = 0.0,
        unknown_subject: bool = False,
        language: str = "",
        p_unstated: float = 0.0,
        text_tokens: int = 1000,
    ) -> list[str]:
        """The names of the signals that say "abstain" (none: answer).

        >>> RefusalPolicy(0.8, 0.5, max_p_refuse=0.1).reasons(0.9, 0.2, p_refuse=0.3)
        ['support', 'p_refuse']
        >>> RefusalPolicy(0, 0, max_p_refuse=0.1, p_refuse_by_language={"en": 0.5}).reasons(
        ...     1, 1, p_refuse=0.3, language="en")
        []
        """
        max_p_refuse = self.p_refuse_by_language.get(language, self.max_p_refuse)
        failed = {
            "relevance": relevance < self.min_relevance,
            "support": support < self.min_support,
            "semantic": semantic < self.min_semantic,
            "p_refuse": p_refuse >= max_p_refuse,
            "subject": unknown_subject and p_refuse >= self.subject_p_refuse,
            "unstated": p_unstated >= self.unstated_threshold(text_tokens, language),
        }
        return [name for name, no in failed.items() if no]

    def unstated_threshold(self, text_tokens: int, language: str = "") -> float:
        """The p_unstated that refuses, over a text of this many tokens.

        >>> RefusalPolicy(0, 0, max_p_unstated=0.004, unstated_slope=-1).unstated_threshold(250)
        0.016
        """
        base = self.unstated_by_language.get(language, self.max_p_unstated)
        if base > 1:
            return base
        return round(base * (max(text_tokens, 1) / 1000) ** self.unstated_slope, 6)

    def abstain(self, *signals: Any, **named: Any) -> bool:
        """Whether any signal says "abstain" (``reasons``' arguments)."""
        return bool(self.reasons(*signals, **named))

    def save(self, path: Path, **notes: object) -> None:
        path.write_text(json.dumps({**asdict(self), **notes}, indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path) -> RefusalPolicy:
        data = json.loads(path.read_text("utf-8"))
        return cls(
            min_relevance=float(data["min_relevance"]),
            min_support=float(data["min_support"]),
            min_semantic=float(data.get("min_semantic", 0.0)),
            max_p_refuse=float(data.get("max_p_refuse", 1.01)),
            p_refuse_by_language={
                lang: float(v) for lang, v in data.get("p_refuse_by_language", {}).items()
            },
            subject_p_refuse=float(data.get("subject_p_refuse", 1.01)),
            max_p_unstated=float(data.get("max_p_unstated", 1.01)),
            unstated_slope=float(data.get("unstated_slope", 0.0)),
            unstated_by_language={
                lang: float(v) for lang, v in data.get("unstated_by_language", {}).items()
            },
        )


REFUSALS = {
    "id": "Artikel tidak menyebutkan hal itu: {question}",
    "en": "The article does not say: {question}",
}


def refusal_text(language: str, question: str) -> str:
    """The plain statement that the article holds no answer, in the answer language."""
    return REFUSALS.get(language, REFUSALS["en"]).format(question=question.strip())
