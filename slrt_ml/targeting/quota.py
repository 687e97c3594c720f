"""Quota rules: how much a list may hold, and in which unit.

:func:`parse_quota` is the one parser of ``--quota``, the ``compare.quota`` config key and
``compare(quota=...)``, including the desil rule ``"desil:K"`` (eligible households in
desil 1..K of each system's own national ranking, :mod:`slrt_ml.targeting.desil`: no
common quota, lists differ in size); :func:`weighted_quota` turns a rule in persons, Rupiah or
survey-weighted households into an amount (:func:`slrt_ml.targeting.selection.quota_from`
calls it when a unit weight is given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["QUOTA_UNITS", "Quota", "parse_quota", "weighted_quota"]

#: What a quota counts: households, persons (``persons``) or Rupiah (``pkh_benefit``).
QUOTA_UNITS = ("households", "persons", "budget")
#: Quota words meaning "as many as the reference selected" (in the quota's unit).
_REFERENCE_WORDS = ("siksng", "reference")
#: The word of the desil rule: ``"desil:K"``.
_DESIL = "desil"


@dataclass(frozen=True)
class Quota:
    """A quota rule: an ``amount`` in a ``unit``.

    ``amount`` is ``"siksng"`` (as much as the reference's list holds, in ``unit``), an
    int (a count of households or persons, or Rupiah) or a float share in (0, 1] of the
    eligible total in ``unit``; ``unit`` is one of :data:`QUOTA_UNITS`. Equal coverage
    then means equal in that unit.

    ``kind="desil"`` is the desil rule instead (``amount`` = K in 1..10): every system
    lists its eligible households in desil 1..K of its own national ranking, so lists
    differ in size (not equal coverage).

    >>> str(Quota(4, kind="desil")), Quota(4, kind="desil").max_desil, str(Quota(0.2, "persons"))
    ('desil:4', 4, 'persons:0.2')
    """

    amount: str | int | float = "siksng"
    unit: str = "households"
    kind: str = "quota"

    @property
    def is_desil(self) -> bool:
        """Whether this is the desil rule (``"desil:K"``), not a quota."""
        return self.kind == _DESIL

    @property
    def max_desil(self) -> int | None:
        """K of the desil rule (``None`` for a quota)."""
        return int(self.amount) if self.is_desil else None

    def __str__(self) -> str:
        if self.is_desil:
            return f"{_DESIL}:{self.amount}"
        return str(self.amount) if self.unit == "households" else f"{self.unit}:{self.amount}"


def _parse_amount(text: str, unit: str, original: Any) -> int | float:
    hint = (
        f"quota {original!r} is not understood; use 'siksng', a count (5000), a share in "
        "(0, 1] (0.2), or prefix a unit: 'persons:0.2', 'budget:5e9', 'budget:siksng'; "
        "or the desil rule 'desil:4'"
    )
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ValueError(hint) from None
    if 0 < value <= 1:
        return value
    if value > 1 and value.is_integer():
        return int(value)
    if value > 1 and unit == "budget":
        return value
    raise ValueError(f"{hint}; {value} is neither a whole count nor a share in (0, 1]")


def _parse_desil(text: str, original: Any) -> Quota:
    """``"desil:K"`` with K a whole number 1..10 (PKH since 2025: ``desil:4``)."""
    hint = (
        f"quota {original!r}: the desil rule is 'desil:K' with K a whole number 1..10 "
        "(eligible households in desil 1..K of each system's own ranking; PKH: 'desil:4')"
    )
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{hint}; {text!r} is not a number") from None
    if not value.is_integer() or not 1 <= value <= 10:
        raise ValueError(f"{hint}; got {text!r}")
    return Quota(int(value), "households", kind=_DESIL)


def parse_quota(value: Any, *, reference_names: tuple[str, ...] = ()) -> Quota:
    """The one parser of quota rules (``--quota``, ``compare.quota``, ``compare(quota=)``).

    ``"siksng"`` (or ``"reference"`` or a name in ``reference_names``): as much as the
    reference's list; ``"5000"``: a count; ``"0.2"``: a share of the eligible total;
    ``"<unit>:<amount>"`` with unit ``households``, ``persons`` or ``budget`` (Rupiah:
    the sum of ``pkh_benefit`` of the selected households), e.g. ``"persons:0.2"``,
    ``"budget:5e9"``, ``"budget:siksng"``; ``"desil:K"`` (K in 1..10): the desil rule,
    eligible households in desil 1..K of each system's own national ranking (households,
    survey-weighted in a survey view). A :class:`Quota` passes through.

    >>> parse_quota("persons:0.2"), parse_quota(500).amount
    (Quota(amount=0.2, unit='persons', kind='quota'), 500)
    >>> str(parse_quota("budget:5e9"))
    'budget:5000000000'
    >>> parse_quota("budget:siksng").amount
    'siksng'
    >>> parse_quota("desil:4")
    Quota(amount=4, unit='households', kind='desil')
    """
    if isinstance(value, Quota):
        return value
    if isinstance(value, bool):
        raise ValueError(f"quota {value!r} is not understood; use 'siksng', a count or a share")
    if isinstance(value, int | np.integer | float | np.floating):
        return Quota(_parse_amount(str(value), "households", value), "households")
    text = str(value).strip()
    unit, _, amount = text.rpartition(":")
    unit = unit.strip() or "households"
    if unit == _DESIL:
        return _parse_desil(amount.strip(), value)
    if _DESIL in unit.split(":") or amount.strip() == _DESIL:
        raise ValueError(
            f"quota {value!r}: the desil rule is written 'desil:K' (K in 1..10, e.g. 'desil:4'); "
            "its deciles count households (survey-weighted in the survey view), not persons "
            "or Rupiah"
        )
    if unit not in QUOTA_UNITS:
        raise ValueError(
            f"quota {value!r}: unknown unit {unit!r}; use one of {', '.join(QUOTA_UNITS)} "
            "(e.g. 'persons:0.2') or the desil rule 'desil:K'"
        )
    amount = amount.strip()
    if amount in (*_REFERENCE_WORDS, *reference_names):
        return Quota("siksng", unit)
    number = _parse_amount(amount, unit, value)
    if isinstance(number, int) and number < 0:
        raise ValueError(f"quota {value!r} must be >= 0")
    return Quota(number, unit)


def weighted_quota(
    selected: np.ndarray, how: Any, area: Any, unit_weight: Any, eligible: Any
) -> float | pd.Series:
    """The quota as an amount in the unit of ``unit_weight`` (overall, or per area).

    >>> weighted_quota(np.array([1, 0, 1]), "siksng", None, np.array([2.0, 3.0, 4.0]), None)
    6.0
    >>> weighted_quota(np.array([1, 0, 1]), 0.5, None, np.array([2.0, 3.0, 4.0]), None)
    4.5
    """
    weight = np.asarray(unit_weight, dtype=float)
    if weight.shape != selected.shape:
        raise ValueError(f"unit_weight has shape {weight.shape}, expected {selected.shape}")
    keep = np.ones(len(weight), bool) if eligible is None else np.asarray(eligible).astype(bool)
    areas = np.zeros(len(weight), np.int64) if area is None else pd.Series(
        np.asarray(area), dtype="string").to_numpy()  # fmt: skip
    listed = pd.Series(weight * selected).groupby(areas).sum().sort_index()
    base = pd.Series(weight * keep).groupby(areas).sum().sort_index()
    if how == "siksng":
        amounts = listed
    elif isinstance(how, bool) or not isinstance(how, int | float | np.integer | np.floating):
        raise ValueError(f"quota {how!r} is not understood; use 'siksng', a count or a share")
    elif isinstance(how, int | np.integer) or how > 1:
        if how < 0:
            raise ValueError(f"quota {how} must be >= 0")
        total = float(base.sum())
        amounts = base * (float(how) / total) if total > 0 else base * 0.0
    elif not 0 < how <= 1:
        raise ValueError(f"quota share {how} must be in (0, 1]; for a count pass an int")
    else:
        amounts = base * float(how)
    if area is None:
        return float(amounts.sum())
    return amounts.astype(float).rename("quota")
