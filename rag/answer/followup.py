"""Turn a follow-up question into one that stands on its own, before retrieval.

A follow-up leans on the conversation: "Kapan mulai dipasarkan?" after "Produk apa saja
yang akan dipasarkan lewat Alibaba?". Rules decide whether a question is one: it points
back (pronouns and demonstratives such as 'itu', 'tersebut', 'mereka', 'it', 'they') or is
too short to name its subject, and it names no subject of its own (a name the
conversation's topic does not hold: "Siapa Rudiantara?" after a question about Darmin is a
new question, never glued to the old one).

An instruction-tuned model then rewrites a follow-up into a standalone question
(``rewrite_messages`` and ``accept_rewrite``); with a base model, or when the rewrite is
unusable, the rule's fallback attaches the topic in parentheses. Either way the rewritten
question is shown to the user.

>>> standalone_question("Kapan mulai dipasarkan?", ["Produk apa saja yang dijual?"])
'Kapan mulai dipasarkan? (Produk apa saja yang dijual?)'
>>> standalone_question("Siapa Menteri Kominfo yang disebut dalam artikel?", ["Apa itu?"])
'Siapa Menteri Kominfo yang disebut dalam artikel?'
>>> standalone_question("Siapa Rudiantara?", ["Siapa Darmin Nasution?"])
'Siapa Rudiantara?'
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.answer.context import build_context
from rag.errors import BackendError
from rag.llm.base import Backend, text_of
from rag.llm.profiles import Profile
from rag.store.index import IndexStore
from rag.text.analyzer import analyze

REWRITE_TOKENS = 64  # a follow-up rewritten as one standalone question

POINTING_BACK = re.compile(
    r"\b(itu|tersebut|ini|mereka|beliau|dia|ia|nya|it|its|they|them|their|those|these|"
    r"that|he|she|him|his|her)\b|\w+nya\b",
    re.IGNORECASE,
)
MIN_OWN_TERMS = 3  # a question with fewer content terms rarely names its subject
NAME = re.compile(r"\b[A-Z][\w’'-]+")
QUESTION_WORDS = frozenset(
    [
        "apa",
        "siapa",
        "kapan",
        "di",
        "mana",
        "dimana",
        "berapa",
        "mengapa",
        "kenapa",
        "bagaimana",
        "apakah",
        "what",
        "who",
        "whom",
        "when",
        "where",
        "which",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "does",
        "do",
        "did",
        "can",
        "will",
    ]
)


def is_follow_up(question: str) -> bool:
    own_terms = analyze(question)
    return bool(POINTING_BACK.search(question)) or len(own_terms) < MIN_OWN_TERMS


def own_names(question: str) -> set[str]:
    """Capitalised words of a question that are not question words, lowercased.

    >>> sorted(own_names("Siapa Rudiantara dan Darmin?"))
    ['darmin', 'rudiantara']
    >>> own_names("Selama berapa tahun program itu berjalan?")
    set()
    """
    first = re.match(r"\W*[\w’'-]+", question)
    rest = question[first.end() :] if first else question  # the first word is capitalised anyway
    found = {w.lower() for w in NAME.findall(rest)}
    return found - QUESTION_WORDS


def names_new_subject(question: str, topic_question: str) -> bool:
    """Whether the question names someone or something the topic does not mention."""
    topic_words = {w.lower() for w in re.findall(r"[\w’'-]+", topic_question)}
    return bool(own_names(question) - topic_words)


def topic(previous: list[str]) -> str:
    """The latest question of the conversation that named its own subject."""
    asked = [q.split(" (")[0] for q in previous]  # drop context attached earlier
    return next((q for q in reversed(asked) if not is_follow_up(q)), asked[-1])


def needs_rewrite(question: str, previous: list[str]) -> bool:
    """A follow-up that leans on the conversation (and names no new subject)."""
    if not previous or not is_follow_up(question):
        return False
    return not names_new_subject(question, topic(previous))


def standalone_question(question: str, previous: list[str]) -> str:
    """The rule's rewrite: the conversation's topic attached when it is a follow-up."""
    if not needs_rewrite(question, previous):
        return question
    return f"{question} ({topic(previous)})"


def rewrite_messages(
    question: str, previous: list[str], system: str | None = None
) -> list[tuple[str, str]]:
    """Chat messages asking an instruction-tuned model for the standalone question.

    ``system`` is the answer prompt's system message (the whole article) when the caller
    has one: the request then shares the evaluated article prefix, so rewriting a follow-up
    does not cost the next answer that prefix again.
    """
    asked = "\n".join(f"- {q}" for q in previous[-3:])
    request = (
        "Do not answer yet. Rewrite my last question so that it can be understood without "
        "the conversation: replace pronouns and fill in the subject from the earlier "
        "questions. Keep its language and its meaning. Reply with the question only.\n"
        f"Earlier questions:\n{asked}\nLast question: {question}"
    )
    return [("system", system or "You rewrite questions."), ("user", request)]


def accept_rewrite(rewrite: str, question: str, previous: list[str] | None = None) -> str:
    """The model's rewrite when it looks like one question, else ''.

    >>> accept_rewrite("Kapan produk Indonesia mulai dipasarkan di Tiongkok?", "Kapan?")
    'Kapan produk Indonesia mulai dipasarkan di Tiongkok?'
    >>> accept_rewrite("Here is the rewritten question:\\nKapan?", "Kapan?")
    ''
    >>> accept_rewrite("11 November 2018 [3].", "Kapan?")
    ''
    >>> accept_rewrite("Kapan produk itu dijual?", "Kapan produk itu dijual?")
    ''
    >>> accept_rewrite("Di negara mana?", "Di negara mana?")
    ''
    >>> accept_rewrite("Berapa programmer yang dilatih?", "Berapa programmer yang dilatih?")
    'Berapa programmer yang dilatih?'
    >>> accept_rewrite("Kapan mulai dijual?", "Kapan mulai dijual?", ["Apa yang dijual?"])
    ''
    """
    text = rewrite.strip().strip('"“”').strip()
    text = re.sub(r"^(last question|question|pertanyaan)\s*:\s*", "", text, flags=re.I)
    if not text or "\n" in text or len(text) > 3 * len(question) + 150:
        return ""
    if question.rstrip().endswith("?") and not text.endswith("?"):
        return ""  # an answer, not the question rewritten
    if set(analyze(text)) <= set(analyze(question)):
        # Nothing filled in: the model judged the question complete. That stands unless
        # the question points back, is too short to name its subject (one content word:
        # "Di negara mana?") or shares a word with the topic (it goes on about it:
        # "Kapan mulai dipasarkan?" after "Apa yang dipasarkan?"): the rules attach the
        # topic then.
        terms = set(analyze(question))
        continues = previous and terms & set(analyze(topic(previous)))
        if len(terms) < 2 or continues or POINTING_BACK.search(question):
            return ""
        return question
    return text


def rewrite_follow_up(
    backend: Callable[[], Backend],
    store: IndexStore,
    profile: Profile,
    question: str,
    previous: list[str],
    doc_id: str | None,
) -> str:
    """A follow-up rewritten to stand on its own: by an instruction-tuned model when one
    runs (the rules' version when its rewrite is unusable), else by the rules. ``backend``
    gives the model, called only for a question that needs rewriting: a first question does
    not wait for a model that is still starting."""
    if not needs_rewrite(question, previous):
        return question
    if (llm := backend()).mode == "chat":
        article = build_context(store, [], doc_id, profile.context)
        system = article.system_message() if article.route == "article" else None
        messages = rewrite_messages(question, previous, system)
        try:
            keep = system is not None
            reply = text_of(llm.stream(messages, [], REWRITE_TOKENS, keep_prefix=keep))
        except BackendError:
            reply = ""
        if accepted := accept_rewrite(reply, question, previous):
            return accepted
    return standalone_question(question, previous)
