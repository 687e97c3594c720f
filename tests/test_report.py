"""Report rendering: self-contained HTML, Markdown and the console table."""

from __future__ import annotations

import re

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


@pytest.fixture(scope="module")
def comparison():
    return compare(
        targeting_frame(n=1500, n_clusters=40), ["good", "coarse"], by="KDKEC", bootstrap=50, seed=0
    )


def test_html_is_self_contained_with_figures_and_banner(comparison):
    page = render_html(comparison, title="Kab. Bone <test>")
    assert (
        page.count('<img alt="figure" src="data:image/png;base64,') == 3
    )  # errors, curves, kecamatan
    assert not re.search(r"https?://", page)
    assert "<script" not in page
    assert SYNTHETIC_BANNER in page.replace("&#x27;", "'")
    assert "Kab. Bone &lt;test&gt;" in page  # the title is escaped


def test_html_without_banner_for_real_data(comparison):
    assert "not evidence about the real SIKS-NG" not in render_html(
        comparison, title="x", synthetic=False
    )


def test_markdown_lists_every_system_with_intervals(comparison):
    text = render_markdown(comparison)
    estimate = comparison.estimate("good", "exclusion_error")
    assert f"| good | {estimate:.3f} [" in text
    assert "## Difference from SIKS-NG" in text and SYNTHETIC_BANNER in text
    assert "exclusion_error = target not selected / target" in text


def test_summary_table_cells_and_console_table(comparison):
    cells = summary_table(comparison)
    assert list(cells.index) == ["siksng", "good", "coarse"]
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", cells.loc["siksng", "exclusion_error"])
    table = console_table(comparison)
    assert isinstance(table, Table) and table.row_count == 3
    console = Console(width=160, record=True)
    console.print(table)
    assert "siksng" in console.export_text()


@pytest.fixture(scope="module")
def scorecard_comparison():
    frame = targeting_frame(n=800, n_clusters=30).rename(
        columns={"siksng_selected": "pmt_scorecard_selected", "siksng_score": "pmt_scorecard_score"}
    )
    return compare(frame, ["good", "coarse"], reference="pmt_scorecard", bootstrap=30, seed=0)


def _section(page: str, heading: str) -> str:
    """The HTML between `heading` and the next <h2>."""
    start = page.index(heading)
    end = page.find("<h2>", start + len(heading))
    return page[start : end if end >= 0 else len(page)]


def test_html_for_another_reference_names_it_and_fills_the_difference_table(
    scorecard_comparison,
):
    page = render_html(scorecard_comparison, title="Mapped table", synthetic=False)
    heading = "<h2>Difference from pmt_scorecard (model - pmt_scorecard)</h2>"
    differences = _section(page, heading)
    assert "<table" in differences and "(none)" not in differences
    estimate = scorecard_comparison.estimate("good", "exclusion_error_diff_vs_pmt_scorecard")
    assert f"{estimate:.3f} [" in differences
    assert "<h2>Agreement with pmt_scorecard&#x27;s list (not accuracy)</h2>" in page
    assert "SIKS-NG" not in page  # no banner and no heading names SIKS-NG


def test_summary_and_markdown_for_another_reference(scorecard_comparison):
    differences = summary_table(scorecard_comparison, diff=True)
    assert list(differences.index) == ["good", "coarse"]
    assert differences.notna().all().all()
    text = render_markdown(scorecard_comparison, synthetic=False)
    assert text.startswith("# pmt_scorecard comparison\n")
    assert "## Difference from pmt_scorecard (model - pmt_scorecard)" in text
    assert "Reference system: pmt_scorecard." in text
    # the banner follows `synthetic`, whatever the reference
    assert SYNTHETIC_BANNER in render_markdown(scorecard_comparison, synthetic=True)


def test_console_table_names_the_reference_and_draws_it_bold(scorecard_comparison):
    table = console_table(scorecard_comparison)
    assert "Equal coverage with pmt_scorecard" in str(table.title)
    assert [row.style for row in table.rows] == ["bold", None, None]


def test_report_states_views_champion_rule_gap_null_and_decomposition():
    import numpy as np

    from slrt_ml.evaluation.compare import compare
    from slrt_ml.evaluation.report import render_html, render_markdown
    from tests.test_evaluation import targeting_frame

    frame = targeting_frame(n=1200, n_clusters=30)
    labelled = (np.random.default_rng(0).random(len(frame)) < 0.4).astype("int8")
    frame = frame.assign(labelled=labelled, survey_weight=np.where(labelled == 1, 2.5, 0.0))
    comparison = compare(frame, ["good", "coarse"], bootstrap=40, seed=0)
    comparison.gap_decomposition = [
        {"step": "stale indicators", "exclusion_error": 0.21},
        {"step": "+ process noise", "exclusion_error": 0.48},
    ]
    text = render_markdown(comparison)
    assert "survey view (the default)" in text and "population view" in text
    assert "## Population view: errors at equal coverage" in text
    assert "## Champion" in text and "Champion:" in text
    assert "gap expected with no true difference" in text and "null" in text
    assert "## How SIKS-NG's error is built" in text and "stale indicators" in text
    assert "re-applies every model's selection rule" in text
    html = render_html(comparison)
    assert "actual list is the star" in html and "error is built" in html
