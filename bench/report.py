"""The benchmark's printed report: one block per part as its figures come in, then a summary.

This is the command's output and goes to standard output; progress and failures of the
workers go to standard error. Every figure printed is also in the JSON file.
"""

from __future__ import annotations

import sys


def label(size: int) -> str:
    """A corpus size as the report and the JSON name it.

    >>> label(10_000), label(1_000_000), label(2500)
    ('10k', '1M', '2500')
    """
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


def latency(s: dict | None) -> str:
    """A latency summary as 'p50/p95' ms.

    >>> latency({"p50": 1.234, "p95": 5.0, "n": 3}), latency(None)
    ('1.23/5.00', '-')
    """
    return "-" if not s else f"{s['p50']:.2f}/{s['p95']:.2f}"


def size_mb(x: float) -> str:
    """A size in MB, readably.

    >>> size_mb(0.05), size_mb(12.3), size_mb(2048)
    ('51 KB', '12 MB', '2.00 GB')
    """
    if x < 1:
        return f"{x * 1024:.0f} KB"
    return f"{x / 1024:.2f} GB" if x >= 1024 else f"{x:.0f} MB"


def _failure(r: dict) -> str:
    return f"FAILED: {r['error']}\n  " + "\n  ".join(r.get("stderr", []))


class Table:
    """Prints the figures as they come in, one block per part, then a summary table."""

    def header(self, meta: dict) -> None:
        m = meta["machine"]
        print(
            f"rag bench: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; load average "
            f"{m['load_average_at_start'][0]} at start (a shared machine: read medians)"
        )
        print(
            f"corpora {', '.join(label(s) for s in meta['sizes'])}; {meta['runs']} run(s) "
            "per timing",
            flush=True,
        )

    def section(self, part: str, r: dict) -> None:
        print(f"\n== {part} " + "=" * (76 - len(part)), flush=True)
        if "error" in r:
            print(f"  {_failure(r)}", flush=True)
            return
        getattr(self, "_" + part)(r)
        sys.stdout.flush()

    def _compute(self, r: dict) -> None:
        m, e = r["matmul"], r["embedding"]
        print(
            f"  matmul {m['n']}x{m['n']} float32, torch, 2 threads:  peak "
            f"{m['peak_gflops']} GFLOP/s, median {m['median_gflops_before_after'][0]} before "
            f"and {m['median_gflops_before_after'][1]} after the embedding runs"
        )
        print(
            f"  embedding passages:  {e['passages_per_s']} passages/s, {e['tokens_per_s']:.0f} "
            f"tokens/s (mean {e['mean_tokens']} tokens), median of {e['runs']} runs"
        )
        print(f"  model arithmetic:    {e['mflop_per_token']} MFLOP/token = {e['flops_formula']}")
        print(
            f"  achieved:            {e['achieved_gflops']} GFLOP/s useful "
            f"({e['achieved_gflops_with_padding']} with padding) = "
            f"{e['fraction_of_matmul_peak']:.0%} of the matmul peak"
        )
        print(
            f"  query embedding:     {latency(r['query_embedding_ms'])} ms p50/p95 on 2 torch "
            f"threads (the app's default), {latency(r['query_embedding_1_thread_ms'])} on 1"
        )

    def _vectors(self, r: dict) -> None:
        print(
            f"  {r['passages']:,} synthetic passages embedded for real in {r['embed_s']} s "
            f"({r['passages_per_s']} passages/s); corpora up to that size use them, larger "
            "ones generated vectors"
        )
        print(
            f"  mean cosine of real and generated vectors of the same passages: "
            f"{r['mean_cosine_real_vs_generated']}"
        )
        curves = r["recall_at_10_vs_nprobe"]
        real, generated = curves["real_vectors"], curves["generated_vectors"]
        probes = [k for k in real if k != "index"]
        print(f"  recall@10 of {real['index'].split()[0]} for the real questions, by nprobe:")
        print("    nprobe     " + "".join(f"{k:>8}" for k in probes))
        for name, curve in (("real", real), ("generated", generated)):
            print(f"    {name:<11}" + "".join(f"{curve[k]:>8.3f}" for k in probes))

    def _llm(self, r: dict) -> None:
        llm, ask = r["llm"], r["ask"]
        print(
            f"  {llm['model']} in its own process: started in {llm['load_s']} s; prompt "
            f"~{llm['prompt_tokens']} tokens, {llm['threads']} threads"
        )
        print(
            f"  first token {latency(llm['ttft_cold_ms'])} ms cold, "
            f"{latency(llm['ttft_prefix_cached_ms'])} prefix cached; "
            f"{llm['prompt_tokens_per_s']} prompt, {llm['decode_tokens_per_s']} decoded tokens/s"
        )
        if "error" in ask:
            print(f"  ask: failed: {ask['error']}")
            return
        stages = ", ".join(f"{k} {v['p50']:.0f}" for k, v in ask["stages_ms"].items())
        print(
            f"  {ask['via']} ({ask['profile']} profile) after a {ask['warm_up_s']} s "
            f"warm-up, {ask['questions']} questions: {latency(ask['total_ms'])} ms end to "
            f"end (p50 by stage: {stages} ms); "
            f"the first question {ask['first_question_ms']:.0f} ms"
        )
        print(f"  {ask['via']} first token: {latency(ask['first_token_ms'])} ms")

    def _article(self, r: dict) -> None:
        lat = r["retrieval_ms"]
        print(
            f"  {r['passages']} passages, {r['dense_index']}: built in {r['build_s']} s "
            f"(embedding included), {size_mb(r['disk_mb']['total'])} on disk, peak RSS "
            f"{size_mb(r['build_peak_rss_mb'])}"
        )
        print(
            f"  retrieval ms p50/p95: dense {latency(lat['dense'])}, bm25 "
            f"{latency(lat['bm25'])}, fused {latency(lat['fused'])}; search incl. query "
            f"embedding {latency(r['search_with_query_embedding_ms'])}"
        )

    def corpus(self, name: str, build: dict, serve: dict) -> None:
        vectors = build.get("vectors", "")
        print(f"\n== corpus {name} ({vectors}) " + "=" * max(0, 60 - len(name) - len(vectors)))
        for step, r in (("build", build), ("serve", serve)):
            if "error" in r:
                print(f"  {step} {_failure(r)}")
                return
        t, lat = build["timings_s"], serve["retrieval_ms"]
        extra = (
            f", {build['build_passages_per_s_with_embedding']} passages/s with embedding"
            if "build_passages_per_s_with_embedding" in build
            else ""
        )
        print(
            f"  build: {build['index_passages_per_s']:,} passages/s for BM25 + dense{extra} "
            f"(bm25 {t['bm25_s']} s, dense {t['dense_s']} s, {build['dense_index']})"
        )
        print(
            f"         peak RSS {size_mb(build['build_peak_rss_mb'])} (process started at "
            f"{size_mb(build['baseline_rss_mb'])}); {size_mb(build['disk_mb']['total'])} on "
            f"disk; vocabulary {build['vocabulary']:,}"
        )
        print(
            f"  serve: load {serve['load_s']} s, RSS {size_mb(serve['loaded_rss_mb'])}; ms "
            f"p50/p95 dense {latency(lat['dense'])}, bm25 {latency(lat['bm25'])}, fused "
            f"{latency(lat['fused'])}, exact {latency(serve['exact_search_ms'])}"
        )
        rec = build["recall_at_10"]
        print(
            f"  recall@10 vs exact: {rec['real_questions']} real questions, "
            f"{rec['generated_queries']} generated queries"
        )
        b = serve["bm25_breakdown_ms"]
        print(
            f"  bm25 parts (median ms): analyze {b['analyze']}, bm25s {b.get('bm25s_retrieve')}, "
            f"language {b['language']}; {b['postings_per_query']:,} postings/query"
        )
        sys.stdout.flush()

    def shards(self, r: dict) -> None:
        if not r:
            return
        if "error" in r:
            print(f"  shards {_failure(r)}")
            return
        cells = [
            f"{count}: fused {latency(r[count]['retrieval_ms']['fused'])} ms, same top 10 "
            f"{r[count]['same_top10_as_single']}, dense recall@10 "
            f"{r[count]['dense_recall_at_10_vs_exact']}"
            for count in ("1", "2", "4")
        ]
        print("  shards (threads): " + "; ".join(cells))
        ray = [
            f"{n}: fused {latency(r[n]['ray_actors_retrieval_ms']['fused'])} ms"
            for n in "24"
            if "ray_actors_retrieval_ms" in r[n]
        ]
        print("  shards (Ray actors): " + ("; ".join(ray) or "not run (--no-ray)"))
        sys.stdout.flush()

    def scale(self, r: dict) -> None:
        print("\n== scale-out: real embedding " + "=" * 51)
        if "error" in r:
            print(f"  {_failure(r)}")
            return
        print(
            f"  {r['passages']:,} passages: local {r['local']['passages_per_s']} passages/s; "
            f"Ray 1 worker {r['ray_1_workers']['passages_per_s']}, 2 workers "
            f"{r['ray_2_workers']['passages_per_s']} (actors started and models loaded "
            f"included; {r['cpus']} CPUs)"
        )
        ratios = r["ratios"]
        print(
            f"  ratios: Ray 1 worker / local {ratios['ray_1_worker_vs_local']}, Ray 2 workers "
            f"/ local {ratios['ray_2_workers_vs_local']}, 2 workers / 1 "
            f"{ratios['ray_2_workers_vs_1']}; largest difference from the local vectors "
            f"{r['ray_2_workers']['max_abs_difference_from_local']:.1e}"
        )
        sys.stdout.flush()

    def summary(self, results: dict) -> None:
        print("\n== summary " + "=" * 69)
        print(
            f"  {'corpus':<8}{'passages':>10}  {'vectors':<10}{'build p/s':>10}"
            f"{'peak RSS':>10}{'disk':>10}  {'fused p50/p95 ms':>17}  {'recall@10':>9}"
        )
        rows = [("article", results.get("article", {}), None)]
        rows += [(k, v["build"], v["serve"]) for k, v in results["corpora"].items()]
        for name, build, serve in rows:
            if not build or "error" in build or (serve is not None and "error" in serve):
                print(f"  {name:<8} failed")
                continue
            rate = build.get("build_passages_per_s_with_embedding") or build["index_passages_per_s"]
            fused = (serve or build)["retrieval_ms"]["fused"]
            recall = build.get("recall_at_10", {}).get("real_questions", 1.0)
            print(
                f"  {name:<8}{build['passages']:>10,}  {build['vectors'].split(',')[0]:<10}"
                f"{rate:>10,.0f}{size_mb(build['build_peak_rss_mb']):>10}"
                f"{size_mb(build['disk_mb']['total']):>10}  {latency(fused):>17}  {recall:>9}"
            )

    def footer(self, total_s: float, out: object) -> None:
        print(f"\nTotal {total_s / 60:.1f} min; all figures in {out}")
