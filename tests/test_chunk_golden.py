"""The per-chunk stages give exactly what the code before the speed-up gave (issue 14 item 8).

Frozen in ``tests/data/chunk_golden`` by ``tests/chunk_golden.py`` from commit 1a86bd5:
hostile household/member tables (every rule broken somewhere), their reject reasons,
``SchemaError`` messages and feature frames, and a seeded mutation corpus.
"""

from __future__ import annotations

import pandas as pd
import pytest
from chunk_golden import MUTATION_CASES, chunk_outcome, load_expected, load_inputs
from chunk_golden import mutation_outcomes as run_mutations


@pytest.fixture(scope="module")
def golden():
    return load_expected()


@pytest.fixture(scope="module")
def outcome():
    return chunk_outcome(load_inputs())


@pytest.mark.parametrize("key", ["raw", "read", "validation", "chunk_rejects"])
def test_reject_reasons_and_messages_are_unchanged(golden, outcome, key):
    expected, now = golden[0][key], outcome[0][key]
    if isinstance(expected, dict) and "reasons" in expected:
        assert len(now["reasons"]) == len(expected["reasons"])
        changed = [(i, e, n) for i, (e, n) in enumerate(zip(expected["reasons"], now["reasons"],
                                                            strict=True)) if e != n]  # fmt: skip
        assert changed == []
        assert now["orphans"] == expected["orphans"]
    else:
        assert now == expected


def test_the_golden_inputs_break_every_kind_of_rule(golden):
    reasons = "; ".join(r for r in golden[0]["read"]["reasons"] if r)
    for rule in ("code list", "area code format", "id format", "range", "whole number",
                 "number", "not empty", "unique", "NIK format", "NIK birth date", "NIK sex",
                 "one head per household", "household size = member rows"):  # fmt: skip
        assert f": {rule}" in reasons, rule
    assert golden[0]["read"]["orphans"]


@pytest.mark.parametrize(
    "name", ["features", "features_no_areas", "member_aggregates", "pkh_components"]
)
def test_features_are_bit_identical(golden, outcome, name):
    expected, now = golden[1][name], outcome[1][name]
    assert len(expected) > 500  # most hostile households are still valid
    pd.testing.assert_frame_equal(now, expected, check_exact=True)


def test_mutation_corpus_reasons_are_unchanged(golden):
    base = load_inputs()
    tables = {k: base[k] for k in ("prelist_households", "prelist_members")}
    n = MUTATION_CASES // 4  # a quarter in the unit test; bench/chunk_golden runs all
    assert run_mutations(tables, n_cases=n) == golden[2][:n]
