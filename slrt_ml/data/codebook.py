"""Questionnaire code lists and decoding, keyed by questionnaire version.

The PBDT 2015 (Pemutakhiran Basis Data Terpadu) household and member questionnaires are
the first version. Every column of the data contract has a :class:`ColumnSpec`; code
columns carry their code list with an Indonesian label and an English gloss. Callers ask
for a version with :func:`get_codebook`, so REGSOSEK 2022 or DTSEN can be added as a
second entry of :data:`CODEBOOKS` without touching them.

Codes are kept as strings exactly as the questionnaire has them ("1", "10"); decoding
happens here and nowhere else.

>>> cb = get_codebook("pbdt2015")
>>> cb.label("household", "Lantai", "9")
'Tanah'
>>> cb.household["Ada_lemari_es"].yes_no
('3', '4')
>>> decode_yes_no(pd.Series(["1", "3", "2", "4"]), "Ada_tv").tolist()
[1, 1, 0, 0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

__all__ = [
    "CODEBOOKS",
    "DEFAULT_VERSION",
    "AREA_CODE_WIDTHS",
    "Code",
    "ColumnSpec",
    "Codebook",
    "CodebookError",
    "get_codebook",
    "decode_yes_no",
    "YES_CODES",
    "NO_CODES",
    "area_keys",
]

DEFAULT_VERSION = "pbdt2015"

#: BPS area codes: zero-padded digit strings, never numbers.
AREA_CODE_WIDTHS: dict[str, int] = {"KDPROP": 2, "KDKAB": 2, "KDKEC": 3, "KDDESA": 3}

Kind = Literal["id", "area", "code", "yes_no", "flag", "count", "measure", "nik", "text"]
Table = Literal["household", "member", "area", "siksng", "truth"]


class CodebookError(ValueError):
    """A value is not in a column's code list."""


@dataclass(frozen=True)
class Code:
    """One answer of a questionnaire item."""

    label: str  # Indonesian, as on the questionnaire
    gloss: str  # English


@dataclass(frozen=True)
class ColumnSpec:
    """What one column of the data contract holds.

    ``kind`` is one of: ``id`` (string key), ``area`` (zero-padded BPS code of
    ``width`` digits), ``code`` (a code list), ``yes_no`` (a yes/no item whose codes are
    ``yes_no``: ("1", "2") or ("3", "4")), ``flag`` (integer 0/1), ``count`` (integer >= ``min``), ``measure``
    (real number in [``min``, ``max``]), ``nik`` (16-digit national id), ``text``.
    """

    name: str
    kind: Kind
    label: str
    gloss: str
    codes: Mapping[str, Code] = field(default_factory=dict)
    yes_no: tuple[str, str] | None = None
    min: float | None = None
    max: float | None = None
    width: int | None = None
    nullable: bool = False
    ordered: bool = False  # codes are ordered from better-off to worse-off (or the reverse)
    optional: bool = False  # the table may lack the column; when present it is validated

    @property
    def allowed_codes(self) -> tuple[str, ...]:
        if self.kind == "yes_no":
            return ("1", "2", "3", "4")
        return tuple(self.codes)

    def code_label(self, code: str) -> str:
        if self.kind == "yes_no":
            return "Ya" if code in ("1", "3") else "Tidak"
        return self.codes[code].label


@dataclass(frozen=True)
class Codebook:
    """All column specs of one questionnaire version."""

    version: str
    household: Mapping[str, ColumnSpec]
    member: Mapping[str, ColumnSpec]
    area: Mapping[str, ColumnSpec]
    siksng: Mapping[str, ColumnSpec]
    truth: Mapping[str, ColumnSpec]

    def table(self, name: Table) -> Mapping[str, ColumnSpec]:
        return getattr(self, name)

    def spec(self, table: Table, column: str) -> ColumnSpec:
        try:
            return self.table(table)[column]
        except KeyError:
            raise CodebookError(
                f"column {column!r} is not in the {self.version} {table} codebook"
            ) from None

    def label(self, table: Table, column: str, code: str) -> str:
        """Indonesian label of one answer; raises :class:`CodebookError` naming the column."""
        spec = self.spec(table, column)
        if code not in spec.allowed_codes:
            raise CodebookError(
                f"{column}: code {code!r} is not in the {self.version} code list "
                f"(allowed: {', '.join(spec.allowed_codes)})"
            )
        return spec.code_label(code)

    def columns(self, table: Table, kind: Kind | None = None) -> list[str]:
        return [c for c, s in self.table(table).items() if kind is None or s.kind == kind]


def _codes(*items: tuple[str, str]) -> dict[str, Code]:
    """Code list numbered from 1 in the order given."""
    return {str(i): Code(label, gloss) for i, (label, gloss) in enumerate(items, start=1)}


def _codes_from(start: int, *items: tuple[str, str]) -> dict[str, Code]:
    return {str(i): Code(label, gloss) for i, (label, gloss) in enumerate(items, start=start)}


def _col(name: str, kind: Kind, label: str, gloss: str, **kw) -> ColumnSpec:
    return ColumnSpec(name=name, kind=kind, label=label, gloss=gloss, **kw)


def _yes_no_items(names: list[tuple[str, str, str]]) -> dict[str, ColumnSpec]:
    """PBDT 2015 alternates yes/no codes: items a, c, e, ... are 1/2; b, d, f, ... are 3/4."""
    out = {}
    for i, (name, label, gloss) in enumerate(names):
        pair = ("1", "2") if i % 2 == 0 else ("3", "4")
        out[name] = _col(name, "yes_no", label, gloss, yes_no=pair)
    return out


def _area_columns() -> dict[str, ColumnSpec]:
    names = {
        "KDPROP": ("Kode provinsi", "province code"),
        "KDKAB": ("Kode kabupaten/kota", "regency/city code"),
        "KDKEC": ("Kode kecamatan", "district code"),
        "KDDESA": ("Kode desa/kelurahan", "village code"),
    }
    return {
        c: _col(c, "area", lab, gl, width=AREA_CODE_WIDTHS[c]) for c, (lab, gl) in names.items()
    }


def _pbdt2015_household() -> dict[str, ColumnSpec]:
    cols: dict[str, ColumnSpec] = {
        "IDBDT": _col("IDBDT", "id", "ID rumah tangga BDT", "registry household id"),
        **_area_columns(),
        "Jumlah_ART": _col("Jumlah_ART", "count", "Jumlah anggota rumah tangga", "household members", min=1, max=60),
        "Jumlah_Keluarga": _col("Jumlah_Keluarga", "count", "Jumlah keluarga", "families in household", min=1, max=20),
        "Sta_bangunan": _col("Sta_bangunan", "code", "Status penguasaan bangunan", "dwelling tenure", codes=_codes(
            ("Milik sendiri", "own"), ("Kontrak/sewa", "rent"), ("Bebas sewa", "rent-free"),
            ("Dinas", "official housing"), ("Lainnya", "other"))),
        "Sta_lahan": _col("Sta_lahan", "code", "Status lahan tempat tinggal", "land tenure", codes=_codes(
            ("Milik sendiri", "own"), ("Milik orang lain", "someone else's"),
            ("Tanah negara", "state land"), ("Lainnya", "other"))),
        "Luas_lantai": _col("Luas_lantai", "measure", "Luas lantai (m2)", "floor area (m2)", min=1, max=2000),
        "Lantai": _col("Lantai", "code", "Jenis lantai terluas", "main floor material", ordered=True, codes=_codes(
            ("Marmer/granit", "marble/granite"), ("Keramik", "ceramic"),
            ("Parket/vinil/permadani", "parquet/vinyl/carpet"), ("Ubin/tegel/teraso", "tile/terrazzo"),
            ("Kayu/papan kualitas tinggi", "high-quality wood"), ("Semen/bata merah", "cement/red brick"),
            ("Bambu", "bamboo"), ("Kayu/papan kualitas rendah", "low-quality wood"),
            ("Tanah", "earth"), ("Lainnya", "other"))),
        "Dinding": _col("Dinding", "code", "Jenis dinding terluas", "main wall material", ordered=True, codes=_codes(
            ("Tembok", "masonry"), ("Plesteran anyaman bambu/kawat", "plastered bamboo/wire"),
            ("Kayu", "wood"), ("Anyaman bambu", "woven bamboo"), ("Batang kayu", "logs"),
            ("Bambu", "bamboo"), ("Lainnya", "other"))),
        "Kondisi_dinding": _col("Kondisi_dinding", "code", "Kondisi dinding", "wall condition", codes=_codes(
            ("Bagus/kualitas tinggi", "good"), ("Jelek/kualitas rendah", "poor"))),
        "Atap": _col("Atap", "code", "Jenis atap terluas", "main roof material", ordered=True, codes=_codes(
            ("Beton/genteng beton", "concrete"), ("Genteng keramik", "ceramic tile"),
            ("Genteng metal", "metal tile"), ("Genteng tanah liat", "clay tile"), ("Asbes", "asbestos"),
            ("Seng", "zinc sheet"), ("Sirap", "shingle"), ("Bambu", "bamboo"),
            ("Jerami/ijuk/daun-daunan/rumbia", "thatch"), ("Lainnya", "other"))),
        "Kondisi_atap": _col("Kondisi_atap", "code", "Kondisi atap", "roof condition", codes=_codes(
            ("Bagus/kualitas tinggi", "good"), ("Jelek/kualitas rendah", "poor"))),
        "Jumlah_kamar": _col("Jumlah_kamar", "count", "Jumlah kamar tidur", "bedrooms", min=0, max=50),
        "Sumber_airminum": _col("Sumber_airminum", "code", "Sumber air minum", "drinking water source", ordered=True, codes=_codes(
            ("Air kemasan bermerk", "bottled water"), ("Air isi ulang", "refill water"),
            ("Leding meteran", "metered piped"), ("Leding eceran", "retail piped"),
            ("Sumur bor/pompa", "borehole/pump"), ("Sumur terlindung", "protected well"),
            ("Sumur tak terlindung", "unprotected well"), ("Mata air terlindung", "protected spring"),
            ("Mata air tak terlindung", "unprotected spring"), ("Air sungai/danau/waduk", "river/lake"),
            ("Air hujan", "rainwater"), ("Lainnya", "other"))),
        "Cara_peroleh_airminum": _col("Cara_peroleh_airminum", "code", "Cara memperoleh air minum", "how drinking water is obtained", codes=_codes(
            ("Membeli eceran", "bought retail"), ("Langganan", "subscription"), ("Tidak membeli", "not bought"))),
        "Sumber_penerangan": _col("Sumber_penerangan", "code", "Sumber penerangan utama", "main lighting", ordered=True, codes=_codes(
            ("Listrik PLN", "grid electricity (PLN)"), ("Listrik non-PLN", "off-grid electricity"),
            ("Bukan listrik", "no electricity"))),
        "Daya": _col("Daya", "code", "Daya terpasang", "installed power", codes=_codes(
            ("450 watt", "450 W"), ("900 watt", "900 W"), ("1.300 watt", "1300 W"),
            ("2.200 watt", "2200 W"), ("> 2.200 watt", "over 2200 W"), ("Tanpa meteran", "no meter"))),
        "Bb_masak": _col("Bb_masak", "code", "Bahan bakar memasak", "cooking fuel", ordered=True, codes=_codes(
            ("Listrik", "electricity"), ("Gas > 3 kg", "gas cylinder over 3 kg"), ("Gas 3 kg", "3 kg gas cylinder"),
            ("Gas kota/biogas", "piped gas/biogas"), ("Minyak tanah", "kerosene"), ("Briket", "briquette"),
            ("Arang", "charcoal"), ("Kayu bakar", "firewood"), ("Tidak memasak di rumah", "no cooking at home"))),
        "Fasbab": _col("Fasbab", "code", "Fasilitas buang air besar", "toilet facility", ordered=True, codes=_codes(
            ("Sendiri", "own"), ("Bersama", "shared"), ("Umum", "public"), ("Tidak ada", "none"))),
        "Kloset": _col("Kloset", "code", "Jenis kloset", "toilet type", ordered=True, codes=_codes(
            ("Leher angsa", "pour-flush"), ("Plengsengan", "slab"), ("Cemplung/cubluk", "pit"),
            ("Tidak pakai", "none"))),
        "Buang_tinja": _col("Buang_tinja", "code", "Tempat pembuangan akhir tinja", "excreta disposal", ordered=True, codes=_codes(
            ("Tangki", "septic tank"), ("SPAL", "sewer"), ("Lubang tanah", "pit in ground"),
            ("Kolam/sawah/sungai/danau/laut", "pond/field/river/sea"),
            ("Pantai/tanah lapang/kebun", "beach/open field/garden"), ("Lainnya", "other"))),
    }
    cols.update(_yes_no_items([
        ("Ada_tabung_gas", "Tabung gas 5,5 kg atau lebih", "gas cylinder 5.5 kg+"),
        ("Ada_lemari_es", "Lemari es/kulkas", "refrigerator"),
        ("Ada_ac", "AC", "air conditioner"),
        ("Ada_pemanas", "Pemanas air (water heater)", "water heater"),
        ("Ada_telepon", "Telepon rumah (PSTN)", "landline telephone"),
        ("Ada_tv", "Televisi", "television"),
        ("Ada_emas", "Emas/perhiasan & tabungan (senilai 10 gram emas)", "gold/savings worth 10 g gold"),
        ("Ada_laptop", "Komputer/laptop", "computer/laptop"),
        ("Ada_sepeda", "Sepeda", "bicycle"),
        ("Ada_motor", "Sepeda motor", "motorcycle"),
        ("Ada_mobil", "Mobil", "car"),
        ("Ada_perahu", "Perahu", "boat"),
        ("Ada_motor_tempel", "Motor tempel", "outboard motor"),
        ("Ada_perahu_motor", "Perahu motor", "motor boat"),
        ("Ada_kapal", "Kapal", "ship"),
    ]))
    cols.update(_yes_no_items([
        ("Aset_tak_bergerak", "Memiliki aset tak bergerak (lahan)", "owns land"),
        ("Rumah_lain", "Memiliki rumah di tempat lain", "owns another house"),
    ]))
    cols["Luas_atb"] = _col("Luas_atb", "measure", "Luas aset tak bergerak (m2)", "land area (m2)", min=0, max=10_000_000)
    for animal, gloss in [("sapi", "cattle"), ("kerbau", "buffalo"), ("kuda", "horses"),
                          ("babi", "pigs"), ("kambing", "goats/sheep")]:
        name = f"Jumlah_{animal}"
        cols[name] = _col(name, "count", f"Jumlah {animal}", f"number of {gloss}", min=0, max=10_000)
    cols.update(_yes_no_items([
        ("Sta_kks", "Peserta KKS/KPS", "holds welfare card KKS/KPS"),
        ("Sta_kip", "Peserta KIP/BSM", "school assistance KIP/BSM"),
        ("Sta_kis", "Peserta KIS/BPJS PBI", "subsidised health insurance"),
        ("Sta_pkh", "Peserta PKH", "PKH recipient"),
        ("Sta_rastra", "Peserta Raskin/Rastra", "subsidised rice"),
    ]))
    cols["Percentile"] = _col("Percentile", "count", "Persentil kesejahteraan", "registry welfare percentile (1 = poorest)", min=1, max=100)
    return cols


def _pbdt2015_member() -> dict[str, ColumnSpec]:
    return {
        "IDBDT": _col("IDBDT", "id", "ID rumah tangga BDT", "registry household id"),
        "NoART": _col("NoART", "count", "Nomor urut anggota", "member line number", min=1, max=60),
        "NIK": _col("NIK", "nik", "Nomor Induk Kependudukan", "national id (personal data)"),
        "Hub_KRT": _col("Hub_KRT", "code", "Hubungan dengan kepala rumah tangga", "relation to head", codes=_codes(
            ("Kepala rumah tangga", "head"), ("Istri/suami", "spouse"), ("Anak", "child"),
            ("Menantu", "child-in-law"), ("Cucu", "grandchild"), ("Orang tua/mertua", "parent/parent-in-law"),
            ("Pembantu/sopir", "servant/driver"), ("Lainnya", "other"))),
        "Jnskel": _col("Jnskel", "code", "Jenis kelamin", "sex", codes=_codes(("Laki-laki", "male"), ("Perempuan", "female"))),
        "Umur": _col("Umur", "count", "Umur (tahun)", "age (years)", min=0, max=120),
        "Sta_kawin": _col("Sta_kawin", "code", "Status perkawinan", "marital status", codes=_codes(
            ("Belum kawin", "never married"), ("Kawin", "married"), ("Cerai hidup", "divorced"),
            ("Cerai mati", "widowed"))),
        "Sta_hamil": _col("Sta_hamil", "code", "Sedang hamil", "currently pregnant", nullable=True, codes=_codes(
            ("Ya", "yes"), ("Tidak", "no"))),
        "Jenis_cacat": _col("Jenis_cacat", "code", "Jenis cacat", "disability type", codes=_codes_from(0,
            ("Tidak cacat", "none"), ("Tuna daksa/cacat tubuh", "physical"), ("Tuna netra/buta", "blind"),
            ("Tuna rungu", "deaf"), ("Tuna wicara", "mute"), ("Tuna rungu & wicara", "deaf and mute"),
            ("Tuna netra & cacat tubuh", "blind and physical"),
            ("Tuna netra, rungu & wicara", "blind, deaf and mute"),
            ("Tuna rungu, wicara & cacat tubuh", "deaf, mute and physical"),
            ("Tuna rungu, wicara, netra & cacat tubuh", "deaf, mute, blind and physical"),
            ("Cacat mental retardasi", "intellectual"), ("Mantan penderita gangguan jiwa", "former mental illness"),
            ("Cacat fisik & mental", "physical and mental"))),
        "Penyakit_kronis": _col("Penyakit_kronis", "code", "Penyakit kronis/menahun", "chronic illness", codes=_codes_from(0,
            ("Tidak ada", "none"), ("Hipertensi", "hypertension"), ("Rematik", "rheumatism"), ("Asma", "asthma"),
            ("Masalah jantung", "heart disease"), ("Diabetes", "diabetes"), ("TBC", "tuberculosis"),
            ("Stroke", "stroke"), ("Kanker/tumor", "cancer/tumour"), ("Lainnya", "other"))),
        "Partisipasi_sekolah": _col("Partisipasi_sekolah", "code", "Partisipasi sekolah", "school participation", codes=_codes_from(0,
            ("Tidak/belum pernah sekolah", "never attended"), ("Masih sekolah", "in school"),
            ("Tidak bersekolah lagi", "left school"))),
        "Jenjang_sekolah": _col("Jenjang_sekolah", "code", "Jenjang pendidikan", "school level (current or last)", nullable=True, codes=_codes(
            ("SD/SDLB", "primary"), ("Paket A", "primary equivalency"), ("M. Ibtidaiyah", "Islamic primary"),
            ("SMP/SMPLB", "junior secondary"), ("Paket B", "junior secondary equivalency"),
            ("M. Tsanawiyah", "Islamic junior secondary"), ("SMA/SMK/SMALB", "senior secondary"),
            ("Paket C", "senior secondary equivalency"), ("M. Aliyah", "Islamic senior secondary"),
            ("Perguruan tinggi", "tertiary"))),
        "Ijazah_tertinggi": _col("Ijazah_tertinggi", "code", "Ijazah tertinggi", "highest diploma", ordered=True, codes=_codes_from(0,
            ("Tidak punya ijazah", "none"), ("SD/sederajat", "primary"), ("SMP/sederajat", "junior secondary"),
            ("SMA/sederajat", "senior secondary"), ("D1/D2/D3", "diploma"), ("D4/S1", "bachelor"),
            ("S2/S3", "postgraduate"))),
        "Sta_bekerja": _col("Sta_bekerja", "code", "Bekerja seminggu terakhir", "worked last week", codes=_codes(
            ("Ya", "yes"), ("Tidak", "no"))),
        "Jumlah_jamkerja": _col("Jumlah_jamkerja", "count", "Jam kerja seminggu", "hours worked last week", min=0, max=168, nullable=True),
        "Lapangan_usaha": _col("Lapangan_usaha", "code", "Lapangan usaha", "sector of work", nullable=True, codes=_codes(
            ("Pertanian tanaman padi & palawija", "rice and food crops"), ("Hortikultura", "horticulture"),
            ("Perkebunan", "plantation crops"), ("Perikanan tangkap", "capture fishery"),
            ("Perikanan budidaya", "aquaculture"), ("Peternakan", "livestock"),
            ("Kehutanan & pertanian lainnya", "forestry and other agriculture"),
            ("Pertambangan/penggalian", "mining/quarrying"), ("Industri pengolahan", "manufacturing"),
            ("Listrik dan gas", "electricity and gas"), ("Bangunan/konstruksi", "construction"),
            ("Perdagangan", "trade"), ("Hotel & rumah makan", "hotels and restaurants"),
            ("Transportasi & pergudangan", "transport and storage"), ("Informasi & komunikasi", "information and communication"),
            ("Keuangan & asuransi", "finance and insurance"), ("Jasa pendidikan", "education services"),
            ("Jasa kesehatan", "health services"), ("Jasa kemasyarakatan, pemerintahan & perorangan", "public and personal services"),
            ("Pemulung", "waste picker"), ("Lainnya", "other"))),
        "Status_pekerjaan": _col("Status_pekerjaan", "code", "Status kedudukan dalam pekerjaan", "employment status", nullable=True, codes=_codes(
            ("Berusaha sendiri", "own-account"), ("Berusaha dibantu buruh tidak tetap/tidak dibayar", "employer with temporary/unpaid help"),
            ("Berusaha dibantu buruh tetap/dibayar", "employer with paid staff"),
            ("Buruh/karyawan/pegawai swasta", "private employee"),
            ("PNS/TNI/Polri/BUMN/BUMD/anggota legislatif", "civil servant/state enterprise"),
            ("Pekerja bebas pertanian", "casual agricultural worker"),
            ("Pekerja bebas non-pertanian", "casual non-agricultural worker"),
            ("Pekerja keluarga/tidak dibayar", "unpaid family worker"))),
    }


def _pbdt2015_area() -> dict[str, ColumnSpec]:
    return {
        **_area_columns(),
        "NMKEC": _col("NMKEC", "text", "Nama kecamatan", "district name"),
        "NMDESA": _col("NMDESA", "text", "Nama desa/kelurahan", "village name"),
        "Klasifikasi": _col("Klasifikasi", "code", "Klasifikasi desa (BPS)", "urban/rural classification", codes=_codes(
            ("Perkotaan", "urban"), ("Perdesaan", "rural"))),
    }


def _pbdt2015_siksng() -> dict[str, ColumnSpec]:
    return {
        "IDBDT": _col("IDBDT", "id", "ID rumah tangga BDT", "registry household id"),
        "pkh_eligible": _col("pkh_eligible", "flag", "Layak PKH (SIKS-NG)", "on SIKS-NG's PKH eligibility list"),
        "desil": _col("desil", "count", "Desil kesejahteraan SIKS-NG", "SIKS-NG welfare decile (1 = poorest)", min=1, max=10),
        "periode": _col("periode", "text", "Periode penetapan", "decree period (YYYY-MM)"),
    }


def _pbdt2015_truth() -> dict[str, ColumnSpec]:
    return {
        "IDBDT": _col("IDBDT", "id", "ID rumah tangga BDT", "registry household id"),
        "welfare_pc": _col("welfare_pc", "measure", "Pengeluaran per kapita (Rp/bulan)", "per-capita consumption (Rp/month)", min=0, max=1e9),
        "poor": _col("poor", "flag", "Miskin (hasil verifikasi/survei)", "poor by the truth"),
        # optional: real truth tables may lack them (then eligibility comes from the member
        # file, every household is labelled and weighs 1)
        "eligible_now": _col("eligible_now", "flag", "Punya komponen PKH saat ini", "has a PKH component by the current (verified) member state", optional=True),
        "in_survey": _col("in_survey", "flag", "Masuk sampel survei", "in the survey-matched sample (has a welfare label a real study would see)", optional=True),
        "survey_weight": _col("survey_weight", "measure", "Penimbang survei", "survey expansion factor (households represented); > 0 where in_survey = 1, empty elsewhere", min=0, max=1e9, nullable=True, optional=True),
    }


CODEBOOKS: dict[str, Codebook] = {
    "pbdt2015": Codebook(
        version="pbdt2015",
        household=_pbdt2015_household(),
        member=_pbdt2015_member(),
        area=_pbdt2015_area(),
        siksng=_pbdt2015_siksng(),
        truth=_pbdt2015_truth(),
    ),
}


def get_codebook(version: str = DEFAULT_VERSION) -> Codebook:
    """The codebook of one questionnaire version (``pbdt2015``)."""
    try:
        return CODEBOOKS[version]
    except KeyError:
        raise CodebookError(
            f"unknown questionnaire version {version!r}; known: {', '.join(CODEBOOKS)}"
        ) from None


YES_CODES = ("1", "3")
NO_CODES = ("2", "4")


def decode_yes_no(values: pd.Series, column: str) -> pd.Series:
    """Map a PBDT yes/no item to 1/0: {1, 3} -> 1, {2, 4} -> 0.

    PBDT 2015 alternates the codes (items a, c, e ... are 1/2; b, d, f ... are 3/4), and
    exports do not always keep each item's own pair, so both pairs decode everywhere.
    Anything else (blank, 0, 5, "Y") is an error naming the column and the bad values.

    >>> decode_yes_no(pd.Series(["3", "4", "1"]), "Ada_lemari_es").tolist()
    [1, 0, 1]
    >>> decode_yes_no(pd.Series(["5", "1"]), "Ada_tv")
    Traceback (most recent call last):
    ...
    slrt_ml.data.codebook.CodebookError: Ada_tv: 1 value(s) are not yes/no codes {1, 3} = yes, {2, 4} = no: ['5']
    """
    as_str = values.astype("string").str.strip()
    yes = as_str.isin(YES_CODES).fillna(False).to_numpy(dtype=bool)
    no = as_str.isin(NO_CODES).fillna(False).to_numpy(dtype=bool)
    bad = ~(yes | no)
    if bad.any():
        examples = as_str[bad].astype(str).unique()[:5].tolist()
        raise CodebookError(
            f"{column}: {int(bad.sum())} value(s) are not yes/no codes "
            f"{{1, 3}} = yes, {{2, 4}} = no: {examples}"
        )
    return pd.Series(yes.astype("int8"), index=values.index, name=column)


#: The BPS area code columns, from the largest area to the smallest.
AREA_CODE_COLUMNS = ("KDPROP", "KDKAB", "KDKEC", "KDDESA")


def area_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """Full kabupaten, kecamatan and desa keys from the zero-padded BPS code columns.

    The one place that concatenates ``KDPROP + KDKAB (+ KDKEC (+ KDDESA))``: codes are kept
    as text (never numbers) and a missing code becomes the empty string.

    Parameters
    ----------
    frame : DataFrame
        Holds ``KDPROP``, ``KDKAB``, ``KDKEC`` and ``KDDESA`` as strings.

    Returns
    -------
    DataFrame
        Columns ``kabupaten``, ``kecamatan`` and ``desa`` on ``frame``'s index.

    >>> keys = area_keys(pd.DataFrame(
    ...     {"KDPROP": ["73"], "KDKAB": ["11"], "KDKEC": ["010"], "KDDESA": ["001"]}))
    >>> keys.iloc[0].tolist()
    ['7311', '7311010', '7311010001']
    """
    codes = frame[list(AREA_CODE_COLUMNS)].astype("string").fillna("")
    kabupaten = codes["KDPROP"] + codes["KDKAB"]
    kecamatan = kabupaten + codes["KDKEC"]
    return pd.DataFrame(
        {"kabupaten": kabupaten, "kecamatan": kecamatan, "desa": kecamatan + codes["KDDESA"]},
        index=frame.index,
    )
