# Yaosu: the two commands are `make up` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
PORT   ?= 8000

.PHONY: up test check bench install clean help

help:
	@echo "make up     - install into .venv and run a node with the demo city (SQLite + local files);"
	@echo "              PORT=8080 serves on another port (default 8000)"
	@echo "make test   - install into .venv, lint, type-check, check layers, run the whole test suite"
	@echo "make bench  - run the benchmarks under bench/ and print their figures"

$(STAMP): pyproject.toml setup.py src/yaosu/classification/_hmac.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: install
	$(BIN)/yaosu up --port $(PORT)

check: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

test: check
	$(BIN)/pytest -n auto -q $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
