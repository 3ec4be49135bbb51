"""The rag command: JSON contract, and one-line errors with exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.cli import build_parser, main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", ""], "empty"),
        (["search", "   \t "], "empty"),
        (["search", "x" * 2001], "2,000"),
        (["search", "🙂🙂🙂"], "no words"),
        (["ask", "\x00\x07"], "empty"),
        (["index", "/nonexistent/article.txt"], "no such file"),
        (["search", "Alibaba", "--k", "0"], "out of range"),
        (["ask", "Alibaba", "--backend", "nope"], "is unknown; use llamacpp or openai"),
        (["index", "--engine", "nope"], "is unknown; use local or ray"),
        (["index", "--shards", "0"], "shards=0 is out of range"),
        (["index", "--engine", "ray", "--address", "127.0.0.1:1"], "cannot reach the Ray"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, "--index-dir", str(tmp_path / "index"), *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe\x00b\x00i\x00n", "binary"),
        ("kafé".encode("latin-1"), "UTF-8"),
        (b"", "empty"),
        (b"(Baca juga: X)\n", "no article text"),
    ],
)
def test_bad_article_files_are_refused(capsys, tmp_path, content, message):
    path = tmp_path / "article.txt"
    path.write_bytes(content)
    code, _, err = run(capsys, "--index-dir", str(tmp_path / "index"), "index", str(path))
    assert code == 2 and message in err
    assert not (tmp_path / "index").exists()


def test_errors_from_a_real_process_have_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "rag.cli", "--index-dir", str(tmp_path), "search", ""],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "error: the question is empty; type a question about the article."
    )


@pytest.mark.slow
def test_search_json_contract(capsys, pipeline, index_dir, article):
    code, out, _ = run(
        capsys, "--index-dir", str(index_dir), "search", "Siapa Rudiantara?", "--json", "--k", "3"
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"question", "passages", "timings_ms"}
    assert len(data["passages"]) == 3
    for p in data["passages"]:
        assert {"rank", "id", "doc_id", "start", "end", "text", "score"} <= set(p)
        assert article.text[p["start"] : p["end"]] == p["text"]


def test_bench_options_reach_the_benchmark(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--help"])
    assert exit_.value.code == 0
    assert "--quick" in capsys.readouterr().out


def test_the_users_commands_register_themselves():
    """serve, eval and bench live in ui, eval and bench; they reach `rag` as entry points."""
    commands = build_parser().commands
    assert {"serve", "eval", "bench"} <= set(commands)
    assert commands["bench"].get_default("passthrough")
