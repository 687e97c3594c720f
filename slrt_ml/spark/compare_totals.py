"""Per-desa sufficient statistics of a comparison, counted by Spark, and their check.

Every selection metric of ``comparison.csv`` (exclusion and inclusion error, coverage,
CGH ...) and every slice of ``slices.csv`` is a function of four weighted counts per
system: target & selected (``tp``), target & missed (``fn``), non-target & selected
(``fp``), non-target & not selected (``tn``) (:mod:`slrt_ml.evaluation.metrics`). Summed
per desa and household group, they are the totals a cluster bootstrap over desa would
resample. Spark counts them per *cell* (view, desa, kabupaten, kecamatan and the 0/1
slice flags); per-desa totals, slices and point estimates are sums of cells.

A model's list under the quota is a prefix of its eligible households ordered by score
(descending) then IDBDT (ascending), per area with ``--by``
(:func:`slrt_ml.targeting.selection.select_under_quota`), so it is given to Spark as one
*cut* per system and area: the last household selected (its score and IDBDT). The
reference's list is its own ``siksng_selected`` column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from slrt_ml.evaluation.compare import Comparison
from slrt_ml.evaluation.metrics import SELECTION_METRICS

__all__ = ["CELL_KEYS", "SparkConsistencyError", "check_totals", "desa_totals", "selection_cuts",
           "slice_totals", "spark_cell_totals"]  # fmt: skip

#: The columns a cell is grouped by (besides ``view``).
CELL_KEYS = ("cluster", "KDKAB", "KDKEC", "urban", "female_head", "elderly_head",
             "disabled_member")  # fmt: skip
COUNTS = ("tp", "fn", "fp", "tn")
#: Group labels of the 0/1 slices, as the comparison's slices name them.
_FLAG_LABELS = {"urban": {1: "urban", 0: "rural"},
                **{c: {1: "yes", 0: "no"} for c in CELL_KEYS[4:]}}  # fmt: skip
_ALL = "_all"


class SparkConsistencyError(RuntimeError):
    """Spark's totals do not reproduce the estimates the local evaluation computed."""


def selection_cuts(comparison: Comparison, frame: pd.DataFrame, area: str | None) -> pd.DataFrame:
    """``view, system, area, cut_score, cut_id`` of every model's list (the last selected
    household per area; an area where nothing is selected has no row)."""
    areas = None if area is None else frame.set_index(frame["IDBDT"].astype(str))[area]
    pieces = []
    for view in comparison.views():
        rows = view.selections
        rows = rows[(rows["selected"] == 1) & (rows["system"] != view.reference)]
        ids = rows["IDBDT"].astype(str)
        cut = pd.DataFrame({
            "system": rows["system"].astype(str).to_numpy(),
            "area": (np.full(len(rows), _ALL) if areas is None
                     else areas.reindex(ids).astype(str).to_numpy()),
            "cut_score": rows["score"].to_numpy(float),
            "cut_id": ids.to_numpy(),
        })  # fmt: skip
        cut = cut.sort_values(["system", "area", "cut_score", "cut_id"],
                              ascending=[True, True, True, False], kind="stable")  # fmt: skip
        pieces.append(cut.drop_duplicates(["system", "area"]).assign(view=view.view))
    columns = ["view", "system", "area", "cut_score", "cut_id"]
    return (
        pd.concat(pieces, ignore_index=True)[columns] if pieces else pd.DataFrame(columns=columns)
    )


def spark_cell_totals(spark, frame, cuts: pd.DataFrame, systems: Sequence[str], *,
                      reference: str, weight: str, views: Sequence[str],
                      area: str | None, max_desil: int | None = None) -> pd.DataFrame:  # fmt: skip
    """Weighted ``households, tp, fn, fp, tn`` per view, cell and system, counted by Spark
    on ``frame`` (the targeting frame with one score column per model). The reference's
    list is ``<reference>_selected``, or with ``max_desil`` (the ``desil:K`` rule) its
    eligible households with a published ``<reference>_desil`` of at most K."""
    from pyspark.sql import functions as F

    pieces = []
    for view in views:
        rows = frame if view == "population" else frame.filter(F.col("labelled") == 1)
        survey = F.lit(1.0) if view == "population" else F.col("survey_weight")
        persons = F.col("persons") if weight == "person" else F.lit(1.0)
        rows = rows.withColumn("_w", survey * persons)
        rows = rows.withColumn("_area", F.lit(_ALL) if area is None else F.col(area))
        selected = {reference: F.col(f"{reference}_selected") == 1}
        if max_desil is not None:
            desil = F.col(f"{reference}_desil")
            listed = desil.isNotNull() & ~F.isnan(desil) & (desil <= F.lit(float(max_desil)))
            selected[reference] = (F.col("eligible") == 1) & listed
        for i, name in enumerate(systems):
            mine = cuts[(cuts["view"] == view) & (cuts["system"] == name)]
            table = spark.createDataFrame(
                mine[["area", "cut_score", "cut_id"]].set_axis(
                    ["_area", f"_s{i}", f"_i{i}"], axis=1),
                schema=f"_area string, _s{i} double, _i{i} string",
            )  # fmt: skip
            rows = rows.join(F.broadcast(table), on="_area", how="left")
            score, cut, last = F.col(f"`{name}`"), F.col(f"_s{i}"), F.col(f"_i{i}")
            prefix = (score > cut) | ((score == cut) & (F.col("IDBDT") <= last))
            selected[name] = (F.col("eligible") == 1) & cut.isNotNull() & prefix
        target = F.col("target") == 1
        sums = [F.sum("_w").alias("households")]
        for s, chosen in enumerate(selected.values()):
            flags = (target & chosen, target & ~chosen, ~target & chosen, ~target & ~chosen)
            for label, flag in zip(COUNTS, flags, strict=True):
                sums.append(F.sum(F.when(flag, F.col("_w")).otherwise(0.0)).alias(f"{label}{s}"))
        wide = rows.groupBy(*CELL_KEYS).agg(*sums).toPandas()
        for s, name in enumerate(selected):
            part = wide[[*CELL_KEYS, "households", *(f"{c}{s}" for c in COUNTS)]]
            part = part.set_axis([*CELL_KEYS, "households", *COUNTS], axis=1)
            pieces.append(part.assign(view=view, system=name))
    columns = ["view", "system", *CELL_KEYS, "households", *COUNTS]
    return pd.concat(pieces, ignore_index=True)[columns]


def desa_totals(cells: pd.DataFrame) -> pd.DataFrame:
    """``view, system, cluster, households, tp, fn, fp, tn``: the per-desa totals."""
    keys = ["view", "system", "cluster"]
    return cells.groupby(keys, as_index=False, sort=True)[["households", *COUNTS]].sum()


def slice_totals(cells: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``view, system, slice, group, households, target, selected, exclusion_error,
    inclusion_error`` per slice column, as the comparison's ``slices`` reports them."""
    pieces = []
    for column in columns:
        labels = cells[column].map(_FLAG_LABELS[column]) if column in _FLAG_LABELS else None
        group = (labels if labels is not None else cells[column]).astype(str)
        sums = cells.assign(group=group).groupby(["view", "system", "group"], as_index=False)
        sums = sums[["households", *COUNTS]].sum()
        counts = [sums[c].to_numpy(float) for c in COUNTS]
        pieces.append(sums.assign(
            slice=column, target=sums["tp"] + sums["fn"], selected=sums["tp"] + sums["fp"],
            exclusion_error=SELECTION_METRICS["exclusion_error"](*counts),
            inclusion_error=SELECTION_METRICS["inclusion_error"](*counts),
        ))  # fmt: skip
    return pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame()


def _close(a: np.ndarray, b: np.ndarray, tol: float) -> np.ndarray:
    return np.isclose(a, b, rtol=tol, atol=tol) | (np.isnan(a) & np.isnan(b))


def check_totals(comparison: Comparison, cells: pd.DataFrame, *, tol: float = 1e-9) -> None:
    """Raise unless Spark's cell totals give every selection metric's point estimate and
    every slice row of every view of ``comparison`` (to ``tol``, relative or absolute).

    Raises
    ------
    SparkConsistencyError
        Naming the view, system and metric (or slice and group) that differ.
    """
    for view in comparison.views():
        mine = cells[cells["view"] == view.view]
        sums = mine.groupby("system")[list(COUNTS)].sum()
        table = view.table[view.table["metric"].isin(list(SELECTION_METRICS))]
        for row in table.itertuples(index=False):
            counts = sums.loc[row.system].to_numpy(float)
            value = float(SELECTION_METRICS[row.metric](*counts))
            if not _close(np.array([value]), np.array([row.estimate]), tol)[0]:
                raise SparkConsistencyError(
                    f"view {view.view}, system {row.system}, {row.metric}: Spark's totals give "
                    f"{value!r}, the local evaluation {row.estimate!r}"
                )
        if len(view.slices):
            _check_slices(view, slice_totals(mine, sorted(set(view.slices["slice"]))), tol)


def _check_slices(view: Comparison, spark: pd.DataFrame, tol: float) -> None:
    local = view.slices.assign(group=view.slices["group"].astype(str))
    keys = ["system", "slice", "group"]
    merged = local.merge(spark, on=keys, how="outer", suffixes=("", "_spark"), indicator=True)
    lonely = merged[merged["_merge"] != "both"]
    if len(lonely):
        raise SparkConsistencyError(
            f"view {view.view}: slice groups only on one side: "
            f"{lonely[keys + ['_merge']].head(5).to_dict('records')}"
        )
    for name in ("households", "target", "selected", "exclusion_error", "inclusion_error"):
        bad = ~_close(merged[name].to_numpy(float), merged[f"{name}_spark"].to_numpy(float), tol)
        if bad.any():
            row = merged[bad].iloc[0]
            raise SparkConsistencyError(
                f"view {view.view}, system {row['system']}, slice {row['slice']} = "
                f"{row['group']}: {name} {row[name]!r} locally, {row[f'{name}_spark']!r} on Spark"
            )
