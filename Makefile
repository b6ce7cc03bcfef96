# xstilts — every entry point. Each target builds/updates the venv from requirements*.txt first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MODEL ?= FacebookAI/xlm-roberta-large
DATA ?= data
TASK ?= mnli
SUITE ?= xtreme
STUDY ?= volume
ARGS ?=

.PHONY: help test test-fast test-latest lock-dev bench demo demo-study study intermediate target eval eval-all score run data lines

# Runtime packages at their floors (`pkg>=X` in requirements.txt installed as `pkg==X`) plus the exact test pins:
# the environment CI tests. `make test-latest` tries the other end, the newest release of everything.
FLOORS = sed -n 's/^\([A-Za-z0-9_.-]*\)>=\([0-9][^ ]*\).*/\1==\2/p' requirements.txt
DIRECT_DEV = sed '/^\# What they pull in/,$$d' requirements-dev.txt
NAMES = sed -n 's/^\([A-Za-z0-9_.-]*\)[=>].*/\1/p'
LATEST := .venv-latest

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(FLOORS) > $(VENV)/floors.txt
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt -c $(VENV)/floors.txt
	touch $@

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' Makefile | sed -E 's/:.*## /\t/' | expand -t 14

$(VENV)/.plots: $(VENV)/.installed  # matplotlib and scipy: optional at runtime, only `report` imports them
	$(PY) -m pip install -q $$(grep -oE '^(matplotlib|scipy)==[^ ]+' requirements-dev.txt)
	touch $@

test: $(VENV)/.installed  ## the whole suite (slow tests included), as CI runs it
	$(PY) -m pytest tests

test-fast: $(VENV)/.installed  ## skip the tests marked slow
	$(PY) -m pytest tests -m "not slow"

test-latest:  ## early warning: the newest release of every dependency (torch stays pinned) in $(LATEST)/, then the suite
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q --upgrade pip
	$(LATEST)/bin/python -m pip install -q --upgrade torch==2.13.0 $$($(NAMES) requirements.txt | grep -v '^torch$$') $$($(DIRECT_DEV) | $(NAMES))
	@$(LATEST)/bin/python -m pip freeze | grep -i -E "^($$({ $(NAMES) requirements.txt; $(DIRECT_DEV) | $(NAMES); } | sed 's/[-_]/[-_]/g' | paste -sd'|'))=="
	$(LATEST)/bin/python -m pytest tests $(ARGS)

lock-dev:  ## after changing a pin in requirements-dev.txt: re-resolve the pins of what it pulls in (at the runtime floors)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	$(FLOORS) > .venv-lock/floors.txt
	$(DIRECT_DEV) > .venv-lock/direct.txt
	.venv-lock/bin/python -m pip install -q -r requirements.txt -r .venv-lock/direct.txt -c .venv-lock/floors.txt
	{ cat .venv-lock/direct.txt; sed -n '/^# What they pull in/,/^# fresh venv/p' requirements-dev.txt; \
	  .venv-lock/bin/python -m pip freeze | awk -v skip="$$({ $(NAMES) requirements.txt; $(NAMES) .venv-lock/direct.txt; } | tr '\n' ' ')" \
	  'BEGIN { n = split(tolower(skip), a, " "); for (i = 1; i <= n; i++) { gsub("_", "-", a[i]); s[a[i]] = 1 } } \
	   { split($$0, p, "=="); k = tolower(p[1]); gsub("_", "-", k); if (!(k in s)) print }'; } > requirements-dev.txt.tmp
	mv requirements-dev.txt.tmp requirements-dev.txt && rm -rf .venv-lock

demo: $(VENV)/.installed  ## the whole chain offline on a tiny model and sample data (runs/demo/)
	$(PY) data_scripts/demo.py
	$(PY) xstilts.py run --config runs/demo/demo.yaml $(ARGS)
	@echo "A tiny random model on templated data: zero-shot scores near chance are expected."
	@echo "A real run:  make intermediate TASK=mnli MODEL=FacebookAI/xlm-roberta-large  (after make data TASK=mnli)"

demo-study: $(VENV)/.plots  ## make demo-study STUDY=volume: a study's offline tiny version (runs/demo-study-<study>/)
	$(PY) data_scripts/demo.py --world runs/demo-world
	$(PY) xstilts.py sweep --config studies/demo/$(STUDY).yaml $(ARGS)
	$(PY) xstilts.py report runs/demo-study-$(STUDY)

study: $(VENV)/.plots  ## make study STUDY=volume: a SPEC §7 study (studies/STUDY.yaml; data from make data), report
	$(PY) xstilts.py sweep --config studies/$(STUDY).yaml $(ARGS)
	$(PY) xstilts.py report runs/$(STUDY)

intermediate: $(VENV)/.installed  ## make intermediate TASK=mnli [MODEL=...] [ARGS="--name x --dtype bf16"]
	$(PY) xstilts.py intermediate --task $(TASK) --model $(MODEL) --data-dir $(DATA) $(ARGS)

target: need-INIT $(VENV)/.installed  ## make target TASK=xnli INIT=runs/intermediate-mnli
	$(PY) xstilts.py target --task $(TASK) --init $(INIT) --data-dir $(DATA) $(ARGS)

eval: need-INIT need-TARGET $(VENV)/.installed  ## make eval TARGET=tatoeba INIT=runs/intermediate-mnli
	$(PY) xstilts.py eval --target $(TARGET) --init $(INIT) --data-dir $(DATA) $(ARGS)

eval-all: $(VENV)/.installed  ## make eval-all SUITE=xtreme-r INIT=runs/intermediate-mnli
	$(PY) xstilts.py eval --all --suite $(SUITE) --init $(INIT) --data-dir $(DATA) $(ARGS)

score: $(VENV)/.installed  ## make score PRED=dir LABELS=dir SUITE=xtreme
	$(PY) xstilts.py score --predictions $(PRED) --labels $(LABELS) --suite $(SUITE) $(ARGS)

run: $(VENV)/.installed  ## make run CONFIG=exp.yaml
	$(PY) xstilts.py run --config $(CONFIG) $(ARGS)

data: $(VENV)/.installed  ## make data TASK=xnli: official files into $(DATA)/<task>/ [LANG=hi,sw|all: translated mnli, squad_v1]
	$(PY) -m data_scripts.$(TASK) --data-dir $(DATA) $(if $(filter command line,$(origin LANG)),--lang $(LANG))

bench: $(VENV)/.installed  ## xstilts vs transformers: tokens/s, memory, useful FLOP/s (bench/RESULTS.md)
	$(PY) bench/bench.py

lines:  ## line counts for the README's reading list
	@wc -l xstilts.py model/*.py xkernels/attention.py tasks/*.py | sort -n

need-%:  # checked before anything installs or runs: `make target` without INIT= says so
	@test -n "$($*)" || { echo "make $(MAKECMDGOALS): give $*= (see make help: INIT=runs/<run>, TARGET=<task>)" >&2; exit 2; }
