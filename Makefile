# Two commands a new team member needs: `make up` (the stack on http://127.0.0.1:8000)
# and `make test`. Everything else they need is installed by these targets.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.PHONY: help install up test lint bench faults clean clean-all

VENV := .venv
# uv from PATH, else the one pip installs into this Python (its scripts dir may not be on PATH).
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: ## create .venv with every package and dev tool (uv; uv.lock pins versions)
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet uv || \
		python3 -m pip install --quiet --user --break-system-packages uv
	@# --compile-bytecode: this machine sets PYTHONDONTWRITEBYTECODE, and without .pyc
	@# files every `pitwall` run compiles its imports from source (~0.5 s of start-up).
	@# Building pitwall-common compiles the Cython decode kernels (gcc, ~15 s, only when
	@# a .pyx, setup.py or pyproject.toml changed: tool.uv.cache-keys).
	@if [ -f uv.lock ]; then $(UV) sync --frozen --compile-bytecode -q; else $(UV) sync --compile-bytecode -q; fi
	@$(VENV)/bin/python -m compileall -q libs/*/src services/*/src src >/dev/null
	@$(VENV)/bin/python -c "import pitwall.common.mcapread._kernels" 2>/dev/null || \
		{ echo "the compiled MCAP kernels are missing: is a C compiler (gcc) installed?" >&2; exit 1; }

up: install ## run the whole stack locally; Ctrl-C stops it (data stays in .pitwall/)
	./scripts/ensure-restic.sh
	$(VENV)/bin/pitwall dev up

test: install ## run every test; the fixtures start the servers they need
	./scripts/ensure-chromium.sh && ./scripts/ensure-sshd.sh && ./scripts/ensure-restic.sh && ./scripts/ensure-octave.sh && $(VENV)/bin/pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: install ## ruff on everything, mypy on libs, services and the CLI, import rules (import-linter), pip-audit
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy libs/*/src services/*/src src
	@# The contracts are in pyproject.toml [tool.importlinter]: services independent, libraries
	@# import no service or CLI, the CLI no service, query_api's routers not each other.
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/python scripts/audit-deps.py

.PHONY: load
load: install ## 20 API users on the real stack for 2 min (~4 min; LOAD_ARGS="--users 40 --run-time 300"): the table
	$(VENV)/bin/python bench/load/run.py $(LOAD_ARGS)

.PHONY: fuzz
FUZZ_SECONDS ?= 120
fuzz: install ## fuzz the MCAP reader, wire decoder and ingest/convert path (atheris; FUZZ_SECONDS=120 each, ~7 min)
	$(VENV)/bin/python tests/fuzz/run.py --seconds $(FUZZ_SECONDS)

bench: install ## measure throughput (synth, decode, convert, ingest, api, station, backup)
	./scripts/ensure-sshd.sh && ./scripts/ensure-restic.sh
	$(VENV)/bin/python bench/run.py

faults: install ## fault campaign on a private stack (~12 min; FAULTS_ARGS=--quick ~5): the matrix, 0 expected
	./scripts/ensure-rabbitmq.sh
	$(VENV)/bin/python -m tests.faults $(FAULTS_ARGS)

clean: ## remove caches and build output (keeps .venv and the dev stack's data)
	rm -rf .pytest_cache .mypy_cache .ruff_cache bench/out build dist
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +

clean-all: clean ## also remove .venv and the dev stack's data in .pitwall/
	rm -rf $(VENV) .pitwall
