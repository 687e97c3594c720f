# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv bench clean docs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/slrt-ml demo

test: $(STAMP)
	$(BIN)/ruff check slrt_ml tests bench
	$(BIN)/ruff format --check slrt_ml tests bench
	$(BIN)/python -m pytest

docs: $(STAMP)  # executed HTML copies of the notebooks (small settings) in docs/notebooks/
	@mkdir -p docs/notebooks
	SLRT_NOTEBOOK_SMALL=1 SLRT_NOTEBOOK_OUT=$$(mktemp -d) $(BIN)/jupyter nbconvert --to html \
		--execute --ExecutePreprocessor.timeout=900 --ExecutePreprocessor.kernel_name=python3 \
		--output-dir docs/notebooks notebooks/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check slrt_ml tests bench
	$(BIN)/ruff format --check slrt_ml tests bench

bench: $(STAMP)  # long (about an hour on 2 cores): writes bench/RESULTS.md
	$(BIN)/python bench/synth.py
	$(BIN)/python bench/train.py --work bench/_work/train
	$(BIN)/python bench/compare.py
	$(BIN)/python bench/score.py --households 1000000 --models ebm,gbm,mlp --work bench/_work/score

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
