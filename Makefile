# The front door: `make demo` and `make test` work on a fresh machine with Python 3.11 and pip.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-all docs bench bench-all bench-refresh lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/turing-rcnn demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

test-all: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "slow or not slow"

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[docs]'
	touch $(VENV)/.installed $@

# The documentation site (MkDocs + Material + mkdocstrings) from docs/ into site/,
# strictly: a broken link, a missing page or an unresolved API reference fails.
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Benchmarks write JSON and PNG to runs/bench/ (ignored); bench-refresh rewrites the
# tracked bench/results/ that the docs pages cite. `bench` is the quick set (minutes).
bench: $(VENV)/.installed
	$(BIN)/python bench/bench_compile.py
	$(BIN)/python bench/bench_gauss.py
	$(BIN)/python bench/bench_theorem1.py --sizes 4 8
	$(BIN)/python bench/bench_scale.py --d 16 32 --points 100
	$(BIN)/python bench/bench_mazes.py --sizes 59 --count 5
	@echo "results in runs/bench/"

bench-all: $(VENV)/.installed
	$(BIN)/python bench/bench_compile.py
	$(BIN)/python bench/bench_gauss.py
	$(BIN)/python bench/bench_theorem1.py
	$(BIN)/python bench/bench_gauss_rcnn.py
	$(BIN)/python bench/bench_scale.py --seeds 0 1 2
	$(BIN)/python bench/bench_threads.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_algo.py
	$(BIN)/python bench/bench_rules.py
	$(BIN)/python bench/bench_rule_vs_hand.py
	$(BIN)/python bench/bench_meta.py
	$(BIN)/python bench/bench_meta.py --families nearest-neighbour gauss --out meta_hard
	$(BIN)/python bench/bench_meta.py --baselines
	$(BIN)/python bench/bench_mazes.py --rule hand maze-hints bench/results/rules/maze-2-k2-cross.json \
		bench/results/rules/maze-1-k2-cross-30min.json --sizes 59 201 801 1025 \
		--count 1000 100 20 20 --out mazes_hints
	$(BIN)/python bench/bench_mazes.py --sizes 59 201 801 --count 1000 100 20 --cycles 0.1 --out mazes_cycles10
	$(BIN)/python bench/bench_mazes.py --sizes 59 201 801 --count 1000 100 20 --cycles 0.3 --out mazes_cycles30

bench-refresh:
	BENCH_REFRESH=1 $(MAKE) bench-all

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

clean:
	rm -rf $(VENV) build site src/*.egg-info .pytest_cache .ruff_cache .hypothesis runs
	find . -name __pycache__ -prune -exec rm -rf {} +
