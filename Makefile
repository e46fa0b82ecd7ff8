# Everything the project needs is installed by these targets on a fresh
# Debian 12 / Python 3.11 machine (root, PyPI and Debian registries only).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Materials the demo simulates at once (daemon workers too): one per core of a two-core machine.
DEMO_PARALLEL ?= 2
# Debian packages: runtime libraries of AmberTools' sqm (bundled in the acpype wheel, see
# aiida_perovskite/toolchain.py) and Graphviz's `dot`, which renders `aiida-perovskite graph`.
DEBIAN_LIBS := liblapack3 libblas3 libgfortran5 libarpack2 graphviz

.PHONY: install test demo benchmark clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml Makefile aiida_perovskite/toolchain.py
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	@dpkg -s $(DEBIAN_LIBS) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq --no-install-recommends $(DEBIAN_LIBS) >/dev/null; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[tests]'
	$(BIN)/python -m aiida_perovskite.toolchain prepare
	@touch $@

test: install
	$(BIN)/python -m pytest

# The main job on bundled example inputs (grows with each stage of the product).
demo: install
	@start=$$(date +%s); \
	$(BIN)/python examples/make_example_structures.py examples/structures && \
	$(BIN)/aiida-perovskite inspect examples/structures && \
	$(BIN)/aiida-perovskite setup --profile perovskite && \
	$(BIN)/aiida-perovskite parametrise examples/structures/ba2pbi4_rp_n1.cif --profile perovskite \
		--write-dir demo-output/ba2pbi4_rp_n1 && \
	$(BIN)/aiida-perovskite run examples/structures --protocol fast --group demo --profile perovskite \
		--daemon --workers $(DEMO_PARALLEL) --max-running $(DEMO_PARALLEL) --poll 3 && \
	$(BIN)/aiida-perovskite status --group demo --profile perovskite && \
	$(BIN)/aiida-perovskite train --group demo --target v_atom --outer-folds 3 --inner-folds 2 --jobs 2 \
		--report demo-output/report --profile perovskite && \
	mkdir -p demo-output/candidates && \
	for spacer in HA ODA BZA; do $(BIN)/aiida-perovskite build --name $$spacer -o demo-output/candidates/$$spacer.cif || exit 1; done && \
	$(BIN)/aiida-perovskite screen --model demo/v_atom/random_forest demo-output/candidates --profile perovskite && \
	$(BIN)/aiida-perovskite report --group demo -o demo-output/group-report --profile perovskite && \
	$(BIN)/aiida-perovskite export --group demo demo-output/demo.aiida --force --profile perovskite && \
	$(BIN)/aiida-perovskite graph --model demo/v_atom/random_forest -o demo-output/random_forest_provenance.svg \
		--profile perovskite && \
	$(BIN)/verdi -p perovskite daemon stop --timeout 60 >/dev/null && \
	echo "demo finished in $$(( $$(date +%s) - start )) s; models labelled demo/v_atom/FAMILY;" \
		"reports: demo-output/report/index.html, demo-output/group-report/index.html; archive: demo-output/demo.aiida"

benchmark: install
	$(BIN)/python benchmarks/inspect_dj_dft.py

clean:
	rm -rf $(VENV) build *.egg-info
