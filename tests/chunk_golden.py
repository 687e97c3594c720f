"""Frozen inputs and outputs of the per-chunk stages (rejects, validation, features).

``tests/data/chunk_golden/`` holds hostile household/member tables and what the code of
commit 1a86bd5 (before the vectorised rejects and features, issue 14 item 8) made of
them: every reject reason, every ``SchemaError`` message, the feature frames, and the
outcome of a seeded mutation corpus (``tests/mutation_cases.py``). ``test_chunk_golden.py``
checks that the current code gives exactly the same (bit-identical features, same reason
strings for the same rows).

Regenerate only on purpose (a deliberate change of a rule or a feature), with the code
whose outputs you mean to freeze: ``python tests/chunk_golden.py --write``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).with_name("data") / "chunk_golden"
MUTATION_CASES = 160


def _string_frame(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None).astype("string")


def hostile_tables(n: int = 1200, seed: int = 11) -> dict[str, pd.DataFrame]:
    """A synthetic prelist with a broken value in about every third household.

    Every code, area, id, number and NIK rule is broken somewhere, in several ways
    (unknown codes, blanks, padded and float-looking codes, non-ASCII digits, formula ids,
    inf/nan/text numbers, out-of-range values, bad NIK dates and sexes, no or two heads,
    wrong sizes, repeated ids and member lines, orphan and id-less members).
    """
    from slrt_ml.data.synth.generator import make_registry

    reg = make_registry(households=n, seed=seed)
    hh = reg["households"].astype(object).reset_index(drop=True)
    mem = reg["members"].astype(object).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    code_values = ["77", "", " 1", "1.0", "٣", None, "0", "-1", "1 ", "a"]
    number_values = ["inf", "-inf", "nan", "1e400", "tiga", "3.5", "-2", "99999999", "", None]
    area_values = ["7", "73.1", "７３", "", None, "7a", " 73", "730"]
    id_values = ["", "  ", "=1+1", "@SUM(A1)", "+62", "-3", "a b", "é1", "x" * 41, None]
    for i, col in enumerate(hh.columns):
        rows = rng.choice(len(hh), size=5, replace=False)
        for j, row in enumerate(rows):
            if col == "IDBDT":
                hh.loc[row, col] = id_values[j % len(id_values)]
            elif col in {"KDPROP", "KDKAB", "KDKEC", "KDDESA"}:
                hh.loc[row, col] = area_values[(i + j) % len(area_values)]
            elif isinstance(hh.loc[0, col], str):
                hh.loc[row, col] = code_values[(i + j) % len(code_values)]
            else:
                hh.loc[row, col] = number_values[(i + j) % len(number_values)]
    sizes = rng.choice(len(hh), size=10, replace=False)
    hh.loc[sizes, "Jumlah_ART"] = hh.loc[sizes, "Jumlah_ART"].map(
        lambda v: v + 1 if isinstance(v, (int, np.integer)) else v
    )
    hh = pd.concat([hh, hh.iloc[[5, 17]]], ignore_index=True)  # repeated IDBDTs
    mem_codes = ["9", "", "3", None, "１", "2.0"]
    for i, col in enumerate(mem.columns):
        rows = rng.choice(len(mem), size=10, replace=False)
        for j, row in enumerate(rows):
            if col == "IDBDT":
                mem.loc[row, col] = ["", None, "ORPHAN1", "ORPHAN2", "=x"][j % 5]
            elif col == "NIK":
                mem.loc[row, col] = [
                    "737102001390000", "73710200139000011", "7371020013900001",
                    "7371023213900001", "7371024513900001", "7371021213900001",
                    "73710212139000x1", "", None, "7.37e+15",
                ][j % 10]  # fmt: skip
            elif col == "Hub_KRT":
                mem.loc[row, col] = ["1", "3", "9", None, "", "2"][j % 6]
            elif isinstance(mem.loc[0, col], str) or mem[col].isna().all():
                mem.loc[row, col] = mem_codes[(i + j) % len(mem_codes)]
            else:
                mem.loc[row, col] = number_values[(i + j) % len(number_values)]
    # female NIK day on a man and the reverse, on well-formed rows
    mem.loc[3, "NIK"], mem.loc[3, "Jnskel"] = "7371024512900001", "1"
    mem.loc[4, "NIK"], mem.loc[4, "Jnskel"] = "7371021512900001", "2"
    mem = pd.concat([mem, mem.iloc[[10, 11]]], ignore_index=True)  # repeated member lines
    return {"households": hh, "members": mem, "areas": reg["areas"]}


def _read_back(frame: pd.DataFrame, kind: str, folder: Path) -> pd.DataFrame:
    """The frame as the scoring run reads it (CSV through ``read_table``)."""
    from slrt_ml.data.io import read_table, write_table

    path = write_table(_string_frame(frame), folder / f"{kind}.csv")
    return read_table(path, kind)


def _reasons(hh: pd.DataFrame, mem: pd.DataFrame) -> dict:
    from slrt_ml.data.rejects import household_row_reasons
    from slrt_ml.data.schema import SchemaError

    try:
        reasons, orphans = household_row_reasons(hh, mem)
    except SchemaError as err:
        return {"error": str(err)}
    return {
        "reasons": reasons.astype(object).where(reasons.notna(), None).tolist(),
        "orphans": orphans.tolist(),
    }


def _validation(hh: pd.DataFrame, mem: pd.DataFrame) -> dict:
    from slrt_ml.data.schema import SchemaError, validate_households, validate_members

    out = {}
    for name, call in (
        ("households", lambda: validate_households(hh, file="households.csv")),
        ("members", lambda: validate_members(mem, hh, file="members.csv")),
        ("members_alone", lambda: validate_members(mem, file="members.csv")),
    ):
        try:
            call()
            out[name] = None
        except SchemaError as err:
            out[name] = str(err)
    return out


def chunk_outcome(tables: dict[str, pd.DataFrame]) -> tuple[dict, dict]:
    """(reasons/validation/rejects as JSON-able dict, feature frames by name)."""
    from slrt_ml.features.components import pkh_components
    from slrt_ml.features.households import household_features
    from slrt_ml.features.members import member_aggregates
    from slrt_ml.pipeline.score_inputs import chunk_rejects, isin

    hh, mem, areas = tables["read_households"], tables["read_members"], tables["areas"]
    result = {
        "raw": _reasons(tables["households"], tables["members"]),
        "read": _reasons(hh, mem),
        "validation": _validation(hh, mem),
    }
    bad, rejects = chunk_rejects(hh, mem, {"7311000004"}, areas)
    result["chunk_rejects"] = rejects.astype(object).where(rejects.notna(), None).values.tolist()
    valid = hh[~bad]
    own = isin(mem["IDBDT"], valid["IDBDT"])
    features = {
        "features": household_features(valid, mem[own], areas),
        "features_no_areas": household_features(valid, mem[own]),
    }
    clean = mem[own]
    clean_ids = set(valid["IDBDT"])
    clean = clean[clean["IDBDT"].isin(clean_ids)]
    features["member_aggregates"] = member_aggregates(clean)
    features["pkh_components"] = pkh_components(clean, elderly_age=70)
    return result, features


def mutation_base() -> dict[str, pd.DataFrame]:
    """The 12 households (and their members) the mutation corpus breaks."""
    from slrt_ml.data.synth.generator import make_registry

    reg = make_registry(households=40, seed=7)
    hh = reg["prelist_households"].iloc[:12]
    mem = reg["prelist_members"]
    return {"prelist_households": hh, "prelist_members": mem[mem["IDBDT"].isin(hh["IDBDT"])]}


def mutation_outcomes(
    tables: dict[str, pd.DataFrame], n_cases: int = MUTATION_CASES, seed: int = 0
) -> list[dict]:
    """Reasons (or the error) of ``n_cases`` prelists broken by ``mutation_cases``."""
    sys.path.insert(0, str(Path(__file__).parent))
    from mutation_cases import write_mutated

    from slrt_ml.data.io import TableReadError, find_table, read_table

    rng = np.random.default_rng(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(n_cases):
            choices = [int(c) for c in rng.integers(0, 200, size=2)]
            folder = Path(tmp) / f"case{case}"
            write_mutated(tables, folder, choices)
            try:
                hh = read_table(find_table(folder, "prelist_households"), "households")
                mem = read_table(find_table(folder, "prelist_members"), "members")
            except (TableReadError, ValueError) as err:
                out.append({"choices": choices, "read_error": type(err).__name__})
                continue
            out.append({"choices": choices, **_reasons(hh, mem), **_validation(hh, mem)})
    return out


_INPUTS = ("households", "members", "read_households", "read_members", "areas",
           "prelist_households", "prelist_members")  # fmt: skip


def _inputs() -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(GOLDEN / f"input_{name}.parquet") for name in _INPUTS}


def load_expected() -> tuple[dict, dict[str, pd.DataFrame], list[dict]]:
    """(chunk outcome, feature frames, mutation outcomes) as frozen."""
    result = json.loads((GOLDEN / "outcome.json").read_text(encoding="utf-8"))
    features = {p.stem: pd.read_parquet(p) for p in GOLDEN.glob("features_*.parquet")}
    features = {k.removeprefix("features_"): v for k, v in features.items()}
    for frame in features.values():  # Parquet gives the index back as "str"
        frame.index = frame.index.astype("string")
    mutations = json.loads((GOLDEN / "mutations.json").read_text(encoding="utf-8"))
    return result, features, mutations


def load_inputs() -> dict[str, pd.DataFrame]:
    """The frozen inputs: hostile tables (raw, all ``string``; ``read_*`` as read back from
    CSV by ``read_table``), areas, and the mutation corpus's base prelist."""
    return _inputs()


def write(*, mutations: bool = True) -> None:
    """Freeze the inputs and the current code's outcome into :data:`GOLDEN`."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    tables = hostile_tables()
    tables["households"] = _string_frame(tables["households"])
    tables["members"] = _string_frame(tables["members"])
    with tempfile.TemporaryDirectory() as tmp:
        tables["read_households"] = _read_back(tables["households"], "households", Path(tmp))
        tables["read_members"] = _read_back(tables["members"], "members", Path(tmp))
    tables.update(mutation_base())
    for name, frame in tables.items():
        frame.to_parquet(GOLDEN / f"input_{name}.parquet", index=False)
    inputs = _inputs()
    result, features = chunk_outcome(inputs)
    (GOLDEN / "outcome.json").write_text(json.dumps(result, indent=0, ensure_ascii=False))
    for name, frame in features.items():
        frame.to_parquet(GOLDEN / f"features_{name}.parquet")
    if mutations:
        base = {k: inputs[k] for k in ("prelist_households", "prelist_members")}
        outcomes = mutation_outcomes(base)
        (GOLDEN / "mutations.json").write_text(json.dumps(outcomes, indent=0, ensure_ascii=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="freeze the current outcome")
    parser.add_argument("--no-mutations", action="store_true", help="keep mutations.json")
    args = parser.parse_args()
    if args.write:
        write(mutations=not args.no_mutations)
