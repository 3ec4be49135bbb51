# The project's chores. `make run` and `make test` set everything up on first use.
VENV    := .venv
PY      := $(VENV)/bin/python
PIP     := $(PY) -m pip
STAMP   := $(VENV)/.installed
HOST    ?= 127.0.0.1
PORT    ?= 7860

.PHONY: setup browser run test test-fast screenshots lint format eval bench load doctor clean

# llama.cpp is compiled for a named x86-64 level, never for the build machine's own CPU
# (GGML_NATIVE): x86-64-v3 (AVX2, FMA, F16C, BMI2; Intel Haswell / AMD Excavator and newer),
# without AVX-512 and AMX, whose kernels crash llama.cpp on some Xeons. The wheel is built
# once into a wheelhouse keyed by these flags (pip's own cache ignores CMAKE_ARGS and would
# hand back a wheel built with other flags). Override LLAMA_CMAKE_ARGS for another CPU.
LLAMA_VERSION    := 0.3.36
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
  -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
  -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_KEY        := $(shell printf '%s' '$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-12)
WHEELHOUSE       := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rag-article-assistant/wheels/llama-$(LLAMA_KEY)
LLAMA_STAMP      := $(VENV)/.llama-$(LLAMA_KEY)
# llama.cpp's own server (parallel slots, continuous batching, slot states saved to files,
# token probabilities) runs the embedded model; built from the same vendored sources with
# the same flags, statically, without its web UI.
SERVER_CMAKE_ARGS := -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
SERVER_SRC       := $(WHEELHOUSE)/server-src
SERVER_STAMP     := $(VENV)/.server-$(LLAMA_KEY)

setup: $(STAMP)

# torch first, pinned to the CPU build on this machine's disk: a plain `torch` requirement
# would otherwise pull a multi-GB CUDA build. Then the portable llama.cpp wheel, then the
# project; the last step proves that the embedded model loads and generates (`rag doctor`).
$(STAMP): pyproject.toml $(LLAMA_STAMP) $(SERVER_STAMP)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev,cluster]'
	$(VENV)/bin/rag doctor --setup
	touch $(STAMP)

$(LLAMA_STAMP):
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	test -n "$$(ls $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl 2>/dev/null)" || { \
	  echo "Compiling llama.cpp for x86-64-v3 (about 7 minutes on 2 cores)..."; \
	  rm -rf $(WHEELHOUSE).tmp $(WHEELHOUSE) && \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) wheel --quiet --no-deps --no-cache-dir \
	    --no-binary llama-cpp-python -w $(WHEELHOUSE).tmp llama-cpp-python==$(LLAMA_VERSION) && \
	  mv $(WHEELHOUSE).tmp $(WHEELHOUSE); }
	$(PIP) install --quiet --force-reinstall --no-deps $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	rm -f $(VENV)/.llama-* && touch $(LLAMA_STAMP)

$(SERVER_STAMP): $(LLAMA_STAMP)
	test -x $(WHEELHOUSE)/llama-server || { \
	  echo "Compiling llama.cpp's server for x86-64-v3 (about 8 minutes on 2 cores)..."; \
	  rm -rf $(SERVER_SRC) && mkdir -p $(SERVER_SRC) && \
	  $(PIP) download --quiet --no-deps --no-binary :all: -d $(SERVER_SRC) \
	    llama-cpp-python==$(LLAMA_VERSION) && \
	  tar -xzf $(SERVER_SRC)/llama_cpp_python-$(LLAMA_VERSION).tar.gz -C $(SERVER_SRC) && \
	  cmake -S $(SERVER_SRC)/llama_cpp_python-$(LLAMA_VERSION)/vendor/llama.cpp \
	    -B $(SERVER_SRC)/build $(SERVER_CMAKE_ARGS) $(LLAMA_CMAKE_ARGS) >/dev/null && \
	  cmake --build $(SERVER_SRC)/build --target llama-server -j $$(nproc) >/dev/null && \
	  cp $(SERVER_SRC)/build/bin/llama-server $(WHEELHOUSE)/llama-server.partial && \
	  mv $(WHEELHOUSE)/llama-server.partial $(WHEELHOUSE)/llama-server && \
	  rm -rf $(SERVER_SRC); }
	cp $(WHEELHOUSE)/llama-server $(VENV)/bin/llama-server
	rm -f $(VENV)/.server-* && touch $(SERVER_STAMP)

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

test: setup browser
	$(PY) -m pytest -q

# Two workers: the fast tests wait on nothing, so the two cores halve their run. tests/e2e/
# holds only browser tests, so it is not even collected.
test-fast: setup
	$(PY) -m pytest -q -m "not slow and not e2e" -n 2 --ignore=tests/e2e

# The README's four screenshots, from the browser test's light/dark desktop and phone pages.
screenshots: setup browser
	RAG_README_SCREENSHOTS=1 $(PY) -m pytest -q tests/e2e/test_browser.py -k screenshots

lint: setup
	$(VENV)/bin/ruff check conftest.py rag ui eval bench tests
	$(VENV)/bin/ruff format --check conftest.py rag ui eval bench tests

format: setup
	$(VENV)/bin/ruff format conftest.py rag ui eval bench tests
	$(VENV)/bin/ruff check --fix conftest.py rag ui eval bench tests

eval: setup
	$(VENV)/bin/rag eval --dataset eval/dataset.jsonl --conversations eval/conversations.jsonl \
	  --out eval/results

bench: setup
	$(VENV)/bin/rag bench --out bench-results.json

# Needs `make run` in another terminal: 1, 4 and 8 concurrent clients against 127.0.0.1.
load: setup
	$(PY) -m ui.loadtest --url http://127.0.0.1:$(PORT)/ --clients 1,4,8 --rounds 3

doctor: setup
	$(VENV)/bin/rag doctor

clean:
	rm -rf $(VENV) index/CURRENT index/v-* index/.building-* eval/results .pytest_cache
