# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make preview [STACK=prod]   offline preview of a stack (no Pulumi CLI, no AWS credentials)
#   make test                   lint, type check and the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STACK ?= dev

.PHONY: preview test lint typecheck docs clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

preview: $(BIN)/.installed
	$(BIN)/python -m tools.preview --stack $(STACK) $(ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy components tools bootstrap benchmarks policies/rules

test: lint typecheck
	bash tools/install_test_servers.sh  # PostgreSQL + redis-server for tests/contract
	$(BIN)/pytest -n 2

docs: $(BIN)/.installed
	$(BIN)/python -m tools.config_reference --write
	$(BIN)/python -m tools.diagram --write
	$(BIN)/python -m tools.alarms_reference --write
	$(BIN)/python -m tools.app_contract_reference --write

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
