# The project's chores. `make run` and `make test` set everything up on first use.
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
UV      := $(VENV)/bin/uv
STAMP   := $(VENV)/.installed
DEV     := $(VENV)/.installed-dev
HOST    ?= 127.0.0.1
PORT    ?= 7860

.PHONY: setup dev engine-from-source browser run test test-fast screenshots lint format eval bench load doctor clean

# The embedded model runs on llama.cpp's own server, prebuilt for x86-64-v3 (AVX2, FMA, F16C,
# BMI2; no AVX-512 and no AMX, whose kernels crash llama.cpp on some Xeons) in the xllamacpp
# wheel, a dependency like any other: nothing is compiled. `rag doctor --setup`, the last step,
# proves on this CPU that the model loads and generates.
setup: $(STAMP)

# torch first, by pip, pinned to the CPU build on this machine's disk: a plain `torch`
# requirement would otherwise pull a multi-GB CUDA build. Then the project, with only what
# `make run` uses, by uv: it fetches in parallel, which installs the 2.9 GB of packages and
# models in 24 s here against pip's 164 s. Where uv cannot reach the index (a machine whose pip
# is set up for a private mirror), pip installs the same pins with the machine's settings.
INSTALL = $(UV) pip install --python $(PY) --quiet
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip uv==0.13.9
	$(PIP) install --quiet torch==2.13.0
	$(INSTALL) -e . || $(PIP) install --quiet -e .
	$(VENV)/bin/rag doctor --setup
	touch $(STAMP)

# The tests, the linter, the benchmark and Ray (the `dev` and `cluster` extras: pytest,
# Playwright, Ray Serve), which the chat does not need: installed on the first `make test`.
dev: $(DEV)
$(DEV): $(STAMP)
	$(INSTALL) -e '.[dev,cluster]' || $(PIP) install --quiet -e '.[dev,cluster]'
	touch $(DEV)

# Opt-in, for a CPU below x86-64-v3 (rag doctor names what it lacks): llama.cpp's server
# compiled here (10-15 minutes on 2 cores) from the llama.cpp sources that llama-cpp-python
# vendors, for a named level, never for the build machine (GGML_NATIVE=OFF). Turn off in
# LLAMA_CMAKE_ARGS what the CPU lacks; then `export RAG_LLAMA_SERVER=<the path it prints>`.
LLAMA_VERSION    := 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
  -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
  -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_KEY         := $(shell printf '%s' '$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
ENGINE_DIR        := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rag-article-assistant/engines/llama-server-$(LLAMA_KEY)
SERVER_CMAKE_ARGS := -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
engine-from-source: setup
	test -x $(ENGINE_DIR)/llama-server || { \
	  echo "Compiling llama.cpp's server (10-15 minutes on 2 cores)..."; \
	  rm -rf $(ENGINE_DIR).src && mkdir -p $(ENGINE_DIR).src && \
	  $(PIP) download --quiet --no-deps --no-binary :all: -d $(ENGINE_DIR).src \
	    llama-cpp-python==$(LLAMA_VERSION) && \
	  tar -xzf $(ENGINE_DIR).src/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(ENGINE_DIR).src && \
	  cmake -S $(ENGINE_DIR).src/llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp \
	    -B $(ENGINE_DIR).src/build $(SERVER_CMAKE_ARGS) $(LLAMA_CMAKE_ARGS) >/dev/null && \
	  cmake --build $(ENGINE_DIR).src/build --target llama-server -j $$(nproc) >/dev/null && \
	  mkdir -p $(ENGINE_DIR) && cp $(ENGINE_DIR).src/build/bin/llama-server $(ENGINE_DIR)/ && \
	  rm -rf $(ENGINE_DIR).src; }
	RAG_LLAMA_SERVER=$(ENGINE_DIR)/llama-server $(VENV)/bin/rag doctor --setup
	@echo "Built. Use it with: export RAG_LLAMA_SERVER=$(ENGINE_DIR)/llama-server"

# Debian's Chromium for the browser test (Playwright drives it; no browser download), and
# axe-core from npm, which the accessibility test injects into the page.
AXE_VERSION := 4.14.1
AXE_DIR     := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rag-article-assistant/axe
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
	@test -f $(AXE_DIR)/node_modules/axe-core/axe.min.js || { \
	  command -v npm >/dev/null || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }; \
	  npm install --silent --no-audit --no-fund --prefix $(AXE_DIR) axe-core@$(AXE_VERSION); }

run: setup
	$(VENV)/bin/rag serve --host $(HOST) --port $(PORT)

test: dev browser
	$(PY) -m pytest -q -n 2 --dist loadfile

# Two workers: the fast tests wait on nothing, so the two cores halve their run. tests/e2e/
# holds only browser tests, so it is not even collected.
test-fast: dev
	$(PY) -m pytest -q -m "not slow and not e2e" -n 2 --ignore=tests/e2e

# The README's four screenshots, from the browser test's light/dark desktop and phone pages.
screenshots: dev browser
	RAG_README_SCREENSHOTS=1 $(PY) -m pytest -q tests/e2e/test_browser.py -k screenshots

lint: dev
	$(VENV)/bin/ruff check conftest.py rag ui eval bench tests
	$(VENV)/bin/ruff format --check conftest.py rag ui eval bench tests

format: dev
	$(VENV)/bin/ruff format conftest.py rag ui eval bench tests
	$(VENV)/bin/ruff check --fix conftest.py rag ui eval bench tests

eval: setup
	$(VENV)/bin/rag eval --dataset eval/dataset.jsonl --conversations eval/conversations.jsonl \
	  --out eval/results

bench: dev
	$(VENV)/bin/rag bench --out bench-results.json

# Needs `make run` in another terminal: 1, 4 and 8 concurrent clients against 127.0.0.1.
load: dev
	$(PY) -m ui.loadtest --url http://127.0.0.1:$(PORT)/ --clients 1,4,8 --rounds 3

doctor: setup
	$(VENV)/bin/rag doctor

clean:
	rm -rf $(VENV) index/CURRENT index/v-* index/.building-* eval/results .pytest_cache
