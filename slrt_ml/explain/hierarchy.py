"""Where a contribution belongs: questionnaire block -> item -> answer.

A model sees about a hundred features, but several of them re-encode one questionnaire
answer (``jenis_lantai`` and ``kualitas_lantai`` are both the floor; ``n_anak_sd``,
``share_anak_sd`` and ``comp_sd`` are all the household's primary-school children). An
explanation that lists them one by one repeats itself and leaves most of the score in
a catch-all. Here every feature belongs to one **item** (a questionnaire item, or a
group of member features about one kind of person), and every item to one **block** of
the PBDT 2015 household form: Blok III (keterangan perumahan, housing), Blok IV
(keterangan sosial ekonomi anggota rumah tangga, members), Blok V (kepemilikan aset,
assets). Blok I (pengenalan tempat) holds the area codes; features built from them only
(kabupaten, kecamatan, the urban flag) are **location**: the same for every household of
a desa, shown once, never a household's reason.

Features the catalogue does not know (a mapped table's columns) are their own item in
block ``"other"``; a mapping's area columns are location when passed in ``location``.
Grouping is a 0/1 matrix, so sums stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from slrt_ml.data.codebook import get_codebook
from slrt_ml.data.mapping import DatasetMapping
from slrt_ml.features import FEATURES

__all__ = [
    "AREA_FEATURES",
    "BLOCK_ORDER",
    "LOCATION",
    "OTHER",
    "Hierarchy",
    "block_name",
    "feature_hierarchy",
    "mapped_location",
]

LOCATION = "location"
OTHER = "other"
#: Block keys in the order a waterfall shows their remainder bars.
BLOCK_ORDER: tuple[str, ...] = ("III", "IV", "V", OTHER, LOCATION)
_BLOCK_NAMES: dict[str, tuple[str, str]] = {
    "III": ("Blok III (perumahan)", "Block III (housing)"),
    "IV": ("Blok IV (anggota rumah tangga)", "Block IV (household members)"),
    "V": ("Blok V (aset)", "Block V (assets)"),
    OTHER: ("Jawaban lain", "Other answers"),
    LOCATION: ("Lokasi (efek wilayah)", "Location (area effect)"),
}
_AREA_ITEMS = frozenset({"KDPROP", "KDKAB", "KDKEC", "KDDESA", "Klasifikasi"})
_MEMBER_ITEMS = frozenset({"NoART", "Jumlah_ART", *get_codebook().member})
_ASSET_ITEMS = frozenset(
    {"Aset_tak_bergerak", "Luas_atb", "Rumah_lain"}
    | {c for c in get_codebook().household if c.startswith(("Ada_", "Jumlah_")) and c not in
       ("Jumlah_ART", "Jumlah_Keluarga", "Jumlah_kamar")}
)  # fmt: skip

#: Features that describe the household's area, not its answers: the same for every
#: household of a desa (built only from area codes and the desa's urban/rural class).
AREA_FEATURES: tuple[str, ...] = tuple(
    name for name, info in FEATURES.items() if set(info.items) <= _AREA_ITEMS
)

#: Items made of several features: key -> (Indonesian name, English name, features).
_GROUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "anggota": ("Jumlah anggota rumah tangga", "Household size", ("n_art", "art_tidak_tercatat")),
    "usia_kerja": ("Anggota usia kerja", "Working-age members",
                   ("n_usia_kerja", "rasio_ketergantungan")),
    "anak_0_6": ("Anak usia 0-6", "Children aged 0-6",
                 ("n_anak_0_6", "share_anak_0_6", "comp_usia_dini")),
    "anak_sd": ("Anak usia SD", "Primary-school-age children",
                ("n_anak_sd", "share_anak_sd", "comp_sd")),
    "anak_smp": ("Anak usia SMP", "Junior-secondary-age children",
                 ("n_anak_smp", "share_anak_smp", "comp_smp")),
    "anak_sma": ("Anak usia SMA dan 19-21", "Senior-secondary-age children and members 19-21",
                 ("n_anak_sma", "share_anak_sma", "comp_sma", "n_usia_19_21", "share_usia_19_21")),
    "lansia": ("Lansia", "Elderly members", ("n_lansia", "share_lansia", "comp_lansia")),
    "disabilitas": ("Anggota penyandang disabilitas", "Members with a disability",
                    ("n_disabilitas", "share_disabilitas", "comp_disabilitas_berat")),
    "penyakit_kronis": ("Anggota berpenyakit kronis", "Chronically ill members",
                        ("n_penyakit_kronis", "share_penyakit_kronis")),
    "hamil": ("Ibu hamil", "Pregnant women", ("n_hamil", "share_hamil", "comp_hamil")),
    "bekerja": ("Anggota yang bekerja", "Working members", ("n_bekerja", "pekerja_per_art")),
    "komponen_pkh": ("Komponen PKH", "PKH components",
                     ("n_components", "has_component", "pkh_entitlement")),
    "krt_pekerjaan": ("Pekerjaan kepala rumah tangga", "Work of the household head",
                      ("krt_bekerja", "krt_jam_kerja", "krt_lapangan_usaha",
                       "krt_status_pekerjaan")),
    "listrik": ("Listrik", "Electricity",
                ("listrik_pln", "tanpa_listrik", "listrik_tanpa_meteran", "daya_watt")),
    "lahan": ("Lahan", "Land", ("punya_lahan", "luas_lahan_ha")),
    "ternak": ("Ternak", "Livestock",
               ("n_sapi", "n_kerbau", "n_kuda", "n_babi", "n_kambing", "ternak_tlu")),
}  # fmt: skip
#: English names of the single-feature items the codebook has no gloss for.
_ENGLISH: dict[str, str] = {
    "n_anak_tidak_sekolah": "Children 7-18 not in school",
    "ijazah_tertinggi_art": "Highest diploma in the household",
    "krt_perempuan": "Female household head",
    "krt_umur": "Age of the household head",
    "krt_ijazah": "Diploma of the household head",
    "krt_status_kawin": "Marital status of the household head",
    "luas_lantai_per_kapita": "Floor area per member (m2)",
    "kamar_per_kapita": "Bedrooms per member",
    "n_aset": "Number of asset types",
    "kabupaten": "Kabupaten/city",
    "kecamatan": "Kecamatan",
    "perkotaan": "Urban desa/kelurahan",
}
_GROUP_OF = {feature: key for key, (*_, members) in _GROUPS.items() for feature in members}


def block_name(block: str, lang: str = "id") -> str:
    """The block's name in ``lang``; an unknown key as it is.

    >>> block_name("IV"), block_name("location", "en"), block_name("X")
    ('Blok IV (anggota rumah tangga)', 'Location (area effect)', 'X')
    """
    names = _BLOCK_NAMES.get(block)
    return block if names is None else names[lang == "en"]


def _question_block(item: str) -> str:
    if item in _AREA_ITEMS:
        return LOCATION
    if item in _MEMBER_ITEMS:
        return "IV"
    if item in _ASSET_ITEMS:
        return "V"
    return "III" if item in get_codebook().household else OTHER


def _item_of(feature: str) -> tuple[str, str]:
    """(item key, block) of one feature."""
    info = FEATURES.get(feature)
    if info is None:
        return feature, OTHER
    block = _question_block(info.items[0])
    if feature in _GROUP_OF:
        return _GROUP_OF[feature], block
    if len(info.items) == 1 and block in ("III", "V"):
        return info.items[0], block  # every re-encoding of one housing/asset answer
    return feature, block


def _item_name(item: str, lang: str, labels: Mapping[str, str]) -> str:
    if item in labels:
        return labels[item]
    if item in _GROUPS:
        return _GROUPS[item][lang == "en"]
    if item in FEATURES:
        return FEATURES[item].label if lang != "en" else _ENGLISH.get(item, item)
    spec = get_codebook().household.get(item)
    if spec is not None:
        return spec.label if lang != "en" else spec.gloss[:1].upper() + spec.gloss[1:]
    return item


@dataclass(frozen=True)
class Hierarchy:
    """Item and block of each feature, in the order of ``features``.

    ``item_keys`` lists the distinct items in first-seen order; :meth:`item_matrix` maps
    feature contributions to item contributions (``contrib @ M``), exactly.
    """

    features: tuple[str, ...]
    items: tuple[str, ...]
    blocks: tuple[str, ...]
    item_names: Mapping[str, str]

    @property
    def item_keys(self) -> list[str]:
        return list(dict.fromkeys(self.items))

    @property
    def location(self) -> list[str]:
        """The location features (never a household's reason)."""
        return [f for f, b in zip(self.features, self.blocks, strict=True) if b == LOCATION]

    def item_matrix(self) -> np.ndarray:
        """0/1 matrix (features x items): column ``i`` sums the features of item ``i``."""
        keys = {k: i for i, k in enumerate(self.item_keys)}
        matrix = np.zeros((len(self.features), len(keys)))
        matrix[np.arange(len(self.features)), [keys[i] for i in self.items]] = 1.0
        return matrix


def feature_hierarchy(
    features: Sequence[str],
    *,
    location: Iterable[str] | None = None,
    lang: str = "id",
    column_labels: Mapping[str, str] | None = None,
) -> Hierarchy:
    """Item and block of every feature (see the module docstring).

    Parameters
    ----------
    features : sequence of str
        Feature names, in the order of the contribution columns.
    location : iterable of str, optional
        Features that describe the area besides :data:`AREA_FEATURES` (each its own
        item in block ``"location"``): a mapped table passes its area columns.
    lang : {"id", "en"}
        Language of the item names.
    column_labels : mapping, optional
        A mapping's ``labels.columns`` (column -> name): names of mapped items.

    >>> h = feature_hierarchy(["jenis_lantai", "kualitas_lantai", "n_anak_sd", "comp_sd",
    ...                        "kecamatan", "rooms"])
    >>> h.items, h.blocks
    (('Lantai', 'Lantai', 'anak_sd', 'anak_sd', 'kecamatan', 'rooms'), ('III', 'III', 'IV', \
'IV', 'location', 'other'))
    >>> h.item_matrix().sum(axis=0).tolist(), h.item_names["Lantai"], h.location
    ([2.0, 2.0, 1.0, 1.0], 'Jenis lantai terluas', ['kecamatan'])
    """
    place = set(AREA_FEATURES) | set(location or ())
    items, blocks = [], []
    for feature in features:
        item, block = (feature, LOCATION) if feature in place else _item_of(feature)
        items.append(item)
        blocks.append(block)
    labels = dict(column_labels or {})
    names = {item: _item_name(item, lang, labels) for item in items}
    return Hierarchy(tuple(features), tuple(items), tuple(blocks), names)


def mapped_location(mapping: DatasetMapping) -> tuple[str, ...]:
    """The feature columns of a mapped table that describe its area: the ``cluster``
    column, the ``areas`` columns and the ``urban`` slice column, when they are features.

    >>> from slrt_ml.data.mapping import mapping_from_dict
    >>> mapped_location(mapping_from_dict({"name": "t", "id": "hh", "label": "poor",
    ...     "reference": {"fit": "pmt_ols"}, "areas": {"KDKAB": "region"},
    ...     "slices": {"urban": "town"}, "features": {"categorical": ["region", "roof"],
    ...     "binary": ["town"]}}))
    ('region', 'town')
    """
    area = {mapping.cluster, *mapping.areas.values(), mapping.slices.get("urban")}
    return tuple(c for c in mapping.features.columns if c in area)
