"""Report rendering: self-contained HTML, Markdown and the console table."""

from __future__ import annotations

import re

import pytest
from rich.console import Console
from rich.table import Table
from test_evaluation import targeting_frame  # the same small frame as the evaluation tests

from slrt_ml.evaluation import compare
from slrt_ml.report import (
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
