"""The report in a real headless Chromium: nothing overflows a 1,200 px page, in id and en,
and the HTML stays small with 10,000 clusters.

Chromium comes from the system's package manager (Debian: ``apt-get install chromium``;
``.ci/run`` installs it), driven by the Python ``playwright`` package (dev extras) without
``playwright install``. A missing browser fails the test with a message saying so.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_evaluation import targeting_frame

from slrt_ml.evaluation.compare import compare
from slrt_ml.evaluation.report import render_html
from slrt_ml.evaluation.report_figures import MAX_HEIGHT_PX, MAX_WIDTH_PX
from slrt_ml.evaluation.report_inputs import (
    ExplanationSummary,
    PrelistSummary,
    ReportExtras,
    ReportNames,
    importance_by_item,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDTH = 1200
MAX_HTML_BYTES = 2_000_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
MODELS = ("pmt_ols", "logit", "ebm", "gbm", "rf", "mlp")

# every table and image: its right edge against its parent's, and the page's scroll width
OVERFLOW_JS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('table, img, h1, h2, p')) {
    const box = el.getBoundingClientRect(), parent = el.parentElement.getBoundingClientRect();
    if (box.right > parent.right + 0.5 || el.scrollWidth > el.clientWidth + 1)
      out.push(el.tagName + ': ' + (el.textContent || el.alt || '').slice(0, 60));
  }
  return {scrollWidth: document.documentElement.scrollWidth, overflowing: out,
          images: Array.from(document.images).map(i => [i.naturalWidth, i.naturalHeight,
                                                         i.getBoundingClientRect().width])};
}"""


def _chromium() -> str:
    path = os.environ.get("SLRT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium not found (looked for $SLRT_CHROMIUM, `chromium` on PATH, {path}): the "
            "report's browser test needs it. Debian: apt-get install -y chromium (.ci/run does)"
        )
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _frame(n: int, n_clusters: int, seed: int = 0) -> pd.DataFrame:
    """Six model columns besides SIKS-NG: the widest tables a default run writes."""
    frame = targeting_frame(n=n, n_clusters=n_clusters, seed=seed)
    rng = np.random.default_rng(seed)
    for i, name in enumerate(MODELS):
        frame[name] = frame["good"] + rng.normal(scale=0.3 + 0.2 * i, size=n)
    return frame


def _waterfall_png(lang: str) -> tuple[pd.DataFrame, bytes]:
    """A real tidy table and waterfall of the explain API for two households."""
    from slrt_ml.explain import plot_waterfall
    from slrt_ml.explain.reasons import tidy_explanations
    from slrt_ml.features import FEATURES
    from slrt_ml.pipeline.report_inputs import _png

    names = list(FEATURES)[:16]
    ids = pd.Index(["7311000001", "7311000002"], name="IDBDT")
    features = pd.DataFrame(np.ones((2, len(names))), columns=names, index=ids)
    contributions = np.linspace(-1, 1, 2 * len(names)).reshape(2, -1)
    tidy = tidy_explanations(contributions, np.array([-1.0, -1.0]), features, names, "gbm",
                             lang=lang)  # fmt: skip
    return tidy, _png(plot_waterfall(tidy, "7311000001", lang=lang))


def _extras(frame: pd.DataFrame, lang: str = "en") -> ReportExtras:
    kec = sorted(frame["KDKEC"].unique())
    names = ReportNames(area_names={"KDKEC": {c: f"Kecamatan Nama Panjang {i}"
                                              for i, c in enumerate(kec)}})  # fmt: skip
    tidy, png = _waterfall_png(lang)
    explanation = ExplanationSummary(model="gbm", households=2,
                                     importance=importance_by_item(tidy),
                                     waterfalls=(("IDBDT 7311000001", png),))  # fmt: skip
    reason = ("Luas_lantai: value outside the codebook range 1-999 for a household record of "
              "the prelist (this column must hold square metres)")  # fmt: skip
    prelist = PrelistSummary(
        counts={"input_rows": 1000, "scored_rows": 990, "rejected_rows": 10, "selected": 200},
        per_area=pd.DataFrame({"code": kec, "name": [names.area_name("KDKEC", c) for c in kec],
                               "scored": 10, "selected": 2}),
        rejects=pd.DataFrame({"reason": [reason, "NIK: not 16 digits"], "households": [7, 3]}),
    )  # fmt: skip
    return ReportExtras(names=names, explanation=explanation, prelist=prelist)


def _render(browser, page_html: str, tmp_path: Path, name: str) -> dict:
    path = tmp_path / f"{name}.html"
    path.write_text(page_html, encoding="utf-8")
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    try:
        page.goto(path.as_uri())
        result = page.evaluate(OVERFLOW_JS)
        page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    finally:
        page.close()
    return result


def _assert_fits(result: dict) -> None:
    assert result["scrollWidth"] <= WIDTH, result
    assert result["overflowing"] == [], result["overflowing"]
    for natural_width, natural_height, shown_width in result["images"]:
        assert natural_width <= MAX_WIDTH_PX and natural_height <= MAX_HEIGHT_PX
        assert shown_width <= WIDTH


@pytest.fixture(scope="module")
def small_comparison():
    return compare(_frame(3000, 80), list(MODELS), by="KDKEC", bootstrap=30, seed=0)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_the_report_fits_a_1200px_page(browser, small_comparison, tmp_path, lang):
    extras = _extras(_frame(3000, 80), lang)
    result = _render(browser, render_html(small_comparison, lang=lang, extras=extras),
                     tmp_path, f"report_{lang}")  # fmt: skip
    _assert_fits(result)
    assert len(result["images"]) == 4  # errors, curves, kecamatan, one waterfall


def _png_size(data: str) -> tuple[int, int]:
    png = base64.b64decode(data)
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _with_area_slices(comparison, n_areas: int, seed: int = 0):
    """The comparison with exclusion errors for ``n_areas`` kecamatan added to its slices.

    Measuring 10,000 area groups with their permutation null takes minutes
    (:mod:`slrt_ml.evaluation.group_gaps`); the report only reads the rows.
    """
    rng = np.random.default_rng(seed)
    codes = [f"73{i:08d}" for i in range(n_areas)]
    rows = pd.concat([
        pd.DataFrame({"system": system, "slice": "KDKEC", "group": codes, "households": 3.0,
                      "target": 1.0, "selected": 1.0, "exclusion_error": rng.random(n_areas),
                      "inclusion_error": rng.random(n_areas)})
        for system in comparison.systems
    ])  # fmt: skip
    comparison.slices = pd.concat([comparison.slices, rows], ignore_index=True)
    return comparison


def test_ten_thousand_clusters_give_a_small_page_with_bounded_figures(browser, tmp_path):
    frame = _frame(30_000, 10_000, seed=1)
    comparison = compare(frame, list(MODELS), bootstrap=3, seed=0,
                         slices=["urban", "female_head", "elderly_head", "disabled_member"])  # fmt: skip
    comparison = _with_area_slices(comparison, 10_000)
    extras = _extras(comparison.slices[comparison.slices["slice"] == "KDKEC"]
                     .rename(columns={"group": "KDKEC"}))  # fmt: skip
    page_html = render_html(comparison, lang="en", extras=extras)
    assert len(page_html.encode("utf-8")) < MAX_HTML_BYTES
    sizes = [_png_size(d) for d in re.findall(r'base64,([^"]+)"', page_html)]
    assert sizes and all(w <= MAX_WIDTH_PX and h <= MAX_HEIGHT_PX for w, h in sizes), sizes
    assert "10,000 kecamatan: the 20 worst and 20 best" in page_html
    assert "9,961 others (sum)" in page_html  # the prelist table: 39 areas and the rest
    _assert_fits(_render(browser, page_html, tmp_path, "clusters"))
