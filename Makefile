# loadgate: `make demo` runs the staged demo on the local sandbox, `make test` tests.
# Both create the virtual environment (.venv) first; only python3 (3.11+) and make
# are needed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= staged
HOST ?=
RUN ?=
COUNT ?= 20
WORKERS ?= 2

.PHONY: help venv demo distributed test run report sandbox-up sandbox-down validate \
	lint bench clean

help:
	@echo "make demo          run the demo scenario on the local sandbox and report"
	@echo "make distributed   WORKERS=2 [SCENARIO=demo]: master + N workers on the sandbox"
	@echo "make test          run the test suite"
	@echo "make run           SCENARIO=staged [HOST=https://...] (default: the running sandbox)"
	@echo "make report        RUN=results/<run-id>"
	@echo "make sandbox-up    start the local sandbox (sandbox-down stops it)"
	@echo "make validate      check scenarios.yaml"
	@echo "make lint          ruff and mypy"
	@echo "make bench         benchmarks (bench/bench_*.py); figures are in README.md"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "loadgate needs Python 3.11+, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/loadgate demo

distributed: $(STAMP)
	$(BIN)/loadgate demo --workers $(WORKERS) $(if $(filter command line environment,$(origin SCENARIO)),--scenario $(SCENARIO))

test: $(STAMP)
	$(BIN)/python -m pytest

run: $(STAMP)
	$(BIN)/loadgate run --scenario $(SCENARIO) $(if $(HOST),--host $(HOST),--sandbox)

report: $(STAMP)
	@test -n "$(RUN)" || { echo "usage: make report RUN=results/<run-id>"; exit 2; }
	$(BIN)/loadgate report $(RUN)

sandbox-up: $(STAMP)
	$(BIN)/loadgate sandbox up --users $(COUNT)

sandbox-down: $(STAMP)
	$(BIN)/loadgate sandbox down

validate: $(STAMP)
	$(BIN)/loadgate validate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	@for script in bench/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit 2; \
	done

clean:
	rm -rf $(VENV) .sandbox .pytest_cache .mypy_cache .ruff_cache *.egg-info
