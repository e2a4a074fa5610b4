# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config/flowhooks.toml

.PHONY: run test test-anyhour lint typecheck pytest bench clean

$(BIN)/flowhooks: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/flowhooks
	$(BIN)/flowhooks serve --config $(CONFIG)

lint: $(BIN)/flowhooks
	$(BIN)/ruff check flowhooks tests bench
	$(BIN)/ruff format --check flowhooks tests bench

typecheck: $(BIN)/flowhooks
	$(BIN)/mypy

pytest: $(BIN)/flowhooks
	$(BIN)/pytest

test: lint typecheck pytest

# The suite at three pinned moments and zones under libfaketime (not part of `make test`).
test-anyhour: $(BIN)/flowhooks
	scripts/test-anyhour

bench: $(BIN)/flowhooks
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache var
