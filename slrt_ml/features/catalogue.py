"""The feature catalogue: constants of the rules, :data:`FEATURES` and how to say a value.

Kept apart from the computation (:mod:`slrt_ml.features.households` and the modules it
joins); the public names are re-exported by :mod:`slrt_ml.features`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from slrt_ml.data.codebook import CodebookError, get_codebook

FeatureKind = Literal["numeric", "binary", "categorical"]

#: Columns that must never become features: targeting outcomes, the registry's own
#: welfare rank, SIKS-NG's output, the truth and personal data.
FORBIDDEN_COLUMNS: frozenset[str] = frozenset(
    {
        "Percentile", "desil", "pkh_eligible", "periode",
        "Sta_kks", "Sta_kip", "Sta_kis", "Sta_pkh", "Sta_rastra",
        "welfare_pc", "poor", "NIK",
    }
)  # fmt: skip

#: Value of a categorical feature that does not apply (head not working, no head).
MISSING_CATEGORY = "tidak_ada"

#: PKH benefit per person per year in 2020 (Rp), by component.
PKH_BENEFIT_2020: dict[str, int] = {
    "comp_hamil": 3_000_000,
    "comp_usia_dini": 3_000_000,
    "comp_disabilitas_berat": 2_400_000,
    "comp_lansia": 2_400_000,
    "comp_sma": 2_000_000,
    "comp_smp": 1_500_000,
    "comp_sd": 900_000,
}
#: A family is paid for at most this many components: the highest-value ones.
PKH_MAX_COMPONENTS = 4

#: ``Jenis_cacat`` codes counted as severe disability (PKH "disabilitas berat": cannot
#: carry out daily activities without help). Multiple disabilities (6 blind & physical,
#: 7 blind-deaf-mute, 8 deaf-mute & physical, 9 deaf-mute-blind & physical), intellectual
#: disability (10) and physical & mental (12). A single physical or sensory disability
#: (1-5) and former mental illness (11) are not counted: most people with them live
#: independently, and the PBDT item does not record severity.
SEVERE_DISABILITY_CODES: tuple[str, ...] = ("6", "7", "8", "9", "10", "12")

_SD = ("1", "2", "3")  # SD/SDLB, Paket A, Madrasah Ibtidaiyah
_SMP = ("4", "5", "6")
_SMA = ("7", "8", "9")


class FeatureError(ValueError):
    """An input table cannot be turned into features (missing column, bad code, ...)."""


@dataclass(frozen=True)
class FeatureInfo:
    """Where a feature comes from and how to say its value in Indonesian.

    ``items``: questionnaire items it is built from; ``label``: Indonesian name;
    ``kind``: ``numeric``, ``binary`` or ``categorical``. For :func:`describe_answer`:
    ``template`` formats a value (``{v}``), ``label_no`` is the sentence for a binary 0,
    ``value_labels`` names the levels of an ordinal, ``source`` is the codebook
    ``(table, column)`` whose labels decode a categorical.
    """

    name: str
    items: tuple[str, ...]
    label: str
    kind: FeatureKind
    template: str | None = None
    label_no: str | None = None
    value_labels: Mapping[int, str] | None = None
    source: tuple[str, str] | None = None


FEATURES: dict[str, FeatureInfo] = {}


def _feature(
    name: str, items: tuple[str, ...], label: str, kind: FeatureKind = "numeric", **kw
) -> None:
    FEATURES[name] = FeatureInfo(name=name, items=items, label=label, kind=kind, **kw)


def _first_lower(text: str) -> str:
    """Lower-case the first letter unless the word is an acronym ("Listrik PLN", "SD")."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _code_labels(table: str, column: str) -> dict[int, str]:
    spec = get_codebook().spec(table, column)  # type: ignore[arg-type]
    return {int(code): c.label for code, c in spec.codes.items()}


# ----------------------------------------------------------------------------- catalogue
#: member groups counted and shared: name -> (items, Indonesian noun phrase)
_MEMBER_GROUPS: dict[str, tuple[tuple[str, ...], str]] = {
    "anak_0_6": (("Umur",), "anak usia 0-6"),
    "anak_sd": (("Umur",), "anak usia SD"),
    "anak_smp": (("Umur",), "anak usia SMP"),
    "anak_sma": (("Umur",), "anak usia SMA"),
    "usia_19_21": (("Umur",), "anggota usia 19-21"),
    "lansia": (("Umur",), "lansia (60+)"),
    "disabilitas": (("Jenis_cacat",), "anggota penyandang disabilitas"),
    "penyakit_kronis": (("Penyakit_kronis",), "anggota berpenyakit kronis"),
    "hamil": (("Sta_hamil",), "ibu hamil"),
}
#: PKH components: name -> (items, Indonesian noun phrase)
_COMPONENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "comp_hamil": (("Sta_hamil",), "ibu hamil"),
    "comp_usia_dini": (("Umur", "Partisipasi_sekolah", "Jenjang_sekolah"), "anak usia dini (0-6)"),
    "comp_sd": (("Umur", "Partisipasi_sekolah", "Jenjang_sekolah"), "anak sekolah SD"),
    "comp_smp": (("Umur", "Partisipasi_sekolah", "Jenjang_sekolah"), "anak sekolah SMP"),
    "comp_sma": (("Umur", "Hub_KRT", "Partisipasi_sekolah", "Jenjang_sekolah", "Ijazah_tertinggi"),
                 "anak sekolah SMA/wajib belajar 12 tahun"),
    "comp_disabilitas_berat": (("Jenis_cacat",), "penyandang disabilitas berat"),
    "comp_lansia": (("Umur",), "lansia"),
}  # fmt: skip
#: yes/no asset items -> feature stem, Indonesian noun
_ASSETS: dict[str, tuple[str, str]] = {
    "Ada_tabung_gas": ("tabung_gas", "tabung gas 5,5 kg atau lebih"),
    "Ada_lemari_es": ("lemari_es", "lemari es"),
    "Ada_ac": ("ac", "AC"),
    "Ada_pemanas": ("pemanas_air", "pemanas air"),
    "Ada_telepon": ("telepon_rumah", "telepon rumah"),
    "Ada_tv": ("tv", "televisi"),
    "Ada_emas": ("emas", "emas/tabungan senilai 10 gram emas"),
    "Ada_laptop": ("laptop", "komputer/laptop"),
    "Ada_sepeda": ("sepeda", "sepeda"),
    "Ada_motor": ("motor", "sepeda motor"),
    "Ada_mobil": ("mobil", "mobil"),
    "Ada_perahu": ("perahu", "perahu"),
    "Ada_motor_tempel": ("motor_tempel", "motor tempel"),
    "Ada_perahu_motor": ("perahu_motor", "perahu motor"),
    "Ada_kapal": ("kapal", "kapal"),
}
#: livestock item -> (feature, noun, tropical livestock units per head)
_LIVESTOCK: dict[str, tuple[str, str, float]] = {
    "Jumlah_sapi": ("n_sapi", "ekor sapi", 0.7),
    "Jumlah_kerbau": ("n_kerbau", "ekor kerbau", 0.7),
    "Jumlah_kuda": ("n_kuda", "ekor kuda", 0.8),
    "Jumlah_babi": ("n_babi", "ekor babi", 0.2),
    "Jumlah_kambing": ("n_kambing", "ekor kambing/domba", 0.1),
}
#: material quality groups of the ordered housing items: 2 good, 1 medium, 0 poor.
#: Poor follows BPS's poverty criteria (earth/bamboo/cheap-wood floor; bamboo, thatch or
#: log walls; bamboo or thatch roof); "other" codes are medium.
_QUALITY: dict[str, dict[str, int]] = {
    "Lantai": {"1": 2, "2": 2, "3": 2, "4": 2, "5": 2, "6": 1, "10": 1, "7": 0, "8": 0, "9": 0},
    "Dinding": {"1": 2, "2": 1, "3": 1, "7": 1, "4": 0, "5": 0, "6": 0},
    "Atap": {"1": 2, "2": 2, "3": 2, "4": 2, "5": 1, "6": 1, "7": 1, "10": 1, "8": 0, "9": 0},
}
_QUALITY_LABELS = {0: "rendah", 1: "sedang", 2: "baik"}
_DAYA_WATT = {"1": 450.0, "2": 900.0, "3": 1300.0, "4": 2200.0, "5": 3500.0, "6": 0.0}
_RAW_CATEGORIES = {  # feature -> (household item, how to say it)
    "jenis_lantai": ("Lantai", "Lantai: {v}"),
    "jenis_dinding": ("Dinding", "Dinding: {v}"),
    "jenis_atap": ("Atap", "Atap: {v}"),
    "sumber_air_minum": ("Sumber_airminum", "Sumber air minum: {v}"),
    "bahan_bakar_masak": ("Bb_masak", "Bahan bakar memasak: {v}"),
}
_HEAD_CATEGORIES = {  # feature -> (member item, label)
    "krt_status_kawin": ("Sta_kawin", "Status perkawinan kepala rumah tangga"),
    "krt_lapangan_usaha": ("Lapangan_usaha", "Lapangan usaha kepala rumah tangga"),
    "krt_status_pekerjaan": ("Status_pekerjaan", "Status pekerjaan kepala rumah tangga"),
}
_HOUSING_BINARIES = {  # feature -> (item, codes meaning yes, label, label for no)
    "rumah_milik_sendiri": ("Sta_bangunan", ("1",), "Rumah milik sendiri", "Rumah bukan milik sendiri"),
    "lahan_milik_sendiri": ("Sta_lahan", ("1",), "Lahan rumah milik sendiri", "Lahan rumah bukan milik sendiri"),
    "dinding_jelek": ("Kondisi_dinding", ("2",), "Dinding dalam kondisi jelek", "Dinding dalam kondisi bagus"),
    "atap_jelek": ("Kondisi_atap", ("2",), "Atap dalam kondisi jelek", "Atap dalam kondisi bagus"),
    "air_layak": ("Sumber_airminum", ("1", "2", "3", "4", "5", "6", "8", "11"),
                  "Sumber air minum layak", "Sumber air minum tidak layak"),
    "air_kemasan": ("Sumber_airminum", ("1", "2"), "Minum air kemasan/isi ulang", "Tidak minum air kemasan/isi ulang"),
    "air_leding": ("Sumber_airminum", ("3", "4"), "Air minum dari leding", "Air minum bukan dari leding"),
    "air_membeli": ("Cara_peroleh_airminum", ("1", "2"), "Membeli air minum", "Tidak membeli air minum"),
    "jamban_sendiri": ("Fasbab", ("1",), "Punya jamban sendiri", "Tidak punya jamban sendiri"),
    "tanpa_jamban": ("Fasbab", ("4",), "Tidak ada fasilitas buang air besar", "Ada fasilitas buang air besar"),
    "kloset_leher_angsa": ("Kloset", ("1",), "Kloset leher angsa", "Kloset bukan leher angsa"),
    "tinja_tangki_septik": ("Buang_tinja", ("1",), "Pembuangan tinja ke tangki septik", "Pembuangan tinja bukan ke tangki septik"),
    "listrik_pln": ("Sumber_penerangan", ("1",), "Listrik PLN", "Tidak memakai listrik PLN"),
    "tanpa_listrik": ("Sumber_penerangan", ("3",), "Penerangan bukan listrik", "Penerangan dengan listrik"),
    "listrik_tanpa_meteran": ("Daya", ("6",), "Listrik tanpa meteran", "Listrik dengan meteran"),
    "masak_gas_listrik": ("Bb_masak", ("1", "2", "3", "4"), "Memasak dengan gas/listrik", "Tidak memasak dengan gas/listrik"),
    "masak_minyak_tanah": ("Bb_masak", ("5",), "Memasak dengan minyak tanah", "Tidak memasak dengan minyak tanah"),
    "masak_kayu_arang": ("Bb_masak", ("6", "7", "8"), "Memasak dengan kayu bakar/arang/briket", "Tidak memasak dengan kayu bakar/arang"),
}  # fmt: skip


def _register_member_features() -> None:
    _feature(
        "n_art",
        ("NoART", "Jumlah_ART"),
        "Jumlah anggota rumah tangga",
        template="{v} anggota rumah tangga",
    )
    _feature(
        "art_tidak_tercatat",
        ("NoART",),
        "Anggota rumah tangga tidak tercatat di file ART",
        "binary",
        label_no="Anggota rumah tangga tercatat",
    )
    _feature(
        "n_usia_kerja", ("Umur",), "Jumlah anggota usia 15-64", template="{v} anggota usia 15-64"
    )
    _feature(
        "rasio_ketergantungan", ("Umur",), "Rasio ketergantungan (usia <15 dan 65+ per usia 15-64)"
    )
    for group, (items, noun) in _MEMBER_GROUPS.items():
        _feature(f"n_{group}", items, f"Jumlah {noun}", template=f"{{v}} {noun}")
        _feature(f"share_{group}", items, f"Proporsi {noun} dalam rumah tangga")
    _feature(
        "n_bekerja", ("Sta_bekerja",), "Jumlah anggota yang bekerja", template="{v} anggota bekerja"
    )
    _feature("pekerja_per_art", ("Sta_bekerja",), "Anggota bekerja per anggota rumah tangga")
    _feature(
        "n_anak_tidak_sekolah",
        ("Umur", "Partisipasi_sekolah"),
        "Jumlah anak 7-18 tidak bersekolah",
        template="{v} anak usia 7-18 tidak bersekolah",
    )
    ijazah = _code_labels("member", "Ijazah_tertinggi")
    _feature(
        "ijazah_tertinggi_art",
        ("Ijazah_tertinggi",),
        "Ijazah tertinggi di rumah tangga",
        value_labels=ijazah,
    )
    _feature(
        "krt_perempuan",
        ("Hub_KRT", "Jnskel"),
        "Kepala rumah tangga perempuan",
        "binary",
        label_no="Kepala rumah tangga laki-laki",
    )
    _feature(
        "krt_umur",
        ("Hub_KRT", "Umur"),
        "Umur kepala rumah tangga",
        template="Kepala rumah tangga berumur {v} tahun",
    )
    _feature(
        "krt_ijazah",
        ("Hub_KRT", "Ijazah_tertinggi"),
        "Ijazah kepala rumah tangga",
        value_labels=ijazah,
    )
    _feature(
        "krt_bekerja",
        ("Hub_KRT", "Sta_bekerja"),
        "Kepala rumah tangga bekerja",
        "binary",
        label_no="Kepala rumah tangga tidak bekerja",
    )
    _feature(
        "krt_jam_kerja",
        ("Hub_KRT", "Jumlah_jamkerja"),
        "Jam kerja kepala rumah tangga seminggu",
        template="Kepala rumah tangga bekerja {v} jam seminggu",
    )
    for name, (item, label) in _HEAD_CATEGORIES.items():
        _feature(name, ("Hub_KRT", item), label, "categorical", source=("member", item))
    for name, (items, noun) in _COMPONENTS.items():
        _feature(
            name, items, f"Komponen PKH: jumlah {noun}", template=f"{{v}} {noun} (komponen PKH)"
        )
    all_items = tuple(dict.fromkeys(i for items, _ in _COMPONENTS.values() for i in items))
    _feature("n_components", all_items, "Jumlah komponen PKH", template="{v} komponen PKH")
    _feature(
        "has_component",
        all_items,
        "Memiliki komponen PKH",
        "binary",
        label_no="Tidak memiliki komponen PKH",
    )
    _feature(
        "pkh_entitlement",
        all_items,
        "Hak bantuan PKH per tahun (skema 2020)",
        template="Hak bantuan PKH Rp {v} per tahun",
    )


def _register_household_features() -> None:
    _feature(
        "luas_lantai_per_kapita",
        ("Luas_lantai", "NoART"),
        "Luas lantai per anggota (m2)",
        template="Luas lantai {v} m2 per anggota",
    )
    _feature(
        "kamar_per_kapita",
        ("Jumlah_kamar", "NoART"),
        "Kamar tidur per anggota",
        template="{v} kamar tidur per anggota",
    )
    for name, (item, _, label, label_no) in _HOUSING_BINARIES.items():
        _feature(name, (item,), label, "binary", label_no=label_no)
    for item in _QUALITY:
        _feature(
            f"kualitas_{item.lower()}",
            (item,),
            f"Kualitas {item.lower()}",
            value_labels=_QUALITY_LABELS,
        )
    for name, (item, template) in _RAW_CATEGORIES.items():
        _feature(
            name,
            (item,),
            get_codebook().spec("household", item).label,
            "categorical",
            template=template,
            source=("household", item),
        )
    _feature(
        "daya_watt",
        ("Sumber_penerangan", "Daya"),
        "Daya listrik terpasang (watt)",
        template="Daya listrik {v} watt",
    )
    for item, (stem, noun) in _ASSETS.items():
        _feature(
            f"punya_{stem}", (item,), f"Punya {noun}", "binary", label_no=f"Tidak punya {noun}"
        )
    _feature("n_aset", tuple(_ASSETS), "Jumlah jenis aset", template="Punya {v} jenis aset")
    _feature(
        "punya_lahan", ("Aset_tak_bergerak",), "Punya lahan", "binary", label_no="Tidak punya lahan"
    )
    _feature("luas_lahan_ha", ("Luas_atb",), "Luas lahan (ha)", template="Luas lahan {v} ha")
    _feature(
        "punya_rumah_lain",
        ("Rumah_lain",),
        "Punya rumah di tempat lain",
        "binary",
        label_no="Tidak punya rumah di tempat lain",
    )
    for item, (name, noun, _) in _LIVESTOCK.items():
        _feature(name, (item,), f"Jumlah {noun.removeprefix('ekor ')}", template=f"{{v}} {noun}")
    _feature(
        "ternak_tlu",
        tuple(_LIVESTOCK),
        "Ternak dalam satuan ternak tropis (TLU)",
        template="Ternak {v} TLU",
    )
    _feature("kabupaten", ("KDPROP", "KDKAB"), "Kabupaten/kota", "categorical")
    _feature("kecamatan", ("KDPROP", "KDKAB", "KDKEC"), "Kecamatan", "categorical")
    _feature(
        "perkotaan",
        ("Klasifikasi",),
        "Desa/kelurahan perkotaan",
        "binary",
        label_no="Desa perdesaan",
    )


_register_member_features()
_register_household_features()

#: Categorical features (``string`` codes); every other feature is ``float32``.
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(
    n for n, f in FEATURES.items() if f.kind == "categorical"
)
#: Numeric and binary features.
NUMERIC_FEATURES: tuple[str, ...] = tuple(n for n, f in FEATURES.items() if f.kind != "categorical")

_MEMBER_COLUMNS = ("IDBDT", "NoART", "Hub_KRT", "Jnskel", "Umur", "Sta_kawin", "Sta_hamil",
                   "Jenis_cacat", "Penyakit_kronis", "Partisipasi_sekolah", "Jenjang_sekolah",
                   "Ijazah_tertinggi", "Sta_bekerja", "Jumlah_jamkerja", "Lapangan_usaha",
                   "Status_pekerjaan")  # fmt: skip
_HOUSEHOLD_COLUMNS = ("IDBDT", "KDPROP", "KDKAB", "KDKEC", "KDDESA", "Jumlah_ART", "Luas_lantai",
                      "Jumlah_kamar", "Aset_tak_bergerak", "Luas_atb", "Rumah_lain", *_QUALITY,
                      *{item for item, *_ in _HOUSING_BINARIES.values()}, *_ASSETS, *_LIVESTOCK)  # fmt: skip


# ----------------------------------------------------------------------------- describing
def _format_number(value: float) -> str:
    """Indonesian number format: thousands with '.', decimals with ',' (at most two).

    >>> _format_number(3000000), _format_number(7.5), _format_number(0.25)
    ('3.000.000', '7,5', '0,25')
    """
    whole, decimals = f"{value:,.2f}".split(".")
    decimals = decimals.rstrip("0")
    return whole.replace(",", ".") + ("," + decimals if decimals else "")


def _category_text(info: FeatureInfo, value: object) -> str:
    code = str(value)
    if code == MISSING_CATEGORY:
        return "tidak ada"
    if info.source is None:
        return code
    table, column = info.source
    try:
        return _first_lower(get_codebook().label(table, column, code))  # type: ignore[arg-type]
    except CodebookError as err:
        raise FeatureError(f"{info.name}: {err}") from None


def describe_answer(feature: str, value: object) -> str:
    """The household's own answer, in Indonesian, for one feature value.

    >>> describe_answer("krt_perempuan", 1)
    'Kepala rumah tangga perempuan'
    >>> describe_answer("kualitas_lantai", 0)
    'Kualitas lantai: rendah'
    >>> describe_answer("pkh_entitlement", 3_000_000)
    'Hak bantuan PKH Rp 3.000.000 per tahun'
    >>> describe_answer("krt_lapangan_usaha", "20")
    'Lapangan usaha kepala rumah tangga: pemulung'
    """
    try:
        info = FEATURES[feature]
    except KeyError:
        raise FeatureError(
            f"unknown feature {feature!r}; known features are the keys of slrt_ml.features.FEATURES"
        ) from None
    if info.kind == "categorical":
        text = _category_text(info, value)
        return info.template.format(v=text) if info.template else f"{info.label}: {text}"
    number = float(value)  # type: ignore[arg-type]
    if info.kind == "binary":
        return info.label if number >= 0.5 else (info.label_no or f"Tidak: {info.label}")
    if info.value_labels is not None and round(number) in info.value_labels:
        return f"{info.label}: {_first_lower(info.value_labels[round(number)])}"
    shown = _format_number(number)
    return info.template.format(v=shown) if info.template else f"{info.label}: {shown}"
