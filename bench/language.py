"""Whether lingua's low accuracy mode names an article's language as its full mode does,
by text length: the measurement behind ``rag.text.language.LONG_TEXT``.

    python -m bench.language [--lengths 120,200] [CORPUS_DIR ...]

Cuts every ``.txt`` article of the folders (default: the shared FacQA and IDK-MRC corpora)
into slices of each length, one every 97 characters, and prints how many slices the two
modes name differently, and the load time of each mode's models.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from lingua import LanguageDetectorBuilder

from rag.text.language import detector_languages

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
STEP = 97  # characters between slice starts


def slices(texts: list[str], length: int) -> list[str]:
    """Every ``length``-character slice starting at multiples of ``STEP``.

    >>> [s[:3] for s in slices(["abcdefghij" * 30], 200)]
    ['abc', 'hij']
    """
    return [t[i : i + length] for t in texts for i in range(0, len(t) - length + 1, STEP)]


def timed_detector(low_accuracy: bool):
    """A detector over the assistant's languages with its models loaded, and the seconds."""
    builder = LanguageDetectorBuilder.from_languages(*detector_languages())
    start = time.perf_counter()
    detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()
    detector.detect_language_of("Kerajaan mengumumkan bahwa sekolah dibuka.")  # loads models
    return detector, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--lengths", default="120,200")
    args = parser.parse_args(argv)
    folders = args.folders or [
        SHARED / "facqa-valid" / "corpus",
        SHARED / "idkmrc-valid" / "corpus",
    ]
    texts = [p.read_text("utf-8") for folder in folders for p in sorted(folder.glob("*.txt"))]
    if not texts:
        raise SystemExit(f"no .txt articles in {', '.join(map(str, folders))}")
    fast, fast_s = timed_detector(low_accuracy=True)  # first: the full mode's models include
    full, full_s = timed_detector(low_accuracy=False)  # the trigrams, which lingua shares
    result = {"articles": len(texts), "load_s": {"full": round(full_s, 2), "low": round(fast_s, 2)}}
    for length in (int(n) for n in args.lengths.split(",")):
        cut = slices(texts, length)
        differ = sum(full.detect_language_of(s) != fast.detect_language_of(s) for s in cut)
        result[f"{length}_chars"] = {"slices": len(cut), "differ": differ}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
