# knnoise — every target bootstraps .venv itself (created, or refreshed when pyproject.toml changes).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: book test bench notebooks lint clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -e '.[book,test]'
	touch $(STAMP)

book: $(STAMP)
	$(PY) -m knnoise.book --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m benchmarks

notebooks: $(STAMP)
	$(VENV)/bin/jupytext --sync notebooks/*.py

lint: $(STAMP)
	$(VENV)/bin/ruff check knnoise tests benchmarks notebooks

clean:
	rm -rf _build book/executed
