# The two commands: `make run` (start everything with the embedded defaults) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SANDBOX_PORT ?= 8081
# Loopback unless asked: any other address turns the development defaults off (real secrets needed).
HOST ?= 127.0.0.1
export REDIS_URL ?= redis://localhost:6379/0

.PHONY: run test schema lint format bench sandbox clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@# The `syncapi` command; setuptools' build warnings only shown when the install fails.
	$(BIN)/pip install --quiet --no-deps --editable . >$(VENV)/editable-install.log 2>&1 || { cat $(VENV)/editable-install.log; exit 1; }
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@# The `syncapi` command; setuptools' build warnings only shown when the install fails.
	$(BIN)/pip install --quiet --no-deps --editable . >$(VENV)/editable-install.log 2>&1 || { cat $(VENV)/editable-install.log; exit 1; }
	touch $@ $(VENV)/.installed-runtime

## run: start web, worker, cron and the Magento sandbox on this machine; Ctrl-C stops them all
run: $(VENV)/.installed-runtime
	@scripts/ensure-redis.sh
	@SYNCAPI_ENV=development HOST=$(HOST) PORT=$(PORT) SANDBOX_PORT=$(SANDBOX_PORT) scripts/run-dev.sh

## schema: fetch Adobe's Magento 2.4.8 admin REST schema into schema/ so the sandbox and tests validate bodies
schema: $(VENV)/.installed-dev
	@$(BIN)/python -m sandbox.fetch_schema

## test: install runtime and test dependencies, make sure Redis and PostgreSQL answer, run the whole suite
test: $(VENV)/.installed-dev
	@scripts/ensure-redis.sh
	@scripts/ensure-postgres.sh || { [ "$$CI" = true ] && exit 1; echo "PostgreSQL tests will be skipped"; }
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider tests/test_house.py::test_no_import_cycles

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) instance/*.db instance/make-run.env .pytest_cache
