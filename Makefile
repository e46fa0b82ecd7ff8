# Everything the project needs is installed by these targets on a fresh
# Debian 12 / Python 3.11 machine (root, PyPI and Debian registries only).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo benchmark clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml Makefile
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[tests]'
	@touch $@

test: install
	$(BIN)/python -m pytest

# The main job on bundled example inputs (grows with each stage of the product).
demo: install
	$(BIN)/python examples/make_example_structures.py examples/structures
	$(BIN)/aiida-perovskite inspect examples/structures

benchmark: install
	$(BIN)/python benchmarks/inspect_dj_dft.py

clean:
	rm -rf $(VENV) build *.egg-info
