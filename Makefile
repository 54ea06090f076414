# Two commands for a new user: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## Install, migrate, seed the demo partnership and serve http://127.0.0.1:3978/sandbox
run: $(STAMP)
	$(BIN)/passerelle db upgrade
	$(BIN)/passerelle demo
	$(BIN)/passerelle serve

## Install and run the whole suite (lint, layering, types, tests)
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy bot dialogs storage adapters
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info passerelle.db passerelle.db-wal passerelle.db-shm
