"""The model's answer to one question, streamed and checked, before the refusal decision.

Two ways, by how the profile's model is driven:

- ``chat`` (instruction-tuned models): the whole article(s) in the prompt when they fit
  the context, else the first retrieved passages (``rag.answer.context``; all of them when
  the model finds no answer in those: ``wider_look``); the reply's first sentences
  are checked one by one against the sentences of that context, and markers renumbered to
  count the answer's passages.
- ``completion`` (base models): a few-shot prompt over the evidence sentences closest to
  the question; when no sentence supports the reply, a second try on the top passage
  alone (a small model is easily led astray by a mixed context).

A model failure is no exception here: the Draft says why (``failure``), and the pipeline
answers with extractive sentences.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

from rag.answer.check import kind_mismatch
from rag.answer.cite import CitedAnswer, cite
from rag.answer.context import (
    STOP,
    Context,
    Route,
    build_context,
    build_prompt,
    chat_messages,
    estimate_tokens,
    spread,
)
from rag.answer.grounded import (
    english_numbers,
    first_sentences,
    model_refused,
    renumber,
    unit_candidates,
)
from rag.answer.overview import MAX_SENTENCES, cite_by_part, overview_sentences
from rag.embedding.embedder import Embedder
from rag.errors import BackendError
from rag.llm.base import Backend, Report, Waiting
from rag.llm.profiles import Profile, PromptMode
from rag.retrieval.evidence import Evidence, sentences_in
from rag.store.index import IndexStore
from rag.values import Event, EventKind, Hit

MAX_ANSWER_TOKENS = 48  # a base model's one-line answer
MAX_CHAT_TOKENS = 96  # two short sentences with markers, in either language
MAX_OVERVIEW_TOKENS = 220  # a summary of 3 to 5 sentences with markers (rag.answer.overview)
Prompt = str | list[tuple[str, str]]  # a completion prompt, or (role, text) chat messages


def generation_limits(mode: PromptMode, overview: bool = False) -> tuple[list[str], int]:
    """The stop sequences and answer length a model is streamed with, by how it is driven
    (a chat model's overview of a whole article is longer than an answer).

    >>> generation_limits("completion"), generation_limits("chat", overview=True)
    ((['\\n'], 48), ([], 220))
    """
    if mode != "chat":
        return STOP, MAX_ANSWER_TOKENS
    return [], MAX_OVERVIEW_TOKENS if overview else MAX_CHAT_TOKENS


@dataclass(frozen=True)
class Grounds:
    """What an answer is drafted from: the question standing on its own, the answer
    language (and why, when it is not the question's), the retrieved passages and the
    evidence sentences closest to the question."""

    question: str
    language: str
    language_note: str
    hits: list[Hit]
    evidence: list[Evidence]


@dataclass
class Draft:
    """The LLM's answer before the refusal decision, or why there is none."""

    raw: str = ""
    cited: CitedAnswer = field(default_factory=lambda: CitedAnswer("", (), 0.0, 0.0))
    failure: str = ""
    route: Route = "passages"
    hits: list[Hit] = field(default_factory=list)  # the retrieved ones, and cited units
    model_refused: bool = False
    p_refuse: float = 0.0  # the model's probability that its reply starts "NOT IN ARTICLE"
    # the backend reported the first token's probabilities (p_refuse, p_unstated measured)
    probabilities: bool = False
    kind_missing: str = ""  # what the question asks for and the answer lacks, after a retry
    second_look: str = ""  # the kind of answer a retry asked for ("" when none was needed)
    p_unstated: float = 0.0  # the model's probability that the text does not state it (check)
    text_tokens: int = 0  # the length of the text the model read (the prompt's system message)
    wide: bool = False  # the passages route read every retrieved passage (see wider_look)


@dataclass(frozen=True)
class Drafter:
    """Drafts answers with one backend over one index."""

    store: IndexStore
    embedder: Embedder
    backend: Backend
    profile: Profile

    def first_prompt(self, grounds: Grounds, doc_id: str | None = None) -> Prompt:
        """The prompt the model is given first for these grounds (as ``chat`` and
        ``completion`` build it)."""
        if self.backend.mode == "chat":
            context = self.context(grounds.hits, doc_id)
            return chat_messages(context, grounds.question, grounds.language)
        family = self.profile.prompts
        return build_prompt(family, grounds.language, grounds.evidence, grounds.question)

    def completion(
        self,
        language: str,
        question: str,
        evidence: list[Evidence],
        hits: list[Hit],
        candidates: list[Evidence],
    ) -> Generator[Event, None, Draft]:
        """Stream the LLM's answer and check it; returns a Draft (``yield from`` gives it).

        A second attempt on the top passage alone follows when the first answer is not
        supported by the articles: the small model is easily led astray by a mixed context.
        """
        draft = Draft()
        for attempt, context in enumerate(prompt_contexts(self.store, evidence, hits)):
            if attempt:
                yield Event(EventKind.RETRY)
            pieces = []
            try:
                prompt = build_prompt(self.profile.prompts, language, context, question)
                for piece in self.backend.stream(prompt, *generation_limits("completion")):
                    if isinstance(piece, Waiting):
                        yield Event(EventKind.QUEUED, text=str(piece.ahead))
                        continue
                    pieces.append(piece)
                    yield Event(EventKind.TOKEN, text=piece)
            except BackendError as exc:
                return Draft(failure=str(exc))
            draft = Draft(raw="".join(pieces).strip())
            draft.cited = cite(question, draft.raw, candidates, self.embedder)
            if draft.cited.support > 0:
                break
        return draft

    def chat(
        self,
        language: str,
        question: str,
        hits: list[Hit],
        doc_id: str | None,
        kind: str = "",
        overview: str = "",
        wide: bool = False,
    ) -> Generator[Event, None, Draft]:
        """Stream an instruction-tuned model's answer over the whole article(s), or the
        first retrieved passages when they do not fit (``wide``: all of them), and check it
        sentence by sentence. ``kind``: ask for that kind of answer (a second try);
        ``overview``: 'summary' or 'people', the article's overview in up to 5 sentences
        (see rag.answer.summaries)."""
        context = self.context(hits, doc_id, wide)
        pieces, report = [], Report()
        keep = context.route == "article"  # every question about these articles shares it
        try:
            messages = chat_messages(context, question, language, kind, overview)
            limits = generation_limits("chat", bool(overview))
            # the question's first request starts from the article's state (not a retry)
            fresh = keep and not kind
            stream = self.backend.stream(
                messages, *limits, report=report, keep_prefix=keep, fresh=fresh
            )
            for piece in stream:
                if isinstance(piece, Waiting):
                    yield Event(EventKind.QUEUED, text=str(piece.ahead))
                    continue
                pieces.append(piece)
                yield Event(EventKind.TOKEN, text=piece)
        except BackendError as exc:
            return Draft(failure=str(exc), route=context.route, hits=hits)
        raw = "".join(pieces).strip()
        draft = Draft(raw=raw, route=context.route, hits=hits, wide=wide)
        draft.p_refuse = refusal_probability(report.first_tokens)
        draft.probabilities = bool(report.first_tokens)
        # a summary that says somewhere what the text lacks is still a summary
        if not raw or model_refused(overview_sentences(raw, 1) if overview else raw):
            draft.model_refused = True
            return draft
        candidates = unit_candidates(self.store, context)
        # a summary's sentences are checked first and chosen from after (rag.answer.overview)
        longer = 2 * MAX_SENTENCES if overview == "summary" else MAX_SENTENCES
        reply = overview_sentences(raw, longer) if overview else first_sentences(raw)
        reply = english_numbers(reply) if language == "en" else reply
        if overview == "summary":  # one sentence per stretch of the text, checked against it
            parts = spread(len(context.units))
            own_language = {self.store.documents[u.doc_id].language for u in context.units}
            quote_missing = own_language == {language}
            cited = cite_by_part(
                reply,
                candidates,
                parts,
                self.embedder,
                language != "id",
                quote_missing=quote_missing,
            )
        else:  # "Summarize the article" is no part of a claim
            cited = cite(
                "" if overview else question,
                reply,
                candidates,
                self.embedder,
                translated=language != "id",
                drop_unsupported=True,
            )
        draft.cited, draft.hits = renumber(cited, hits, context)
        return draft

    def context(self, hits: list[Hit], doc_id: str | None, wide: bool = False) -> Context:
        """What the model reads: the whole article(s), else the profile's first passages
        (``wide``: every retrieved passage)."""
        read = 0 if wide else self.profile.passages
        return build_context(self.store, hits, doc_id, self.profile.context, read)


def wider_look(
    drafter: Drafter,
    draft: Draft,
    language: str,
    question: str,
    hits: list[Hit],
    doc_id: str | None,
) -> Generator[Event, None, Draft]:
    """On the passages route the model reads the best retrieved passages first (every
    passage is a new prompt to evaluate); when it finds no answer there (it says so, or
    nothing it says holds against them), it reads all of them (the slot keeps the first
    ones evaluated, so only the rest is new)."""
    if draft.route != "passages" or draft.wide or draft.failure:
        return draft
    if not draft.model_refused and draft.cited.citations:
        return draft
    if not drafter.profile.passages or len(hits) <= drafter.profile.passages:
        return draft
    yield Event(EventKind.RETRY)
    wider = yield from drafter.chat(language, question, hits, doc_id, wide=True)
    return draft if wider.failure else wider


def check_stated(
    drafter: Drafter, draft: Draft, question: str, hits: list[Hit], doc_id: str | None
) -> Generator[Event, None, Draft]:
    """Ask the model, over the same text, whether it states the answer to the question
    (``rag/prompts/check-user.txt``, a yes/no question in the article's language whatever
    the question's), and note its probability of "no" against "yes" in ``p_unstated``.

    Its greedy answer is nearly always "yes"; its doubt is not: on the project's
    development questions, answerable ones get a "no" of a few thousandths at most, and
    questions the article does not answer mostly more. One token and a prompt that shares
    the answer's kept prefix; a failed check leaves the draft as it is. Asked over whole
    articles only (the article route), where its thresholds were tuned: over retrieved
    passages the prompt is new for every question, and no development data set them."""
    if draft.failure or draft.model_refused or not drafter.backend.reports_probabilities:
        return draft
    context = build_context(drafter.store, hits, doc_id, drafter.profile.context)
    if context.route != "article":
        return draft
    messages = chat_messages(context, question, "id", check=True)
    report = Report()
    try:
        for piece in drafter.backend.stream(messages, [], 1, report=report, keep_prefix=True):
            if isinstance(piece, Waiting):
                yield Event(EventKind.QUEUED, text=str(piece.ahead))
    except BackendError:
        return draft
    draft.p_unstated = unstated_probability(report.first_tokens)
    draft.text_tokens = estimate_tokens(messages[0][1])
    return draft


def unstated_probability(first_tokens: dict[str, float]) -> float:
    """The share of "no" in the first token's "yes" and "no" mass (0 when neither shows).

    >>> unstated_probability({"Ya": 0.97, "YA": 0.01, "TID": 0.02, "Jack": 0.001})
    0.02
    """
    no = sum(p for token, p in first_tokens.items() if token.strip().upper().startswith(NO))
    yes = sum(p for token, p in first_tokens.items() if token.strip().upper().startswith(YES))
    return round(no / (no + yes), 6) if no + yes else 0.0


NO, YES = ("TID", "NO"), ("YA", "YES")


def second_look(
    drafter: Drafter,
    draft: Draft,
    language: str,
    question: str,
    hits: list[Hit],
    doc_id: str | None,
) -> Generator[Event, None, Draft]:
    """An answer that lacks what its question asks for (a time, a number, a name; see
    rag.answer.check) is tried once more with a line asking for it; when the second answer
    still lacks it, the draft says so (``kind_missing``) and the pipeline refuses."""
    if draft.failure or draft.model_refused:
        return draft
    kind = kind_mismatch(question, draft.cited.text or first_sentences(draft.raw))
    if not kind:
        return draft
    yield Event(EventKind.RETRY)
    # on the passages route a second try reads every retrieved passage
    retry = yield from drafter.chat(language, question, hits, doc_id, kind, wide=True)
    if retry.failure:
        draft.kind_missing = draft.second_look = kind
        return draft
    if not retry.model_refused and kind_mismatch(
        question, retry.cited.text or first_sentences(retry.raw)
    ):
        retry.kind_missing = kind
    retry.second_look = kind
    # the retry's line invites NOT IN ARTICLE, so its first token's doubt is not the one the
    # refusal thresholds were tuned on: the first answer's is
    retry.p_refuse, retry.probabilities = draft.p_refuse, draft.probabilities
    return retry


def refusal_probability(first_tokens: dict[str, float]) -> float:
    """The probability mass of first tokens that begin the prompt's refusal, "NOT IN
    ARTICLE" (0 when the backend reports no probabilities).

    >>> refusal_probability({"NOT": 0.25, " NOT": 0.05, "Jack": 0.6, "N": 0.01})
    0.3
    """
    mass = sum(p for token, p in first_tokens.items() if token.strip().startswith("NOT"))
    return round(min(1.0, mass), 6)


def prompt_contexts(
    store: IndexStore, evidence: list[Evidence], hits: list[Hit]
) -> list[list[Evidence]]:
    """The prompt contexts to try in turn: the closest sentences, then the top passage."""
    top = [Evidence(s, hits[0], 0.0) for s in sentences_in(store, hits[0])] if hits else []
    same = [e.sentence for e in top] == [e.sentence for e in evidence]
    return [evidence] if same or not top else [evidence, top]
