"""An answer's last step: what it says and whether it abstains, and the Answer itself.

An overview keeps the model's supported sentences; a failed draft becomes the extractive
answer (the best evidence sentences, cited and labelled); any other draft is refused for
the reasons ``RefusalPolicy`` gives (besides the model's own refusal and a missing kind of
answer), else said as cited.

Doesn't: draft (``rag.answer.drafts``) or retrieve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rag.answer.cite import CitedAnswer, cite
from rag.answer.drafts import Draft, Grounds
from rag.answer.markers import by_appearance
from rag.answer.refusal import RefusalPolicy, refusal_text
from rag.embedding.embedder import Embedder
from rag.retrieval.evidence import Evidence
from rag.values import Answer

FALLBACK_LABEL = {
    "id": "Jawaban ekstraktif (model bahasa gagal menjawab; kalimat artikel yang paling "
    "mendukung):",
    "en": "Extractive answer (the language model failed on this question; the best-supported "
    "sentences of the article):",
}


@dataclass
class Verdict:
    """What the answer says (``text``), from which cited sentences, and whether it abstains
    (``reasons``: why; ``unknown``: the question's names no article writes)."""

    cited: CitedAnswer
    abstained: bool
    text: str
    relevance: float
    reasons: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def answer(
        self, question: str, grounds: Grounds, draft: Draft, timings: dict, **run: str
    ) -> Answer:
        """The Answer; ``run`` names the backend and the profile."""
        cited = self.cited
        shown = () if self.abstained else cited.citations
        # the first passage the answer cites is [1], whatever its retrieval rank
        text, shown, hits = by_appearance(self.text, shown, draft.hits)
        return Answer(
            question=question,
            standalone_question=grounds.question,
            language=grounds.language,
            answer=text,
            abstained=self.abstained,
            citations=shown,
            hits=tuple(hits),
            backend=run["backend"],
            profile=run["profile"],
            route=draft.route,
            timings_ms=timings,
            language_note=grounds.language_note,
            fallback=draft.failure,
            raw_answer=draft.raw,
            signals={
                "relevance": self.relevance,
                "support": cited.support,
                "lexical": cited.lexical,
                "semantic": cited.semantic,
                "p_refuse": draft.p_refuse,
                # False: the backend gave no token probabilities, the calibrated refusals
                # (p_refuse, p_unstated) were off
                "probabilities": draft.probabilities,
                "p_unstated": draft.p_unstated,
                "text_tokens": draft.text_tokens,
                "unknown_names": self.unknown,
                "second_look": draft.second_look,
                "wider_look": draft.wide,
                "refusal_reasons": self.reasons,
            },
        )


def settle(
    question: str,
    grounds: Grounds,
    draft: Draft,
    candidates: list[Evidence],
    embedder: Embedder,
    refusal: RefusalPolicy,
    unknown_names: Callable[[], list[str]],
    overview: bool,
) -> Verdict:
    """The verdict on a draft (``unknown_names`` is asked only when a refusal is weighed)."""
    standalone, language, evidence = grounds.question, grounds.language, grounds.evidence
    relevance = max((e.score for e in evidence), default=0.0)
    if overview:  # the model's supported sentences, else the article's first ones
        return Verdict(draft.cited, False, draft.cited.text, relevance)
    if draft.failure:
        text = " ".join(e.sentence.text for e in evidence[:2])
        cited = cite(standalone, text, candidates, embedder)
        return Verdict(cited, False, f"{FALLBACK_LABEL[language]} {cited.text}", relevance)
    cited = draft.cited
    unknown = unknown_names()
    reasons = refusal.reasons(
        relevance,
        cited.support,
        cited.semantic,
        draft.p_refuse,
        bool(unknown),
        language,
        draft.p_unstated,
        draft.text_tokens,
    )
    if draft.model_refused:
        reasons.insert(0, "model")
    if draft.kind_missing:
        reasons.append("kind")
    abstained = bool(reasons)
    text = refusal_text(language, question) if abstained else cited.text
    return Verdict(cited, abstained, text, relevance, reasons, unknown)
