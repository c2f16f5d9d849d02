# Two entry points for a fresh machine (see README.md):
#   make demo   create .venv, install everything, run the default benchmark and report
#   make test   install if needed, lint, run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mi-harness-installed
RUNS ?= runs

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch==2.13.0 first: a CPU build served locally; an unpinned torch pulls a multi-GB CUDA build
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q torch==2.13.0
	# compat: the project folder goes on sys.path, so a results/ or tasks/ folder in the
	# current directory cannot stand in for our packages (setuptools' default finder lets it)
	$(PY) -m pip install -q -e ".[test,bench,dask]" --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	mkdir -p $(RUNS)
	id=demo-$$(date +%Y%m%d-%H%M%S); \
	$(PY) -m harness run --estimators ksg,kde,infonet --task gmm_levels --store $(RUNS)/demo.sqlite --run-id $$id-levels && \
	$(PY) -m harness run --estimators ksg,kde,infonet --task gmm_order --store $(RUNS)/demo.sqlite --run-id $$id-order && \
	$(PY) -m harness report $$id-levels $$id-order --store $(RUNS)/demo.sqlite -o $(RUNS)/report.html && \
	echo "report: $(RUNS)/report.html"

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/speed_classical.py --out $(RUNS)/speed_classical.csv
	$(PY) -m pytest tests/bench --benchmark-only

clean:
	rm -rf $(VENV) $(RUNS) .pytest_cache .benchmarks
