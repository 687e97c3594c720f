"""The model card of a trained model, in English or Indonesian (strings only, no disk I/O).

:func:`model_card` renders Markdown from a run's manifest and its ``comparison.csv`` table:
the model, the data it was trained on, its headline metrics at equal coverage with 95%
paired cluster-bootstrap intervals beside the reference system's (every view of the
table), what it is for, what it must not be used for, and its limits. The registered MLflow
model carries it as its description (:mod:`slrt_ml.tracking`) and the pretrained model in
``models/`` ships it as ``MODEL_CARD.md`` and ``MODEL_CARD.id.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "CARD_METRICS",
    "LANGS",
    "card_file_name",
    "comparison_numbers",
    "format_estimate",
    "model_card",
]

LANGS = ("en", "id")
#: headline metrics shown, in this order (``<metric>_diff_vs_<reference>`` rows follow)
CARD_METRICS = ("exclusion_error", "inclusion_error", "roc_auc", "pr_auc", "spearman_welfare")
_DIFFS = ("exclusion_error", "inclusion_error")

_TEXT = {
    "en": {
        "title": "Model card: {name}",
        "synthetic": "> **Synthetic data.** This model was trained and measured on a synthetic "
        "registry made up by `slrt_ml.data.synth`. Its numbers show that the pipeline works; "
        "they are **not** evidence about the real DTKS, the real SIKS-NG or any real household.",
        "model": "Model",
        "model_rows": [
            ("family", "{family}"),
            ("package version", "{package_version}"),
            ("seed", "{seed}"),
            ("features", "{n_features} (list in `manifest.json`)"),
            ("hyperparameters (resolved)", "{params}"),
            (
                "output",
                "poverty score, higher = poorer; `prob_poor` from the run's Platt calibration",
            ),
        ],
        "data": "Data",
        "data_rows": [
            ("dataset", "{dataset} (digest `{digest}`)"),
            ("households", "{households}"),
            ("trained on", "{trained_on} households ({sample_rule}; survey weights: {weights})"),
            ("codebook", "{codebook}"),
            ("reference system", "{reference}"),
        ],
        "metrics": "Metrics at equal coverage (95% intervals)",
        "metrics_desil": "Metrics under the {rule} rule (95% intervals; lists differ in size)",
        "metrics_desil_note": "Not equal coverage: each model lists its eligible households "
        "in the desil cut-off of its own national ranking, {reference} by its published desil "
        "(else its given list); each list's size is the `list_size` column of comparison.csv. "
        "`_diff_vs_{reference_key}` = model minus {reference}.",
        "metrics_note": "Every system selects as many households as {reference} did; "
        "intervals come from a paired bootstrap that resamples desa (clusters). "
        "`_diff_vs_{reference_key}` = model minus {reference} (negative is better for errors).",
        "view": "view: {view}",
        "view_survey": "survey (the labelled survey sample, weighted: what a real study sees)",
        "view_population": "population (every household: only a simulation has it)",
        "header": ("metric", "{name}", "{reference}"),
        "intended": "Intended use",
        "intended_text": [
            "Ranking households of a prelist (daftar awal) by predicted poverty before field "
            "verification (verivali), to decide whom to check first and to compare with SIKS-NG.",
            "Trying the toolkit end to end (`slrt-ml score`) before training a model on your own "
            "registry.",
        ],
        "not_for": "Must not be used for",
        "not_for_synthetic": "Deciding any real household's eligibility or benefit: it was "
        "fitted on synthetic data and has never seen a real household.",
        "not_for_text": [
            "Replacing field verification or village deliberation: a score is a prompt to "
            "check, not a decision.",
            "Ranking households of another questionnaire version or region without retraining "
            "and re-measuring on that data.",
        ],
        "limits": "Limits",
        "limits_synthetic": "The metrics are measured on the synthetic sample it was trained "
        "on; they say nothing about real data.",
        "limits_text": [
            "The metrics use out-of-fold scores of the data it was trained on; re-measure after "
            "every registry update (accuracy decays as the data ages).",
            "With a small labelled sample (a survey of about 10% of households) the intervals "
            "are wide.",
            "The registry indicators are as recorded at the last update; a household that "
            "changed since is scored on stale answers.",
        ],
    },
    "id": {
        "title": "Kartu model: {name}",
        "synthetic": "> **Data sintetis.** Model ini dilatih dan diukur pada registri sintetis "
        "buatan `slrt_ml.data.synth`. Angkanya menunjukkan bahwa alur kerja berjalan; angka ini "
        "**bukan** bukti tentang DTKS, SIKS-NG, atau rumah tangga yang sebenarnya.",
        "model": "Model",
        "model_rows": [
            ("jenis model", "{family}"),
            ("versi paket", "{package_version}"),
            ("seed", "{seed}"),
            ("fitur", "{n_features} (daftar di `manifest.json`)"),
            ("hiperparameter (terpakai)", "{params}"),
            (
                "keluaran",
                "skor kemiskinan, makin tinggi = makin miskin; `prob_poor` dari kalibrasi Platt",
            ),
        ],
        "data": "Data",
        "data_rows": [
            ("dataset", "{dataset} (digest `{digest}`)"),
            ("rumah tangga", "{households}"),
            ("dilatih pada", "{trained_on} rumah tangga ({sample_rule}; bobot survei: {weights})"),
            ("buku kode", "{codebook}"),
            ("sistem pembanding", "{reference}"),
        ],
        "metrics": "Ukuran pada cakupan yang sama (interval 95%)",
        "metrics_desil": "Ukuran dengan aturan {rule} (interval 95%; ukuran daftar berbeda)",
        "metrics_desil_note": "Bukan cakupan yang sama: tiap model mendaftar rumah tangga "
        "layaknya di batas desil peringkat nasionalnya sendiri, {reference} menurut desil yang "
        "dipublikasikan (atau daftarnya sendiri); ukuran tiap daftar ada di kolom `list_size` "
        "comparison.csv. `_diff_vs_{reference_key}` = model dikurangi {reference}.",
        "metrics_note": "Setiap sistem memilih sebanyak rumah tangga yang dipilih {reference}; "
        "interval dari bootstrap berpasangan yang mengambil ulang desa (klaster). "
        "`_diff_vs_{reference_key}` = model dikurangi {reference} (negatif berarti galat lebih kecil).",
        "view": "sudut pandang: {view}",
        "view_survey": "survei (sampel survei berlabel, berbobot: yang dilihat studi nyata)",
        "view_population": "populasi (semua rumah tangga: hanya ada pada simulasi)",
        "header": ("ukuran", "{name}", "{reference}"),
        "intended": "Kegunaan",
        "intended_text": [
            "Mengurutkan rumah tangga daftar awal menurut prediksi kemiskinan sebelum verifikasi "
            "dan validasi (verivali) lapangan, untuk menentukan siapa yang diperiksa lebih dulu "
            "dan untuk membandingkan dengan SIKS-NG.",
            "Mencoba toolkit dari awal sampai akhir (`slrt-ml score`) sebelum melatih model pada "
            "registri sendiri.",
        ],
        "not_for": "Tidak boleh dipakai untuk",
        "not_for_synthetic": "Memutuskan kelayakan atau bantuan rumah tangga nyata mana pun: "
        "model dilatih pada data sintetis dan belum pernah melihat rumah tangga nyata.",
        "not_for_text": [
            "Menggantikan verifikasi lapangan atau musyawarah desa/kelurahan: skor adalah alasan "
            "untuk memeriksa, bukan keputusan.",
            "Mengurutkan rumah tangga dari versi kuesioner atau wilayah lain tanpa melatih dan "
            "mengukur ulang pada data tersebut.",
        ],
        "limits": "Keterbatasan",
        "limits_synthetic": "Ukuran dihitung pada sampel sintetis tempat model dilatih; ukuran "
        "ini tidak berlaku untuk data nyata.",
        "limits_text": [
            "Ukuran memakai skor out-of-fold dari data pelatihan; ukur ulang setiap pemutakhiran "
            "registri (akurasi menurun seiring data menua).",
            "Dengan sampel berlabel yang kecil (survei sekitar 10% rumah tangga) intervalnya "
            "lebar.",
            "Indikator registri adalah jawaban saat pemutakhiran terakhir; rumah tangga yang "
            "berubah sejak itu dinilai dengan jawaban lama.",
        ],
    },
}

_METRIC_LABEL = {
    "en": {
        "exclusion_error": "exclusion error (target not selected / target)",
        "inclusion_error": "inclusion error (non-target selected / selected)",
        "roc_auc": "ROC-AUC (ranking of the poor)",
        "pr_auc": "PR-AUC",
        "spearman_welfare": "Spearman with -welfare",
    },
    "id": {
        "exclusion_error": "kesalahan eksklusi (sasaran tidak terpilih / sasaran)",
        "inclusion_error": "kesalahan inklusi (bukan sasaran terpilih / terpilih)",
        "roc_auc": "ROC-AUC (urutan rumah tangga miskin)",
        "pr_auc": "PR-AUC",
        "spearman_welfare": "Spearman dengan -kesejahteraan",
    },
}


def card_file_name(lang: str) -> str:
    """``MODEL_CARD.md`` for English, ``MODEL_CARD.<lang>.md`` otherwise.

    >>> card_file_name("en"), card_file_name("id")
    ('MODEL_CARD.md', 'MODEL_CARD.id.md')
    """
    return "MODEL_CARD.md" if lang == "en" else f"MODEL_CARD.{lang}.md"


def comparison_numbers(table: pd.DataFrame) -> pd.DataFrame:
    """``comparison.csv`` as read back, with ``estimate, ci_low, ci_high`` as floats.

    A CSV writer that guards against spreadsheet formulas may have stored a negative
    number held as text with a leading ``'``; it is read as the number again.

    >>> comparison_numbers(pd.DataFrame({"estimate": ["'-0.25", "0.5"], "ci_low": [None, 0.4],
    ...                                  "ci_high": [0.1, 0.6]}))["estimate"].tolist()
    [-0.25, 0.5]
    """
    out = table.copy()
    for column in ("estimate", "ci_low", "ci_high"):
        if column in out:
            text = out[column].astype("string").str.removeprefix("'")
            out[column] = pd.to_numeric(text, errors="coerce").astype("float64")
    return out


def format_estimate(estimate: float, low: float, high: float) -> str:
    """``0.431 [0.383, 0.476]``; without finite bounds the estimate alone; ``–`` when missing.

    >>> format_estimate(0.4312, 0.3831, 0.4759)
    '0.431 [0.383, 0.476]'
    >>> format_estimate(0.5, float("nan"), float("nan"))
    '0.500'
    """
    if estimate is None or not math.isfinite(float(estimate)):
        return "–"
    text = f"{float(estimate):.3f}"
    if all(b is not None and math.isfinite(float(b)) for b in (low, high)):
        text += f" [{float(low):.3f}, {float(high):.3f}]"
    return text


def _cell(table: pd.DataFrame, system: str, metric: str) -> str:
    rows = table[(table["system"] == system) & (table["metric"] == metric)]
    if rows.empty:
        return "–"
    row = rows.iloc[0]
    return format_estimate(row["estimate"], row["ci_low"], row["ci_high"])


def _metric_table(table: pd.DataFrame, name: str, reference: str, lang: str) -> list[str]:
    header = [h.format(name=name, reference=_label(reference)) for h in _TEXT[lang]["header"]]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|"]
    labels = _METRIC_LABEL[lang]
    for metric in CARD_METRICS:
        lines.append(f"| {labels[metric]} | {_cell(table, name, metric)} | "
                     f"{_cell(table, reference, metric)} |")  # fmt: skip
    for metric in _DIFFS:
        diff = f"{metric}_diff_vs_{reference}"
        lines.append(f"| `{diff}` | {_cell(table, name, diff)} | |")
    return lines


def _fields(manifest: Mapping[str, Any], name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    dataset = manifest.get("dataset", {})
    sample = manifest.get("training_sample", {})
    return {
        "name": name,
        "family": name,
        "package_version": manifest.get("package_version", "?"),
        "seed": manifest.get("seed", "?"),
        "n_features": len(manifest.get("features", [])),
        "params": ", ".join(f"`{k}={v}`" for k, v in sorted(params.items())) or "defaults",
        "dataset": dataset.get("name", "?"),
        "digest": str(dataset.get("digest") or manifest.get("data_digest") or "?")[:16],
        "households": f"{dataset.get('n_households', 0):,}",
        "trained_on": f"{sample.get('trained_on', 0):,}",
        "sample_rule": f"train.sample={sample.get('rule', '?')}",
        "weights": sample.get("survey_weight_column") or "-",
        "codebook": manifest.get("codebook_version") or "-",
        "reference": _label(manifest.get("reference_system", "siksng")),
    }


def _label(reference: str) -> str:
    return "SIKS-NG" if reference == "siksng" else reference


def model_card(manifest: Mapping[str, Any], comparison: pd.DataFrame, name: str, *,
               lang: str = "en", title: str | None = None) -> str:  # fmt: skip
    """Markdown model card of the model ``name`` of a run (see the module docstring).

    Parameters
    ----------
    manifest : Mapping
        The run's ``manifest.json``.
    comparison : DataFrame
        The run's ``comparison.csv`` (``system, metric, estimate, ci_low, ci_high, view``).
    name : str
        The model family described.
    lang : {"en", "id"}
        English or Indonesian.
    title : str, optional
        What the card is called (default: ``name``).

    Raises
    ------
    ValueError
        For a language other than ``en`` and ``id``.
    """
    if lang not in _TEXT:
        raise ValueError(f"model card language {lang!r}: use one of {', '.join(LANGS)}")
    text = _TEXT[lang]
    params = (manifest.get("model_params") or {}).get(name) or {}
    fields = _fields(manifest, name, params)
    reference = manifest.get("reference_system", "siksng")
    lines = [f"# {text['title'].format(name=title or name)}", ""]
    if manifest.get("synthetic"):
        lines += [text["synthetic"], ""]
    for heading, rows in (("model", "model_rows"), ("data", "data_rows")):
        lines += [f"## {text[heading]}", "", "| | |", "|---|---|"]
        lines += [f"| {k} | {v.format(**fields)} |" for k, v in text[rows]]
        lines.append("")
    rule = str(comparison["rule"].iloc[0]) if "rule" in comparison and len(comparison) else ""
    key = "metrics_desil" if rule.startswith("desil:") else "metrics"  # lists differ in size
    lines += [f"## {text[key].format(rule=rule)}", "",
              text[f"{key}_note"].format(reference=_label(reference), reference_key=reference), ""]  # fmt: skip
    views = comparison["view"].drop_duplicates().tolist() if "view" in comparison else [None]
    for view in views:
        table = comparison if view is None else comparison[comparison["view"] == view]
        if view is not None:
            label = text.get(f"view_{view}", view)
            lines += [f"*{text['view'].format(view=label)}*", ""]
        lines += [*_metric_table(table, name, reference, lang), ""]
    synthetic = bool(manifest.get("synthetic"))
    for heading in ("intended", "not_for", "limits"):
        items = list(text[f"{heading}_text"])
        if synthetic and f"{heading}_synthetic" in text:
            items.insert(0, text[f"{heading}_synthetic"])
        lines += [f"## {text[heading]}", "", *(f"- {item}" for item in items), ""]
    return "\n".join(lines)
