"""Framework noise off by default, on with --verbose (checked in fresh interpreters)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

NOISE = ("E0000", "cuInit", "NodeDef", "cudart_stub", "absl::InitializeLog", "INFO mlflow")

FIT = """
import numpy as np, pandas as pd
from slrt_ml.models import make_model
rng = np.random.default_rng(0)
X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(["x", "y"], 120)})
y = (X["a"] > 0).astype(int)
make_model("mlp", {"epochs": 1}).fit(X, y, groups=np.arange(120) % 6)
print("fitted")
"""


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("TF_CPP_MIN_LOG_LEVEL", "MLFLOW_LOGGING_LEVEL", "SLRT_VERBOSE")}  # fmt: skip
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**environment, **env}, timeout=300)  # fmt: skip


@pytest.mark.slow
def test_fitting_the_keras_model_prints_no_tensorflow_lines():
    result = _run(FIT)
    assert result.returncode == 0, result.stderr
    found = [w for w in NOISE if w in result.stdout + result.stderr]
    assert found == [], result.stderr[-2000:]
    verbose = _run(FIT, SLRT_VERBOSE="1")  # the same fit shows them on request
    assert "cuInit" in verbose.stderr or "cudart_stub" in verbose.stderr


def test_mlflow_level_is_set_before_import_and_verbose_keeps_info():
    code = "import slrt_ml.tracking, logging, os; print(os.environ['MLFLOW_LOGGING_LEVEL'])"
    assert _run(code).stdout.strip() == "WARNING"
    assert _run(code, SLRT_VERBOSE="1").stdout.strip() != "WARNING"


def test_a_failing_import_still_shows_what_it_wrote_to_stderr():
    code = (
        "import sys, os\n"
        "from slrt_ml import quiet\n"
        "try:\n"
        "    with quiet._stderr_to_file():\n"
        "        os.write(2, b'native message\\n')\n"
        "        raise ImportError('boom')\n"
        "except ImportError:\n"
        "    print('raised')\n"
    )
    result = _run(code)
    assert "raised" in result.stdout and "native message" in result.stderr
