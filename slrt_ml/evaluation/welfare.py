"""Welfare after transfers: CRRA social welfare, FGT poverty and the budget curve.

Counting errors says how many poor households a list misses, not what that costs them.
This module gives every selected household its transfer and measures consumption after
it, per capita per month (``welfare + transfer / 12 / persons``):

- **CRRA social welfare** (Hanna & Olken 2018), ``u(c) = c**(1 - rho) / (1 - rho)`` summed
  over units, ``log(c)`` at ``rho = 1``. The definition is cider's (Global Policy Lab,
  ``cider/targeting.py``, ``Targeting.utility``: ``((var1 + benefits)**(1-rho))/(1-rho)``
  summed over records, no ``-1`` constant); cider divides by zero at ``rho = 1``, where
  the log is the limit up to that constant. Consumption enters in :data:`CRRA_UNIT`
  (Rp 1,000 per capita per month) so the numbers stay printable; the equally distributed
  equivalent (``ede``, in Rp per capita per month) is the readable form.
- **FGT poverty** (Foster, Greer & Thorbecke 1984): mean of ``max(0, (z - y) / z)**a`` with
  ``y < z`` (headcount ``a = 0``, gap ``a = 1``, severity ``a = 2``) against each
  household's poverty line ``z`` (urban or rural).
- **Two transfer rules.** ``pkh_schedule``: the list fills a budget in Rupiah of each
  household's PKH entitlement (``pkh_benefit``, the 2021-2024 amounts per component,
  :data:`slrt_ml.features.components.PKH_BENEFIT_2021_2024`) and each selected household
  receives that entitlement. ``uniform``: cider's budget curve (``Targeting.utility_grid``):
  a fixed budget ``B = b x N`` (``b`` per household of the population), the poorest-ranked
  ``share x N`` households each receive ``B / (share x N) = b / share``; welfare against the
  share targeted is the *budget curve*, and its maximum the best share for that budget.

Intervals come from the paired cluster bootstrap over desa, re-applying every system's
rule in each replicate (:mod:`slrt_ml.evaluation.reselection`): the same draws serve every
system, share and metric.

>>> social_welfare(np.array([1.0, 4.0]), np.array([1.0, 0.0]), rho=2)
-0.75
>>> round(fgt(np.array([50.0, 100.0, 150.0]), 100.0, 1), 4)
0.1667
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from slrt_ml.evaluation.bootstrap import cluster_multiplicities, percentile_interval
from slrt_ml.evaluation.reselection import QuotaRule, RankedList, reselected_sums
from slrt_ml.targeting.frame import POVERTY_LINES_SULSEL_2024

__all__ = [
    "CRRA_UNIT",
    "DEFAULT_RHOS",
    "DEFAULT_SHARES",
    "WelfareInputs",
    "crra_utility",
    "equally_distributed_equivalent",
    "fgt",
    "social_welfare",
    "welfare_curves",
    "welfare_inputs",
]

#: Rupiah per unit of consumption in the CRRA sums (Rp 1,000 per capita per month).
CRRA_UNIT = 1_000.0
DEFAULT_RHOS: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0)
#: Shares of households targeted on the budget curve (5% to 60%, as the coverage curve).
DEFAULT_SHARES: tuple[float, ...] = tuple(np.round(np.arange(0.05, 0.601, 0.05), 2))
FGT_ALPHAS = (0, 1, 2)


def crra_utility(consumption: np.ndarray, rho: float) -> np.ndarray:
    """CRRA utility ``c**(1-rho)/(1-rho)`` (``log c`` at ``rho = 1``), cider's form.

    >>> crra_utility(np.array([1.0, 2.0]), 2).tolist()
    [-1.0, -0.5]
    """
    c = np.asarray(consumption, np.float64)
    if np.any(c <= 0):
        raise ValueError(
            f"CRRA utility needs consumption > 0; {int(np.sum(c <= 0))} values are <= 0 "
            f"(e.g. {c[c <= 0][:3].tolist()}): check the truth's welfare_pc"
        )
    if rho == 1:
        return np.log(c)
    return c ** (1 - rho) / (1 - rho)


def social_welfare(
    consumption: np.ndarray, transfer: np.ndarray, *, rho: float, sample_weight=None
) -> float:
    """Sum of CRRA utility of ``consumption + transfer`` (cider's ``Targeting.utility``).

    Denominator: none, a sum over units (weighted by ``sample_weight``).

    >>> social_welfare(np.array([1.0, 1.0]), np.array([1.0, 0.0]), rho=3)
    -0.625
    """
    value = crra_utility(np.asarray(consumption) + np.asarray(transfer), rho)
    weight = np.ones(len(value)) if sample_weight is None else np.asarray(sample_weight, float)
    return float(np.sum(weight * value))


def equally_distributed_equivalent(mean_utility: np.ndarray | float, rho: float) -> np.ndarray:
    """The consumption that, given to everyone, yields ``mean_utility`` (inverse of CRRA).

    >>> float(equally_distributed_equivalent(-0.5, 2))
    2.0
    """
    u = np.asarray(mean_utility, np.float64)
    if rho == 1:
        return np.exp(u)
    with np.errstate(invalid="ignore"):
        return (u * (1 - rho)) ** (1 / (1 - rho))


def fgt(consumption: np.ndarray, poverty_line, alpha: int, *, sample_weight=None) -> float:
    """Foster-Greer-Thorbecke index: weighted mean of ``((z - y)/z)**alpha`` over ``y < z``.

    Denominator: every unit (weighted), poor or not. ``alpha`` 0 headcount, 1 gap, 2 severity.

    >>> fgt(np.array([50.0, 100.0, 150.0]), 100.0, 0)
    0.3333333333333333
    """
    weight = np.ones(len(consumption)) if sample_weight is None else sample_weight
    values = _fgt_terms(np.asarray(consumption, float), np.asarray(poverty_line, float), alpha)
    return float(np.sum(weight * values) / np.sum(weight))


def _fgt_terms(y: np.ndarray, z: np.ndarray, alpha: int) -> np.ndarray:
    poor = y < z
    gap = np.where(poor, (z - y) / z, 0.0)
    return poor.astype(float) if alpha == 0 else gap**alpha


@dataclass(frozen=True)
class WelfareInputs:
    """Per-household arrays of one evaluation (same order everywhere).

    ``welfare`` Rp per capita per month before transfers; ``persons`` household size;
    ``poverty_line`` Rp per capita per month; ``benefit`` Rupiah a year if selected under
    the PKH schedule; ``weight`` households (1) or persons; ``cluster`` desa codes 0..K-1;
    ``tie`` integer tie-break codes (IDBDT order); ``reference_selected`` the reference's
    list; ``scores`` system -> score (higher = poorer).
    """

    welfare: np.ndarray
    persons: np.ndarray
    poverty_line: np.ndarray
    benefit: np.ndarray
    eligible: np.ndarray
    weight: np.ndarray
    cluster: np.ndarray
    tie: np.ndarray
    reference: str
    reference_selected: np.ndarray
    scores: dict[str, np.ndarray]

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1 if len(self.cluster) else 0

    def metric_columns(self, transfer_year: np.ndarray | float, rhos: Sequence[float]) -> dict:
        """Per household, metric -> value after a yearly household transfer."""
        y = self.welfare + np.asarray(transfer_year, float) / 12.0 / self.persons
        columns = {f"crra_rho{rho:g}": crra_utility(y / CRRA_UNIT, rho) for rho in rhos}
        for alpha in FGT_ALPHAS:
            columns[f"fgt{alpha}"] = _fgt_terms(y, self.poverty_line, alpha)
        return columns


def _sums(draws: np.ndarray, inputs: WelfareInputs, columns: np.ndarray) -> np.ndarray:
    """(replicates x k) weighted sums with each household counted as often as its desa."""
    per_cluster = np.column_stack([
        np.bincount(inputs.cluster, weights=inputs.weight * col, minlength=inputs.n_clusters)
        for col in columns.T
    ])  # fmt: skip
    return draws.astype(np.float64) @ per_cluster


def _estimates(total: np.ndarray, weight: np.ndarray, names: list[str], rhos) -> dict:
    """metric -> (replicates,) means, EDE (Rp per capita per month) from the CRRA means."""
    means = total / weight[:, None]
    out = {name: means[:, j] for j, name in enumerate(names)}
    for rho in rhos:
        ede = equally_distributed_equivalent(out[f"crra_rho{rho:g}"], rho) * CRRA_UNIT
        out[f"ede_rho{rho:g}"] = ede
    return out


def _rows(system, rule, share, transfer, draws_full, draws_boot, compute) -> list[dict]:
    full, boot = compute(draws_full), compute(draws_boot) if len(draws_boot) else None
    rows = []
    for metric, value in full.items():
        low, high = (np.nan, np.nan)
        if boot is not None:
            low, high = (float(v[0]) for v in percentile_interval(boot[metric][:, None]))
        rows.append({"system": system, "rule": rule, "share": share, "transfer": transfer,
                     "metric": metric, "estimate": float(value[0]), "ci_low": low,
                     "ci_high": high})  # fmt: skip
    return rows


def _system_total(inputs, draws, name, rule, quota_rule, delta) -> np.ndarray:
    """Weighted sums of ``delta`` columns over the system's (re-)selected households."""
    if name == inputs.reference and rule == "pkh_schedule":
        return _sums(draws, inputs, delta * inputs.reference_selected[:, None])
    ranked = RankedList.from_scores(inputs.scores[name], inputs.eligible, tie=inputs.tie)
    quota = quota_rule.replicate_quota(draws, inputs.cluster, np.ones(len(inputs.tie), bool))
    unit = quota_rule.unit_weight
    return reselected_sums(ranked, draws, inputs.cluster, quota,
                           delta * inputs.weight[:, None], inputs.eligible, None, unit)  # fmt: skip


def welfare_curves(
    inputs: WelfareInputs,
    *,
    budget: float | None = None,
    shares: Sequence[float] = DEFAULT_SHARES,
    rhos: Sequence[float] = DEFAULT_RHOS,
    bootstrap: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Welfare and poverty after transfers, per system and rule, with cluster-bootstrap CIs.

    Parameters
    ----------
    inputs : WelfareInputs
    budget : Rupiah a year; default the cost of the reference's list under the PKH
        schedule (``sum(benefit x reference_selected)``, SIKS-NG's budget).
    shares : shares of all households targeted on the uniform budget curve.
    rhos : CRRA inequality aversions.
    bootstrap, seed : replicates (0 = no intervals) and the seed of the desa draws.

    Returns
    -------
    DataFrame ``system, rule, share, transfer, metric, estimate, ci_low, ci_high``:
    rule ``none`` (system ``none``: no transfer), ``pkh_schedule`` (the budget filled in
    PKH entitlements; ``share`` = households selected / households, ``transfer`` = mean
    Rupiah a year per selected household), ``uniform`` (cider's budget curve: ``transfer``
    = ``budget / (share x households)`` each; system ``universal`` = everyone, share 1).
    Metrics ``crra_rho<r>`` (mean CRRA utility, consumption in Rp 1,000), ``ede_rho<r>``
    (Rp per capita per month), ``fgt0``, ``fgt1``, ``fgt2`` (after transfers); under
    ``pkh_schedule`` every model also gets ``<metric>_diff_vs_<reference>`` (model minus
    reference, paired on the same desa draws).
    """
    n = len(inputs.welfare)
    if n == 0:
        raise ValueError("welfare_curves needs at least one household with a known welfare")
    budget = float(np.sum(inputs.benefit * inputs.reference_selected)) if budget is None else budget
    rng = np.random.default_rng(seed)
    full = np.ones((1, inputs.n_clusters), np.int64)
    boot = cluster_multiplicities(inputs.n_clusters, bootstrap, rng) if bootstrap else full[:0]
    base = inputs.metric_columns(0.0, rhos)
    names = list(base)
    base_matrix = np.column_stack([base[k] for k in names])
    weight_of = lambda d: _sums(d, inputs, np.ones((n, 1)))[:, 0]  # noqa: E731

    def curve(delta_of, name, rule, quota_rule):
        delta = delta_of()
        return lambda d: _estimates(
            _sums(d, inputs, base_matrix) + _system_total(inputs, d, name, rule, quota_rule, delta),
            weight_of(d), names, rhos,
        )  # fmt: skip

    rows = _rows("none", "none", 0.0, 0.0, full, boot,
                 lambda d: _estimates(_sums(d, inputs, base_matrix), weight_of(d), names, rhos))  # fmt: skip
    rows += _schedule_rows(inputs, budget, names, rhos, full, boot, curve, base_matrix)
    rows += _uniform_rows(inputs, budget, shares, names, rhos, full, boot, curve, base_matrix)
    return pd.DataFrame(rows)


def _delta(inputs, transfer, rhos, names, base_matrix) -> np.ndarray:
    after = inputs.metric_columns(transfer, rhos)
    return np.column_stack([after[k] for k in names]) - base_matrix


def _schedule_rows(inputs, budget, names, rhos, full, boot, curve, base_matrix) -> list[dict]:
    rule = QuotaRule.from_rate(np.array([budget]), inputs.eligible, None, inputs.benefit)
    if np.isclose(budget, np.sum(inputs.benefit * inputs.reference_selected)):
        rule = QuotaRule.from_reference(inputs.reference_selected, None, 1, inputs.benefit)
    delta = _delta(inputs, inputs.benefit, rhos, names, base_matrix)
    rows = []
    reference = curve(lambda: delta, inputs.reference, "pkh_schedule", rule)
    for name in [inputs.reference, *[s for s in inputs.scores if s != inputs.reference]]:
        share, mean_transfer = _schedule_share(inputs, name, rule)
        compute = curve(lambda: delta, name, "pkh_schedule", rule)
        rows += _rows(name, "pkh_schedule", share, mean_transfer, full, boot, compute)
        if name != inputs.reference:  # paired: the same desa draws for both systems
            rows += _rows(name, "pkh_schedule", share, mean_transfer, full, boot,
                          _difference(compute, reference, inputs.reference))  # fmt: skip
    return rows


def _difference(compute, reference, label: str):
    """System minus reference on the same draws: metrics ``<metric>_diff_vs_<label>``."""

    def paired(draws):
        mine, theirs = compute(draws), reference(draws)
        return {f"{k}_diff_vs_{label}": mine[k] - theirs[k] for k in mine}

    return paired


def _schedule_share(inputs: WelfareInputs, name: str, rule: QuotaRule) -> tuple[float, float]:
    """Full-data share of households selected and mean yearly transfer per selected."""
    n = len(inputs.tie)
    columns = np.column_stack([np.ones(n), inputs.benefit])
    if name == inputs.reference:
        count, spent = columns[inputs.reference_selected.astype(bool)].sum(axis=0)
    else:
        full = np.ones((1, inputs.n_clusters), np.int64)
        ranked = RankedList.from_scores(inputs.scores[name], inputs.eligible, tie=inputs.tie)
        quota = rule.replicate_quota(full, inputs.cluster, np.ones(n, bool))
        count, spent = reselected_sums(ranked, full, inputs.cluster, quota, columns,
                                       inputs.eligible, None, rule.unit_weight)[0]  # fmt: skip
    return float(count) / n, float(spent) / float(count) if count else 0.0


def _uniform_rows(inputs, budget, shares, names, rhos, full, boot, curve, base_matrix) -> list:
    n = len(inputs.welfare)
    per_household = budget / n
    rows = []
    universal = _delta(inputs, per_household, rhos, names, base_matrix)
    rows += _rows("universal", "uniform", 1.0, per_household, full, boot,
                  lambda d: _estimates(_sums(d, inputs, base_matrix + universal),
                                       _sums(d, inputs, np.ones((n, 1)))[:, 0], names, rhos))  # fmt: skip
    reachable = [s for s in shares if s * n <= inputs.eligible.sum()]
    for share in reachable:
        transfer = per_household / share
        rule = QuotaRule.from_rate(np.array([share * n]), np.ones(n, bool))
        delta = _delta(inputs, transfer, rhos, names, base_matrix)
        for name in inputs.scores:
            compute = curve(lambda delta=delta: delta, name, "uniform", rule)
            rows += _rows(name, "uniform", float(share), transfer, full, boot, compute)
    return rows


def welfare_inputs(
    frame: pd.DataFrame,
    systems: Sequence[str],
    *,
    reference: str = "siksng",
    weight: str = "person",
    poverty_lines: dict[str, float] | None = None,
) -> WelfareInputs:
    """:class:`WelfareInputs` from a targeting frame (rows with a known ``welfare``).

    Needs ``IDBDT, cluster, eligible, welfare, persons, pkh_benefit,
    <reference>_selected``; the poverty line per household comes from ``urban`` and
    ``poverty_lines`` (default BPS March 2024, South Sulawesi). The reference's ranking
    (``<reference>_score``) joins ``systems`` on the uniform budget curve. Rows without
    a welfare (real data outside the survey) are left out; when the frame carries survey
    weights and some rows are left out, the weights multiply ``weight``.
    """
    need = ["IDBDT", "cluster", "eligible", "welfare", "persons", "pkh_benefit",
            f"{reference}_selected", *systems]  # fmt: skip
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValueError(f"welfare curves need the targeting frame columns {missing}")
    known = np.isfinite(pd.to_numeric(frame["welfare"]).to_numpy(float, na_value=np.nan))
    rows = frame[known].reset_index(drop=True)
    lines = poverty_lines or POVERTY_LINES_SULSEL_2024
    urban = rows["urban"].to_numpy(int) if "urban" in rows else np.zeros(len(rows), int)
    w = rows["persons"].to_numpy(float) if weight == "person" else np.ones(len(rows))
    if not known.all() and "survey_weight" in rows:
        w = w * rows["survey_weight"].to_numpy(float)
    scores = {name: rows[name].to_numpy(float) for name in systems}
    if f"{reference}_score" in rows:
        scores = {reference: rows[f"{reference}_score"].to_numpy(float), **scores}
    return WelfareInputs(
        welfare=rows["welfare"].to_numpy(float),
        persons=np.maximum(rows["persons"].to_numpy(float), 1.0),
        poverty_line=np.where(urban == 1, lines["urban"], lines["rural"]),
        benefit=rows["pkh_benefit"].to_numpy(float),
        eligible=rows["eligible"].to_numpy().astype(bool),
        weight=w,
        cluster=pd.factorize(rows["cluster"], sort=True)[0].astype(np.int64),
        tie=pd.factorize(rows["IDBDT"].astype("string"), sort=True)[0].astype(np.int64),
        reference=reference,
        reference_selected=rows[f"{reference}_selected"].to_numpy().astype(bool),
        scores=scores,
    )
