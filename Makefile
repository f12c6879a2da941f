# thermocfd set-up on Debian 12: Debian's FEniCSx stack + a virtual environment at .venv/
# that sees it (--system-site-packages) and takes the PyPI dependencies.
#   make demo   set everything up on first use, then run the flagship case
#   make test   set everything up on first use, then run the test suite
SHELL := /bin/bash
PYTHON := /usr/bin/python3
VENV := .venv
APT_PACKAGES := python3-dolfinx python3-petsc4py python3-mpi4py python3-gmsh python3-dev \
	python3-venv python3-pip openmpi-bin libopenblas0-pthread build-essential \
	libgl1 libxrender1 libegl1 libosmesa6 paraview python3-paraview chromium xvfb xauth
STAMP := $(VENV)/.thermocfd-setup
DEMO_CASE ?= cases/laser_trap.toml
DEMO_OUT ?= results/demo
PYTEST_ARGS ?=

.PHONY: setup demo test clean
setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
	  echo "== installing Debian packages (FEniCSx stack, MPI, OpenBLAS)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $(APT_PACKAGES) >/dev/null; \
	fi
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade "pip>=23" >/dev/null
	$(VENV)/bin/python -m pip install -q -e ".[viz,test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/thermocfd run $(DEMO_CASE) --out $(DEMO_OUT)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q -ra $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) results .pytest_cache
