"""The synthetic DTKS registry: same files as the real one, same bytes for the same seed.

:func:`make_registry` builds it in memory, :func:`generate_registry` writes a registry
folder chunk by chunk (docs/CONTRACTS.md). Synthetic results show that the pipeline
works; they are not evidence about the real SIKS-NG.
"""

from slrt_ml.data.synth.areas import AreaModel, area_model, make_areas
from slrt_ml.data.synth.generator import (
    Progress,
    generate_registry,
    iter_registry,
    make_registry,
    summary,
)
from slrt_ml.data.synth.parameters import PERIODE, POVERTY_LINES, Profile, SynthParameters
from slrt_ml.data.synth.siksng import Ranking

__all__ = [
    "PERIODE",
    "POVERTY_LINES",
    "AreaModel",
    "Profile",
    "Progress",
    "Ranking",
    "SynthParameters",
    "area_model",
    "generate_registry",
    "iter_registry",
    "make_areas",
    "make_registry",
    "summary",
]
