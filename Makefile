# xstilts — every entry point. Each target builds/updates the venv from requirements*.txt first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: test test-fast bench lines

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	touch $@

test: $(VENV)/.installed  ## the whole suite (slow tests included), as CI runs it
	$(PY) -m pytest tests

test-fast: $(VENV)/.installed  ## skip the tests marked slow
	$(PY) -m pytest tests -m "not slow"

bench: $(VENV)/.installed  ## xstilts vs transformers: tokens/s, memory, useful FLOP/s (kernels/RESULTS.md)
	$(PY) kernels/bench.py

lines:  ## line counts for the README's reading list
	@wc -l xstilts.py model/*.py kernels/attention.py tasks/*.py | sort -n
