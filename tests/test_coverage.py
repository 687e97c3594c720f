"""A small run of bench/interval_coverage.py: re-applied-quota intervals cover the known truth."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def simulation():
    """bench/interval_coverage.py as a module (its own name: ``coverage`` is also a PyPI package)."""
    spec = importlib.util.spec_from_file_location("bench_coverage", BENCH / "interval_coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_coverage"] = module
    spec.loader.exec_module(module)
    return module


def test_truth_matches_a_large_population(simulation):
    data = simulation.dataset(20_000, np.random.default_rng(0))  # about 1.4M households
    from slrt_ml.evaluation.bootstrap import replicate_confusion

    ones = np.ones((1, 20_000), np.int64)
    estimate = simulation._errors(replicate_confusion(data, ones, reselect=False))[0]
    exact = np.array([simulation.truth()[q] for q in simulation.QUANTITIES])
    np.testing.assert_allclose(estimate, exact, atol=0.006)


@pytest.mark.slow
def test_new_intervals_cover_the_truth_in_60_datasets(simulation):
    result = simulation.coverage(280, datasets=60, replicates=200, processes=1)
    new = np.array(list(result["new"].values()))
    assert ((new >= 0.85) & (new <= 0.99)).all(), result["new"]
