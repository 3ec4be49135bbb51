"""Scores for retrieval and answers, as pure functions over plain values.

>>> reciprocal_rank([False, True, False])
0.5
>>> token_f1("lima produk", "Ada lima produk Indonesia")
0.6666666666666666
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter


def hit_at(relevant: list[bool], n: int) -> float:
    return float(any(relevant[:n]))


def reciprocal_rank(relevant: list[bool]) -> float:
    return next((1.0 / rank for rank, rel in enumerate(relevant, 1) if rel), 0.0)


def ndcg_at(relevant: list[bool], n: int, n_relevant: int) -> float:
    """Binary-relevance nDCG@n; n_relevant is how many relevant passages exist at all."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevant[:n], 1) if rel)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n, n_relevant) + 1))
    return dcg / ideal if ideal else 0.0


def normalize(text: str) -> str:
    """Lowercase, strip accents, punctuation and extra spaces: 'Single’s Day!' -> 'singles day'."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(f"[{re.escape(string.punctuation)}’‘“”…]", "", text)
    return " ".join(text.split())


def answer_correct(prediction: str, answers: tuple[str, ...] | list[str]) -> bool:
    """A gold answer occurs in the prediction, after normalisation.

    >>> answer_correct("Through Alibaba's platform.", ["Alibaba"])
    True
    """
    pred = normalize(prediction)
    return any(normalize(a) in pred for a in answers if normalize(a))


def token_f1(gold: str, prediction: str) -> float:
    """SQuAD-style token F1 between one gold answer and a prediction."""
    g, p = normalize(gold).split(), normalize(prediction).split()
    common = sum((Counter(g) & Counter(p)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def best_f1(answers: tuple[str, ...] | list[str], prediction: str) -> float:
    return max((token_f1(a, prediction) for a in answers), default=0.0)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")
