"""PKH components by rule (DESIGN §2) and the 2020 benefit each family is entitled to.

A member counts under the components of :func:`component_flags`; a family's
entitlement pays its :data:`~slrt_ml.features.catalogue.PKH_MAX_COMPONENTS` highest-value
components at the :data:`~slrt_ml.features.catalogue.PKH_BENEFIT_2020` rates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from slrt_ml.features._inputs import feature_frame
from slrt_ml.features.catalogue import (
    _SD,
    _SMA,
    _SMP,
    PKH_BENEFIT_2020,
    PKH_MAX_COMPONENTS,
    SEVERE_DISABILITY_CODES,
)
from slrt_ml.features.members import Members, between, prepare_members

__all__ = [
    "PKH_BENEFIT_2021_2024",
    "component_flags",
    "pkh_benefit",
    "pkh_columns",
    "pkh_components",
    "pkh_entitlement",
]

#: Rp/year per PKH component, as published for 2021-2024 (Kemensos, PKH benefit index
#: "indeks bantuan sosial PKH" 2021-2024; the same amounts as 2020). Check the current
#: decree before using them for a later year.
PKH_BENEFIT_2021_2024: dict[str, int] = dict(PKH_BENEFIT_2020)


def component_flags(m: Members, elderly_age: float) -> dict[str, np.ndarray]:
    """Per member, which PKH components the member counts under (see :func:`pkh_components`)."""
    c, age = m.coded, m.age
    in_school = c.isin("Partisipasi_sekolah", ("1",))
    school_age = between(age, 6, 21)
    pupil = {
        level: in_school & school_age & c.isin("Jenjang_sekolah", codes)
        for level, codes in (("sd", _SD), ("smp", _SMP), ("sma", _SMA))
    }
    no_sma_diploma = c.number("Ijazah_tertinggi") < 3
    child = ~c.isin("Hub_KRT", ("1", "2"))  # "anak": not the head or the spouse
    wajib_belajar = between(age, 7, 21) & ~in_school & no_sma_diploma & child
    return {
        "comp_hamil": c.isin("Sta_hamil", ("1",)),
        "comp_usia_dini": between(age, 0, 6) & ~(pupil["sd"] | pupil["smp"] | pupil["sma"]),
        "comp_sd": pupil["sd"],
        "comp_smp": pupil["smp"],
        "comp_sma": pupil["sma"] | wajib_belajar,
        "comp_disabilitas_berat": c.isin("Jenis_cacat", SEVERE_DISABILITY_CODES),
        "comp_lansia": age >= elderly_age,
    }


def pkh_entitlement(
    counts: Mapping[str, np.ndarray], amounts: Mapping[str, int] = PKH_BENEFIT_2020
) -> np.ndarray:
    """Rp/year for the ``PKH_MAX_COMPONENTS`` highest-value components of each family.

    Parameters
    ----------
    counts : mapping of str to array
        Number of members per component (keys of ``amounts``), one entry per family.
    amounts : mapping of str to int
        Rp/year per component (default the 2020 rates).

    Returns
    -------
    ndarray
        The benefit in Rp/year, one per family.

    >>> pkh_entitlement({name: np.array([1.0]) for name in PKH_BENEFIT_2020}).tolist()
    [10800000.0]
    """
    remaining = np.full(len(next(iter(counts.values()))), float(PKH_MAX_COMPONENTS))
    total = np.zeros_like(remaining)
    for name, amount in sorted(amounts.items(), key=lambda kv: -kv[1]):
        paid = np.minimum(counts[name], remaining)
        total += paid * amount
        remaining -= paid
    return total


def pkh_benefit(components: pd.DataFrame) -> pd.Series:
    """Rp/year a household would receive if selected, from its PKH component counts.

    Published per-component amounts for 2021-2024 (Kemensos PKH benefit index 2021-2024;
    check the current decree): pregnant/postnatal 3,000,000; child aged 0-6 3,000,000;
    SD pupil 900,000; SMP pupil 1,500,000; SMA pupil 2,000,000; severe disability
    2,400,000; elderly 2,400,000. A family is paid for at most
    :data:`PKH_MAX_COMPONENTS` (4) components, the highest-value ones; a family with no
    component receives 0.

    Parameters
    ----------
    components : DataFrame
        The ``comp_*`` counts of :func:`pkh_components` (one row per household).

    Returns
    -------
    Series
        float64 Rupiah per year, same index as ``components``, named ``pkh_benefit``.

    Raises
    ------
    KeyError
        A ``comp_*`` column is missing (the message lists the columns needed).

    >>> counts = pd.DataFrame({c: [0.0, 0.0] for c in PKH_BENEFIT_2021_2024}, index=["A", "B"])
    >>> counts.loc["A", ["comp_sd", "comp_smp"]] = [2.0, 1.0]  # 2 x 0.9M + 1.5M
    >>> pkh_benefit(counts).tolist()
    [3300000.0, 0.0]
    """
    missing = [c for c in PKH_BENEFIT_2021_2024 if c not in components.columns]
    if missing:
        raise KeyError(f"pkh_benefit needs the component counts {missing} (pkh_components)")
    counts = {c: components[c].to_numpy(np.float64) for c in PKH_BENEFIT_2021_2024}
    total = pkh_entitlement(counts, PKH_BENEFIT_2021_2024) if len(components) else np.zeros(0)
    return pd.Series(total, index=components.index, name="pkh_benefit", dtype=np.float64)


def pkh_columns(m: Members, elderly_age: float) -> dict[str, np.ndarray]:
    """Component counts, ``n_components``, ``has_component`` and ``pkh_entitlement``."""
    counts = {name: m.count(flag) for name, flag in component_flags(m, elderly_age).items()}
    n_components = sum(counts.values())
    return {
        **counts,
        "n_components": n_components,
        "has_component": (n_components > 0).astype(np.float64),
        "pkh_entitlement": pkh_entitlement(counts),
    }


def pkh_components(members: pd.DataFrame, *, elderly_age: float = 60) -> pd.DataFrame:
    """PKH components by rule, one row per ``IDBDT`` of the member file (sorted).

    Counts per component (a child counts under at most one of usia dini/SD/SMP/SMA):

    - ``comp_hamil``: ``Sta_hamil == "1"``.
    - ``comp_sd``/``comp_smp``/``comp_sma``: aged 6-21, in school (``Partisipasi_sekolah
      == "1"``) at ``Jenjang_sekolah`` 1-3 (SD, Paket A, MI) / 4-6 (SMP, Paket B, MTs) /
      7-9 (SMA/SMK, Paket C, MA). ``comp_sma`` also counts the "wajib belajar 12 tahun"
      children: aged 7-21, not the head or spouse (``Hub_KRT`` not 1 or 2), not in
      school, without an SMA diploma (``Ijazah_tertinggi`` < 3).
      University students count under none.
    - ``comp_usia_dini``: aged 0-6 and not counted as a pupil above.
    - ``comp_disabilitas_berat``: ``Jenis_cacat`` in :data:`SEVERE_DISABILITY_CODES`.
    - ``comp_lansia``: aged ``elderly_age`` or more (60 by default; older guidelines 70).

    A person may count under several components (an elderly woman with a severe
    disability). ``n_components`` is the uncapped total, ``has_component`` is 1 when it
    is positive (PKH eligibility), ``pkh_entitlement`` the 2020 benefit in Rp/year for
    the :data:`PKH_MAX_COMPONENTS` highest-value components (:data:`PKH_BENEFIT_2020`).

    Parameters
    ----------
    members : DataFrame
        The member file (PBDT 2015 columns).
    elderly_age : float, default 60
        Age from which a member counts under ``comp_lansia``.

    Returns
    -------
    DataFrame
        ``float32`` columns ``comp_*``, ``n_components``, ``has_component`` and
        ``pkh_entitlement``, indexed by ``IDBDT``.

    Raises
    ------
    FeatureError
        A required column is missing or a code is not in the codebook.

    >>> members = pd.DataFrame({
    ...     "IDBDT": ["A"] * 6, "NoART": [1, 2, 3, 4, 5, 6], "Hub_KRT": ["1", "2", "3", "3", "3", "6"],
    ...     "Jnskel": ["1", "2", "1", "2", "1", "2"], "Umur": [35, 30, 2, 9, 14, 66],
    ...     "Sta_kawin": ["2", "2", "1", "1", "1", "4"], "Sta_hamil": [pd.NA, "1", pd.NA, pd.NA, pd.NA, "2"],
    ...     "Jenis_cacat": ["0"] * 6, "Penyakit_kronis": ["0"] * 6,
    ...     "Partisipasi_sekolah": ["2", "2", "0", "1", "1", "2"],
    ...     "Jenjang_sekolah": ["4", "7", pd.NA, "1", "4", "1"], "Ijazah_tertinggi": ["2", "3", "0", "0", "1", "0"],
    ...     "Sta_bekerja": ["1", "2", "2", "2", "2", "2"], "Jumlah_jamkerja": [40] + [pd.NA] * 5,
    ...     "Lapangan_usaha": ["1"] + [pd.NA] * 5, "Status_pekerjaan": ["1"] + [pd.NA] * 5})
    >>> comp = pkh_components(members)
    >>> comp.loc["A", ["comp_hamil", "comp_usia_dini", "comp_sd", "comp_smp", "comp_lansia"]].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    >>> float(comp.loc["A", "pkh_entitlement"])  # 3.0M + 3.0M + 2.4M + 1.5M; SD (0.9M) is the 5th
    9900000.0
    >>> float(pkh_components(members, elderly_age=70).loc["A", "pkh_entitlement"])
    8400000.0
    """
    m, ids = prepare_members(members, None)
    return feature_frame(pkh_columns(m, elderly_age), ids)
