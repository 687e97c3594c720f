"""A small Spark session for the toolkit, and the warnings pyspark raises on pandas 3.

:func:`spark_session` builds (or reuses) a session with the settings the toolkit needs:
executors run this interpreter (``PYSPARK_PYTHON``), the web UI is off, partition
columns stay text (``KDPROP=07`` is the code "07", never the number 7), Arrow carries
pandas batches, and the driver, executors and shuffle stay small unless the caller says
otherwise. pyspark is imported inside the functions (it starts a JVM).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "DEFAULT_CONF",
    "SparkWorkerError",
    "quiet_pyspark",
    "spark_session",
    "stop_session",
    "worker_errors",
    "worker_message",
]

#: Settings every toolkit session gets (the caller's ``conf`` wins).
DEFAULT_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.executor.memory": "1g",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


class SparkWorkerError(ValueError):
    """A check inside a Spark task failed; its message without the worker's traceback."""


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception): ", re.MULTILINE)


def worker_message(text: str) -> str | None:
    """The message of the last exception in a Python worker's traceback text (None if
    there is none).

    >>> worker_message("Traceback (most recent call last):\\n  File 'x', line 1\\n"
    ...                "slrt_ml.data.schema.SchemaError: households.parquet: column KDPROP\\n  e.g. 'x'")
    "households.parquet: column KDPROP\\n  e.g. 'x'"
    """
    found = list(_ERROR_LINE.finditer(text))
    return text[found[-1].end() :].rstrip() if found else None


@contextlib.contextmanager
def worker_errors() -> Iterator[None]:
    """Raise a toolkit check that failed inside a Spark task (bad input: a file, column,
    rule and examples) as :class:`SparkWorkerError` with the check's own message, as the
    local engine would, instead of Spark's wrapped worker traceback."""
    from pyspark.errors import PythonException

    try:
        yield
    except PythonException as error:
        message = worker_message(str(error))
        if message is None:
            raise
        raise SparkWorkerError(message) from None


@contextlib.contextmanager
def quiet_pyspark() -> Iterator[None]:
    """Silence pyspark's notice that it does not yet fully support pandas 3.

    pyspark 4 raises a ``FutureWarning`` on every pandas conversion when pandas >= 3 is
    installed; the toolkit's tests compare every value with the local engine instead.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="pyspark")
        yield


def spark_session(
    master: str = "local[2]", *, app: str = "slrt-ml", conf: Mapping[str, Any] | None = None
):
    """A Spark session on ``master`` (``local[N]`` or ``spark://HOST:PORT``).

    An active session is reused as it is (its master and settings win), so a notebook or a
    test can pass its own.
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app)
    for key, value in {**DEFAULT_CONF, **dict(conf or {})}.items():
        builder = builder.config(key, str(value))
    with quiet_pyspark():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def stop_session() -> None:
    """Stop the active session, if any (its JVM stays up for the next one)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()
