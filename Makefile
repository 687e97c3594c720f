# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The tested versions of every dependency (dev included) with their sha256 hashes, for
# Linux x86_64 / Python 3.11; pyproject.toml keeps the lower bounds. `make lock` re-pins.
LOCK := requirements.lock

.PHONY: demo test lint venv bench clean docs model lock

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

venv: $(STAMP)

model: $(STAMP)  # rebuild models/pkh_synthetic from data/ (same scores every time; ~1 min)
	$(BIN)/python -m slrt_ml.pipeline.pretrained --data data --out models/pkh_synthetic

lock: $(STAMP)  # re-pin $(LOCK) to the versions installed (and tested) in .venv, with hashes
	@rm -rf .lock-tools && $(PYTHON) -m venv .lock-tools && .lock-tools/bin/pip install -q uv
	$(BIN)/python -m pip freeze --exclude-editable > .lock-tools/tested.txt
	printf 'setuptools>=77\nwheel\n' > .lock-tools/build.txt
	.lock-tools/bin/uv pip compile pyproject.toml .lock-tools/build.txt --extra dev \
		-c .lock-tools/tested.txt --generate-hashes --python-version 3.11.7 \
		--python-platform x86_64-unknown-linux-gnu --no-header --no-annotate -o $(LOCK)
	rm -rf .lock-tools

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
	rm -rf $(VENV) .lock-tools .pytest_cache build *.egg-info
