"""Update cycles of the synthetic registry: determinism, contract, dynamics and the anchors."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from slrt_ml.cli import app
from slrt_ml.data.registry import load_registry, validate_paths
from slrt_ml.data.synth.cycle_registry import (
    decay_per_year,
    generate_cycles,
    make_cycles,
    periode_of,
)
from slrt_ml.data.synth.cycles import build_panel, percentile, pmt_score
from slrt_ml.data.synth.dynamics import CycleDynamics
from slrt_ml.data.synth.generator import make_registry
from slrt_ml.data.synth.parameters import Profile, SynthParameters

#: Documented bands around the anchors (docs/CYCLES.md): accuracy of the cycle-0 list held
#: fixed falls 1.5-1.9 pp a year (Aiken, Ohlenburg & Blumenstock 2023); 55% of correctly
#: targeted households still correct two years later (Kidd et al. 2017).
FROZEN_DECAY_BAND = (-3.0, -1.0)
RETENTION_BAND = (0.45, 0.85)


@pytest.fixture(scope="module")
def small():
    return make_cycles(households=1_200, seed=5, cycles=3)


def _digests(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_cycles(tmp_path):
    generate_cycles(tmp_path / "a", 500, seed=2, fmt="csv", cycles=2)
    generate_cycles(tmp_path / "b", 500, seed=2, fmt="csv", cycles=2)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a == b
    assert len(a) == 2 * 8 + 1  # two registries of 7 tables + metadata, and cycles.json
    generate_cycles(tmp_path / "c", 500, seed=3, fmt="csv", cycles=2)
    c = _digests(tmp_path / "c")
    assert a["cycle_01/truth.csv"] != c["cycle_01/truth.csv"]


def test_cycle_zero_is_the_generators_registry(small):
    base = make_registry(1_200, seed=5)
    for name in ("households", "members", "siksng", "truth", "areas"):
        pd.testing.assert_frame_equal(small[0][name], base[name])
    assert small[0]["metadata"]["siksng_errors"]["exclusion_error"] == pytest.approx(
        base["metadata"]["siksng_errors"]["exclusion_error"]
    )


def test_panel_pmt_reproduces_the_generators_percentile():
    world, panel, tables = build_panel(800, 4, Profile(), SynthParameters(), CycleDynamics(), 6)
    score, _ = pmt_score(world, panel)
    pct, _ = percentile(score)
    assert (pct == tables["households"]["Percentile"].to_numpy()).all()


def test_periods_and_metadata(small):
    assert [r["metadata"]["periode"] for r in small] == ["2024-06", "2024-12", "2025-06"]
    assert periode_of(1, 3) == "2024-09"
    assert set(small[2]["siksng"]["periode"]) == {"2025-06"}
    meta = small[1]["metadata"]
    assert "gap_decomposition" not in meta
    assert meta["cycle"]["index"] == 1 and meta["cycle"]["months"] == 6


def test_households_flow_between_cycles(small):
    for before, after in zip(small, small[1:], strict=False):
        events = after["metadata"]["cycle"]["events"]
        ids_before = set(before["households"]["IDBDT"])
        ids_after = set(after["households"]["IDBDT"])
        prelist = set(before["prelist_households"]["IDBDT"])
        assert prelist <= ids_after and not prelist & ids_before
        assert ids_after == (ids_before - _gone(before, after)) | prelist
        assert len(ids_before - ids_after) == events["dissolved"]
        assert events["joined"] == len(prelist) > 0
        assert events["births"] > 0 and events["deaths"] > 0 and events["splits"] > 0


def _gone(before, after) -> set:
    return set(before["households"]["IDBDT"]) - set(after["households"]["IDBDT"])


def test_only_resurveyed_households_get_fresh_records(small):
    before, after = small[0], small[1]
    cols = [c for c in before["households"].columns if c != "Percentile"]
    a = before["households"].set_index("IDBDT")[cols[1:]]
    b = after["households"].set_index("IDBDT")[cols[1:]]
    common = a.index.intersection(b.index)
    changed = (a.loc[common] != b.loc[common]).any(axis=1)
    resurveyed = after["metadata"]["cycle"]["events"]["resurveyed"]
    assert 0 < changed.sum() <= resurveyed
    # members of a household that was not re-surveyed are exactly as recorded before
    same = set(common[~changed.to_numpy()])
    ma = before["members"][before["members"]["IDBDT"].isin(same)].reset_index(drop=True)
    mb = after["members"][after["members"]["IDBDT"].isin(same)].reset_index(drop=True)
    pd.testing.assert_frame_equal(ma, mb)


def test_truth_moves_for_everyone(small):
    a = small[0]["truth"].set_index("IDBDT")["welfare_pc"]
    b = small[2]["truth"].set_index("IDBDT")["welfare_pc"]
    common = a.index.intersection(b.index)
    ratio = np.log(b[common] / a[common])
    assert (ratio != 0).mean() > 0.99
    assert 0.2 < ratio.std() < 0.8  # persistence: correlated, not redrawn
    assert np.corrcoef(np.log(a[common]), np.log(b[common]))[0, 1] > 0.5


# pandera imports pyspark when it is installed, and pyspark warns about pandas 3 on import
def test_every_cycle_passes_the_contract(tmp_path):
    result = CliRunner().invoke(
        app, ["data", "synth", "--out", str(tmp_path), "--households", "600", "--cycles", "4"]
    )
    assert result.exit_code == 0, result.output
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == ["cycle_00", "cycle_01", "cycle_02", "cycle_03"]
    for name in folders:
        reports = validate_paths([tmp_path / name])
        assert all(r.valid for r in reports), [str(p) for r in reports for p in r.problems]
        registry = load_registry(tmp_path / name)
        sizes = registry.members.groupby("IDBDT").size()
        declared = registry.households.set_index("IDBDT")["Jumlah_ART"]
        assert (sizes.reindex(declared.index) == declared).all()
    summary = json.loads((tmp_path / "cycles.json").read_text())
    assert summary["cycles"] == 4 and len(summary["per_cycle"]) == 4
    assert "accuracy change a year" in result.output


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="cycles must be at least 1"):
        make_cycles(100, cycles=0)
    with pytest.raises(ValueError, match="pmt_weights='estimated'"):
        make_cycles(100, cycles=2, params=SynthParameters.named("no_handicaps"))
    with pytest.raises(ValueError, match="resurvey must lie"):
        CycleDynamics(resurvey=1.5)


def test_deliberation_removes_lagged_non_target_when_it_sees_everything():
    dyn = CycleDynamics(deliberation_detect=1.0, deliberation_lag=1, resurvey=0.0)
    regs = make_cycles(800, seed=1, cycles=2, dynamics=dyn)
    listed = regs[1]["siksng"].set_index("IDBDT")["pkh_eligible"] == 1
    truth = regs[0]["truth"].set_index("IDBDT")
    target_then = (truth["poor"] == 1) & (truth["eligible_now"] == 1)
    kept = listed[listed].index.intersection(truth.index)
    # every household still listed was target a cycle ago, or was added back to fill the quota
    not_target = ~target_then[kept]
    assert not_target.mean() < 0.5 * (~target_then[regs[0]["siksng"].set_index("IDBDT")
                                                   ["pkh_eligible"] == 1]).mean()  # fmt: skip


def test_decay_lies_in_the_documented_band_around_the_anchors():
    regs = make_cycles(households=8_000, seed=0, cycles=5)
    anchors = [r["metadata"]["anchors"] for r in regs]
    frozen = decay_per_year([a["frozen_accuracy"] for a in anchors], 6)
    assert FROZEN_DECAY_BAND[0] <= frozen <= FROZEN_DECAY_BAND[1]
    retention = anchors[4]["retention_of_correctly_targeted"]  # two years after cycle 0
    assert RETENTION_BAND[0] <= retention <= RETENTION_BAND[1]
    # SIKS-NG's updates (re-surveys, deliberation, new households) slow its decay down
    siksng = decay_per_year([a["siksng_accuracy"] for a in anchors], 6)
    assert frozen < siksng


def test_without_shocks_the_frozen_list_barely_ages():
    calm = CycleDynamics(z_shock=0.0, residual_persistence=1.0)
    regs = make_cycles(households=3_000, seed=0, cycles=3, dynamics=calm)
    moving = make_cycles(households=3_000, seed=0, cycles=3)
    still = [r["metadata"]["anchors"]["frozen_accuracy"] for r in regs]
    moved = [r["metadata"]["anchors"]["frozen_accuracy"] for r in moving]
    assert decay_per_year(still, 6) > decay_per_year(moved, 6)
    assert dataclasses.asdict(calm)["z_shock"] == 0.0
