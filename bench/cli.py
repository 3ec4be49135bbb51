"""``rag bench`` and ``python -m bench``: the options, the order of the jobs, the JSON file.

``run_bench`` runs the jobs of ``bench.jobs`` one after the other, each in a fresh
process (``bench.workers``), prints the report as the figures come in (``bench.report``)
and rewrites the JSON file after each part, so an interrupted run keeps what it measured.
A part that fails is reported (``{"error": ..., "stderr": [...]}`` in its place) and the
run goes on; the command then exits with 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import bench
from bench.jobs import Job, Shared, work_article, work_build, work_compute, work_serve, work_vectors
from bench.measure import load_average, machine
from bench.report import Table, label
from bench.scale import work_scale, work_shards
from bench.workers import WorkerFailed, configure_logging, run_isolated
from rag.config.settings import Settings, resolve_settings
from rag.store.dense import EXACT_SEARCH_LIMIT

logger = logging.getLogger(__name__)

DEFAULT_SIZES = [10_000, 100_000, 1_000_000]
DEFAULT_RUNS = 3
REAL_EMBED_LIMIT = 10_000  # at most this many synthetic passages are embedded for real,
REAL_EMBED_BUDGET_S = 180  # and only as many as the measured rate embeds in 3 minutes
DEFAULT_SCALE_PASSAGES = 20_000  # embedded three times (local, Ray 1 and 2 workers)


class Runner:
    """Runs jobs in fresh processes and turns their outcome into the JSON's figures: the
    job's own, with the worker's wall time, or what failed in their place."""

    def __init__(self, workdir: Path, progress: bool):
        self.workdir, self.progress = workdir, progress

    def compute(self, job: Job) -> tuple[dict, Shared | None]:
        """The compute part's figures and the vectors the other parts share."""
        try:
            (figures, shared), wall_s = run_isolated(
                work_compute, job, "compute", self.progress, self.workdir
            )
        except WorkerFailed as exc:
            logger.error("%s", exc)
            return exc.figures, None
        return {**figures, "worker_wall_s": round(wall_s, 1)}, shared

    def figures(self, work: Callable[[Job], dict], job: Job, name: str) -> dict:
        """The figures of a job that needs the compute part's vectors."""
        if job.shared is None:
            return {"error": f"{name} not run: it needs the compute part's vectors", "stderr": []}
        try:
            figures, wall_s = run_isolated(work, job, name, self.progress, self.workdir)
        except WorkerFailed as exc:
            logger.error("%s", exc)
            return exc.figures
        return {**figures, "worker_wall_s": round(wall_s, 1)}


def affordable(compute: dict) -> int:
    """How many passages the measured embedding rate gets through in the time budget.

    >>> affordable({"embedding": {"passages_per_s": 41.8}}), affordable({"error": "..."})
    (7500, 0)
    """
    if "error" in compute:
        return 0
    rate = compute["embedding"]["passages_per_s"]
    return min(REAL_EMBED_LIMIT, int(rate * REAL_EMBED_BUDGET_S) // 100 * 100)


def write_results(out: Path, results: dict, started: float) -> None:
    """The figures so far, as indented JSON, with the run's duration and load now."""
    results["meta"]["total_s"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_average_now"] = load_average()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")


def run_bench(
    settings: Settings,
    out: Path,
    sizes: list[int],
    runs: int,
    progress: bool = True,
    *,
    embed_limit: int | None = None,
    scale_passages: int = 0,
    ray: bool = True,
) -> dict:
    """Run every part, print the report as it goes, write all figures to ``out`` (JSON).

    ``embed_limit`` caps how many synthetic passages are embedded for real; by default, as
    many as the measured embedding rate gets through in REAL_EMBED_BUDGET_S, at most
    REAL_EMBED_LIMIT. Larger corpora get generated vectors. Every corpus is also searched
    cut into 2 and 4 shards; ``scale_passages`` passages are embedded for real locally and
    on Ray with 1 and 2 workers (``bench.scale``). ``ray=False`` skips every part that
    starts Ray (the shards served by actors, the scaling), for a machine without it.
    """
    started = time.perf_counter()
    meta = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": sizes,
        "runs": runs,
        "machine": machine(),
        "exact_search_limit": EXACT_SEARCH_LIMIT,
        "ray": ray,
    }
    results: dict[str, Any] = {"meta": meta, "corpora": {}}
    table = Table()
    table.header(meta)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        runner = Runner(Path(tmp), progress)
        job = Job(settings, Path(tmp), runs, ray=ray)
        results["compute"], shared = runner.compute(job)
        table.section("compute", results["compute"])
        job = replace(job, shared=shared)
        limit = affordable(results["compute"]) if embed_limit is None else embed_limit
        meta["real_embed_limit"] = limit
        if limit:
            results["vectors"] = runner.figures(work_vectors, replace(job, size=limit), "vectors")
            table.section("vectors", results["vectors"])
        both = runner.figures(work_article, job, "article")
        for part in ("article", "llm"):
            results[part] = both.get(part, both)  # a failed worker's error goes to both
            results[part].setdefault("worker_wall_s", both.get("worker_wall_s"))
            table.section(part, results[part])
        write_results(out, results, started)
        for size in sizes:
            sized = replace(job, size=size)
            build = runner.figures(work_build, sized, f"build-{size}")
            serve = {} if "error" in build else runner.figures(work_serve, sized, f"serve-{size}")
            shards = (
                {} if "error" in build else runner.figures(work_shards, sized, f"shards-{size}")
            )
            results["corpora"][label(size)] = {"build": build, "serve": serve, "shards": shards}
            table.corpus(label(size), build, serve)
            table.shards(shards)
            shutil.rmtree(sized.index_dir, ignore_errors=True)
            write_results(out, results, started)
        if scale_passages and ray:
            scaled = replace(job, size=scale_passages)
            results["scale"] = runner.figures(work_scale, scaled, "scale")
            table.scale(results["scale"])
    table.summary(results)
    write_results(out, results, started)
    table.footer(meta["total_s"], out)
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag bench", description=(bench.__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--out", default="bench-results.json", help="JSON file for all figures")
    parser.add_argument(
        "--sizes", help="synthetic corpus sizes (default 10000,100000,1000000; '' for none)"
    )
    parser.add_argument("--runs", type=int, help=f"timing repetitions (default {DEFAULT_RUNS})")
    parser.add_argument("--quick", action="store_true", help="10k passages only, one run")
    parser.add_argument(
        "--embed-limit",
        type=int,
        help="synthetic passages embedded for real (default: what 3 minutes allow; 0: none)",
    )
    parser.add_argument("--profile", help="embedded model profile to time (default: quality)")
    parser.add_argument(
        "--scale-passages",
        type=int,
        default=DEFAULT_SCALE_PASSAGES,
        help="passages embedded for real locally and on Ray with 1 and 2 workers "
        f"(default {DEFAULT_SCALE_PASSAGES:,}; 0: skip)",
    )
    parser.add_argument(
        "--no-ray",
        action="store_true",
        help="skip the parts that start Ray (shards served by actors, --scale-passages)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from command-line options; 1 when any part failed."""
    args = build_parser().parse_args(argv)
    configure_logging(progress=True)
    sizes = (
        [int(s) for s in args.sizes.split(",") if s.strip()]
        if args.sizes is not None
        else ([10_000] if args.quick else DEFAULT_SIZES)
    )
    runs = args.runs or (1 if args.quick else DEFAULT_RUNS)
    settings = resolve_settings(profile=args.profile)
    results = run_bench(
        settings,
        Path(args.out),
        sizes,
        runs,
        embed_limit=args.embed_limit,
        scale_passages=args.scale_passages,
        ray=not args.no_ray,
    )
    failed = [k for k, v in results.items() if isinstance(v, dict) and "error" in v]
    failed += [k for k, v in results["corpora"].items() if any("error" in r for r in v.values())]
    return 1 if failed else 0
