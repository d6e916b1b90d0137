VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.carenotes-setup

.PHONY: help setup run test lint bench
help: ## Show the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/setup.sh tests/webapp/oidc/package-lock.json
	bash scripts/setup.sh --with-browser
	touch $(STAMP)

setup: $(STAMP) ## Install everything into .venv (idempotent)

run: $(STAMP) ## Set up if needed, then start the web app on http://127.0.0.1:5000
	$(BIN)/carenotes serve

lint: $(STAMP) ## ruff, ruff-format and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) ## Set up if needed, then lint and run every test
	$(MAKE) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP) ## Run the transcription and drafting benchmarks (see docs/benchmarks.md for the rest)
	$(BIN)/python benchmarks/transcribe.py
	$(BIN)/python benchmarks/draft.py
