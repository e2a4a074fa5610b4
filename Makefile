# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config/flowhooks.toml

LOCK   := requirements.lock

.PHONY: run test test-anyhour lint typecheck pytest bench clean lock audit browser

# Installs exactly the versions in requirements.lock (`make lock` refreshes it).
$(BIN)/flowhooks: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'
	touch $@

# Resolve pyproject.toml's dependencies afresh in a throwaway venv and pin every one.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[dev]'
	echo "# pinned by \`make lock\` from pyproject.toml; installed with pip -c" > $(LOCK)
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^flowhooks' >> $(LOCK)
	rm -rf .lock-venv build flowhooks.egg-info

# Known vulnerabilities in the locked versions (PyPI's advisory data).
audit: $(BIN)/flowhooks
	$(BIN)/pip-audit --requirement $(LOCK) --no-deps --disable-pip --progress-spinner off

run: $(BIN)/flowhooks
	$(BIN)/flowhooks serve --config $(CONFIG)

lint: $(BIN)/flowhooks
	$(BIN)/ruff check flowhooks tests bench
	$(BIN)/ruff format --check flowhooks tests bench

typecheck: $(BIN)/flowhooks
	$(BIN)/mypy

# The console's browser tests drive Debian's Chromium (never a browser Playwright downloads).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium; run: sudo apt-get install -y chromium" >&2; exit 1; \
	  fi; \
	fi

pytest: $(BIN)/flowhooks browser
	$(BIN)/pytest

test: lint typecheck pytest

# The suite at three pinned moments and zones under libfaketime (not part of `make test`).
test-anyhour: $(BIN)/flowhooks
	scripts/test-anyhour

bench: $(BIN)/flowhooks
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache var
