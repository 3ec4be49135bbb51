"""The answer to an overview question (rag.answer.overview): the article from start to end in 3
to 5 cited sentences, or the people it names, never a refusal.

Does: ask the model for the overview over the same whole-article system message as any
question (``Drafter.chat`` with ``overview``: only the user message differs, so the
article's evaluated prefix is shared); a summary is asked as one sentence per stretch of the
article, beginning to end, and each sentence is checked against its own stretch
(``rag.answer.overview.cite_by_part``); keep the sentences that ``rag.answer.cite`` finds
supported (an unsupported one is withdrawn, as in any answer), quote the first sentence of a
stretch none of them speaks of when the summary is in the article's own language (the 1.5B
model writes about the start and stops), and answer with them when at least
``MIN_SUPPORTED`` remain. Otherwise, or when the model fails or is a base model that cannot
follow the instruction, the answer is the article's first ``OPENING_SENTENCES`` sentences,
each citing itself, and ``Draft.failure`` says so; when the article is in another language
than the reader's, a line in the reader's language says that these are its sentences quoted.
With several articles and no restriction, each of the first ``MAX_ARTICLES`` (in
retrieval's order, then by id) gets a paragraph of its own, headed by its name, and a last
line names the ones left out.

Doesn't: recognise the question (``rag.answer.overview``), or apply the refusal signals and the
second look (``rag.answer.check``): the pipeline skips both for an overview question.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace

from rag.answer.cite import MARKER, CitedAnswer, answer_sentences
from rag.answer.drafts import Draft, Drafter
from rag.answer.overview import MIN_SUPPORTED, Overview
from rag.retrieval.evidence import document_sentences
from rag.store.index import IndexStore
from rag.values import Citation, Document, Event, EventKind, Hit

OPENING_SENTENCES = 3  # the extractive overview: the article's first sentences
MAX_ARTICLES = 3  # articles summarised for one question without a restriction
EXTRACTIVE = {
    "id": "Ringkasan ekstraktif: kalimat-kalimat pertama artikel ({reason}).",
    "en": "Extractive summary: the article's first sentences ({reason}).",
}
REASONS = {
    "weak": {
        "id": "ringkasan model kurang dari 2 kalimat yang didukung teks",
        "en": "the model's summary had fewer than 2 sentences the text supports",
    },
    "completion": {
        "id": "model profil ini tidak dapat meringkas",
        "en": "this profile's model cannot summarise",
    },
}
# An extractive overview in another language than the reader's says in the reader's what it is
QUOTED = {
    "id": "Kalimat-kalimat pertama artikel, dalam bahasanya sendiri:",
    "en": "The article's first sentences, quoted in the article's own language:",
}
LEFT_OUT = {
    "id": '(Diringkas {n} dari {total} artikel; pilih satu artikel di "Tanya tentang" untuk '
    "meringkas yang lain: {names}.)",
    "en": '({n} of {total} articles summarised; choose one under "Ask about" to summarise '
    "another: {names}.)",
}


def articles_to_summarise(store: IndexStore, hits: list[Hit], doc_id: str | None) -> list[str]:
    """The restricted article, else every article in retrieval's order, then by id."""
    if doc_id:
        return [doc_id]
    ranked = list(dict.fromkeys(h.passage.doc_id for h in hits))
    return ranked + [d for d in sorted(store.documents) if d not in ranked]


def supported_sentences(cited: CitedAnswer) -> int:
    """Sentences of a checked answer that carry a verified marker."""
    if not cited.citations:
        return 0
    return sum(bool(MARKER.search(s)) for s in answer_sentences(cited.text))


def opening(
    store: IndexStore, doc: Document, hits: list[Hit], n: int = OPENING_SENTENCES
) -> tuple[CitedAnswer, list[Hit]]:
    """The article's first n sentences, each cited to itself; markers count ``hits`` (a
    passage not among them is appended, as ``rag.answer.grounded.renumber`` does)."""
    hits, parts, citations = list(hits), [], []
    rank = {h.passage.id: h.rank for h in hits}
    for s in document_sentences(doc)[:n]:
        passage = next(
            (p for p in store.passages if p.doc_id == doc.doc_id and p.start <= s.start < p.end),
            None,
        )
        if passage is None:
            continue
        if passage.id not in rank:
            hits.append(Hit(passage, 0.0, len(hits) + 1))
            rank[passage.id] = len(hits)
        marker = rank[passage.id]
        citations.append(
            Citation(marker, passage.id, doc.doc_id, s.start, s.end, s.text, 1.0, s.page)
        )
        text = " ".join(s.text.split())
        body, end = (text[:-1], text[-1]) if text[-1:] in ".!?" else (text, "")
        parts.append(f"{body} [{marker}]{end}")
    return CitedAnswer(" ".join(parts), tuple(citations), 1.0, 1.0, 1.0), hits


def overview_draft(
    drafter: Drafter,
    overview: Overview,
    language: str,
    question: str,
    hits: list[Hit],
    doc_id: str | None,
) -> Generator[Event, None, Draft]:
    """The overview of the article(s) a question may draw on (see the module docstring)."""
    store = drafter.store
    chosen = articles_to_summarise(store, hits, doc_id)
    shown = chosen[:MAX_ARTICLES]
    several = len(chosen) > 1
    parts, notes, raws, citations, weakest = [], [], [], [], []
    total = Draft(route="article", hits=list(hits))
    for i, article in enumerate(shown):
        doc = store.documents[article]
        if several:
            yield Event(EventKind.TOKEN, text=("\n\n" if i else "") + f"{doc.name}: ")
        one = yield from _one_article(drafter, overview, language, question, total.hits, article)
        total.hits, total.route = one.hits, one.route
        total.p_refuse = max(total.p_refuse, one.p_refuse)
        raws.append(one.raw)
        citations.extend(one.cited.citations)
        weakest.append(one.cited)
        if one.failure:
            notes.append(doc.name)
            total.failure = one.failure
        parts.append((f"{doc.name}: " if several else "") + one.cited.text)
    if len(chosen) > len(shown):
        left = [store.documents[d].name for d in chosen[len(shown) :]]
        parts.append(
            LEFT_OUT[language].format(n=len(shown), total=len(chosen), names=", ".join(left))
        )
    if several and total.failure:
        total.failure += " " + ", ".join(notes)
    total.raw = "\n\n".join(raws)
    total.cited = CitedAnswer(
        "\n\n".join(parts),
        tuple(citations),
        min(c.support for c in weakest),
        min(c.lexical for c in weakest),
        min(c.semantic for c in weakest),
    )
    return total


def _one_article(
    drafter: Drafter,
    overview: Overview,
    language: str,
    question: str,
    hits: list[Hit],
    doc_id: str,
) -> Generator[Event, None, Draft]:
    """One article's overview by the model, else its opening sentences."""
    reason = "completion"
    if drafter.backend.mode == "chat":
        # an overview reads every retrieved passage of a long article, not the best ones only
        draft = yield from drafter.chat(
            language, question, hits, doc_id, overview=overview.kind, wide=True
        )
        usable = not draft.failure and not draft.model_refused
        if usable and supported_sentences(draft.cited) >= MIN_SUPPORTED:
            return draft
        reason = "weak"
        if draft.failure:
            return _extractive(drafter.store, doc_id, hits, language, draft.failure, draft)
    return _extractive(drafter.store, doc_id, hits, language, REASONS[reason][language])


def _extractive(
    store: IndexStore,
    doc_id: str,
    hits: list[Hit],
    language: str,
    reason: str,
    draft: Draft | None = None,
) -> Draft:
    doc = store.documents[doc_id]
    cited, hits = opening(store, doc, hits)
    if doc.language and doc.language != language:
        cited = replace(cited, text=f"{QUOTED[language]} {cited.text}")
    base = draft or Draft(route="article")
    failure = EXTRACTIVE[language].format(reason=reason)
    return replace(base, cited=cited, hits=hits, failure=failure)
