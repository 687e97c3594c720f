"""Shared test fixtures: a tiny registry that is valid by construction."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from slrt_ml.data.codebook import get_codebook

# (Hub_KRT, Jnskel, Umur) of each member; household i gets the first 1 + i % 3 members.
_PEOPLE = [("1", "1", 45), ("2", "2", 41), ("3", "2", 12), ("3", "1", 7)]


@dataclass
class TinyRegistry:
    households: pd.DataFrame
    members: pd.DataFrame
    areas: pd.DataFrame
    siksng: pd.DataFrame
    truth: pd.DataFrame


def _household_row(i: int, size: int) -> dict[str, object]:
    row: dict[str, object] = {}
    for name, spec in get_codebook().household.items():
        if spec.kind == "code":
            codes = list(spec.codes)
            row[name] = codes[i % len(codes)]
        elif spec.kind == "yes_no":
            row[name] = spec.yes_no[i % 2]
        elif spec.kind == "count":
            row[name] = int(spec.min or 0) + i
        elif spec.kind == "measure":
            row[name] = float(spec.min or 0) + 20.5 * (i + 1)
    area = {"KDPROP": "73", "KDKAB": "11", "KDKEC": f"{10 * (1 + i % 2):03d}", "KDDESA": "001"}
    return row | area | {"IDBDT": f"7311{i:06d}", "Jumlah_ART": size}


def _nik(i: int, line: int, sex: str, age: int) -> str:
    day = 10 + line + (40 if sex == "2" else 0)
    return f"737102{day:02d}{(i % 12) + 1:02d}{(2024 - age) % 100:02d}{i * 10 + line:04d}"


def _member_rows(i: int, idbdt: str, size: int) -> list[dict[str, object]]:
    rows = []
    for line, (relation, sex, age) in enumerate(_PEOPLE[:size], start=1):
        rows.append(
            {
                "IDBDT": idbdt,
                "NoART": line,
                "NIK": _nik(i, line, sex, age),
                "Hub_KRT": relation,
                "Jnskel": sex,
                "Umur": age,
                "Sta_kawin": "2" if relation in ("1", "2") else "1",
                "Sta_hamil": "2" if sex == "2" else None,
                "Jenis_cacat": "0",
                "Penyakit_kronis": "0",
                "Partisipasi_sekolah": "1" if age < 18 else "2",
                "Jenjang_sekolah": "1" if age < 18 else "7",
                "Ijazah_tertinggi": "0" if age < 18 else "3",
                "Sta_bekerja": "2" if age < 18 else "1",
                "Jumlah_jamkerja": None if age < 18 else 40,
                "Lapangan_usaha": None if age < 18 else "1",
                "Status_pekerjaan": None if age < 18 else "1",
            }
        )
    return rows


def make_tiny_registry(n_households: int = 5) -> TinyRegistry:
    """A small registry that passes every schema rule (raw dtypes, as a user would build it)."""
    households, members = [], []
    for i in range(n_households):
        size = 1 + i % 4
        row = _household_row(i, size)
        households.append(row)
        members += _member_rows(i, row["IDBDT"], size)
    hh = pd.DataFrame(households)
    areas = pd.DataFrame(
        {
            "KDPROP": ["73", "73"],
            "KDKAB": ["11", "11"],
            "KDKEC": ["010", "020"],
            "KDDESA": ["001", "001"],
            "NMKEC": ["Tanete Riattang", "Awangpone"],
            "NMDESA": ["Bajoe", "Cumpiga"],
            "Klasifikasi": ["1", "2"],
        }
    )
    siksng = pd.DataFrame(
        {
            "IDBDT": hh["IDBDT"],
            "pkh_eligible": [i % 2 for i in range(n_households)],
            "desil": [1 + i % 10 for i in range(n_households)],
            "periode": "2024-03",
        }
    )
    truth = pd.DataFrame(
        {
            "IDBDT": hh["IDBDT"],
            "welfare_pc": [300_000.0 + 100_000 * i for i in range(n_households)],
            "poor": [int(i < 2) for i in range(n_households)],
        }
    )
    return TinyRegistry(hh, pd.DataFrame(members), areas, siksng, truth)


@pytest.fixture
def tiny() -> TinyRegistry:
    return make_tiny_registry()


@pytest.fixture(scope="module")
def spark():
    """A Spark session on local[2] for one test module (the Spark tests), stopped after it."""
    from slrt_ml.spark.session import spark_session, stop_session

    stop_session()
    session = spark_session("local[2]", conf={"spark.ui.showConsoleProgress": "false"})
    yield session
    stop_session()
