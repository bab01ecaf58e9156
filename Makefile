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
MASTER_HOST ?=
MASTER_PORT ?= 5557
BIND_HOST ?= 127.0.0.1
WEB_HOST ?= 127.0.0.1
WEB_PORT ?= 8089
WEB_LOGIN ?=
# The browser tests drive Debian's chromium; `make test` installs it when missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help venv demo distributed test run report sandbox-up sandbox-down validate \
	lint bench clean users users-clean master worker ui chromium

help:
	@echo "make demo          run the demo scenario on the local sandbox and report"
	@echo "make distributed   WORKERS=2 [SCENARIO=demo]: master + N workers on the sandbox"
	@echo "make master        WORKERS=N [SCENARIO=...] [HOST=...] [BIND_HOST=0.0.0.0]: a master"
	@echo "                   that waits for N workers started with make worker (README: Worker fleets)"
	@echo "make worker        MASTER_HOST=<master's address> [MASTER_PORT=5557] [SCENARIO=...]"
	@echo "make ui            Locust's web UI with loadgate's tab on http://127.0.0.1:$(WEB_PORT)"
	@echo "                   [HOST=https://...] (default: a sandbox started for it) [SCENARIO=...]"
	@echo "                   [WEB_HOST=0.0.0.0 WEB_LOGIN=1 with LOADGATE_UI_PASSWORD] (README: Web UI)"
	@echo "make test          run the test suite"
	@echo "make run           SCENARIO=staged [HOST=https://...] (default: the running sandbox)"
	@echo "make report        RUN=results/<run-id>"
	@echo "make sandbox-up    start the local sandbox (sandbox-down stops it)"
	@echo "make users         COUNT=N Cognito test users, idempotent (users-clean deletes them):"
	@echo "                   the sandbox's pool, or LOADGATE_USER_POOL_ID's with AWS credentials"
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

# A fleet on several machines: the master listens on BIND_HOST (127.0.0.1 unless told;
# 0.0.0.0 for workers elsewhere) and waits for WORKERS workers started with `make worker`.
master: $(STAMP)
	$(BIN)/loadgate master --workers $(WORKERS) --scenario $(SCENARIO) --bind-host $(BIND_HOST) --master-port $(MASTER_PORT) $(if $(HOST),--host $(HOST),--sandbox)

worker: $(STAMP)
	@test -n "$(MASTER_HOST)" || { echo "usage: make worker MASTER_HOST=<master's address> [MASTER_PORT=5557] [SCENARIO=staged]"; exit 2; }
	$(BIN)/loadgate worker --master-host $(MASTER_HOST) --master-port $(MASTER_PORT) --scenario $(SCENARIO) $(if $(LOADGATE_USER_POOL_ID),,--sandbox)

# Ctrl-C stops it (and the sandbox it started); each run's report is in results/ui-*.
ui: $(STAMP)
	$(BIN)/loadgate ui --web-host $(WEB_HOST) --web-port $(WEB_PORT) $(if $(WEB_LOGIN),--web-login) $(if $(HOST),--host $(HOST)) $(if $(filter command line environment,$(origin SCENARIO)),--scenario $(SCENARIO))

# The tests that measure latency or rates closely run alone; the rest, which mostly
# wait on stages, two at a time (pytest-xdist).
test: $(STAMP) chromium
	$(BIN)/python -m pytest -m serial
	$(BIN)/python -m pytest -m "not serial" -n 2

# Quiet and idempotent: apt-get runs only when chromium is missing, and waits for a
# dpkg lock another apt-get holds.
chromium:
	@test -x $(CHROMIUM) || { echo "installing chromium for the browser tests (apt-get)"; \
		$(SUDO) apt-get -qq -o DPkg::Lock::Timeout=600 update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=600 \
			install --no-install-recommends chromium >/dev/null; }

run: $(STAMP)
	$(BIN)/loadgate run --scenario $(SCENARIO) $(if $(HOST),--host $(HOST),--sandbox)

report: $(STAMP)
	@test -n "$(RUN)" || { echo "usage: make report RUN=results/<run-id>"; exit 2; }
	$(BIN)/loadgate report $(RUN)

sandbox-up: $(STAMP)
	$(BIN)/loadgate sandbox up --users $(COUNT)

sandbox-down: $(STAMP)
	$(BIN)/loadgate sandbox down

# A real pool when LOADGATE_USER_POOL_ID is set (with AWS credentials), else the sandbox.
users: $(STAMP)
	$(BIN)/loadgate users create --count $(COUNT) $(if $(LOADGATE_USER_POOL_ID),,--sandbox)

users-clean: $(STAMP)
	$(BIN)/loadgate users delete $(if $(LOADGATE_USER_POOL_ID),,--sandbox)

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
