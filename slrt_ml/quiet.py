"""Quiet frameworks by default: TensorFlow, absl, CUDA probing and MLflow INFO lines.

A normal run prints only what ``slrt_ml`` has to say. TensorFlow's C++ start-up lines
("Could not find cuda drivers", "failed call to cuInit", "NodeDef mentions attribute
use_unbounded_threadpool") and MLflow's INFO lines ("Validating input example against
model signature") look like failures on a CPU machine and are not. They are silenced at
the source:

- ``TF_CPP_MIN_LOG_LEVEL=3`` is set before TensorFlow is first imported (C++ ERROR lines
  such as cuInit and NodeDef are dropped; it must be set before the import);
- the two ``cudart_stub`` lines are written to file descriptor 2 by a shared library
  *while* TensorFlow is imported, before any logging exists, so that import alone runs
  with fd 2 pointed at a temporary file (shown again if the import fails);
- ``MLFLOW_LOGGING_LEVEL=WARNING`` is set before MLflow is imported (and the ``mlflow``
  logger set to WARNING if it was imported already);
- pyspark's FutureWarning about pandas 3 (printed whenever pandera is imported with
  pyspark installed) and interpret's note about missing values in its plots are filtered.

Verbose mode (``slrt-ml --verbose`` or ``SLRT_VERBOSE=1``) leaves all of them alone. A
variable the user set themselves (``TF_CPP_MIN_LOG_LEVEL``, ``MLFLOW_LOGGING_LEVEL``) is
respected. Every TensorFlow/Keras import in ``slrt_ml`` goes through
:func:`import_keras` / :func:`import_tensorflow`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from types import ModuleType

__all__ = ["VERBOSE_ENV", "import_keras", "import_tensorflow", "is_verbose", "quiet_mlflow",
           "set_verbose"]  # fmt: skip

VERBOSE_ENV = "SLRT_VERBOSE"


def is_verbose() -> bool:
    """True when framework logging is wanted (``SLRT_VERBOSE`` set to anything but 0/empty).

    >>> import os; os.environ.pop("SLRT_VERBOSE", None) and None; is_verbose()
    False
    """
    return os.environ.get(VERBOSE_ENV, "").strip() not in ("", "0", "false", "no")


def set_verbose(verbose: bool) -> None:
    """Turn framework logging on (``True``) or back to quiet for this process and children."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO"
        if "mlflow" in sys.modules:
            logging.getLogger("mlflow").setLevel(logging.INFO)
    else:
        os.environ.pop(VERBOSE_ENV, None)
        # pyspark 4.3 warns on import under pandas 3 (pandera imports it when installed);
        # the Spark engine's outputs are checked against the local engine's in the tests
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        # interpret's note that its plots hide missing values (we never plot EBM terms; the
        # encoder fills them and the manifest counts them)
        warnings.filterwarnings(
            "ignore", message="Missing values detected. Our visualizations", category=UserWarning
        )


@contextlib.contextmanager
def _stderr_to_file() -> Iterator[None]:
    """Point file descriptor 2 at a temporary file; replay it if the block raises."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2: leave it alone
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def import_tensorflow() -> ModuleType:
    """``import tensorflow``, quietly unless verbose (see the module docstring)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if is_verbose():
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _stderr_to_file():
        import tensorflow
    # Each CV fold builds a new network: tf.function retracing notes are expected.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    return tensorflow


def import_keras() -> ModuleType:
    """``import keras`` with TensorFlow imported quietly first."""
    import_tensorflow()
    import keras

    return keras


def quiet_mlflow() -> None:
    """MLflow's INFO lines off unless verbose; call before (or after) importing mlflow."""
    if is_verbose():
        return
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    if "mlflow" in sys.modules:
        level = logging.getLevelName(os.environ["MLFLOW_LOGGING_LEVEL"].upper())
        logging.getLogger("mlflow").setLevel(level if isinstance(level, int) else logging.WARNING)
