# Everything runs from a local virtualenv that the first target creates; only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8123

.PHONY: install run run-execute serve test spec generate screenshots bench bench-quick clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## The main job: the fake on the embedded default storage, plus a walkthrough demo against it; Ctrl-C stops it.
run: $(STAMP)
	$(BIN)/rescale-mock serve --port $(PORT) --demo

## The same demo with the job's command really run on this machine (`--execute`: trusted code only).
run-execute: $(STAMP)
	$(BIN)/rescale-mock serve --port $(PORT) --data-dir .rescale-mock-execute --execute --demo

serve: $(STAMP)
	$(BIN)/rescale-mock serve --port $(PORT)

## The whole suite (every capability, in-process and against a served process). It starts hundreds of Python
## processes (servers, CLIs, pytest's own), so bytecode is cached even where the environment turns that off.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n auto

## Regenerate the client's operations and models from openapi/ (checked in; a test fails when they drift).
generate: $(STAMP)
	$(BIN)/python -m rescale_client.codegen

## The README's portal screenshots, taken by the browser tests (needs the OS's Chromium, as .ci/run installs it).
screenshots: $(STAMP)
	RESCALE_MOCK_SCREENSHOTS=docs $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_portal_browser.py

spec: $(STAMP)
	$(BIN)/python -m openapi_spec_validator openapi/rescale.yaml openapi/control.yaml

bench: $(STAMP)
	$(BIN)/python -m bench

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) .rescale-mock .rescale-mock-execute .pytest_cache .hypothesis schemathesis-report bench/results
