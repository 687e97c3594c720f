"""Report rendering: self-contained HTML, Markdown and the console table, in id and en."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from rich.table import Table
from test_evaluation import targeting_frame  # the same small frame as the evaluation tests

from slrt_ml.evaluation.compare import compare
from slrt_ml.evaluation.report import (
    SYNTHETIC_BANNER,
    console_table,
    render_html,
    render_markdown,
    summary_table,
)
from slrt_ml.evaluation.report_figures import MAX_GROUPS, area_rows
from slrt_ml.evaluation.report_inputs import (
    ExplanationSummary,
    PrelistSummary,
    ReportExtras,
    ReportNames,
    importance_by_item,
)
from slrt_ml.evaluation.report_sections import gap_table, number
from slrt_ml.evaluation.report_text import METRIC_WORDS, WORDS, glossary, words

IMG = '<img alt="{}" src="data:image/png;base64,'


@pytest.fixture(scope="module")
def comparison():
    return compare(
        targeting_frame(n=1500, n_clusters=40), ["good", "coarse"], by="KDKEC", bootstrap=50, seed=0
    )


def _section(page: str, heading: str) -> str:
    """The HTML between `heading` and the next <h2>."""
    start = page.index(heading)
    end = page.find("<h2>", start + len(heading))
    return page[start : end if end >= 0 else len(page)]


def test_html_is_self_contained_with_figures_and_banner(comparison):
    page = render_html(comparison, title="Kab. Bone <test>")
    assert page.count('src="data:image/png;base64,') == 3  # errors, curves, kecamatan
    assert not re.search(r"https?://", page)
    assert "<script" not in page
    assert SYNTHETIC_BANNER in page.replace("&#x27;", "'")
    assert "Kab. Bone &lt;test&gt;" in page  # the title is escaped


def test_html_without_banner_for_real_data(comparison):
    page = render_html(comparison, title="x", synthetic=False)
    assert "not evidence about the real SIKS-NG" not in page


def test_both_languages_have_the_same_words_and_every_metric():
    assert set(WORDS["id"]) == set(WORDS["en"])
    assert all(set(entry) == {"id", "en"} for entry in METRIC_WORDS.values())
    rows = glossary("en")
    assert {"metric": "Exclusion error",
            "meaning": "share of the target group that was not selected (1 - recall)",
            "denominator": "households in the target group"} in rows  # fmt: skip
    with pytest.raises(ValueError, match="report language 'fr' is not one of"):
        words("fr")


@pytest.mark.parametrize("lang", ["en", "id"])
def test_report_speaks_its_language_with_glossary_and_readable_headers(comparison, lang):
    page = render_html(comparison, lang=lang)
    w = words(lang)
    assert f'<html lang="{lang}">' in page
    for heading in ("glossary", "errors", "champion", "curves", "groups"):
        assert f"<h2>{w[heading]}</h2>" in page
    glossary_html = _section(page, w["glossary"])
    for row in glossary(lang):
        assert row["denominator"] in glossary_html.replace("&#x27;", "'")
    # no raw metric identifiers as headers
    headers = re.findall(r"<th>(.*?)</th>", page)
    assert not [h for h in headers if h in ("inclusion_rate_nontarget", "cgh", "exclusion_error")]
    assert "kecamatan" in page  # the area level in words, not KDKEC
    other = "en" if lang == "id" else "id"
    assert words(other)["errors"] not in page


def test_markdown_lists_every_system_with_intervals_and_the_glossary(comparison):
    text = render_markdown(comparison)
    estimate = comparison.estimate("good", "exclusion_error")
    assert re.search(rf"\| good \| {estimate:.3f} \[0\.\d{{3}}, 0\.\d{{3}}\] \|", text)
    assert "## Difference from SIKS-NG (model - SIKS-NG)" in text and SYNTHETIC_BANNER in text
    assert "| Exclusion error | share of the target group that was not selected" in text
    assert "households in the target group |" in text


def test_counts_print_as_whole_numbers_and_rates_with_decimals(comparison):
    assert [number(88.0), number(12345.0), number(7), number(0.25)] == [
        "88",
        "12,345",
        "7",
        "0.250",
    ]
    agreement = _section(render_html(comparison), "<h2>Agreement with SIKS-NG")
    kept = comparison.agreement.iloc[0]
    assert f"<td>{kept['households']:,.0f}</td>" in agreement
    assert not re.search(r"\d\.000</td>", agreement)


def test_summary_table_cells_and_console_table(comparison):
    cells = summary_table(comparison)
    assert list(cells.index) == ["siksng", "good", "coarse"]
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", cells.loc["siksng", "exclusion_error"])
    table = console_table(comparison)
    assert isinstance(table, Table) and table.row_count == 3
    console = Console(width=160, record=True)
    console.print(table)
    assert "siksng" in console.export_text()
    assert "Galat eksklusi" in [c.header for c in console_table(comparison, lang="id").columns]


def test_area_names_replace_codes_in_tables_and_figures(comparison):
    codes = sorted(comparison.slices.loc[comparison.slices["slice"] == "KDKEC", "group"].unique())
    names = ReportNames(area_names={"KDKEC": {c: f"Kec. {i}" for i, c in enumerate(codes)}})
    page = render_html(comparison, extras=ReportExtras(names=names))
    gaps = _section(page, "Largest gap between groups")
    assert "Kec. " in gaps and not any(f"{c} vs" in gaps for c in codes)


def test_a_gap_between_one_group_and_itself_is_left_out(comparison):
    gaps = comparison.slice_gaps.copy()
    gaps.loc[gaps["slice"] == "KDKEC", "lowest"] = gaps.loc[gaps["slice"] == "KDKEC", "highest"]
    one_group = type(comparison)(**{**comparison.__dict__, "slice_gaps": gaps})
    table = gap_table(one_group, words("en"), "SIKS-NG", ReportNames())
    assert "kecamatan" not in set(table["Slicing"])
    assert len(table) == len(gaps[(gaps["metric"] == "exclusion_error")
                                  & (gaps["slice"] != "KDKEC")])  # fmt: skip


def test_area_rows_keep_the_worst_and_best_and_summarise_the_rest():
    wide = pd.DataFrame({"ref": np.arange(100) / 100, "m": np.ones(100)},
                        index=[f"k{i:03d}" for i in range(100)])  # fmt: skip
    rows, rest = area_rows(wide, "ref", "{n} others (median)")
    assert len(rows) == MAX_GROUPS + 1 and rest == 100 - MAX_GROUPS
    assert rows.index[0] == "k099" and rows.index[-1] == "k000"  # worst first, best last
    middle = rows.loc[f"{rest} others (median)"]
    assert middle["ref"] == pytest.approx(np.median(np.arange(20, 80) / 100))
    small, none = area_rows(wide.head(10), "ref", "{n}")
    assert len(small) == 10 and none == 0


def _png(width: int = 40, height: int = 20) -> bytes:
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    Figure(figsize=(width / 100, height / 100), dpi=100).savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def test_importance_by_item_sums_features_within_a_household_first():
    tidy = pd.DataFrame({"IDBDT": ["a", "a", "a", "b", "b"],
                         "item": ["Lantai", "Lantai", "Atap", "Lantai", "Atap"],
                         "contribution": [0.3, 0.2, -0.4, -0.1, 0.1]})  # fmt: skip
    table = importance_by_item(tidy).set_index("item")
    # Lantai: household a 0.5, b -0.1 -> mean |.| 0.3, toward poorer in 1 of 2
    assert table.loc["Lantai", "mean_abs"] == pytest.approx(0.3)
    assert table.loc["Lantai", "toward_poorer"] == 0.5
    assert table.loc["Atap", "mean_abs"] == pytest.approx(0.25)
    assert list(table.index) == ["Lantai", "Atap"]  # the largest first


@pytest.mark.parametrize("lang", ["en", "id"])
def test_explanation_and_prelist_sections(comparison, lang):
    explanation = ExplanationSummary(
        model="gbm", households=300,
        importance=pd.DataFrame({"item": ["Lantai"], "mean_abs": [0.25], "toward_poorer": [0.6]}),
        waterfalls=(("IDBDT 0001", _png()),),
    )  # fmt: skip
    prelist = PrelistSummary(
        counts={"input_rows": 120, "scored_rows": 118, "rejected_rows": 2, "selected": 30},
        per_area=pd.DataFrame({"code": ["7311010"], "name": ["Tonra"], "scored": [118],
                               "selected": [30]}),
        rejects=pd.DataFrame({"reason": ["Umur: out of range"], "households": [2]}),
    )  # fmt: skip
    page = render_html(comparison, lang=lang,
                       extras=ReportExtras(explanation=explanation, prelist=prelist))  # fmt: skip
    w = words(lang)
    why = _section(page, w["explanations"])
    assert "Lantai" in why and "0.250" in why and "60%" in why
    assert 'alt="IDBDT 0001"' in why
    listed = _section(page, w["prelist"])
    assert "Tonra" in listed and "Umur: out of range" in listed
    assert "<td>118</td>" in listed and "<td>30</td>" in listed


def test_further_sections_are_appended_as_blocks(comparison):
    section = [("h2", "Update cycles"), ("p", "Errors grow <fast>."),
               ("table", pd.DataFrame({"cycle": [1, 2], "error": [0.5, 0.25]}))]  # fmt: skip
    page = render_html(comparison, extras=ReportExtras(sections=(section,)))
    tail = _section(page, "<h2>Update cycles</h2>")
    assert "Errors grow &lt;fast&gt;." in tail and "<td>0.250</td>" in tail
    assert "## Update cycles" in render_markdown(
        comparison, extras=ReportExtras(sections=(section,))
    )


@pytest.fixture(scope="module")
def scorecard_comparison():
    frame = targeting_frame(n=800, n_clusters=30).rename(
        columns={"siksng_selected": "pmt_scorecard_selected", "siksng_score": "pmt_scorecard_score"}
    )
    return compare(frame, ["good", "coarse"], reference="pmt_scorecard", bootstrap=30, seed=0)


def test_html_for_another_reference_names_it_and_never_siksng(scorecard_comparison):
    names = ReportNames(levels={"cluster": "household"})
    page = render_html(scorecard_comparison, synthetic=False, extras=ReportExtras(names=names))
    differences = _section(page, "<h2>Difference from pmt_scorecard (model - pmt_scorecard)")
    estimate = scorecard_comparison.estimate("good", "exclusion_error_diff_vs_pmt_scorecard")
    assert f"{estimate:.3f}<br>" in differences
    assert "<title>pmt_scorecard: models at equal coverage</title>" in page
    assert "leaving out one household (or" in page  # the mapping's word for a cluster
    words_only = re.sub(r"base64,[^\"]+", "", page)  # a PNG's base64 may spell anything
    assert "SIKS-NG" not in words_only and "PKH" not in words_only and "desa" not in words_only


def test_a_title_from_the_data_wins(scorecard_comparison):
    names = ReportNames(title="Costa Rica: models and the PMT scorecard")
    text = render_markdown(scorecard_comparison, synthetic=False, lang="id",
                           extras=ReportExtras(names=names))  # fmt: skip
    assert text.startswith("# Costa Rica: models and the PMT scorecard\n")
    assert "Sistem pembanding: pmt_scorecard." in text
    banner = words("id")["banner"].format(reference="pmt_scorecard")
    assert banner in render_markdown(scorecard_comparison, synthetic=True, lang="id")


def test_console_table_names_the_reference_and_draws_it_bold(scorecard_comparison):
    table = console_table(scorecard_comparison)
    assert "Equal coverage with pmt_scorecard" in str(table.title)
    assert [row.style for row in table.rows] == ["bold", None, None]


def test_report_states_views_champion_rule_gap_null_and_decomposition():
    frame = targeting_frame(n=1200, n_clusters=30)
    labelled = (np.random.default_rng(0).random(len(frame)) < 0.4).astype("int8")
    frame = frame.assign(labelled=labelled, survey_weight=np.where(labelled == 1, 2.5, 0.0))
    comparison = compare(frame, ["good", "coarse"], bootstrap=40, seed=0)
    comparison.gap_decomposition = [
        {"step": "stale indicators", "exclusion_error": 0.21},
        {"step": "+ process noise", "exclusion_error": 0.48},
    ]
    text = render_markdown(comparison)
    assert "Survey view (the default)" in text and "Population view" in text
    assert "## Population view: errors at equal coverage" in text
    assert "## Champion and why" in text and "The champion is" in text
    assert "the gap that chance alone gives" in text
    assert "## How SIKS-NG's error is built" in text and "stale indicators" in text
    assert "re-applying every model's selection rule each time" in text
    page = render_html(comparison, lang="id")
    assert "daftar aslinya adalah bintang merah" in page and "Tampilan populasi" in page


def test_figures_are_bounded_png(comparison):
    page = render_html(comparison)
    for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        png = base64.b64decode(data)
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width <= 1100 and height <= 1100
