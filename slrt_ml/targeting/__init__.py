"""Targeting: who the programme should reach, and who each system selects.

The targeting frame (:mod:`slrt_ml.targeting.frame`: one aligned row per household with
features, labels, eligibility and the reference system's list) and the selection rules
(:mod:`slrt_ml.targeting.selection`: quota, share, per-area quota, rank within desa).
"""

from slrt_ml.targeting.frame import (
    POVERTY_LINES_SULSEL_2024,
    TargetingData,
    frame_digest,
    registry_targeting_data,
    targeting_frame,
)
from slrt_ml.targeting.selection import (
    QuotaShortfallWarning,
    RankSelectionMismatch,
    desa_quota,
    largest_remainder,
    quota_from,
    rank_and_select,
    rank_within_area,
    select_under_quota,
)

__all__ = [
    "POVERTY_LINES_SULSEL_2024",
    "QuotaShortfallWarning",
    "RankSelectionMismatch",
    "TargetingData",
    "desa_quota",
    "frame_digest",
    "largest_remainder",
    "quota_from",
    "rank_and_select",
    "rank_within_area",
    "registry_targeting_data",
    "select_under_quota",
    "targeting_frame",
]
