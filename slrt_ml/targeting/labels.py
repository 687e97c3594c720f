"""Guard rails on the poverty label: a degenerate label is an error, not a result.

A label with one class (or almost one) makes every targeting metric meaningless: with
every household poor, any list has exclusion error 1 - coverage and the bootstrap
interval collapses to a point, so a run "succeeds" with numbers that mean nothing. The
usual causes are a welfare column in logs compared with a poverty line in levels (or the
reverse), or a ``poor_values`` map that sends every code to the same class.

>>> import numpy as np
>>> check_label_prevalence(np.array([0, 1, 0, 1]), column="poor", source="truth.csv")
>>> check_label_prevalence(np.ones(200), column="poor", source="truth.csv")
Traceback (most recent call last):
...
slrt_ml.targeting.labels.LabelError: truth.csv: label 'poor' has one class (200 of 200 households poor, 100.0%); ...
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LabelError", "MIN_PREVALENCE", "check_label_prevalence", "text_label_hint"]

#: Prevalence below this share (or above 1 - it) is refused.
MIN_PREVALENCE = 0.01

_CAUSES = (
    "likely causes: welfare in logs compared with a poverty line in levels (or the "
    "reverse), a poverty line in another unit or period (per household vs per capita, "
    "year vs month), or a poor_values map that sends every code to the same class; "
    "check the label column and the mapping"
)


class LabelError(ValueError):
    """The poverty label is degenerate (one class, or prevalence under 1% or over 99%)."""


def check_label_prevalence(
    poor: np.ndarray | pd.Series,
    *,
    column: str,
    source: str,
    sample_weight: np.ndarray | None = None,
) -> None:
    """Refuse a label with one class or a prevalence outside [1%, 99%].

    Parameters
    ----------
    poor : array of 0/1
        The poverty label, one value per household (1 = poor).
    column : str
        The column the label came from, named in the error.
    source : str
        The file or mapping the label came from, named in the error.
    sample_weight : array, optional
        Survey weights; the prevalence is then the weighted share.

    Raises
    ------
    LabelError
        Naming the column, the counts, the share and the likely causes.
    """
    values = np.asarray(poor, dtype=np.float64)
    n, n_poor = len(values), int(np.sum(values == 1))
    if n == 0:
        raise LabelError(f"{source}: label {column!r} has no households")
    weights = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    share = float(np.sum(weights * (values == 1)) / np.sum(weights))
    if n_poor in (0, n):
        what = "one class"
    elif share < MIN_PREVALENCE or share > 1 - MIN_PREVALENCE:
        what = f"a prevalence outside [{MIN_PREVALENCE:.0%}, {1 - MIN_PREVALENCE:.0%}]"
    else:
        return
    raise LabelError(
        f"{source}: label {column!r} has {what} ({n_poor} of {n} households poor, "
        f"{share:.1%}); targeting errors are meaningless on such a label. {_CAUSES}"
    )


def text_label_hint(values: pd.Series, *, column: str, source: str) -> str | None:
    """A message for a label column holding text such as "Pobre"/"No pobre", else None.

    >>> text_label_hint(pd.Series(["Pobre", "No pobre"]), column="y", source="m.yaml")
    "m.yaml: label column 'y' holds text (e.g. ['No pobre', 'Pobre']), not 0/1; list every value under poor_values in the mapping with 1 (poor) or 0 (not poor)"
    """
    present = values.dropna()
    text = present[pd.to_numeric(present, errors="coerce").isna()]
    if text.empty:
        return None
    shown = sorted(map(str, text.unique()))[:5]
    return (
        f"{source}: label column {column!r} holds text (e.g. {shown}), not 0/1; list "
        "every value under poor_values in the mapping with 1 (poor) or 0 (not poor)"
    )
