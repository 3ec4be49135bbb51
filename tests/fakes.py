"""Fast stand-ins for the models, for unit tests of the pipeline's own decisions.

- ``HashingEmbedder``: each analysed term (the BM25 analyzer's stems, stopwords dropped) is
  hashed into one of ``dim`` buckets; vectors are normalised counts. Deterministic, instant,
  and close for texts that share words, which is all that retrieval and citation checks
  need in a unit test. It cannot match across languages.
- ``ScriptedBackend``: an LLM whose replies are written by the test, in order (a reply may be
  an exception to raise), like the mock model of simonw/llm's tests; it records every prompt.

``fake_pipeline`` composes a real ``Pipeline`` (real chunking, FAISS and BM25 index on disk,
real citation and refusal logic) from the two.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.config.settings import DEFAULT_EMBED_MODEL, resolve_settings
from rag.embedding.embedder import Embedder
from rag.llm.base import Backend, Report
from rag.pipeline import Pipeline
from rag.text.analyzer import analyze
from rag.values import Document

if TYPE_CHECKING:
    from langchain_core.language_models import FakeListLLM


class HashingEmbedder(Embedder):
    """Bag-of-stems vectors hashed into ``dim`` buckets (see the module docstring)."""

    fingerprint = "hashing-embedder"

    def __init__(self, model_id: str = DEFAULT_EMBED_MODEL, dim: int = 512):
        self.model_id, self.dim = model_id, dim

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in analyze(text):
                digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)


class ScriptedBackend(Backend):
    """Replies in order; an Exception in the script is raised instead (see module docstring)."""

    name = "scripted"

    def __init__(self, replies: list[str | Exception], mode: str = "chat"):
        self.mode = mode
        self.replies = list(replies)
        self.prompts: list[str | list] = []
        self.first_tokens: list[dict[str, float]] = []  # reported per reply, when scripted

    def stream(
        self,
        prompt: str | list,
        stop: list[str],
        max_tokens: int,
        report: Report | None = None,
        keep_prefix: bool = False,
        fresh: bool = False,
    ) -> Iterator[str]:
        self.prompts.append(prompt)
        if report is not None and self.first_tokens:
            report.first_tokens = self.first_tokens.pop(0)
        if not self.replies:
            raise AssertionError(f"the script has no reply left for prompt {len(self.prompts)}")
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        yield from re.findall(r"\S+\s*|\s+", reply)  # word by word, as a server streams

    def runnable(self, max_tokens: int) -> FakeListLLM:
        from langchain_core.language_models import FakeListLLM  # seconds of imports: on use

        return FakeListLLM(responses=[r for r in self.replies if isinstance(r, str)])

    def describe(self) -> str:
        return f"scripted: {len(self.replies)} replies left"


def fake_pipeline(
    index_dir: Path,
    replies: list[str | Exception],
    documents: list[Document] | None = None,
    mode: str = "chat",
    **flags,
) -> tuple[Pipeline, ScriptedBackend]:
    """A Pipeline on the fakes over ``documents`` (default: the bundled article), indexed.

    ``mode`` picks the profile that drives the model that way: ``chat`` the quality
    profile (whole article in the prompt), ``completion`` the tiny one (few-shot prompts).
    """
    profile = {"chat": "quality", "completion": "tiny"}[mode]
    settings = resolve_settings(index_dir=index_dir, profile=profile, **flags)
    backend = ScriptedBackend(replies, mode)
    embedder = HashingEmbedder(settings.embed_model)
    pipeline = Pipeline(settings, make_embedder=lambda: embedder, make_backend=lambda: backend)
    if documents is None:
        pipeline.index([])
    else:
        pipeline.index_documents(documents)
    return pipeline, backend
