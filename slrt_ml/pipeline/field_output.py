"""The scored prelist as field teams use it: by kecamatan and desa, in verification order.

:func:`field_table` adds the area codes and names (``KDKEC, NMKEC, KDDESA, NMDESA`` from
the prelist's areas table) to the rows of :func:`slrt_ml.pipeline.score_output.output_frame`
and orders them by kecamatan, desa and ``priority_in_desa``. :func:`write_field_output`
writes it:

- ``.parquet`` / ``.csv``: the stable machine-readable table (English snake_case columns,
  ``selected`` as a boolean; docs/CONTRACTS.md);
- ``.xlsx``: for field teams, headers and yes/no in the chosen language (:data:`WORDS`),
  one sheet per kecamatan (one filterable sheet when there are more than
  :data:`MAX_KECAMATAN_SHEETS`), frozen header, autofilter and column widths, a summary
  sheet (input, scored, rejected, selected per kecamatan) and a desa sheet (counts and the
  area effect, reported once per desa).

Beside either goes ``<stem>.desa.csv``: one row per desa with its counts and area effect.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from slrt_ml.data.cells import neutralise_formulas
from slrt_ml.data.codebook import area_keys
from slrt_ml.data.io import atomic_path, iter_table_chunks, write_table
from slrt_ml.pipeline.score_output import output_frame, sibling_path
from slrt_ml.targeting.priority import AreaDecisions

__all__ = [
    "LANGUAGES",
    "MAX_KECAMATAN_SHEETS",
    "WORDS",
    "desa_summary",
    "field_table",
    "input_by_kecamatan",
    "kecamatan_summary",
    "write_field_output",
]

LANGUAGES = ("id", "en")
#: more kecamatan than this: one sheet with an autofilter instead of one sheet each
MAX_KECAMATAN_SHEETS = 60

#: The one dictionary of the field output: column headers and values, per language.
WORDS: dict[str, dict[str, str]] = {
    "id": {
        "KDKEC": "Kode kecamatan", "NMKEC": "Kecamatan", "KDDESA": "Kode desa",
        "NMDESA": "Desa/kelurahan", "IDBDT": "IDBDT",
        "priority_in_desa": "Urutan verifikasi di desa", "rank_in_desa": "Peringkat di desa",
        "percentile_in_desa": "Termasuk % termiskin di desa",
        "prob_poor": "Peluang miskin", "selected": "Terpilih",
        "reasons_toward": "Arah alasan", "reason": "Alasan",
        "poorer": "lebih miskin", "richer": "lebih mampu", "yes": "Ya", "no": "Tidak",
        "n_input": "Rumah tangga masuk", "n_scored": "Dinilai", "n_rejected": "Ditolak",
        "n_selected": "Terpilih", "area_effect": "Pengaruh wilayah (log-odds)",
        "area_note": "Catatan wilayah", "summary": "Ringkasan", "desa": "Desa",
        "all": "Semua", "raises": "lokasi menaikkan peluang miskin",
        "lowers": "lokasi menurunkan peluang miskin", "total": "Jumlah",
    },
    "en": {
        "KDKEC": "Kecamatan code", "NMKEC": "Kecamatan", "KDDESA": "Desa code",
        "NMDESA": "Desa", "IDBDT": "IDBDT",
        "priority_in_desa": "Verification order in desa", "rank_in_desa": "Rank in desa",
        "percentile_in_desa": "Among poorest % of desa",
        "prob_poor": "Probability poor", "selected": "Selected",
        "reasons_toward": "Reasons toward", "reason": "Reason",
        "poorer": "poorer", "richer": "better off", "yes": "Yes", "no": "No",
        "n_input": "Households in", "n_scored": "Scored", "n_rejected": "Rejected",
        "n_selected": "Selected", "area_effect": "Area effect (log-odds)",
        "area_note": "Area note", "summary": "Summary", "desa": "Desa",
        "all": "All", "raises": "location raises the probability of being poor",
        "lowers": "location lowers the probability of being poor", "total": "Total",
    },
}  # fmt: skip


def _area_names(areas: pd.DataFrame | None) -> pd.DataFrame:
    """``NMKEC, NMDESA`` by 10-digit desa key (empty when there is no areas table)."""
    if areas is None or not {"KDPROP", "KDKAB", "KDKEC", "KDDESA"} <= set(areas.columns):
        return pd.DataFrame(columns=["NMKEC", "NMDESA"], dtype="string")
    names = areas.reindex(columns=["NMKEC", "NMDESA"]).astype("string")
    return names.set_index(pd.Index(area_keys(areas)["desa"])).loc[lambda f: ~f.index.duplicated()]


def field_table(
    scored: pd.DataFrame,
    decisions: AreaDecisions,
    areas: pd.DataFrame | None,
    *,
    top_k: int,
    explain: bool,
) -> pd.DataFrame:
    """The machine-readable output: area columns + :func:`output_frame`, ordered for the field.

    ``scored`` holds every scored household (``IDBDT, desa, score, prob_poor, ...``) in
    the order of ``decisions``. Rows are sorted by kecamatan and desa code, then
    ``priority_in_desa``; ``area_effect`` stays (one value per household, summarised per
    desa by :func:`desa_summary`).
    """
    out = output_frame(scored, decisions, 0, len(scored), top_k, explain)
    # the area columns are worked out once per desa, then taken for every row
    codes, uniques = pd.factorize(scored["desa"].astype("string").fillna(""), sort=True)
    keys = pd.Series(np.asarray(uniques, dtype=object), dtype="string")
    names = _area_names(areas).reindex(pd.Index(keys.to_numpy(dtype=object)))
    per_desa = pd.DataFrame({
        "KDKEC": keys.str[4:7].to_numpy(dtype=object), "NMKEC": names["NMKEC"].to_numpy(),
        "KDDESA": keys.str[7:10].to_numpy(dtype=object), "NMDESA": names["NMDESA"].to_numpy(),
        "desa_code": keys.to_numpy(dtype=object),
    }).astype("string")  # fmt: skip
    area = per_desa.take(codes).reset_index(drop=True)
    out = pd.concat([area, out], axis=1)
    if "area_effect" in scored.columns:
        out["area_effect"] = scored["area_effect"].to_numpy(np.float64)
    order = np.lexsort((np.arange(len(out)), out["priority_in_desa"].to_numpy(), codes))
    return out.iloc[order].reset_index(drop=True)


def input_by_kecamatan(households: Path) -> pd.Series:
    """Input households per kecamatan code (``KDKEC``; "" when missing), one pass over the file."""
    counts: pd.Series = pd.Series(dtype="int64")
    for chunk in iter_table_chunks(households, "households", chunksize=500_000,
                                   columns=["KDKEC"]):  # fmt: skip
        counts = counts.add(chunk["KDKEC"].astype("string").fillna("").value_counts(), fill_value=0)
    return counts.astype("int64")


def kecamatan_summary(table: pd.DataFrame, n_input: pd.Series | None) -> pd.DataFrame:
    """Per kecamatan: input, scored, rejected (= input - scored), selected; a total row.

    Every input household is scored or rejected and keeps its kecamatan, so the rejected
    of a kecamatan are its input households that were not scored.
    """
    groups = table.groupby(["KDKEC", "NMKEC"], dropna=False, sort=True)
    counts = groups.agg(n_scored=("IDBDT", "size"),
                        n_selected=("selected", lambda s: int(s.fillna(False).sum())))  # fmt: skip
    counts = counts.reset_index()
    inputs = n_input if n_input is not None else counts.set_index("KDKEC")["n_scored"]
    counts = counts.merge(inputs.rename("n_input").rename_axis("KDKEC").reset_index(),
                          on="KDKEC", how="outer")  # fmt: skip
    counts[["n_scored", "n_selected", "n_input"]] = (
        counts[["n_scored", "n_selected", "n_input"]].fillna(0).astype("int64")
    )
    counts["n_rejected"] = counts["n_input"] - counts["n_scored"]
    counts = counts[["KDKEC", "NMKEC", "n_input", "n_scored", "n_rejected", "n_selected"]]
    total = counts[["n_input", "n_scored", "n_rejected", "n_selected"]].sum()
    total_row = pd.DataFrame([{"KDKEC": "", "NMKEC": "total", **total.to_dict()}])
    return pd.concat([counts, total_row], ignore_index=True)


def _selected_counts(table: pd.DataFrame) -> np.ndarray:
    """1 for a selected household, 0 otherwise (missing counts as not selected)."""
    return table["selected"].fillna(False).to_numpy(dtype=bool).astype(np.int64)


def desa_summary(table: pd.DataFrame, lang: str = "id") -> pd.DataFrame:
    """Per desa: scored, selected and the area effect (mean summed contribution of the area
    features, in log-odds; only with reasons), with a sentence in ``lang``."""
    aggregations = {"n_scored": ("IDBDT", "size"), "n_selected": ("_selected", "sum")}
    if "area_effect" in table.columns:
        aggregations["area_effect"] = ("area_effect", "mean")
    keys = ["KDKEC", "NMKEC", "KDDESA", "NMDESA", "desa_code"]
    columns = [*keys, "IDBDT", *(["area_effect"] if "area_effect" in table.columns else [])]
    frame = table[columns].assign(_selected=_selected_counts(table))
    out = frame.groupby(keys, dropna=False, sort=True).agg(**aggregations).reset_index()
    if "area_effect" in out.columns:
        words = WORDS[lang]
        out["area_note"] = np.where(out["area_effect"] >= 0, words["raises"], words["lowers"])
    return out


def write_field_output(
    table: pd.DataFrame,
    out: Path,
    *,
    lang: str = "id",
    n_input: pd.Series | None = None,
    top_k: int = 5,
) -> Path:
    """Write the output (suffix decides the format, module docstring) and ``<stem>.desa.csv``."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang: one of {LANGUAGES}, got {lang!r}")
    desa = desa_summary(table, lang)
    write_table(desa, sibling_path(out, "desa"))
    if out.suffix.lower() != ".xlsx":
        return write_table(table.drop(columns=["area_effect"], errors="ignore"), out)
    with atomic_path(out) as tmp:
        _write_workbook(table, desa, kecamatan_summary(table, n_input), tmp, lang, top_k)
    return out


def _field_columns(table: pd.DataFrame, lang: str, top_k: int) -> pd.DataFrame:
    """The field sheet: translated headers and values, no machine-only columns."""
    words = WORDS[lang]
    keep = ["KDKEC", "NMKEC", "KDDESA", "NMDESA", "IDBDT", "priority_in_desa", "rank_in_desa",
            "percentile_in_desa", "prob_poor", "selected", "reasons_toward",
            *[f"reason_{i}" for i in range(1, top_k + 1)]]  # fmt: skip
    sheet = table[keep].copy()
    sheet["prob_poor"] = sheet["prob_poor"].round(3)
    sheet["selected"] = (
        sheet["selected"].map({True: words["yes"], False: words["no"]}).astype(object)
    )
    sheet["reasons_toward"] = sheet["reasons_toward"].map(
        {"poorer": words["poorer"], "richer": words["richer"]}).astype(object)  # fmt: skip
    headers = {c: words.get(c, f"{words['reason']} {c.rsplit('_', 1)[-1]}") for c in keep}
    return sheet.rename(columns=headers)


def _sheets(table: pd.DataFrame, lang: str, top_k: int) -> Iterable[tuple[str, pd.DataFrame]]:
    sheet = _field_columns(table, lang, top_k)
    kecamatan = table["KDKEC"].fillna("").to_numpy(dtype=object)
    if len(pd.unique(kecamatan)) > MAX_KECAMATAN_SHEETS or len(table) == 0:
        yield WORDS[lang]["all"], sheet
        return
    names = table["NMKEC"].fillna("").to_numpy(dtype=object)
    for code in pd.unique(kecamatan):
        rows = kecamatan == code
        label = f"{code} {names[rows][0]}".strip() or "-"
        yield label, sheet[rows]


def _write_workbook(
    table: pd.DataFrame, desa: pd.DataFrame, summary: pd.DataFrame, path: Path, lang: str,
    top_k: int,
) -> None:  # fmt: skip
    words = WORDS[lang]
    summary = summary.replace({"NMKEC": {"total": words["total"]}})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _sheet(writer, words["summary"], summary.rename(columns=words))
        for name, frame in _sheets(table, lang, top_k):
            _sheet(writer, name, frame)
        _sheet(writer, words["desa"], desa.drop(columns="desa_code").rename(columns=words))


def _sheet(writer: pd.ExcelWriter, name: str, frame: pd.DataFrame) -> None:
    """One sheet: frozen header row, autofilter over the table, columns as wide as their text."""
    from openpyxl.utils import get_column_letter

    title = "".join(c for c in name if c not in "[]:*?/\\")[:31] or "-"
    frame = neutralise_formulas(frame)  # ids and names are text a spreadsheet must not run
    frame.to_excel(writer, sheet_name=title, index=False)
    ws = writer.sheets[title]
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    for i, column in enumerate(frame.columns, start=1):
        longest = frame[column].astype("string").str.len().max() if len(frame) else 0
        width = max(len(str(column)), int(0 if pd.isna(longest) else longest))
        ws.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
