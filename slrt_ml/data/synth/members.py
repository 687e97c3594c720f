"""Members of synthetic households: composition, ages, sex, marriage, pregnancy, disability,
illness, schooling consistent with age, work and NIK; and the member file as the registry
recorded it (:func:`recorded_members`).

Everything is vectorised over a chunk: a member row is identified by its household index
``hh`` (sorted), and columns are integer codes of the PBDT 2015 codebook (0 or -1 where a
nullable item does not apply); :mod:`slrt_ml.data.synth.generator` turns them into string codes.
"""

from __future__ import annotations

import numpy as np

from slrt_ml.data.synth.draws import by_household, choice, choice_groups, cut

REFERENCE_DATE = "2024-06-30"

# ---------------------------------------------------------------------------------- members

SEVERE_DISABILITY = (6, 7, 8, 9, 10, 12)  # multiple impairments or intellectual: PKH "berat"
_DISABILITY_WEIGHTS = [0.3, 0.15, 0.12, 0.05, 0.05, 0.02, 0.02, 0.02, 0.02, 0.1, 0.05, 0.1]
_CHRONIC_WEIGHTS = [0.35, 0.15, 0.08, 0.07, 0.1, 0.04, 0.05, 0.02, 0.14]
# highest diploma 6..0 (S2/S3 first) among adults of DTKS households
_ATTAINMENT_SHARES = np.array([0.005, 0.035, 0.02, 0.2, 0.17, 0.35, 0.22])
_SECTOR_RURAL = [
    0.30,
    0.05,
    0.15,
    0.05,
    0.03,
    0.03,
    0.02,
    0.01,
    0.05,
    0.002,
    0.08,
    0.12,
    0.02,
    0.04,
    0.003,
    0.003,
    0.03,
    0.01,
    0.03,
    0.005,
    0.01,
]
_SECTOR_URBAN = [
    0.06,
    0.02,
    0.04,
    0.02,
    0.01,
    0.01,
    0.01,
    0.01,
    0.08,
    0.005,
    0.12,
    0.25,
    0.06,
    0.08,
    0.01,
    0.01,
    0.06,
    0.03,
    0.08,
    0.01,
    0.02,
]
_STATUS_AGRI = [0.35, 0.25, 0.02, 0.05, 0.0, 0.2, 0.0, 0.13]
_STATUS_OTHER = [0.3, 0.05, 0.02, 0.3, 0.05, 0.0, 0.2, 0.08]


# sector probabilities by 2 * urban + coastal (coastal: more fishing, column 3)
_SECTOR_TABLE = np.array(
    [_SECTOR_RURAL, np.add(_SECTOR_RURAL, np.eye(21)[3] * 0.15), _SECTOR_URBAN,
     np.add(_SECTOR_URBAN, np.eye(21)[3] * 0.15)]
)  # fmt: skip
_STATUS_TABLE = np.array([_STATUS_AGRI, _STATUS_OTHER])


def _role_counts(rng, head_age, head_female, z) -> dict[str, np.ndarray]:
    """How many members of each Hub_KRT role a household has."""
    n = len(head_age)
    spouse = rng.random(n) < np.where(head_female, 0.05, np.where(head_age >= 65, 0.7, 0.9))
    lam = np.select(
        [head_age < 25, head_age < 35, head_age < 50, head_age < 65], [0.9, 2.0, 2.4, 1.5], 0.4
    )
    lam = lam * np.exp(-0.12 * z) * np.where(spouse | head_female, 1.0, 0.3)
    parents = (head_age < 55) * (rng.random(n) < 0.12) * (1 + (rng.random(n) < 0.3))
    other = rng.random(n) < 0.08
    other_role = choice(rng, n, [0.5, 0.05, 0.45])  # child-in-law, servant, other
    return {
        "1": np.ones(n, dtype=int),
        "2": spouse.astype(int),
        "3": np.minimum(rng.poisson(lam), 8),
        "4": (other & (other_role == 0) & (head_age >= 40)).astype(int),
        "5": np.where(head_age >= 45, np.minimum(rng.poisson(0.35, n), 4), 0),
        "6": parents.astype(int),
        "7": (other & (other_role == 1)).astype(int),
        "8": (other & ((other_role == 2) | ((other_role == 0) & (head_age < 40)))).astype(int),
    }


def _expand(counts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Member rows from role counts: household index, role code index, position in role."""
    hh, role, pos = [], [], []
    for r, c in enumerate(counts.values()):
        idx = np.repeat(np.arange(len(c)), c)
        hh.append(idx)
        role.append(np.full(len(idx), r))
        pos.append(np.arange(len(idx)) - np.repeat(np.cumsum(c) - c, c))
    return np.concatenate(hh), np.concatenate(role), np.concatenate(pos)


def _ages_and_sex(rng, hh, role, pos, head_age, head_female):
    n = len(hh)
    h_age, h_fem = head_age[hh], head_female[hh]
    spouse_age = np.clip(h_age + np.where(h_fem, 3, -3) + rng.normal(0, 4, n), 16, 95)
    mother_age = np.where(h_fem, h_age, spouse_age)
    age = np.select(
        [role == 0, role == 1, role == 2, role == 3, role == 4, role == 5, role == 6],
        [
            h_age,
            spouse_age,
            rng.random(n) * np.clip(mother_age - 15, 1, 32),
            rng.integers(18, 41, n),
            rng.integers(0, 13, n),
            np.minimum(h_age + rng.integers(20, 36, n), 99),
            rng.integers(15, 56, n),
        ],
        rng.integers(10, 71, n),
    ).astype(int)
    female = np.select(
        [role == 0, role == 1, role == 3, role == 5],
        [h_fem, ~h_fem, rng.random(n) < 0.8, rng.random(n) < np.where(pos == 0, 0.65, 0.35)],
        rng.random(n) < 0.5,
    )
    return age, female


def _marital(rng, role, age, has_spouse, n_parents):
    n = len(role)
    alone = (
        np.where(
            age >= 55, choice(rng, n, [0.15, 0, 0.15, 0.7]), choice(rng, n, [0.4, 0, 0.35, 0.25])
        )
        + 1
    )
    child = np.where(rng.random(n) < np.clip((age - 17) / 15, 0, 0.7), 2, 1)
    return np.select(
        [role == 0, (role == 1) | (role == 3), role == 2, role == 4, role == 5],
        [np.where(has_spouse, 2, alone), 2, child, 1, np.where(n_parents == 2, 2, 4)],
        np.where(age < 18, 1, alone),
    )


def _health(rng, age, female, married):
    n = len(age)
    fertile = female & (age >= 15) & (age <= 49)
    p_preg = married * np.select([age < 35, age < 45], [0.09, 0.03], 0.005)
    pregnant = np.where(fertile, np.where(rng.random(n) < p_preg, 1, 2), 0)
    disabled = rng.random(n) < np.where(age >= 60, 0.08, 0.02)
    disability = np.where(disabled, choice(rng, n, _DISABILITY_WEIGHTS) + 1, 0)
    ill = rng.random(n) < np.select([age < 40, age < 60], [0.03, 0.15], 0.35)
    chronic = np.where(ill, choice(rng, n, _CHRONIC_WEIGHTS) + 1, 0)
    return pregnant, disability, chronic


def _level_code(rng, level: np.ndarray) -> np.ndarray:
    """Jenjang_sekolah code for school level 1 SD, 2 SMP, 3 SMA (general/Paket/madrasah), 4 PT."""
    variant = choice(rng, len(level), [0.8, 0.03, 0.17])
    return np.where(level >= 4, 10, 3 * (np.clip(level, 1, 3) - 1) + 1 + variant)


def _schooling(rng, age, z_member):
    """Partisipasi_sekolah (0/1/2), Jenjang_sekolah (0 = none), Ijazah_tertinggi (0-6)."""
    n = len(age)
    latent = 0.55 * z_member + 0.025 * (45 - age) + rng.standard_normal(n) * np.sqrt(1 - 0.55**2)
    band = np.select([age <= 6, age <= 12, age <= 15, age <= 18, age <= 24], [0, 1, 2, 3, 4], 5)
    attain = np.minimum(6 - cut(latent, _ATTAINMENT_SHARES), np.array([0, 0, 1, 2, 5, 6])[band])
    base = np.array([0.0, 0.97, 0.9, 0.72, 0.15, 0.0])[band]
    p_in = base + 0.03 * np.clip(z_member, -1, 1) * (base > 0)
    in_school = rng.random(n) < p_in
    attain = np.where(in_school, np.array([0, 0, 1, 2, 3, 3])[band], attain)
    drop_up = (rng.random(n) < 0.2) & (attain >= 1) & (attain <= 3)
    left_level = np.select([attain == 0, attain <= 3], [1, attain + drop_up], 4)
    never = ~in_school & (((attain == 0) & (rng.random(n) < 0.5)) | (band == 0))
    level = np.where(in_school, np.minimum(band, 4), np.minimum(left_level, band + 1))
    part = np.where(in_school, 1, np.where(never, 0, 2))
    jenjang = np.where(part == 0, 0, _level_code(rng, level))
    return part, jenjang, attain


def _work(rng, age, female, role, in_school, attain, urban, coastal):
    n = len(age)
    p = np.select(
        [age < 10, in_school, age < 15, age >= 65],
        [0.0, 0.05, 0.03, np.where(female, 0.2, 0.5)],
        np.where(female, 0.45, np.where(role == 0, 0.93, 0.85)),
    )
    works = rng.random(n) < p
    sector = choice_groups(rng, 2 * urban + coastal, _SECTOR_TABLE) + 1
    educated = (attain >= 4) & (rng.random(n) < 0.5)
    sector = np.where(educated, choice(rng, n, [0.5, 0.2, 0.3]) + 17, sector)
    status = choice_groups(rng, (sector > 7).astype(int), _STATUS_TABLE) + 1
    status = np.where(educated & (rng.random(n) < 0.6), 5, status)
    hours = np.clip(np.round(rng.normal(38, 12, n)), 1, 98).astype(int)
    return works, np.where(works, hours, -1), np.where(works, sector, 0), np.where(works, status, 0)


def _nik(rng, region: np.ndarray, age: np.ndarray, female: np.ndarray, serial0: int) -> np.ndarray:
    """16-digit NIK strings: region, birth day (+40 women), month, 2-digit year, serial.

    Birth dates are drawn so that the age on REFERENCE_DATE (30 June 2024) is ``age``.
    """
    n = len(age)
    day_of_year = rng.integers(0, 365, n)
    month_day = np.datetime64("2023-01-01") + day_of_year  # a non-leap year
    month = month_day.astype("datetime64[M]").astype(int) % 12 + 1
    day = (month_day - month_day.astype("datetime64[M]")).astype(int) + 1
    after_ref = month > 6
    year = 2024 - age - after_ref
    serial = (serial0 + np.arange(n)) % 9999 + 1
    digits = (
        region.astype(np.int64) * 10**10
        + (day + 40 * female) * 10**8
        + month * 10**6
        + (year % 100) * 10**4
        + serial
    )
    return digits.astype(str)


def _attributes(rng, hh, role, age, female, z, urban, coastal, n_spouse, n_parents):
    """Member items that follow from age, sex and role (codebook names, integer codes)."""
    marital = _marital(rng, role, age, n_spouse[hh] == 1, n_parents[hh])
    pregnant, disability, chronic = _health(rng, age, female, marital == 2)
    z_member = 0.7 * z[hh] + 0.3 * rng.standard_normal(len(hh))
    part, jenjang, attain = _schooling(rng, age, z_member)
    work = _work(rng, age, female, role, part == 1, attain, urban[hh], coastal[hh])
    return {
        "Hub_KRT": role + 1,
        "Jnskel": female + 1,
        "Umur": age,
        "Sta_kawin": marital,
        "Sta_hamil": pregnant,
        "Jenis_cacat": disability,
        "Penyakit_kronis": chronic,
        "Partisipasi_sekolah": part,
        "Jenjang_sekolah": jenjang,
        "Ijazah_tertinggi": attain,
        "Sta_bekerja": 2 - work[0],
        "Jumlah_jamkerja": work[1],
        "Lapangan_usaha": work[2],
        "Status_pekerjaan": work[3],
    }


def _line_numbers(hh: np.ndarray, n: int) -> np.ndarray:
    starts = np.searchsorted(hh, np.arange(n))
    return np.arange(len(hh)) - starts[hh] + 1


def draw_members(rng, region, urban, coastal, z, serial0: int):
    """Member arrays (codebook names, integer codes) of households with NIK region codes
    ``region`` (6 digits), urban/coastal flags and prosperity ``z``; plus each row's household."""
    n = len(z)
    head_age = np.clip(np.round(rng.normal(45, 13, n)), 18, 90).astype(int)
    head_female = rng.random(n) < np.where(head_age >= 60, 0.25, 0.1)
    counts = _role_counts(rng, head_age, head_female, z)
    hh, role, pos = _expand(counts)
    age, female = _ages_and_sex(rng, hh, role, pos, head_age, head_female)
    order = np.lexsort((-age, role, hh))
    hh, role, pos, age, female = hh[order], role[order], pos[order], age[order], female[order]
    items = _attributes(rng, hh, role, age, female, z, urban, coastal, counts["2"], counts["6"])
    nik = _nik(rng, region[hh], age, female, serial0)
    return hh, {"NoART": _line_numbers(hh, n), "NIK": nik, **items}


_KEPT_FOR_ADULTS = ("Ijazah_tertinggi",)
_WORK = ("Sta_bekerja", "Jumlah_jamkerja", "Lapangan_usaha", "Status_pekerjaan")


def recorded_members(
    rng, hh, n, m, months, region, urban, coastal, z, serial0: int, job_change: float
):
    """The member file as the registry recorded it ``months`` before the reference date.

    Children born since are missing; a parent who has since died (8% of households whose
    head was 35+) or a child who has since moved out (10%) is still listed; everyone is
    younger. Items that follow from age (marriage, pregnancy, schooling, work, health) are
    drawn for the recorded age; adults keep today's diploma, and their work unless they
    changed job since (a ``job_change`` share of them).

    Returns
    -------
    (hh, members)
        The recorded rows' household index (sorted) and member arrays, as
        :func:`draw_members`; NIKs of people still present are their current NIKs.
    """
    births_since = rng.random(n) < (months % 12) / 12  # birthday passed in the broken year
    years = months // 12 + births_since
    # a household is recorded once it exists: head 18+, spouse and child-in-law 16+
    married_age = np.select([m["Hub_KRT"] == 1, np.isin(m["Hub_KRT"], (2, 4))], [18, 16], -99)
    limit = np.full(n, 99)
    np.minimum.at(limit, hh, m["Umur"] - married_age)
    years = np.minimum(years, np.maximum(limit, 0))
    y = years[hh]
    present = m["Umur"] >= y
    is_head = m["Hub_KRT"] == 1
    head_age_then = m["Umur"][is_head] - years
    died = rng.random(n) < 0.08 * (head_age_then >= 35)
    moved = rng.random(n) < 0.10
    extra_hh = np.concatenate([np.flatnonzero(died), np.flatnonzero(moved)])
    n_died = int(died.sum())
    extra_age = np.concatenate(
        [rng.integers(62, 86, n_died), rng.integers(12, 23, len(extra_hh) - n_died)]
    )
    extra_role = np.concatenate([np.full(n_died, 5), np.full(len(extra_hh) - n_died, 2)])
    extra_female = rng.random(len(extra_hh)) < np.where(extra_role == 5, 0.65, 0.5)
    r_hh = np.concatenate([hh[present], extra_hh])
    role = np.concatenate([m["Hub_KRT"][present] - 1, extra_role])
    age = np.concatenate([(m["Umur"] - y)[present], extra_age])
    female = np.concatenate([m["Jnskel"][present] == 2, extra_female])
    source = np.concatenate([np.flatnonzero(present), np.full(len(extra_hh), -1)])
    nik = np.concatenate(
        [
            m["NIK"][present],
            _nik(rng, region[extra_hh], extra_age + years[extra_hh], extra_female, serial0),
        ]
    )
    order = np.lexsort((-age, role, r_hh))
    r_hh, role, age, female, source, nik = (
        a[order] for a in (r_hh, role, age, female, source, nik)
    )
    n_spouse = by_household(r_hh, n, role == 1)
    n_parents = by_household(r_hh, n, role == 5)
    items = _attributes(rng, r_hh, role, age, female, z, urban, coastal, n_spouse, n_parents)
    adult = (source >= 0) & (age >= 25)
    for name in _KEPT_FOR_ADULTS:
        items[name] = np.where(adult, m[name][np.maximum(source, 0)], items[name])
    same_job = adult & (rng.random(len(source)) >= job_change)
    for name in _WORK:
        items[name] = np.where(same_job, m[name][np.maximum(source, 0)], items[name])
    return r_hh, {"NoART": _line_numbers(r_hh, n), "NIK": nik, **items}


def pkh_component(hh, n, age, relation, pregnant, part, jenjang, ijazah, disability):
    """Households with at least one PKH component (DESIGN §2), from member arrays.

    Pregnant woman; child 0-6; SD/SMP/SMA pupil; child 6-21 (not head or spouse) without
    a senior-secondary diploma; severe disability; elderly 60+.
    """
    pupil = (part == 1) & (jenjang >= 1) & (jenjang <= 9)
    no_12_years = (age >= 6) & (age <= 21) & (relation > 2) & (ijazah < 3)
    severe = np.isin(disability, SEVERE_DISABILITY)
    member = (age <= 6) | (pregnant == 1) | pupil | no_12_years | severe | (age >= 60)
    return np.bincount(hh, weights=member, minlength=n) > 0


def composition(hh, n, m) -> dict[str, np.ndarray]:
    """What the welfare model and the PMT see of the members."""
    age, head = m["Umur"], m["Hub_KRT"] == 1
    size = by_household(hh, n, np.ones(len(hh)))
    head_idx = np.flatnonzero(head)  # exactly one head per household, in household order
    return {
        "size": size,
        "dependants": by_household(hh, n, (age < 15) | (age >= 65)) / size,
        "workers": by_household(hh, n, m["Sta_bekerja"] == 1) / size,
        "ill": by_household(hh, n, (m["Penyakit_kronis"] > 0) & (age >= 15)) > 0,
        "head_age": age[head_idx],
        "head_female": m["Jnskel"][head_idx] == 2,
        "head_attain": m["Ijazah_tertinggi"][head_idx],
        "head_status": m["Status_pekerjaan"][head_idx],
        "spouse": by_household(hh, n, m["Hub_KRT"] == 2) > 0,
    }
