# The two commands: `make run` and `make test`. Both build .venv from scratch when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU torch first, from the local wheel where there is one; otherwise pip pulls a multi-GB CUDA build.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install system kb clean

install: $(STAMP)

# Speech for the audio tests (espeak-ng speaks, sox joins clips). Installed when missing and we can.
system:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng sox >/dev/null; \
	  else echo "Install espeak-ng and sox for the audio tests (e.g. sudo apt-get install espeak-ng sox)"; fi; }

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The default knowledge base: the samples in transcripts/, added once (re-adding is a no-op).
kb: $(STAMP)
	$(BIN)/podkb add transcripts/

run: kb
	$(BIN)/podkb episodes
	$(BIN)/podkb search "how to avoid burnout" -k 3

test: $(STAMP) system
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
