# group_agf: one-command setup, main job, tests and docs.
# `make run`  : install what is missing, then train paper-d5 in gradient flow with AGF and print theory, GD and AGF side by side.
# `make test` : install what is missing, check notebooks/library sync, run nbdev_test and pytest.
# `make docs` : build the documentation site into _docs/ (`make docs-full` first stores full-run outputs).
# `make lab`  : open the notebooks in JupyterLab.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.group_agf-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup run test sync-check nbtest pytest docs full-outputs docs-full lab bench clean-venv

setup: $(STAMP)

$(STAMP): settings.ini setup.py
	@command -v gfortran >/dev/null 2>&1 || { echo "installing gfortran (needed to build escnn's py3nj)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gfortran >/dev/null; }
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q "numpy<2" torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	@touch $(STAMP)

run: setup
	$(VENV)/bin/group-agf train paper-d5 --agf --out runs

sync-check: setup
	@snap() { find group_agf nbs -type f \( -name '*.py' -o -name '*.ipynb' \) -not -path '*/.ipynb_checkpoints/*' -print0 | sort -z | xargs -0 sha1sum; }; \
	before=$$(snap); \
	$(VENV)/bin/nbdev_export && $(VENV)/bin/nbdev_clean; \
	after=$$(snap); \
	if [ "$$before" != "$$after" ]; then \
	  echo "FAIL: nbdev_export / nbdev_clean changed files: notebooks and library are out of sync:"; \
	  diff <(echo "$$before") <(echo "$$after") | grep '^[<>]' | awk '{print $$3}' | sort -u; exit 1; fi; \
	echo "sync-check: notebooks and library in sync"

nbtest: setup
	@n=$$(find nbs -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | wc -l); \
	if [ "$$n" -eq 0 ]; then echo "FAIL: nbdev_test found no notebooks under nbs/"; exit 1; fi; \
	echo "nbdev_test: $$n notebooks"; \
	out=$$($(VENV)/bin/nbdev_test --n_workers 2 2>&1); rc=$$?; echo "$$out" | tail -40; \
	if [ $$rc -ne 0 ] || ! grep -q '^Success' <<<"$$out"; then echo "FAIL: nbdev_test"; exit 1; fi

pytest: setup
	$(VENV)/bin/python -m pytest -q tests

test: setup sync-check nbtest pytest

docs: setup
	$(PY) tools/build_docs.py

# execute the tutorials and the train/viz examples fully in a Jupyter kernel and store their outputs in the notebooks
# (the docs then show full runs); `python tools/full_outputs.py --clear` removes them again
full-outputs: setup
	$(PY) tools/full_outputs.py

docs-full: full-outputs docs

# JupyterLab on the notebooks (figures and the explorer display without any magic)
lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=nbs

bench: setup
	@for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-venv:
	rm -rf $(VENV)
