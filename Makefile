# The project's chores. `make run` and `make test` set everything up on first use.
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 7860

.PHONY: setup browser run test test-fast lint format eval bench load clean

setup: $(STAMP)

# torch first, pinned to the CPU build on this machine's disk: a plain `torch` requirement
# would otherwise pull a multi-GB CUDA build. llama-cpp-python compiles once (~7 min).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's Chromium for the browser test (Playwright drives it; no browser download).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

run: setup
	$(VENV)/bin/rag serve --host $(HOST) --port $(PORT)

test: setup browser
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not e2e"

lint: setup
	$(VENV)/bin/ruff check rag ui eval tests
	$(VENV)/bin/ruff format --check rag ui eval tests

format: setup
	$(VENV)/bin/ruff format rag ui eval tests
	$(VENV)/bin/ruff check --fix rag ui eval tests

eval: setup
	$(VENV)/bin/rag eval --dataset eval/dataset.jsonl --out eval/results

bench: setup
	$(VENV)/bin/rag bench --out bench-results.json

# Needs `make run` in another terminal: 8 concurrent clients against 127.0.0.1.
load: setup
	$(PY) -m ui.load --url http://127.0.0.1:$(PORT)/ --clients 8 --rounds 3

clean:
	rm -rf $(VENV) index/CURRENT index/v-* index/.building-* eval/results .pytest_cache
