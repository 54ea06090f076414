# Two commands for a new user: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
AXE    := .ci/axe/node_modules/.installed
# Two pytest workers: most tests wait on sockets, databases and child processes, not on a CPU.
TEST_WORKERS ?= 2

.PHONY: run test install clean playground teams-playground axe

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## Install, migrate, seed the demo partnership and serve http://127.0.0.1:3978/sandbox
## (the first run also creates the sealing key ./passerelle.key, beside the database)
run: $(STAMP)
	$(BIN)/passerelle db upgrade
	$(BIN)/passerelle demo
	$(BIN)/passerelle serve

## Install and run the whole suite (lint, layering, types, tests)
test: $(STAMP) $(AXE)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy bot dialogs storage adapters tests bench
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal

# Without npm, `make test` still runs: the accessibility test is then skipped (CI installs it).
$(AXE): .ci/axe/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix .ci/axe --no-audit --no-fund && touch $(AXE); \
	else echo "npm not found: the sandbox's accessibility test (axe-core) will be skipped"; fi

## Install axe-core pinned in .ci/axe (the sandbox's accessibility test needs it; needs npm)
axe: $(AXE)

PLAYGROUND := .ci/playground/node_modules/.installed

$(PLAYGROUND): .ci/playground/package-lock.json
	npm ci --prefix .ci/playground --no-audit --no-fund
	touch $(PLAYGROUND)

## Install the Microsoft 365 Agents Playground pinned in .ci/playground (needs Node.js and npm)
playground: $(PLAYGROUND)

## Try Passerelle as a Teams bot: run `make run` in another terminal, then open http://127.0.0.1:56150/
teams-playground: $(PLAYGROUND)
	TEAMSAPPTESTER_BROWSER=none APPLICATION_INSIGHTS_NO_STATSBEAT=1 \
	  .ci/playground/node_modules/.bin/agentsplayground \
	  -e http://127.0.0.1:3978/api/messages -c msteams --dt

clean:
	rm -rf $(VENV) build *.egg-info passerelle.db passerelle.db-wal passerelle.db-shm passerelle.key
