# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/briefing.yaml
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: run test lint serve clean chromium screenshot
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

## Install, ingest the bundled sample inbox and write a digest; prints its path.
run: $(VENV)/.installed
	$(BIN)/briefing run --config $(CONFIG)

## Serve the scheduled deployments (and a local Prefect server with its UI) until stopped.
serve: $(VENV)/.installed
	$(BIN)/briefing serve --config $(CONFIG)

## Debian's chromium for tests/test_browser.py (the test skips itself if this fails, e.g. offline), and a
## Chinese font when fontconfig has none (Cyrillic comes with DejaVu): WenQuanYi Micro Hei, 1.6 MB download,
## 5 MB installed (Noto CJK is 57 MB / 91 MB). Without one the test fails: Chinese would render as tofu boxes.
CJK_FONT_PACKAGE ?= fonts-wqy-microhei
chromium:
	@command -v chromium >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium; } || \
	  echo "chromium not installed: tests/test_browser.py will be skipped"
	@[ -n "$$(fc-list :lang=zh family 2>/dev/null)" ] || \
	  $(SUDO) apt-get install -y -qq --no-install-recommends $(CJK_FONT_PACKAGE) || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends $(CJK_FONT_PACKAGE); } || \
	  echo "no Chinese font installed: tests/test_browser.py will fail its glyph check"

## Install and run the test suite: TEST_WORKERS pytest-xdist workers (CI's machine has 2 cores), each file whole
## on one worker (its module fixtures made once), the longest files first (tests/conftest.py: LONGEST_FIRST, kept
## in that order by --no-loadscope-reorder). Each worker has its own Prefect server and PostgreSQL. TEST_WORKERS=0:
## one process, as plain `pytest`.
TEST_WORKERS ?= 2
test: $(VENV)/.installed chromium
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	  --durations=20  # the slowest tests, for keeping CI under 12 minutes

## Lint (ruff) and type-check (mypy: strict on briefing/, bodies checked in flows/); both read pyproject.toml.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

## Retake docs/digest-sample.png.
screenshot: $(VENV)/.installed chromium
	$(BIN)/python tests/test_browser.py docs/digest-sample.png

clean:
	rm -rf $(VENV) .briefing digests .pytest_cache .mypy_cache .ruff_cache
