# Two commands: `make demo` and `make test`. Everything else here serves them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format lock bench clean

# The suite on both cores (pytest-xdist); `make test PYTEST_ARGS=` runs it in one process.
PYTEST_ARGS ?= -n 2

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

## Set everything up and run Remit on SQLite with the sandbox gateway and a worker.
demo: $(STAMP)
	$(BIN)/remit demo $(DEMO_ARGS)

## Set everything up and run the whole suite (lint, unit, integration, browser).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Re-pin the dependencies after editing requirements*.in.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile -q --strip-extras --no-header --annotation-style=line -o requirements.txt requirements.in
	$(BIN)/pip-compile -q --strip-extras --no-header --annotation-style=line -o requirements-dev.txt requirements-dev.in
	# Keep the lock files free of this machine's package-index settings.
	sed -i '/^--/d' requirements.txt requirements-dev.txt
	sed -i '1i # Pinned by pip-compile from requirements.in (make lock). Install: pip install -r requirements.txt' requirements.txt
	sed -i '1i # Pinned by pip-compile from requirements-dev.in (make lock).' requirements-dev.txt

clean:
	rm -rf $(VENV) var .pytest_cache
