# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make preview [STACK=prod]   offline preview of a stack (no Pulumi CLI, no AWS credentials)
#   make test                   lint, type check and the whole test suite
PYTHON ?= python3
STACK ?= dev
BIN := .venv/bin

# uv installs .venv from uv.lock. A uv of this release on PATH is used as is; otherwise make installs it
# from PyPI into .tools/ (pyproject.toml's required-version and uv.lock pin the same release; a test checks).
UV_VERSION := 0.13.8
UV ?= $(if $(filter $(UV_VERSION),$(word 2,$(shell uv --version 2>/dev/null))),uv,.tools/bin/uv)
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
# uv installs no bytecode (pip compiled all of pulumi_aws at install), so Python compiles what it imports, once:
# into .pycache/, also where PYTHONDONTWRITEBYTECODE is set, or every test process and preview would
# recompile pulumi_aws (about 5 CPU seconds each). The source tree gets no __pycache__ either way.
export PYTHONPYCACHEPREFIX := $(CURDIR)/.pycache
unexport PYTHONDONTWRITEBYTECODE

.PHONY: preview test sync lint typecheck docs lock clean

.tools/bin/uv:
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade --target .tools uv==$(UV_VERSION)

# Runs before every target: with nothing to do uv only compares .venv with uv.lock (milliseconds), so no
# stamp file can go stale after a `pulumi install`, a branch switch or a lock change. --locked: a
# pyproject.toml change without `make lock` fails here instead of silently re-resolving.
sync: $(filter .tools/bin/uv,$(UV))
	$(UV) sync --locked --quiet

# The preview needs the program and the policy pack, not the test tools: a first `make preview` installs
# only those, and --inexact leaves the rest of .venv alone (the test tools, after a `make test`).
preview: $(filter .tools/bin/uv,$(UV))
	$(UV) sync --locked --quiet --inexact --no-default-groups --group policy
	$(BIN)/python -m tools.preview --stack $(STACK) $(ARGS)

lint: sync
	$(BIN)/ruff check .

TYPED := components tools bootstrap benchmarks policies/rules

typecheck: sync
	$(BIN)/mypy $(TYPED)

# The type check (one core, ~12 CPU s on a fresh clone) runs beside the tests rather than before them; its
# report follows theirs, and either one failing fails the target. --dist loadscope gives each test module
# to one worker, so module-scoped fixtures (a stack variant, a migrated database, gunicorn) are built once.
test: lint
	bash tools/install_test_servers.sh  # PostgreSQL + redis-server for tests/contract
	@report=$$(mktemp); $(BIN)/mypy $(TYPED) >$$report 2>&1 & typecheck=$$!; \
	$(BIN)/pytest -n 2 --dist loadscope; tests=$$?; \
	wait $$typecheck; typed=$$?; echo "mypy:"; cat $$report; rm -f $$report; \
	[ $$tests -eq 0 ] && [ $$typed -eq 0 ]

docs: sync
	$(BIN)/python -m tools.config_reference --write
	$(BIN)/python -m tools.diagram --write
	$(BIN)/python -m tools.alarms_reference --write
	$(BIN)/python -m tools.app_contract_reference --write

# After changing dependencies in pyproject.toml: re-lock, install, and re-export policies/requirements.txt.
lock: $(filter .tools/bin/uv,$(UV))
	$(UV) lock
	$(UV) sync --locked --quiet
	$(BIN)/python -m tools.requirements --write

clean:
	rm -rf .venv .tools .pycache .pytest_cache .mypy_cache .ruff_cache
