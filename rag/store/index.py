"""The persisted index: passages, their vectors, FAISS, BM25 and a manifest.

Layout under the index directory::

    CURRENT              name of the live version directory (replaced atomically)
    v-<stamp>/           one complete index version
        manifest.json    format, embedding model id/fingerprint/dim, chunking,
                         analyzer, each document's content hash (and a web page's title,
                         author, date, site and url), each file's sha256
        documents.jsonl  the articles' full text (offsets point into it); for a web
                         page also its metadata and the HTML the text was read from
        passages.jsonl   passages with spans
        vectors.npy      normalised passage vectors (reused when a document is unchanged)
        dense.faiss      the FAISS index over the vectors (inner product)
        bm25/            the BM25 index over analyzed passages
        shard-<i>/       instead of dense.faiss and bm25/, in an index cut into shards
                         (``rag.store.shards``): each shard's dense.faiss and bm25/

A build writes a new version directory and only then replaces ``CURRENT``, so a build
that is killed halfway leaves the previous index untouched and loadable.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import bm25s
import faiss
import numpy as np

from rag.articles.chunking import ChunkingConfig, chunk_document
from rag.embedding.embedder import Embedder
from rag.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from rag.fileio import read_jsonl, sha256_file, sha256_text, write_jsonl
from rag.store.dense import EXACT_SEARCH_LIMIT, build_dense_index, tune_search
from rag.store.shards import (
    Fanout,
    Shard,
    ShardedBM25,
    ShardedDense,
    ThreadFanout,
    passage_terms,
    shard_count,
    slice_bm25,
    split_rows,
)
from rag.text.analyzer import ANALYZER_VERSION
from rag.values import Document, Passage

FORMAT_VERSION = 1
FIX = "run `rag index --rebuild` to build it again"


@dataclass
class IndexStore:
    """An index in memory: everything retrieval and citation need. In an index cut into
    shards, ``dense`` and ``bm25`` search every shard and merge (``rag.store.shards``)."""

    documents: dict[str, Document]
    passages: list[Passage]
    vectors: np.ndarray
    dense: faiss.Index | ShardedDense
    bm25: bm25s.BM25 | ShardedBM25
    manifest: dict
    shards: tuple[Shard, ...] = ()


content_hash = sha256_text


def build_bm25(passages: list[Passage]) -> bm25s.BM25:
    bm25 = bm25s.BM25()
    bm25.index([passage_terms(p.text) for p in passages], show_progress=False)
    return bm25


EMBED_BATCH = 64  # passages per embedding call (a local build, a Ray actor and the benchmark)


def embed_passages(
    embedder: Embedder, passages: list[Passage], progress: bool = False
) -> np.ndarray:
    """The passages' vectors, in batches of EMBED_BATCH (the local build's embedding step)."""
    if not passages:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    from tqdm import tqdm

    batches = [passages[i : i + EMBED_BATCH] for i in range(0, len(passages), EMBED_BATCH)]
    out = []
    with tqdm(
        total=len(passages), desc="Embedding passages", unit="passage", disable=not progress
    ) as bar:
        for batch in batches:
            out.append(embedder.embed_many([p.text for p in batch], "passage"))
            bar.update(len(batch))
    return np.vstack(out)


def build_index(
    documents: list[Document],
    embedder: Embedder,
    chunking: ChunkingConfig,
    previous: IndexStore | None = None,
    progress: bool = True,
    shards: int = 1,
) -> IndexStore:
    """An index over documents, reusing the vectors of unchanged ones from ``previous``,
    cut into ``shards`` shards when more than one."""
    reusable = reusable_vectors(previous, documents)
    passages = [p for d in documents for p in chunk_document(d, chunking)]
    fresh = [p for p in passages if p.id not in reusable]
    new_vectors = dict(
        zip((p.id for p in fresh), embed_passages(embedder, fresh, progress), strict=True)
    )
    vectors = passage_matrix(passages, reusable, new_vectors, dim=embedder.dim)
    manifest = index_manifest(documents, passages, embedder, chunking, len(fresh))
    denses = dense_indexes(vectors, shard_count(shards, len(passages)))
    docs = {d.doc_id: d for d in documents}
    return with_shards(
        IndexStore(docs, passages, vectors, denses[0], build_bm25(passages), manifest), denses
    )


def reusable_vectors(
    previous: IndexStore | None, documents: list[Document]
) -> dict[str, np.ndarray]:
    """Vectors of ``previous`` by passage id, for the documents whose text is unchanged."""
    if previous is None:
        return {}
    old = previous.manifest["documents"]
    unchanged = {
        d.doc_id for d in documents if old.get(d.doc_id, {}).get("hash") == content_hash(d.text)
    }
    return {
        p.id: previous.vectors[i] for i, p in enumerate(previous.passages) if p.doc_id in unchanged
    }


def passage_matrix(passages: list[Passage], *found: dict[str, np.ndarray], dim: int) -> np.ndarray:
    """The passages' vectors, row by row, from the dicts that hold them."""
    rows = [next(f[p.id] for f in found if p.id in f) for p in passages]
    return np.array(rows, dtype=np.float32).reshape(len(passages), dim)


def index_manifest(
    documents: list[Document],
    passages: list[Passage],
    embedder: Embedder,
    chunking: ChunkingConfig,
    embedded: int,
) -> dict:
    """What an index was built from and with (checked by ``check_compatible``)."""
    return {
        "format_version": FORMAT_VERSION,
        "embedding": {
            "model_id": embedder.model_id,
            "fingerprint": embedder.fingerprint,
            "dim": embedder.dim,
        },
        "chunking": chunking.to_json(),
        "analyzer": ANALYZER_VERSION,
        "dense_index": "flat" if len(passages) <= EXACT_SEARCH_LIMIT else "ivf",
        "documents": {
            d.doc_id: {
                "name": d.name,
                "hash": content_hash(d.text),
                "language": d.language,
                "passages": sum(p.doc_id == d.doc_id for p in passages),
                **({"metadata": d.meta} if d.meta else {}),
            }
            for d in documents
        },
        "embedded_in_this_build": embedded,
    }


def dense_indexes(vectors: np.ndarray, shards: int) -> list[faiss.Index]:
    """One dense index per shard, over rows as ``split_rows`` cuts them."""
    return [build_dense_index(vectors[a:b]) for a, b in split_rows(len(vectors), shards)]


def with_shards(store: IndexStore, denses: list[faiss.Index]) -> IndexStore:
    """A single index's passages, vectors and BM25, cut into one shard per dense index
    (rows as ``split_rows`` cuts them; BM25 sliced with its global term statistics)."""
    if len(denses) == 1:
        return replace(store, dense=denses[0])
    ranges = split_rows(len(store.passages), len(denses))
    parts = [slice_bm25(store.bm25, start, stop) for start, stop in ranges]
    return from_parts(store.documents, store.passages, store.vectors, store.manifest, denses, parts)


def from_parts(
    documents: dict[str, Document],
    passages: list[Passage],
    vectors: np.ndarray,
    manifest: dict,
    denses: list[faiss.Index],
    bm25s_: list[bm25s.BM25],
) -> IndexStore:
    """The index from its shards' dense and BM25 indexes (rows as ``split_rows`` cuts them)."""
    if len(denses) == 1:
        return IndexStore(documents, passages, vectors, denses[0], bm25s_[0], manifest)
    ranges = split_rows(len(passages), len(denses))
    manifest = {**manifest, "shards": [list(r) for r in ranges]}
    shards = tuple(
        Shard(start, stop, dense, bm25)
        for (start, stop), dense, bm25 in zip(ranges, denses, bm25s_, strict=True)
    )
    return sharded_store(documents, passages, vectors, manifest, shards, ThreadFanout(shards))


def sharded_store(
    documents: dict[str, Document],
    passages: list[Passage],
    vectors: np.ndarray,
    manifest: dict,
    shards: tuple[Shard, ...],
    fanout: Fanout,
    vocab_dict: dict[str, int] | None = None,
) -> IndexStore:
    """An index whose searches fan out over its shards (held here, or by ``fanout``'s
    workers, in which case ``vocab_dict`` is the shards' common BM25 vocabulary)."""
    dense = ShardedDense(fanout, len(passages))
    bm25 = ShardedBM25(fanout, vocab_dict if vocab_dict is not None else shards[0].bm25.vocab_dict)
    return IndexStore(documents, passages, vectors, dense, bm25, manifest, shards)


def save_index(store: IndexStore, index_dir: Path) -> Path:
    """Write a new version directory, then point CURRENT at it; returns the version dir."""
    index_dir.mkdir(parents=True, exist_ok=True)
    version = (
        index_dir / f"v-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**6}"
    )
    tmp = index_dir / f".building-{version.name}"
    tmp.mkdir()
    write_jsonl(tmp / "documents.jsonl", [asdict(d) for d in store.documents.values()])
    write_jsonl(tmp / "passages.jsonl", [asdict(p) for p in store.passages])
    np.save(tmp / "vectors.npy", store.vectors)
    for folder, shard in _shard_folders(tmp, store):
        folder.mkdir(exist_ok=True)
        faiss.write_index(shard.dense, str(folder / "dense.faiss"))
        shard.bm25.save(str(folder / "bm25"), show_progress=False)
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    store.manifest["files"] = {str(p.relative_to(tmp)): sha256_file(p) for p in files}
    store.manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    (tmp / "manifest.json").write_text(json.dumps(store.manifest, indent=2, ensure_ascii=False))
    _fsync_tree(tmp)
    tmp.rename(version)
    pointer = index_dir / ".CURRENT.tmp"
    pointer.write_text(version.name + "\n")
    os.replace(pointer, index_dir / "CURRENT")
    _prune(index_dir, keep=version.name)
    return version


def _shard_folders(version: Path, store: IndexStore) -> list[tuple[Path, Shard]]:
    """Where each shard's files live: the version folder itself for a single index."""
    if not store.shards:
        whole = Shard(0, len(store.passages), store.dense, store.bm25)
        return [(version, whole)]
    return [(version / f"shard-{i}", shard) for i, shard in enumerate(store.shards)]


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())


def _prune(index_dir: Path, keep: str) -> None:
    """Remove older versions and leftovers of interrupted builds."""
    for path in index_dir.iterdir():
        if path.is_dir() and path.name != keep and path.name.startswith(("v-", ".building-")):
            shutil.rmtree(path, ignore_errors=True)


def current_version(index_dir: Path) -> Path:
    pointer = index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexMissingError(f"no index at {index_dir}; run `rag index` to build it.")
    version = index_dir / pointer.read_text().strip()
    if not (version / "manifest.json").is_file():
        raise IndexCorruptError(f"index at {index_dir} points at a missing version; {FIX}.")
    return version


def read_manifest(index_dir: Path) -> dict:
    path = current_version(index_dir) / "manifest.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IndexCorruptError(f"{path} is damaged; {FIX}.") from None


def check_compatible(
    manifest: dict, model_id: str, chunking: ChunkingConfig, fingerprint: str | None = None
) -> None:
    """Refuse an index built by another format, model or chunking, naming the difference."""
    expected = {
        "format version": (manifest.get("format_version"), FORMAT_VERSION),
        "embedding model": (manifest.get("embedding", {}).get("model_id"), model_id),
        "chunking": (manifest.get("chunking"), chunking.to_json()),
        "analyzer": (manifest.get("analyzer"), ANALYZER_VERSION),
    }
    if fingerprint is not None:
        expected["model fingerprint"] = (manifest["embedding"].get("fingerprint"), fingerprint)
    for what, (found, wanted) in expected.items():
        if found != wanted:
            raise IndexMismatchError(
                f"the index was built with {what} {found!r}, but {wanted!r} is configured; {FIX}."
            )


def _verify_files(version: Path, manifest: dict) -> None:
    for name, digest in manifest.get("files", {}).items():
        path = version / name
        if not path.is_file() or sha256_file(path) != digest:
            raise IndexCorruptError(
                f"index file {path} is missing, truncated or altered (checksum mismatch); {FIX}."
            )


def stored_documents(index_dir: Path) -> list[Document]:
    """The articles of the current index, read on their own: a damaged vector or BM25 file
    (or an index built with other settings) must not cost the user their articles."""
    version = current_version(index_dir)
    _verify_files(
        version,
        {
            "files": {
                k: v for k, v in read_manifest(index_dir)["files"].items() if k == "documents.jsonl"
            }
        },
    )
    try:
        return [Document(**row) for row in read_jsonl(version / "documents.jsonl")]
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorruptError(f"cannot read the articles at {version} ({exc}); {FIX}.") from exc


def load_shard(folder: Path, start: int, stop: int) -> Shard:
    """One shard's indexes from its folder (the version folder for a single index)."""
    dense = tune_search(faiss.read_index(str(folder / "dense.faiss")))
    return Shard(start, stop, dense, bm25s.BM25.load(str(folder / "bm25")))


def shard_folders(version: Path, manifest: dict, n: int) -> list[tuple[Path, int, int]]:
    """(folder, start, stop) of every shard of an index version of n passages."""
    ranges = manifest.get("shards") or [(0, n)]
    if len(ranges) == 1:
        return [(version, 0, n)]
    return [(version / f"shard-{i}", start, stop) for i, (start, stop) in enumerate(ranges)]


def load_index(index_dir: Path, fanout: Callable[[list], Fanout] | None = None) -> IndexStore:
    """The current index, after checking every file against the manifest's checksums.

    The shards of a sharded index are searched in threads here, or by ``fanout`` (given
    the (folder, start, stop) of each shard, it returns the searchers: Ray actors)."""
    version = current_version(index_dir)
    manifest = read_manifest(index_dir)
    _verify_files(version, manifest)
    try:
        documents = {d["doc_id"]: Document(**d) for d in read_jsonl(version / "documents.jsonl")}
        passages = [Passage(**row) for row in read_jsonl(version / "passages.jsonl")]
        vectors = np.load(version / "vectors.npy", mmap_mode="r")  # FAISS holds its own copy
        folders = shard_folders(version, manifest, len(passages))
        if len(folders) > 1 and fanout is not None:
            vocab = json.loads((folders[0][0] / "bm25" / "vocab.index.json").read_text("utf-8"))
            return sharded_store(documents, passages, vectors, manifest, (), fanout(folders), vocab)
        shards = tuple(load_shard(*folder) for folder in folders)
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        raise IndexCorruptError(f"cannot read the index at {version} ({exc}); {FIX}.") from exc
    if len(shards) == 1:
        whole = shards[0]
        return IndexStore(documents, passages, vectors, whole.dense, whole.bm25, manifest)
    return sharded_store(documents, passages, vectors, manifest, shards, ThreadFanout(shards))
