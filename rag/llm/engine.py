"""The embedded model's engine: llama.cpp's own HTTP server, prebuilt, run as this module.

Does: ``python -m rag.llm.engine --model M.gguf --port P ...`` starts llama.cpp's server
(the C++ one, with its parallel slots, continuous batching, slot states saved to files and
token probabilities) from the ``xllamacpp`` wheel, which ships it compiled for x86-64-v3
(AVX2, FMA, F16C, BMI2; no AVX-512, no AMX), so nothing is compiled on a user's machine. It
takes the same flags as llama.cpp's ``llama-server``, so a server built by hand for another
CPU plugs in through ``RAG_LLAMA_SERVER`` unchanged. It checks the CPU before loading the
library: a CPU below that level gets an error naming the features it lacks, not a SIGILL.
``--version`` (or a start with a missing model file) prints the engine's version and the
CPU features it was built for, as ``llama-server`` does.

Doesn't: supervise itself (``rag.llm.runtime`` starts, watches and restarts this process, so
a crash in the model never takes the app down) or speak HTTP itself (llama.cpp does).

>>> missing_features({"avx", "avx2", "fma", "f16c", "bmi2", "pni", "ssse3"})
[]
>>> missing_features({"avx", "pni", "ssse3"})
['AVX2', 'F16C', 'FMA', 'BMI2']
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import signal
import sys
from collections.abc import Iterable
from pathlib import Path

ENGINE = "xllamacpp"
# The CPU features the prebuilt engine is compiled for (llama.cpp's names -> /proc/cpuinfo's
# flags); tests/test_engine.py checks them against what the installed library reports.
REQUIRED = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
}
EXIT_CPU = 3  # the CPU lacks a required feature
EXIT_MODEL = 4  # the model file is missing
BUILD_HINT = (
    "build llama.cpp's server for this CPU (`make engine-from-source`, see docs/setup.md) and "
    "point RAG_LLAMA_SERVER at it"
)


def missing_features(flags: Iterable[str]) -> list[str]:
    """The required features (llama.cpp's names) that a CPU with these flags lacks."""
    have = set(flags)
    return [name for name, flag in REQUIRED.items() if flag not in have]


def cpu_flags() -> set[str] | None:
    """This CPU's feature flags (/proc/cpuinfo), or None where there is no such file."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    found = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    return set(found.group(1).split()) if found else set()


def version() -> str:
    """The engine's name and version, e.g. 'xllamacpp 2026.10.11549'."""
    return f"{ENGINE} {importlib.metadata.version(ENGINE)}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The ``llama-server`` flags the assistant uses (rag.llm.runtime.ModelServer.command)."""
    p = argparse.ArgumentParser(prog="python -m rag.llm.engine", description=__doc__.split("\n")[0])
    p.add_argument("--model", default="")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--threads-batch", type=int, default=0)
    p.add_argument("--ctx-size", type=int, default=4096)
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--slot-save-path", default="")
    p.add_argument("--log-verbosity", type=int, default=3)
    p.add_argument("--no-kv-unified", action="store_true")
    p.add_argument("--cont-batching", action="store_true")
    p.add_argument("--no-webui", action="store_true")
    p.add_argument("--no-warmup", action="store_true")
    p.add_argument("--version", action="store_true")
    return p.parse_args(argv)


def params(args: argparse.Namespace, xlc):
    """llama.cpp's CommonParams for these flags, as llama-server's own parser sets them."""
    p = xlc.CommonParams()
    p.model.path = args.model
    p.hostnames = [args.host]
    p.port = args.port
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads_batch or args.threads
    p.n_ctx = args.ctx_size
    p.n_parallel = args.parallel
    p.n_batch = args.batch_size
    p.kv_unified = not args.no_kv_unified
    p.cont_batching = True  # llama-server's default; --cont-batching only says it again
    p.ui = not args.no_webui
    p.warmup = not args.no_warmup
    p.verbosity = args.log_verbosity
    p.endpoint_slots = True
    if args.slot_save_path:  # a folder: llama-server's parser adds the separator too
        p.slot_save_path = os.path.join(args.slot_save_path, "")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    flags = cpu_flags()
    if flags is not None and (lacking := missing_features(flags)):
        print(
            f"error: this CPU lacks {', '.join(lacking)}, which the prebuilt llama.cpp engine "
            f"({version()}, built for x86-64-v3) needs; {BUILD_HINT}.",
            file=sys.stderr,
        )
        return EXIT_CPU
    import xllamacpp as xlc  # only now: its library holds AVX2 code

    print(f"version: {version()}", file=sys.stderr)
    print(f"system_info: {xlc.get_system_info().strip()}", file=sys.stderr, flush=True)
    if args.version:
        return 0
    if not Path(args.model).is_file():
        print(f"error: no model file at {args.model}", file=sys.stderr)
        return EXIT_MODEL
    server = xlc.Server(params(args, xlc))  # listens once the model is loaded
    print(f"engine: listening on {server.listening_address}", file=sys.stderr, flush=True)
    # The server runs on llama.cpp's own threads; this one waits for the end (SIGTERM from
    # the supervisor, or SIGKILL with its parent), and a clean stop exits 0.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
