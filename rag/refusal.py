"""Decide when the article does not hold the answer, from evidence that can be measured.

The base model never says "I don't know" by itself, so the decision is the system's. Two
measured signals, each with a threshold tuned on the dev split of the project's test set
(``python -m eval.tune_refusal``, written to the profile's ``rag/data/refusal-*.json``) and
checked on the
test split:

- ``relevance``: e5 cosine between the question and the closest sentence of the
  retrieved passages: off-topic questions find no close sentence;
- ``support``: how well the retrieved sentences support the generated answer (see
  ``rag.cite``): when the article lacks the fact, the model invents one that no sentence
  contains;
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
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class RefusalPolicy:
    min_relevance: float
    min_support: float
    min_semantic: float = 0.0

    def abstain(self, relevance: float, support: float, semantic: float = 1.0) -> bool:
        return (
            relevance < self.min_relevance
            or support < self.min_support
            or semantic < self.min_semantic
        )

    def save(self, path: Path, **notes: object) -> None:
        path.write_text(json.dumps({**asdict(self), **notes}, indent=2) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path) -> RefusalPolicy:
        data = json.loads(path.read_text("utf-8"))
        return cls(
            float(data["min_relevance"]),
            float(data["min_support"]),
            float(data.get("min_semantic", 0.0)),
        )


REFUSALS = {
    "id": "Artikel tidak menyebutkan hal itu: {question}",
    "en": "The article does not say: {question}",
}


def refusal_text(language: str, question: str) -> str:
    """The plain statement that the article holds no answer, in the answer language."""
    return REFUSALS.get(language, REFUSALS["en"]).format(question=question.strip())
