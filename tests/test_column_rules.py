"""The vectorised column checks give pandera's findings exactly (same rows, values, order)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from chunk_golden import load_inputs

from slrt_ml.data.rules import coerce, table_findings
from slrt_ml.data.schema import column_specs


def _as_tuples(findings):
    return [(f.column, f.rule, f.rows.tolist(), f.values.astype("string").tolist(), f.hint)
            for f in findings]  # fmt: skip


def _both(frame, kind):
    specs = column_specs(kind)
    coerced, _ = coerce(frame, specs)
    pandera = table_findings(coerced, kind, specs, "pbdt2015", engine="pandera")
    arrow = table_findings(coerced, kind, specs, "pbdt2015", engine="arrow")
    return _as_tuples(pandera), _as_tuples(arrow)


@pytest.mark.parametrize("name", ["households", "members", "read_households", "read_members"])
def test_arrow_checks_equal_pandera_on_the_hostile_tables(name):
    kind = name.removeprefix("read_")
    pandera, arrow = _both(load_inputs()[name], kind)
    assert len(pandera) > 20  # many rules broken
    assert arrow == pandera


TRICKY = ["7", "73", "73\n", "\n73", "٧٣", "７３", "73 ", " 73", "", "  ", None, "7a", "073",
          "1", " 1", "1.0", "01", "=1", "-1", "a b", "é1", "x" * 40, "x" * 41, "A.b_c-1",
          "\t1", "1\r", "ab\u00a0", "\u200b", "12345678901234567", "1234567890123456"]  # fmt: skip


@pytest.mark.parametrize("kind", ["households", "members", "siksng", "truth", "areas"])
def test_arrow_checks_equal_pandera_on_tricky_strings(kind):
    specs = column_specs(kind)
    rng = np.random.default_rng(0)
    n = 3 * len(TRICKY)
    frame = pd.DataFrame(
        {
            name: pd.Series(rng.choice(np.array(TRICKY, dtype=object), n), dtype="string")
            for name in specs
        }  # fmt: skip
    )
    numeric = [n for n, s in specs.items() if s.kind in {"count", "measure", "flag"}]
    for i, name in enumerate(numeric):
        frame[name] = pd.Series(rng.choice([0, 1, 2, -1, 1.5, np.nan, 1e9, 60, 61], n),
                                dtype=object).shift(i % 3)  # fmt: skip
    pandera, arrow = _both(frame, kind)
    assert pandera and arrow == pandera


@pytest.mark.parametrize("kind", ["households", "members"])
def test_validate_table_gives_the_same_problems_with_either_engine(kind):
    from slrt_ml.data.schema import SchemaError, validate_table

    inputs = load_inputs()
    households = inputs["read_households"] if kind == "members" else None
    messages = []
    for engine in ("pandera", "arrow"):
        with pytest.raises(SchemaError) as err:
            validate_table(inputs[f"read_{kind}"], kind, households=households, engine=engine)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "problem(s)" in messages[0]


def test_validate_table_returns_the_same_frame_with_either_engine():
    from slrt_ml.data.schema import validate_table

    areas = load_inputs()["areas"]
    frames = [validate_table(areas, "areas", engine=e) for e in ("pandera", "arrow")]
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_unknown_engine_is_refused():
    specs = column_specs("truth")
    with pytest.raises(ValueError, match="engine must be"):
        table_findings(pd.DataFrame({"IDBDT": ["A"]}), "truth", specs, "pbdt2015", engine="x")
