# The two commands a newcomer needs: `make run` and `make test`.
# Each one creates .venv, installs torch (CPU build from the pin), the project with
# its cffi modules, and builds the Valgrind tool before doing its work.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.13.0
PYTEST_ARGS ?=

.PHONY: run test install plugins clean

run: install
	$(VENV)/bin/complearn compare

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)

install: $(PY)
	$(PY) -m pip install -q -e '.[test,examples]'
	$(MAKE) plugins

plugins:
	@if [ -f plugin/valgrind/Makefile ]; then $(MAKE) -C plugin/valgrind; fi

clean:
	rm -rf build *.egg-info */*.so plugin/valgrind/build
