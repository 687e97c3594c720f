"""The report's words in Indonesian and English: headings, metric names, the glossary.

One dictionary per language (:data:`WORDS`); :func:`words` returns it and
:func:`glossary` the metrics in words with their denominators. Every text the report
prints goes through here, so a language is added in one place.

>>> words("id")["errors"]
'Galat pada cakupan yang sama'
>>> metric_label("exclusion_error", "en")
'Exclusion error'
>>> glossary("en")[0]["denominator"]
'households in the target group'

Under the desil rule (``--quota desil:K``) lists differ in size, so :func:`rule_words`
swaps every "equal coverage" heading for one naming the rule, and the set-up states the
rule (:func:`desil_text`) and each list's size (:func:`list_sizes_text`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LANGUAGES", "WORDS", "METRIC_WORDS", "words", "metric_label", "glossary", "check_lang",
           "rule_words", "desil_text", "list_sizes_text"]  # fmt: skip

LANGUAGES = ("id", "en")

#: metric -> language -> (short label, meaning, denominator)
METRIC_WORDS: dict[str, dict[str, tuple[str, str, str]]] = {
    "exclusion_error": {
        "en": ("Exclusion error", "share of the target group that was not selected (1 - recall)",
               "households in the target group"),
        "id": ("Galat eksklusi", "bagian kelompok sasaran yang tidak terpilih (1 - recall)",
               "rumah tangga kelompok sasaran"),
    },
    "inclusion_error": {
        "en": ("Inclusion error", "share of the selected who are not in the target group "
               "(leakage, 1 - precision)", "selected households"),
        "id": ("Galat inklusi", "bagian rumah tangga terpilih yang bukan sasaran "
               "(kebocoran, 1 - presisi)", "rumah tangga terpilih"),
    },
    "inclusion_rate_nontarget": {
        "en": ("Non-target selected", "share of the non-target households that were selected",
               "households outside the target group"),
        "id": ("Non-sasaran terpilih", "bagian rumah tangga non-sasaran yang ikut terpilih",
               "rumah tangga di luar kelompok sasaran"),
    },
    "mistargeting": {
        "en": ("Mistargeting", "non-target selected plus target missed, as a share of all",
               "all households"),
        "id": ("Salah sasaran", "non-sasaran terpilih ditambah sasaran terlewat, dibagi semua",
               "semua rumah tangga"),
    },
    "coverage": {
        "en": ("Coverage", "share of households selected", "all households"),
        "id": ("Cakupan", "bagian rumah tangga yang terpilih", "semua rumah tangga"),
    },
    "coverage_of_target": {
        "en": ("Coverage of target", "share of the target group selected",
               "households in the target group"),
        "id": ("Cakupan sasaran", "bagian kelompok sasaran yang terpilih",
               "rumah tangga kelompok sasaran"),
    },
    "targeting_differential": {
        "en": ("Targeting differential", "coverage of the target minus coverage of the "
               "non-target (1 = perfect, 0 = random)", "two shares, each of its own group"),
        "id": ("Selisih penargetan", "cakupan sasaran dikurangi cakupan non-sasaran "
               "(1 = sempurna, 0 = acak)", "dua proporsi, masing-masing atas kelompoknya"),
    },
    "cgh": {
        "en": ("CGH index", "share of the selected in the target group over the target's "
               "share of all households (above 1 = progressive)",
               "selected households, then all households"),
        "id": ("Indeks CGH", "bagian terpilih yang sasaran dibagi bagian sasaran dalam "
               "populasi (di atas 1 = progresif)", "rumah tangga terpilih, lalu semua"),
    },
    "roc_auc": {
        "en": ("ROC-AUC", "chance that a target household ranks poorer than a non-target one",
               "pairs of target and non-target households"),
        "id": ("ROC-AUC", "peluang rumah tangga sasaran berperingkat lebih miskin daripada "
               "rumah tangga non-sasaran", "pasangan sasaran dan non-sasaran"),
    },
    "pr_auc": {
        "en": ("PR-AUC", "average precision of the ranking for the target group",
               "selected households at each cut-off"),
        "id": ("PR-AUC", "presisi rata-rata peringkat untuk kelompok sasaran",
               "rumah tangga terpilih pada tiap batas"),
    },
    "spearman_welfare": {
        "en": ("Spearman (welfare)", "rank correlation of the score with lower welfare",
               "households with a welfare measure"),
        "id": ("Spearman (kesejahteraan)", "korelasi peringkat skor dengan kesejahteraan "
               "yang lebih rendah", "rumah tangga yang kesejahteraannya terukur"),
    },
}  # fmt: skip

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "{reference}: models at equal coverage",
        "title_siksng": "PKH targeting: models and SIKS-NG at equal coverage",
        "banner": "Synthetic data — shows that the pipeline works; "
        "not evidence about the real {reference}",
        "setup": "Set-up", "reference": "Reference system", "quota": "Quota",
        "one_ranking": "one ranking", "split_over": "split over {n} {level}",
        "households": "households", "persons": "persons", "budget": "Rupiah of benefit",
        "survey_weighted": "households (survey-weighted)",
        "weights": "Metric weights", "survey_weight": "x survey weight",
        "weight_household": "one per household", "weight_person": "persons per household",
        "bootstrap": "95% intervals in brackets. Errors and their differences: jackknife-t, "
        "leaving out one {cluster} (or group of them) at a time and re-applying every model's "
        "selection rule each time. Ranking measures: {b} bootstrap replicates resample "
        "{cluster} (percentile intervals, widened for few clusters).",
        "views_survey": "Survey view (the default): the labelled survey sample only, weighted "
        "by its survey weight, as a real study sees it.",
        "views_population": "Population view: every household, unit weights "
        "(the world is simulated, so everyone's truth is known).",
        "views_all": "Every household, unit survey weights.",
        "glossary": "What the numbers mean", "metric": "Metric", "meaning": "Meaning",
        "denominator": "Denominator (divided by)",
        "errors": "Errors at equal coverage", "ranking": "Ranking quality",
        "system": "System", "interval_note": "Each cell: estimate, and its 95% interval below.",
        "difference": "Difference from {reference} (model - {reference})",
        "difference_note": "Below 0: the model makes fewer errors than {reference}. An "
        "interval that contains 0 is no evidence of a difference.",
        "champion": "Champion and why", "champion_none": "No champion: no model has an "
        "exclusion-error estimate.",
        "champion_alone": "The champion is {champion}: the lowest exclusion error, and every "
        "other model's difference from it has a 95% interval above 0.",
        "champion_tied": "{best} has the lowest exclusion error, but the 95% interval of the "
        "difference from it contains 0 for {others}: at this sample size they are "
        "indistinguishable. The champion is the simplest of them, {champion} (order: {order}).",
        "champion_nobootstrap": "The champion is {champion}: the lowest exclusion error "
        "(no bootstrap intervals, so no test against noise).",
        "champion_vs_reference": "{champion} against {reference}",
        "view": "{view} view: errors at equal coverage",
        "view_population": "Population", "view_survey": "Survey",
        "equal_coverage_with": "Equal coverage with {reference}",
        "list_sizes": "List sizes in {unit}: {sizes}.",
        "desil_rule": "each model lists its eligible households in desil 1-{k} of its own "
        "national ranking of every household; {reference} {reference_list}",
        "desil_quota": "Selection rule (no common quota)",
        "desil_published": "lists its eligible households in its published desil 1-{k}",
        "desil_given": "keeps its given list (no published desil)",
        "desil_not_equal": "Lists differ in size: this is not a comparison at equal coverage; "
        "read the errors together with each list's size.",
        "desil_title": "{reference}: models under the desil 1-{k} rule",
        "desil_title_siksng": "PKH targeting: models and SIKS-NG under the desil 1-{k} rule",
        "desil_errors": "Errors under the desil 1-{k} rule (lists differ in size)",
        "desil_view": "{view} view: errors under the desil 1-{k} rule",
        "desil_heading": "Desil 1-{k} rule, not equal coverage",
        "list_size": "List size",
        "curves": "Coverage curves",
        "curves_note": "Each line is one system's ranking cut at 5% to 60% of households. "
        "{reference}'s line re-cuts its ranking; its actual list is the red star.",
        "share_selected": "share of households selected",
        "actual_list": "{reference}'s actual list", "recut": "{reference} (ranking, re-cut)",
        "interval_axis": "error (95% interval, clustered)",
        "groups": "Exclusion error by household group", "group": "Group", "slicing": "Slicing",
        "gap": "Largest gap between groups",
        "gap_note": "The largest exclusion-error gap between groups of a slicing, with its "
        "interval, and the gap that chance alone gives (group labels permuted): mean "
        "[95th percentile] and p. A gap below that 95th percentile is not a finding.",
        "gap_value": "Gap [95% interval]", "gap_groups": "Highest vs lowest",
        "gap_null": "By chance: mean [95th]", "p": "p", "one_group": "one group only",
        "decomposition": "How {reference}'s error is built",
        "decomposition_note": "The synthetic generator gives {reference} stale registry "
        "indicators, weights estimated once on a survey-sized sample, the quota and process "
        "noise (village deliberation), each a named parameter; each row adds one step. These "
        "handicaps are built in: a model beating them is not evidence about the real "
        "{reference}.",
        "step": "Step",
        "areas": "Exclusion error per {level}",
        "areas_note": "{n:,} {level}: the {k} worst and {k} best by {reference}'s exclusion "
        "error are drawn; the other {rest:,} are summarised in one row between them (median).",
        "areas_all": "{n:,} {level}, sorted by {reference}'s exclusion error.",
        "others": "{n:,} others (median)", "others_sum": "{n:,} others (sum)",
        "agreement": "Agreement with {reference}'s list (not accuracy)",
        "agreement_note": "Kept: on both lists; dropped: on {reference}'s list only; added: on "
        "the model's list only. Counts of households.",
        "change": "Change", "kept": "kept", "dropped": "dropped", "added": "added",
        "target": "target", "non_target": "non-target",
        "explanations": "Why the champion scores a household as it does",
        "importance_note": "Mean absolute contribution of each questionnaire item to {model}'s "
        "score, over {n} households (log-odds of being poor). Toward poorer: the share of "
        "households where the item pushes the score up.",
        "item": "Questionnaire item", "mean_abs": "Mean |contribution|",
        "toward_poorer": "Toward poorer", "waterfalls": "Examples, household by household",
        "waterfall_note": "Each chart starts at the model's base value, adds the largest "
        "contributions one by one and ends at the household's score.",
        "prelist": "The scored prelist", "prelist_counts": "Households", "number": "Number",
        "input_rows": "in the prelist", "scored_rows": "scored", "rejected_rows": "rejected",
        "selected": "selected", "per_area": "Selected per {level}", "area": "{level}",
        "scored": "Scored", "rejects": "Rejected households by reason", "reason": "Reason",
        "count": "Households", "no_rejects": "No household was rejected.",
        "none": "(none)", "na": "n/a", "yes": "yes", "no": "no", "total": "total",
        "kecamatan": "kecamatan", "kabupaten": "kabupaten", "desa": "desa",
        "urban": "urban", "rural": "rural", "female_head": "female head", "elderly_head": "elderly head",
        "disabled_member": "member with a disability",
    },
    "id": {
        "title": "{reference}: model pada cakupan yang sama",
        "title_siksng": "Penargetan PKH: model dan SIKS-NG pada cakupan yang sama",
        "banner": "Data sintetis — menunjukkan bahwa alur kerja berjalan; "
        "bukan bukti tentang {reference} yang sebenarnya",
        "setup": "Pengaturan", "reference": "Sistem pembanding", "quota": "Kuota",
        "one_ranking": "satu peringkat", "split_over": "dibagi ke {n} {level}",
        "households": "rumah tangga", "persons": "jiwa", "budget": "Rupiah manfaat",
        "survey_weighted": "rumah tangga (berbobot survei)",
        "weights": "Bobot metrik", "survey_weight": "x bobot survei",
        "weight_household": "satu per rumah tangga", "weight_person": "jiwa per rumah tangga",
        "bootstrap": "Interval 95% dalam kurung. Galat dan selisihnya: jackknife-t, "
        "menyisihkan satu {cluster} (atau satu kelompok) setiap kali dan menerapkan lagi "
        "aturan seleksi setiap model. Ukuran peringkat: {b} ulangan bootstrap mengambil ulang "
        "{cluster} (interval persentil, dilebarkan bila klaster sedikit).",
        "views_survey": "Tampilan survei (bawaan): hanya sampel survei berlabel, berbobot "
        "survei, seperti yang dilihat studi nyata.",
        "views_population": "Tampilan populasi: semua rumah tangga, bobot 1 "
        "(dunia ini disimulasikan, jadi kebenaran setiap rumah tangga diketahui).",
        "views_all": "Semua rumah tangga, bobot survei 1.",
        "glossary": "Arti angka-angka", "metric": "Metrik", "meaning": "Arti",
        "denominator": "Penyebut (dibagi dengan)",
        "errors": "Galat pada cakupan yang sama", "ranking": "Mutu peringkat",
        "system": "Sistem", "interval_note": "Tiap sel: nilai dugaan, dan interval 95% di bawahnya.",
        "difference": "Selisih terhadap {reference} (model dikurangi {reference})",
        "difference_note": "Di bawah 0: model lebih sedikit salah daripada {reference}. "
        "Interval yang memuat 0 bukan bukti adanya perbedaan.",
        "champion": "Model juara dan alasannya", "champion_none": "Tidak ada juara: tidak ada "
        "model dengan dugaan galat eksklusi.",
        "champion_alone": "Juaranya {champion}: galat eksklusi terendah, dan selisih setiap "
        "model lain darinya memiliki interval 95% di atas 0.",
        "champion_tied": "{best} memiliki galat eksklusi terendah, tetapi interval 95% "
        "selisihnya memuat 0 untuk {others}: pada ukuran sampel ini keduanya tidak dapat "
        "dibedakan. Juaranya yang paling sederhana, {champion} (urutan: {order}).",
        "champion_nobootstrap": "Juaranya {champion}: galat eksklusi terendah (tanpa "
        "interval bootstrap, jadi tanpa uji terhadap derau).",
        "champion_vs_reference": "{champion} dibandingkan {reference}",
        "view": "Tampilan {view}: galat pada cakupan yang sama",
        "view_population": "populasi", "view_survey": "survei",
        "equal_coverage_with": "Cakupan sama dengan {reference}",
        "list_sizes": "Ukuran daftar dalam {unit}: {sizes}.",
        "desil_rule": "tiap model mendaftar rumah tangga layaknya di desil 1-{k} dari peringkat "
        "nasionalnya sendiri atas semua rumah tangga; {reference} {reference_list}",
        "desil_quota": "Aturan seleksi (tanpa kuota bersama)",
        "desil_published": "mendaftar rumah tangga layaknya di desil 1-{k} yang dipublikasikan",
        "desil_given": "memakai daftarnya sendiri (tanpa desil yang dipublikasikan)",
        "desil_not_equal": "Ukuran daftar berbeda: ini bukan perbandingan pada cakupan yang "
        "sama; baca galat bersama ukuran tiap daftar.",
        "desil_title": "{reference}: model dengan aturan desil 1-{k}",
        "desil_title_siksng": "Penargetan PKH: model dan SIKS-NG dengan aturan desil 1-{k}",
        "desil_errors": "Galat dengan aturan desil 1-{k} (ukuran daftar berbeda)",
        "desil_view": "Tampilan {view}: galat dengan aturan desil 1-{k}",
        "desil_heading": "Aturan desil 1-{k}, bukan cakupan yang sama",
        "list_size": "Ukuran daftar",
        "curves": "Kurva cakupan",
        "curves_note": "Tiap garis adalah peringkat satu sistem yang dipotong pada 5% sampai "
        "60% rumah tangga. Garis {reference} memotong ulang peringkatnya; daftar aslinya "
        "adalah bintang merah.",
        "share_selected": "bagian rumah tangga terpilih",
        "actual_list": "daftar asli {reference}", "recut": "{reference} (peringkat, dipotong ulang)",
        "interval_axis": "galat (interval 95%, per klaster)",
        "groups": "Galat eksklusi per kelompok rumah tangga", "group": "Kelompok",
        "slicing": "Pengelompokan",
        "gap": "Selisih terbesar antarkelompok",
        "gap_note": "Selisih galat eksklusi terbesar antarkelompok, dengan intervalnya, dan "
        "selisih yang muncul karena kebetulan saja (label kelompok diacak): rata-rata "
        "[persentil 95] dan p. Selisih di bawah persentil 95 itu bukan temuan.",
        "gap_value": "Selisih [interval 95%]", "gap_groups": "Tertinggi vs terendah",
        "gap_null": "Kebetulan: rata-rata [p95]", "p": "p", "one_group": "hanya satu kelompok",
        "decomposition": "Bagaimana galat {reference} terbentuk",
        "decomposition_note": "Generator sintetis memberi {reference} indikator registri yang "
        "usang, bobot yang diduga sekali pada sampel seukuran survei, kuota dan derau proses "
        "(musyawarah desa), masing-masing parameter bernama; tiap baris menambah satu langkah. "
        "Hambatan ini sengaja dibuat: model yang mengunggulinya bukan bukti tentang "
        "{reference} yang sebenarnya.",
        "step": "Langkah",
        "areas": "Galat eksklusi per {level}",
        "areas_note": "{n:,} {level}: {k} terburuk dan {k} terbaik menurut galat eksklusi "
        "{reference} digambar; {rest:,} lainnya diringkas dalam satu baris di antaranya (median).",
        "areas_all": "{n:,} {level}, diurutkan menurut galat eksklusi {reference}.",
        "others": "{n:,} lainnya (median)", "others_sum": "{n:,} lainnya (jumlah)",
        "agreement": "Kesamaan dengan daftar {reference} (bukan ketepatan)",
        "agreement_note": "Tetap: ada di kedua daftar; keluar: hanya di daftar {reference}; "
        "masuk: hanya di daftar model. Jumlah rumah tangga.",
        "change": "Perubahan", "kept": "tetap", "dropped": "keluar", "added": "masuk",
        "target": "sasaran", "non_target": "non-sasaran",
        "explanations": "Mengapa model juara memberi skor itu",
        "importance_note": "Rata-rata kontribusi mutlak tiap butir kuesioner pada skor {model}, "
        "atas {n} rumah tangga (log-odds miskin). Ke arah lebih miskin: bagian rumah tangga "
        "yang skornya dinaikkan oleh butir itu.",
        "item": "Butir kuesioner", "mean_abs": "Rata-rata |kontribusi|",
        "toward_poorer": "Ke arah lebih miskin", "waterfalls": "Contoh, rumah tangga demi rumah "
        "tangga", "waterfall_note": "Tiap grafik mulai dari nilai dasar model, menambahkan "
        "kontribusi terbesar satu per satu dan berakhir pada skor rumah tangga.",
        "prelist": "Daftar awal yang dinilai", "prelist_counts": "Rumah tangga", "number": "Jumlah",
        "input_rows": "dalam daftar awal", "scored_rows": "dinilai", "rejected_rows": "ditolak",
        "selected": "terpilih", "per_area": "Terpilih per {level}", "area": "{level}",
        "scored": "Dinilai", "rejects": "Rumah tangga ditolak menurut alasan", "reason": "Alasan",
        "count": "Rumah tangga", "no_rejects": "Tidak ada rumah tangga yang ditolak.",
        "none": "(tidak ada)", "na": "t/a", "yes": "ya", "no": "tidak", "total": "jumlah",
        "kecamatan": "kecamatan", "kabupaten": "kabupaten", "desa": "desa",
        "urban": "perkotaan", "rural": "perdesaan", "female_head": "kepala perempuan", "elderly_head": "kepala lansia",
        "disabled_member": "ada anggota disabilitas",
    },
}  # fmt: skip


def check_lang(lang: str) -> str:
    """``lang`` when it is a known language, else a ``ValueError`` naming the choices."""
    if lang not in LANGUAGES:
        raise ValueError(f"report language {lang!r} is not one of {LANGUAGES}")
    return lang


def words(lang: str) -> dict[str, str]:
    """The report's words in ``lang`` (``"id"`` or ``"en"``)."""
    return WORDS[check_lang(lang)]


def metric_label(metric: str, lang: str) -> str:
    """A metric's short name in ``lang``; an unknown metric keeps its own name."""
    entry = METRIC_WORDS.get(metric)
    return entry[check_lang(lang)][0] if entry else metric


def glossary(lang: str, metrics: tuple[str, ...] | None = None) -> list[dict[str, str]]:
    """Each metric in words: ``metric`` (short name), ``meaning`` and ``denominator``."""
    names = metrics if metrics is not None else tuple(METRIC_WORDS)
    rows = []
    for metric in names:
        label, meaning, denominator = METRIC_WORDS[metric][check_lang(lang)]
        rows.append({"metric": label, "meaning": meaning, "denominator": denominator})
    return rows


#: Headings that say "equal coverage", and their desil-rule wording (``desil_<key>``).
_DESIL_HEADINGS = ("title", "title_siksng", "errors", "view", "quota")


def rule_words(lang: str, rule: Any = None) -> dict[str, str]:
    """:func:`words`, with the desil rule's headings when ``rule`` (a ``Quota``) is one.

    >>> from slrt_ml.targeting.quota import parse_quota
    >>> rule_words("en", parse_quota("desil:4"))["errors"]
    'Errors under the desil 1-4 rule (lists differ in size)'
    >>> rule_words("en", parse_quota("siksng"))["errors"]
    'Errors at equal coverage'
    """
    w = words(lang)
    if rule is None or not getattr(rule, "is_desil", False):
        return w
    k = str(rule.max_desil)
    return w | {key: w[f"desil_{key}"].replace("{k}", k) for key in _DESIL_HEADINGS}


def desil_text(k: int, reference: str, reference_list: str, w: dict[str, str]) -> str:
    """The desil rule in words, saying how the reference's list was made.

    >>> desil_text(4, "SIKS-NG", "given", words("en"))[-49:]
    'SIKS-NG keeps its given list (no published desil)'
    """
    how = w["desil_published" if reference_list == "published desil" else "desil_given"]
    return w["desil_rule"].format(k=k, reference=reference, reference_list=how.format(k=k))


def list_sizes_text(sizes: dict[str, float], unit: str, w: dict[str, str], label: str,
                    reference: str) -> str:  # fmt: skip
    """Each system's list size in one sentence (the reference under its label).

    >>> list_sizes_text({"siksng": 120.0, "logit": 131.0}, "households", words("en"),
    ...                 "SIKS-NG", "siksng")
    'List sizes in households: SIKS-NG 120, logit 131.'
    """
    parts = [f"{label if name == reference else name} {size:,.0f}" for name, size in sizes.items()]
    return w["list_sizes"].format(unit=unit, sizes=", ".join(parts))
