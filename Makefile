# Two commands for a newcomer: `make run` and `make test` (README, Quick start).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
# pytest workers: both cores by default
JOBS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps browser-deps run test lint migrate-check clean
# The console's front-end libraries (Leaflet, Chart.js) from npm, served from node_modules
ASSETS := api/console/assets

install: $(VENV)/.installed $(ASSETS)/node_modules/.installed

# System libraries the Python packages load at run time (ZBar for pyzbar).
system-deps:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libzbar.so.0'; then \
	  echo "Installing libzbar0 with apt-get..."; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libzbar0; \
	fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	@command -v npm >/dev/null 2>&1 || { echo "Installing nodejs and npm with apt-get..."; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nodejs npm; }

# Debian's Chromium for the browser tests (tests/e2e); they skip, saying why, without it.
# `make test` only: `make run` (a server, e.g. the post's own) has no use for a browser.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing chromium (browser tests) with apt-get..."; \
	    { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; } || \
	      echo "chromium could not be installed: the browser tests will be skipped"; \
	  else echo "no apt-get: chromium not installed, the browser tests will be skipped"; fi; \
	fi

# npm ci only when the lock file changed
$(ASSETS)/node_modules/.installed: $(ASSETS)/package-lock.json
	npm ci --prefix $(ASSETS) --no-audit --no-fund
	@touch $@

$(VENV)/.installed: pyproject.toml requirements.lock
	@$(MAKE) --no-print-directory system-deps
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@# compile the numba kernels of routing/tsptw.py into their on-disk cache (~20 s, once)
	$(BIN)/python -m routing.tsptw
	@touch $@

# Serve the product on SQLite with demo data (demo logins, password "demo"). Under a path
# prefix: `SCRIPT_NAME=/postal make run` (gunicorn takes it; docs/deployment.md).
run: install
	@export POSTAL_DEMO_MODE=true; \
	$(BIN)/flask --app api db upgrade && \
	$(BIN)/flask --app api demo load && \
	echo "" && \
	root="http://$(HOST):$(PORT)$${SCRIPT_NAME:-}" && \
	echo "  Postal last-mile backend on $$root" && \
	echo "    dispatcher console $$root/console  (dispatcher1 / demo)" && \
	echo "    public tracking  $$root/track" && \
	echo "    API docs         $$root/api/v1/docs" && \
	echo "    health           $$root/healthz" && \
	echo "  demo logins (password: demo): dispatcher1, courier1 ... courier10, admin" && \
	echo "  e.g. curl -X POST $$root/api/v1/auth/token -H 'Content-Type: application/json' -d '{\"username\":\"dispatcher1\",\"password\":\"demo\"}'" && \
	echo "" && \
	exec $(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 2 --threads 4 \
	  --access-logfile - api.wsgi:app

test: install
	@[ -x /usr/bin/chromium ] || $(MAKE) --no-print-directory browser-deps
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	@# strict for the libraries, the web layer's own flags (pyproject.toml, [tool.mypy])
	$(BIN)/mypy scanning routing api models

# The migrations must build the schema the models describe (DATABASE_URL: an empty database).
migrate-check: install
	POSTAL_DEMO_MODE=true $(BIN)/flask --app api db upgrade
	POSTAL_DEMO_MODE=true $(BIN)/flask --app api db check

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .hypothesis \
	  $(ASSETS)/node_modules test-artifacts
