"""Compare every model with a reference system at equal coverage, with paired cluster-bootstrap intervals.

The reference is SIKS-NG (``reference="siksng"``) for a PBDT registry, or any other
existing system a mapped table names (e.g. a fitted ``"pmt_scorecard"``).

The metric functions (denominators in their docstrings) live in :mod:`slrt_ml.evaluation.metrics`
and are re-exported here. :func:`compare` takes the *targeting frame* (one row per
household: ``IDBDT, cluster, eligible, target, <reference>_selected, <reference>_score``,
one score column per model, optional ``persons, welfare, KDKAB, KDKEC`` and slice columns)
and:

1. sets the quota from the reference's list (:func:`slrt_ml.targeting.selection.quota_from`) and
   selects each model's recipients under it on the full data (the point estimates);
2. measures every system (the reference is system ``reference``, its own list as
   selection) against the target;
3. bootstraps desa (``cluster``, :mod:`slrt_ml.evaluation.bootstrap`): each replicate
   resamples desa with replacement, **re-applies every model's selection rule** on the
   resample (the quota recomputed there: the reference's count, or the same coverage rate
   for a count or share, per area with ``by``; each model's list re-selected from its
   scores; the reference's list stays as given) and recomputes every system's metrics on
   the *same* draw. Ranking metrics (``roc_auc, pr_auc, spearman_welfare``) get intervals
   too, from the replicates with multiplicity weights.

Under the desil rule (``quota="desil:K"``) there is no common quota: each model lists its
eligible households in desil 1..K of its own national ranking and the reference its
published desil 1..K (or its given list), so lists differ in size; every replicate and
jackknife leave-out re-applies the rule (:func:`slrt_ml.evaluation.reselection.rule_sums`).

``Comparison.table`` is long: ``system, metric, estimate, ci_low, ci_high`` plus ``view``,
``rule`` (the selection rule, e.g. ``"siksng"``, ``"0.2"``, ``"desil:4"``) and ``list_size``
(the system's list: households, survey-weighted in the survey view). A model's
difference from the reference is a row of its own named ``<metric>_diff_vs_<reference>``
(model minus reference, so a negative exclusion-error difference means the model misses
fewer of the target), with its own paired-bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.evaluation import breakdowns as _breakdowns
from slrt_ml.evaluation.bootstrap import bootstrap_draws, comparison_table
from slrt_ml.evaluation.breakdowns import SLICE_COLUMNS, default_slices
from slrt_ml.evaluation.group_gaps import group_gap_tables, slicings
from slrt_ml.evaluation.metrics import (
    RANKING_METRICS,
    SELECTION_METRICS,
    ConfusionCounts,
    GroupBreakdown,
    agreement_with_reference,
    agreement_with_siksng,
    cgh,
    confusion_counts,
    coverage,
    coverage_curve,
    coverage_of_target,
    exclusion_error,
    group_breakdown,
    inclusion_error,
    inclusion_rate_nontarget,
    mistargeting,
    pr_auc,
    roc_auc,
    spearman_welfare,
    targeting_differential,
)
from slrt_ml.evaluation.systems import (
    VIEWS,
    available_views,
    systems_from_frame,
    systems_from_selections,
)
from slrt_ml.targeting.selection import Quota, parse_quota

__all__ = [
    "ConfusionCounts",
    "confusion_counts",
    "exclusion_error",
    "inclusion_error",
    "inclusion_rate_nontarget",
    "mistargeting",
    "coverage",
    "coverage_of_target",
    "targeting_differential",
    "cgh",
    "roc_auc",
    "pr_auc",
    "spearman_welfare",
    "SELECTION_METRICS",
    "RANKING_METRICS",
    "METRICS",
    "coverage_curve",
    "GroupBreakdown",
    "group_breakdown",
    "agreement_with_siksng",
    "agreement_with_reference",
    "SIKSNG",
    "SLICE_COLUMNS",
    "Comparison",
    "compare",
    "VIEWS",
    "available_views",
    "default_slices",
    "compare_systems",
    "metrics_from_selections",
]

#: The default reference system's name (a PBDT registry's SIKS-NG list).
SIKSNG = "siksng"
#: Metric names of ``Comparison.table``, in table order.
METRICS: tuple[str, ...] = (*SELECTION_METRICS, *RANKING_METRICS)
#: Quota words meaning "as many as the reference selected" (besides the reference's name).
_REFERENCE_QUOTAS = ("siksng", "reference")


def _required(reference: str) -> tuple[str, ...]:
    return ("IDBDT", "cluster", "eligible", "target", f"{reference}_selected", f"{reference}_score")


@dataclass
class Comparison:
    """Everything ``compare`` measured; all frames are long (one row per system and item).

    - ``selections``: ``IDBDT, system, score, eligible, selected, target``
    - ``table``: ``system, metric, estimate, ci_low, ci_high`` (diff rows
      ``*_diff_vs_<reference>``)
    - ``curves``: ``system, share, selected, exclusion_error, inclusion_error``
    - ``slices``: ``system, slice, group, households, target, selected, exclusion_error, inclusion_error``
    - ``slice_gaps``: ``system, slice, metric, gap, ci_low, ci_high, highest, lowest, null,
      null_high, p_value`` (:mod:`slrt_ml.evaluation.group_gaps`)
    - ``slice_table``: ``slices.csv``: ``slicing, group, system, metric, estimate, ci_low,
      ci_high, n`` plus ``view``
    - ``agreement``: ``system, change (kept|dropped|added), households, target, non_target``

    ``view`` says which households and weights it measures (``survey`` or ``population``,
    :data:`VIEWS`); ``other_views`` holds the comparison in the other views (the
    population view of synthetic data with a survey sample), and :meth:`long_table` /
    :meth:`long_slice_table` stack every view for ``comparison.csv`` and ``slices.csv``.
    ``gap_decomposition`` is the generator's decomposition of the reference's error
    (``[{"step", "exclusion_error"}]``), when the data has one. ``list_sizes`` is each
    system's list size (households, survey-weighted in the survey view): equal under a
    quota, different under the desil rule (``quota_rule.is_desil``; ``quota`` is then K);
    ``reference_list`` says how the reference's list was made (``"given"``, or
    ``"published desil"`` under the desil rule).
    """

    selections: pd.DataFrame
    table: pd.DataFrame
    curves: pd.DataFrame
    slices: pd.DataFrame
    slice_gaps: pd.DataFrame
    agreement: pd.DataFrame
    systems: list[str]
    quota: int | pd.Series
    by: str | None = None
    weight: str = "household"
    bootstrap: int = 0
    reference: str = SIKSNG
    slice_table: pd.DataFrame | None = None
    view: str = "population"
    quota_rule: Quota | None = None
    other_views: list[Comparison] | None = None
    gap_decomposition: list[dict] | None = None
    list_sizes: dict[str, float] | None = None
    reference_list: str = "given"

    def views(self) -> list[Comparison]:
        """This comparison and its other views, default view first."""
        return [self, *(self.other_views or [])]

    def long_table(self) -> pd.DataFrame:
        """``comparison.csv``: the tables of every view, default view first."""
        return pd.concat([c.table for c in self.views()], ignore_index=True)

    def long_slice_table(self) -> pd.DataFrame:
        """``slices.csv``: the slice tables of every view, default view first."""
        tables = [c.slice_table for c in self.views() if c.slice_table is not None]
        return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()

    def estimate(self, system: str, metric: str) -> float:
        """One point estimate from ``table``."""
        row = self.table[(self.table["system"] == system) & (self.table["metric"] == metric)]
        if row.empty:
            raise KeyError(
                f"no row for system={system!r}, metric={metric!r} in the comparison table"
            )
        return float(row["estimate"].iloc[0])


def _check_frame(
    frame: pd.DataFrame, systems: Sequence[str], weight: str, reference: str, slices: list[str]
) -> None:
    if reference in systems:
        raise ValueError(
            f"{reference!r} is the reference system; list only model score columns in systems"
        )
    required = _required(reference)
    needed = [*required, *systems, *(["persons"] if weight == "person" else [])]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"targeting frame is missing columns {missing}; it needs {list(required)}, one score "
            "column per model (higher = poorer) and `persons` for person weights"
        )
    absent = [c for c in slices if c not in frame.columns]
    if absent:
        raise ValueError(
            f"slices {absent} are not columns of the targeting frame; the frame has "
            f"{[c for c in frame.columns if c not in required][:12]}; pass existing columns"
        )
    if weight not in ("household", "person"):
        raise ValueError(f"weight must be 'household' or 'person', got {weight!r}")


def _area_column(frame: pd.DataFrame, by: str | None, rule: Quota | None = None) -> str | None:
    if by is not None and rule is not None and rule.is_desil:
        raise ValueError(
            f"--quota {rule} ranks every household nationally (as BPS ranks the registry into "
            f"desil); --by {by} does not apply to it: leave --by out"
        )
    column = "cluster" if by == "KDDESA" else by
    if column is not None and column not in frame.columns:
        raise ValueError(
            f"--by {by}: the targeting frame has no column {column!r}; use KDKEC or KDDESA"
        )
    return column


def compare(
    frame: pd.DataFrame,
    systems: Sequence[str],
    *,
    quota: str | int | float | Quota = "siksng",
    by: str | None = None,
    bootstrap: int = 1000,
    seed: int | np.random.Generator = 0,
    weight: str = "household",
    reference: str = SIKSNG,
    slices: Sequence[str] | None = None,
    views: Sequence[str] | None = None,
) -> Comparison:
    """Select each model's list at the reference's coverage and compare every system with intervals.

    Parameters
    ----------
    frame : the targeting frame (one row per household).
    systems : model score columns (higher = poorer).
    quota : anything :func:`slrt_ml.targeting.selection.parse_quota` reads:
        ``"siksng"``, ``"reference"`` or the reference's name (as much as the reference
        selected), a count, a share of the eligible households, or ``"<unit>:<amount>"``
        with unit ``households``, ``persons`` (``persons`` column) or ``budget`` (Rupiah:
        the ``pkh_benefit`` of the selected), e.g. ``"persons:0.2"``, ``"budget:siksng"``.
        Equal coverage means equal in that unit; households are taken in score order
        while the cumulative amount fits. ``"desil:K"`` (K in 1..10) is the desil rule
        instead: each model lists its eligible households in desil 1..K of its own
        national ranking of every household (survey-weighted in the survey view), the
        reference its eligible households with ``<reference>_desil`` <= K when the frame
        has that column (else its given list); lists differ in size (``list_sizes``).
    by : ``None`` (one national ranking), ``"KDKEC"`` or ``"KDDESA"`` (rank within each
        area at its own quota).
    bootstrap : replicates of the paired desa bootstrap (0: point estimates only). Each
        replicate re-applies the quota rule in its unit and re-selects every model's list
        (see :mod:`slrt_ml.evaluation.reselection`); the reference's list stays as given.
    seed : int or ``numpy.random.Generator``.
    weight : ``"household"`` or ``"person"`` (``persons`` column): the metrics' weights
        (times the survey weight in the survey view).
    reference : the existing system every model is compared with; the frame holds its
        list and ranking as ``<reference>_selected`` and ``<reference>_score``
        (``"siksng"`` for a PBDT registry, e.g. ``"pmt_scorecard"`` for a mapped table).
    slices : the columns to break errors down by (default :func:`default_slices`);
        columns with fewer than two groups (not mapped) are left out.
    views : the views to report, default first (default :func:`available_views`: the
        ``survey`` view when the frame has a survey sample, and the ``population`` view
        of every household when their truth is known).

    Returns
    -------
    Comparison
        Of the first view, with the others in ``other_views``. Ties break by ``IDBDT``
        ascending, so row order does not change any result.
    """
    slices = default_slices(frame) if slices is None else list(slices)
    _check_frame(frame, systems, weight, reference, slices)
    rule = parse_quota(quota, reference_names=(reference,))
    _area_column(frame, by, rule)
    views = available_views(frame) if views is None else list(views)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    results = [
        _compare_view(frame, list(systems), rule, by, bootstrap, rng, weight, reference, slices, v)
        for v in views
    ]
    results[0].other_views = results[1:]
    return results[0]


def _compare_view(
    frame: pd.DataFrame, systems: list[str], rule: Quota, by: str | None, bootstrap: int,
    rng: np.random.Generator, weight: str, reference: str, slices: list[str], view: str,
) -> Comparison:  # fmt: skip
    data = systems_from_frame(
        frame, systems, rule, _area_column(frame, by), weight, reference, view
    )
    rows = frame if view == "population" else frame[frame["labelled"].fillna(0).astype(bool)]
    rows = rows.reset_index(drop=True)
    draws = bootstrap_draws(data, bootstrap, rng)
    sizes = data.list_sizes()
    table = comparison_table(data, bootstrap, rng, draws=draws)
    table = table.assign(view=view, rule=str(rule), list_size=table["system"].map(sizes))
    mapped = [p.name for p in slicings(rows, slices)]
    slice_rows, _ = _breakdowns.slices(rows, data, mapped)
    slice_table, slice_gaps = group_gap_tables(rows, data, mapped, draws, rng)
    return Comparison(
        selections=_breakdowns.selections_long(data),
        table=table,
        curves=_breakdowns.curves(data),
        slices=slice_rows,
        slice_gaps=slice_gaps,
        agreement=_breakdowns.agreement(data),
        systems=list(data.scores),
        quota=data.quota,
        by=by,
        weight=weight,
        bootstrap=bootstrap,
        reference=reference,
        slice_table=slice_table.assign(view=view),
        view=view,
        quota_rule=rule,
        list_sizes=sizes,
        reference_list=data.reference_list,
    )


def compare_systems(
    selections: pd.DataFrame,
    frame: pd.DataFrame | None = None,
    *,
    bootstrap: int = 1000,
    seed: int | np.random.Generator = 0,
    weight: str = "household",
    reference: str = SIKSNG,
    quota: str | int | float = "siksng",
    by: str | None = None,
) -> pd.DataFrame:
    """The comparison table (``system, metric, estimate, ci_low, ci_high, view, rule,
    list_size``) from long selections (household quotas or the desil rule, the population
    view: no survey weights).

    Parameters
    ----------
    selections : ``compare(...).selections`` (one row per system and household).
    frame : the targeting frame; supplies ``cluster`` for the bootstrap, ``persons`` for
        person weights, ``welfare`` for ``spearman_welfare`` and the ``by`` column. Without
        it only household weights and point estimates are possible and
        ``spearman_welfare`` is ``nan``.
    bootstrap, seed, weight : as in :func:`compare`.
    reference : the system the ``<metric>_diff_vs_<reference>`` rows are taken against;
        when selections hold no such system there are no difference rows (and a bootstrap
        with a reference quota is refused: there is no list to count).
    quota, by : the selection rule the bootstrap re-applies; pass what ``compare`` was
        given to reproduce its intervals (the point estimates do not depend on them).
    """
    area_column = "cluster" if by == "KDDESA" else by
    data = systems_from_selections(selections, frame, weight, reference, quota, area_column)
    table = comparison_table(data, bootstrap, np.random.default_rng(seed))
    rule = str(parse_quota(quota, reference_names=(reference,)))
    return table.assign(
        view="population", rule=rule, list_size=table["system"].map(data.list_sizes())
    )


def metrics_from_selections(
    selections: pd.DataFrame,
    frame: pd.DataFrame | None = None,
    *,
    weight: str = "household",
    reference: str = SIKSNG,
) -> pd.DataFrame:
    """Point estimates (``system, metric, estimate``) recomputed from ``selections`` alone.

    Reproduces the ``estimate`` column of ``comparison.csv`` from ``selections.parquet``;
    with ``frame=None`` every metric but ``spearman_welfare`` (which needs welfare) matches.
    ``reference``: as in :func:`compare_systems`.
    """
    table = compare_systems(selections, frame, bootstrap=0, weight=weight, reference=reference)
    return table[["system", "metric", "estimate"]]
