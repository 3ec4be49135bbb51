"""Measure how fast and how big the assistant is on this machine: the figures behind `make bench`.

What it measures, each part in a fresh process so that memory peaks never mix
(``bench.jobs``; run by ``rag bench`` or ``python -m bench``, see ``bench.cli``):

- compute: a float32 matmul peak (torch, 2 threads) as the machine's reference; the
  embedder's achieved tokens/s and GFLOP/s against its arithmetic per token; the latency
  of embedding one question (``bench.measure``).
- vectors: synthetic passages embedded for real, as many as fit a time budget, and the
  FAISS index's recall on them against vectors generated for the same passages.
- article: the production pipeline (``rag.factory.build_pipeline``) indexing the bundled
  article in a temp dir (build time, peak RSS, size, retrieval latency); then its language
  model backend in its supervised process (time to first token with a cold and a
  prefix-cached prompt, prompt and decoding tokens/s), and the pipeline's answers
  (``ask_stream``: end to end and to the first token) (``bench.llm``).
- one synthetic corpus per size (``bench.synthetic``): index build throughput, peak RSS,
  size on disk (via ``rag.store.index.save_index``); then, in another fresh process that loads
  it with ``rag.store.index.load_index``: load time, RSS, retrieval latency (dense, BM25, fused,
  and exact search for comparison) and recall@10 of the FAISS index against exact search
  (``bench.retrieval``).

Synthetic corpora recombine the bundled article's sentences into passages, so BM25 sees a
text-like, growing vocabulary. As many passages as the measured embedding rate gets
through in three minutes (at most 10k) are embedded for real, and the corpora that small
use them; above, each passage's vector is *generated* from its sentences' real vectors
plus noise calibrated on the really embedded ones.

What it does not measure: answer quality (that is ``rag eval``), concurrent users, cold
disk caches (index files were just written), anything on a GPU. Generated vectors come
from one article's two dozen sentences, so they cluster more than a news archive would;
the vectors part compares the FAISS index's recall on real and generated vectors to show
how much that matters. Figures are printed (``bench.report``) and written to JSON, never
asserted: the machine is shared, so quote medians and ratios.
"""
