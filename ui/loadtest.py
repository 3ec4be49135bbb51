"""Load test: drive a running app's ``ask`` API with concurrent clients.

    python -m ui.loadtest --url http://127.0.0.1:7860/ --clients 1,4,8 --rounds 3

First asks every question once, alone, for the reference answers; then, for each client
count, that many threads ask the same questions ``--rounds`` times over, all at once.
Reports errors, answers that differ from the single-client ones (and of those, how many
rest on other grounds: another refusal or other cited spans), latency p50/p95 and answers
per second. Requests never mix, but an answer can differ in wording: the model
decodes concurrent questions together in one batch, and the rounding of a batched step can
tip a near-tie of greedy decoding. Only errors fail the run. Only loopback
addresses are accepted: this is a tool for one's own machine. Requests are bounded
(questions x rounds) and each has a timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from gradio_client import Client

from eval.stats import percentile
from ui.serving import is_loopback

QUESTIONS = [
    "Produk apa saja yang akan dipasarkan lewat Alibaba?",
    "Kapan kelima produk mulai dipasarkan di Tiongkok?",
    "Siapa Menteri Koordinator Bidang Perekonomian?",
    "Berapa pengusaha digital yang akan diciptakan setiap tahun?",
    "Who is the Minister of Communication mentioned in the article?",
    "How many programmers does the Kominfo program aim for?",
    "Where did Jack Ma meet the ministers?",
    "How old is Jack Ma?",
]


def ask(client: Client, question: str) -> tuple[dict, float]:
    t0 = time.perf_counter()
    answer = client.predict(question, "auto", 4, api_name="/ask")
    return answer, (time.perf_counter() - t0) * 1000


def comparable(answer: dict) -> str:
    """What must not change under load: the answer and its citations."""
    return json.dumps([answer["answer"], answer["abstained"], answer["citations"]])


def grounds(comparable_answer: str) -> list:
    """Of a ``comparable`` answer, what it rests on: refused or not, and the cited spans.
    An answer worded otherwise on these same grounds is a near-tie of greedy decoding that a
    batch tipped; other grounds are another answer.

    >>> grounds(json.dumps(["Five [1].", False, [{"passage_id": "a#1", "start": 0, "end": 9}]]))
    [False, [['a#1', 0, 9]]]
    """
    _, abstained, citations = json.loads(comparable_answer)
    return [abstained, [[c["passage_id"], c["start"], c["end"]] for c in citations]]


def references(url: str) -> dict[str, str]:
    """Every question asked once, alone: what each answer must stay under load."""
    host = urlparse(url).hostname or ""
    if not is_loopback(host):
        raise SystemExit(f"refusing to load {host!r}: only loopback addresses are allowed.")
    single = Client(url, verbose=False)
    return {q: comparable(ask(single, q)[0]) for q in QUESTIONS}


def run(url: str, clients: int, rounds: int, reference: dict[str, str] | None = None) -> dict:
    reference = reference or references(url)
    pool = [Client(url, verbose=False) for _ in range(clients)]
    jobs = [(pool[i % clients], q) for i, q in enumerate(QUESTIONS * rounds)]
    errors, differing, latencies, answers = [], [], [], []

    def work(job: tuple[Client, str]) -> None:
        client, question = job
        try:
            answer, ms = ask(client, question)
        except Exception as exc:  # every failure is counted and reported, not raised
            errors.append(f"{question}: {exc}")
            return
        latencies.append(ms)
        answers.append(answer)
        if (got := comparable(answer)) != reference[question]:
            differing.append({"question": question, "reference": reference[question], "got": got})

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as executor:
        list(executor.map(work, jobs))
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "requests": len(jobs),
        "errors": len(errors),
        "differing_answers": len(differing),
        "differing_grounds": sum(grounds(d["got"]) != grounds(d["reference"]) for d in differing),
        "p50_ms": round(percentile(latencies, 50)),
        "p95_ms": round(percentile(latencies, 95)),
        "throughput_per_s": round(len(jobs) / wall, 2),
        "error_samples": errors[:3],
        "differing_samples": differing[:3],
        "answers": answers,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860/")
    parser.add_argument("--clients", default="1,4,8", help="client counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    reference = references(args.url)
    errors = 0
    for clients in [int(n) for n in args.clients.split(",")]:
        result = run(args.url, clients, args.rounds, reference)
        errors += result["errors"]
        print(json.dumps({k: v for k, v in result.items() if k != "answers"}), flush=True)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
