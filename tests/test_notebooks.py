"""The notebooks: committed without outputs, and each runs top to bottom in a real kernel.

Execution uses nbclient with the venv's ``python3`` kernel, on the notebooks' small
settings (``SLRT_NOTEBOOK_SMALL=1``) and writing into a temporary folder
(``SLRT_NOTEBOOK_OUT``). Every executed output is scanned for personal data: no
16-digit number, no "NIK", none of the registry's NIK values.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ("01_quickstart", "02_explain_households", "03_real_data")
SIXTEEN_DIGITS = re.compile(r"(?<!\d)\d{16}(?!\d)")


def _read(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def _output_texts(nb) -> list[str]:
    """Every text an executed notebook shows (images skipped: they hold no text)."""
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(str(out.get("text", "")))
            texts += [str(v) for k, v in out.get("data", {}).items() if not k.startswith("image/")]
            texts += [str(out.get("evalue", "")), *map(str, out.get("traceback", []))]
    return texts


def _execute(name: str, out: Path, monkeypatch) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    monkeypatch.setenv("SLRT_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("SLRT_NOTEBOOK_OUT", str(out))
    nb = _read(name)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()
    return nb


def _assert_no_personal_data(nb, niks: frozenset[str] = frozenset()) -> None:
    for text in _output_texts(nb):
        found = SIXTEEN_DIGITS.findall(text)
        assert not found, f"a 16-digit number (NIK-shaped) reached a notebook output: {len(found)}"
        assert not re.search(r"\bNIK\b", text), "the string 'NIK' reached a notebook output"
        leaked = [n for n in niks if n in text]
        assert not leaked, f"{len(leaked)} registry NIK values reached a notebook output"


#: lines TensorFlow, CUDA probing and MLflow print that look like failures (slrt_ml.quiet)
FRAMEWORK_NOISE = (
    "E0000",
    "cuInit",
    "NodeDef",
    "cudart_stub",
    "INFO mlflow",
    "PySpark does not yet fully support",
)


def _assert_no_framework_noise(nb) -> None:
    found = sorted({w for text in _output_texts(nb) for w in FRAMEWORK_NOISE if w in text})
    assert not found, f"framework log lines reached a notebook output: {found}"


def _registry_niks(out: Path, name: str) -> frozenset[str]:
    members = pd.read_parquet(out / name / "registry" / "members.parquet", columns=["NIK"])
    niks = frozenset(members["NIK"].dropna().astype(str))
    assert niks, "the synthetic registry should have NIK values to look for"
    return niks


def _figures(nb) -> int:
    return sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )


def _errors(nb) -> list[str]:
    return [
        f"{out.get('ename')}: {out.get('evalue')}"
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]


# --- committed state (fast) -----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name):
    nb = _read(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, (
            f"{name}: a code cell has outputs; strip them before committing"
        )
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_first_code_cell_reads_the_small_switch_and_output_folder(name):
    first = next(c for c in _read(name).cells if c.cell_type == "code").source
    assert "SLRT_NOTEBOOK_SMALL" in first and "SLRT_NOTEBOOK_OUT" in first


@pytest.mark.parametrize("name", ["01_quickstart", "02_explain_households"])
def test_synthetic_results_are_labelled(name):
    intro = _read(name).cells[0]
    assert intro.cell_type == "markdown" and "**Synthetic data.**" in intro.source


def test_real_data_notebook_says_it_is_not_indonesian():
    assert "not Indonesian data" in _read("03_real_data").cells[0].source


def test_output_scan_catches_personal_data():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    nb.cells = [cell]
    cell.outputs = [nbformat.v4.new_output("stream", text="id 7371024501990001\n")]
    with pytest.raises(AssertionError, match="16-digit number"):
        _assert_no_personal_data(nb)
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "NIK"})]
    with pytest.raises(AssertionError, match="'NIK'"):
        _assert_no_personal_data(nb)
    cell.outputs = [nbformat.v4.new_output("stream", text="ids 17371024501990001")]
    with pytest.raises(AssertionError, match="registry NIK values"):
        _assert_no_personal_data(nb, frozenset({"7371024501990001"}))


def test_output_scan_catches_framework_noise():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    nb.cells = [cell]
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text="E0000 00:00 failed "
                                           "call to cuInit: UNKNOWN ERROR (303)\n")]  # fmt: skip
    with pytest.raises(AssertionError, match="cuInit"):
        _assert_no_framework_noise(nb)


def test_kernel_is_this_interpreter():
    """The ``python3`` kernel runs this venv (jupyter_client maps "python" to sys.executable)."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    assert spec.argv[0] in ("python", sys.executable)


# --- execution with a real kernel (slow) ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.notebook
def test_quickstart_runs(tmp_path, monkeypatch):
    name = "01_quickstart"
    nb = _execute(name, tmp_path, monkeypatch)
    assert not _errors(nb)
    _assert_no_personal_data(nb, _registry_niks(tmp_path, name))
    _assert_no_framework_noise(nb)
    assert _figures(nb) >= 1, "the coverage curve should be drawn"
    run = tmp_path / name / "run"
    for file in ("manifest.json", "oof_scores.parquet", "comparison.csv", "report.html"):
        assert (run / file).is_file(), file
    systems = pd.read_csv(run / "comparison.csv")["system"].unique().tolist()
    assert systems == ["siksng", "pmt_ols", "logit", "gbm"]


@pytest.mark.slow
@pytest.mark.notebook
def test_explain_households_runs(tmp_path, monkeypatch):
    name = "02_explain_households"
    nb = _execute(name, tmp_path, monkeypatch)
    assert not _errors(nb)
    _assert_no_personal_data(nb, _registry_niks(tmp_path, name))
    _assert_no_framework_noise(nb)
    assert _figures(nb) >= 1, "the waterfall should be drawn"
    scored = pd.read_parquet(tmp_path / name / "prelist_scores.parquet")
    assert {"priority_in_desa", "selected", "reason_1"} <= set(scored.columns)
    for _, desa in scored.groupby("desa_code"):
        assert sorted(desa["priority_in_desa"]) == list(range(1, len(desa) + 1))
    assert "NIK" not in scored.columns


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.realdata
def test_real_data_runs(tmp_path, monkeypatch):
    name = "03_real_data"
    nb = _execute(name, tmp_path, monkeypatch)
    assert not _errors(nb)
    _assert_no_personal_data(nb)
    _assert_no_framework_noise(nb)
    assert _figures(nb) >= 1, "the coverage curve should be drawn"
    oof = pd.read_parquet(tmp_path / name / "run" / "oof_scores.parquet")
    assert list(oof.columns) == ["IDBDT", "pmt_ols", "logit", "gbm"] and len(oof) == 2988
    assert "exclusion_error_diff_vs_pmt_scorecard" in "\n".join(_output_texts(nb))
