"""Comparison against a mapped reference system, with the mapping's own slices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from slrt_ml.evaluation.compare import Comparison, compare, default_slices

__all__ = ["compare_with_reference"]


def compare_with_reference(
    frame: pd.DataFrame,
    systems: list[str],
    *,
    reference: str,
    extra_slices: Sequence[str] = (),
    **options: Any,
) -> Comparison:
    """:func:`slrt_ml.evaluation.compare.compare` against ``reference``, with extra slices.

    Parameters
    ----------
    frame
        The targeting frame with ``<reference>_selected``/``<reference>_score`` and one
        score column per system.
    systems
        The score columns to compare.
    reference
        The reference system's name.
    extra_slices
        Slice columns beyond the standard ones the frame has (e.g. ``data.extra["slices"]``).
    **options
        Passed to ``compare`` (``quota``, ``by``, ``bootstrap``, ``seed``, ``weight``, ``views``).

    Returns
    -------
    Comparison
    """
    standard = default_slices(frame)
    slices = [*standard, *(s for s in extra_slices if s not in standard)]
    return compare(frame, systems, reference=reference, slices=slices, **options)
