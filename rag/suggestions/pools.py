"""The pools of suggested questions: their questions (parsed from the model's reply, and
only those a reader can ask as they stand) and their files beside the index, each under a
key of the article, the model, the profile and the prompts (see ``rag.suggestions``).

>>> normalise("  Siapa  Menteri Kominfo?? ")
'siapa menteri kominfo'
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.answer.context import load_prompt
from rag.answer.followup import is_follow_up
from rag.config.settings import Settings
from rag.fileio import file_identity, sha256_text
from rag.llm import gguf
from rag.llm.profiles import get_profile
from rag.store.index import content_hash
from rag.text.language import SUPPORTED, detect_language
from rag.values import Document

log = logging.getLogger(__name__)
FOLDER = "suggestions"
FORMAT = 1
MIN_CHARS, MAX_CHARS = 12, 160
# "Who is mentioned in paragraph [8]?": a reader sees no numbered paragraphs.
_POINTS_AT_TEXT = re.compile(
    r"\[\d+\]|\bparagra(?:ph|f)|\b(?:the|this|above) text\b|\bteks\b", re.I
)
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\(\d+\)|[A-Za-z][.)](?=\s))\s*")


@dataclass(frozen=True)
class Suggestion:
    """A question of the pool, with what the assistant answered when it was checked."""

    question: str
    language: str
    doc_id: str
    passage_id: str
    answer: str = ""


@dataclass
class Pool:
    """One article's checked questions, and those left out with the reason."""

    doc_id: str
    key: str
    questions: list[Suggestion] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "doc_id": self.doc_id,
            "key": self.key,
            "seconds": round(self.seconds, 1),
            "questions": [asdict(s) for s in self.questions],
            "rejected": self.rejected,
        }


# -- questions in text ----------------------------------------------------------------------
def normalise(question: str) -> str:
    """Lowercase words only: the form in which two questions are the same words."""
    return " ".join(re.findall(r"[\w’'-]+", question.lower()))


def usable(question: str) -> bool:
    """Whether a reader can ask the question as it stands: it needs no earlier question
    ("Kapan itu terjadi?") and points at no paragraph of the model's prompt.

    >>> usable("Who is mentioned in paragraph [8]?"), usable("Who is Jack Ma meeting in Bali?")
    (False, True)
    """
    return not _POINTS_AT_TEXT.search(question) and not is_follow_up(question)


def parse_questions(reply: str, language: str) -> list[str]:
    """The model's reply -> its questions: one a line, list marks dropped; a line that is
    not a question, too short or long, in the other language, or not ``usable`` is left
    out."""
    found = []
    for line in reply.splitlines():
        text = _LIST_MARK.sub("", line).strip().strip('"“”')
        if not text.endswith("?") or not MIN_CHARS <= len(text) <= MAX_CHARS:
            continue
        if not usable(text) or detect_language(text)[0] != language:
            continue
        if normalise(text) not in {normalise(q) for q in found}:
            found.append(text)
    return found


# -- the pool on disk -----------------------------------------------------------------------
def model_identity(settings: Settings) -> str:
    """What names the model that writes and answers: its GGUF's sha256, or the server's
    address and model name."""
    if settings.llm_backend == "llamacpp":
        if settings.llm_model:
            return file_identity(Path(settings.llm_model))
        return gguf.get_model(get_profile(settings.profile).model).sha256
    return f"{settings.openai_base_url}|{settings.openai_model}|{settings.openai_mode}"


def pool_key(doc: Document, settings: Settings) -> str:
    """The article's text, the model, the profile and the prompts, hashed together."""
    prompts = "".join(load_prompt(f"suggest-{lang}.txt") for lang in SUPPORTED)
    parts = [str(FORMAT), content_hash(doc.text), model_identity(settings), settings.profile]
    return sha256_text("\n".join([*parts, prompts]))[:16]


def pool_path(index_dir: Path | str, doc_id: str) -> Path:
    return Path(index_dir) / FOLDER / f"{doc_id}.json"


def read_pool(path: Path, key: str) -> Pool | None:
    """The stored pool when it was made under this key; None when missing, stale or
    damaged (a damaged file is made again, never half-read)."""
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("format") != FORMAT or data.get("key") != key:
            return None
        questions = [Suggestion(**q) for q in data["questions"]]
        return Pool(data["doc_id"], key, questions, data.get("rejected", []), data["seconds"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning(
            "suggested questions at %s are unreadable (%s); they will be made again", path, exc
        )
        return None


def write_pool(path: Path, pool: Pool) -> None:
    """Written whole, then renamed into place: a reader never sees half a pool."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(pool.to_json(), ensure_ascii=False, indent=1), "utf-8")
    os.replace(partial, path)
