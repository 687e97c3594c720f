"""The MLflow store itself: safe first-time creation of a local SQLite store, experiments.

MLflow creates a new SQLite store's schema (tables, then Alembic migrations) on first
use, without any lock: two ``train`` runs starting at once on a new ``mlflow.db`` race,
and one dies with ``sqlite3.OperationalError: table ... already exists``. Here the first
use happens under a file lock next to the database (``<db>.lock``, via ``filelock``, so
it works on Windows too), and getting-or-creating an experiment tolerates another
process creating it at the same moment. Used by :mod:`slrt_ml.tracking` only.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["experiment_id", "local_artifact_root", "prepare_store"]

_SQLITE = "sqlite:///"


def sqlite_database(tracking_uri: str) -> Path | None:
    """The database file of a local SQLite tracking URI (None for servers and ``:memory:``).

    >>> sqlite_database("sqlite:////tmp/mlflow.db").as_posix(), sqlite_database("http://h:5000")
    ('/tmp/mlflow.db', None)
    """
    if not tracking_uri.startswith(_SQLITE) or ":memory:" in tracking_uri:
        return None
    return Path(tracking_uri.removeprefix(_SQLITE).split("?", 1)[0])


def local_artifact_root(tracking_uri: str) -> str | None:
    """``mlartifacts/`` beside a local SQLite store, as a URI (None for other stores)."""
    database = sqlite_database(tracking_uri)
    return None if database is None else (database.parent.resolve() / "mlartifacts").as_uri()


def prepare_store(tracking_uri: str) -> None:
    """Create a local SQLite store's schema once, under ``<db>.lock``; no-op for servers.

    MLflow caches the store per process, so later calls cost one small query.
    """
    database = sqlite_database(tracking_uri)
    if database is None:
        return
    from filelock import FileLock
    from mlflow import MlflowClient

    database.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{database}.lock"):
        client = MlflowClient(tracking_uri)
        client.search_experiments(max_results=1)  # tracking tables and migrations
        client.search_registered_models(max_results=1)  # registry tables


def experiment_id(name: str, tracking_uri: str) -> str:
    """The id of experiment ``name``, created (artifacts in ``mlartifacts/``) if missing.

    A concurrent run may create it between the lookup and the creation: then its id.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri)
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    root = local_artifact_root(tracking_uri)
    try:
        return client.create_experiment(name, artifact_location=f"{root}/{name}" if root else None)
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id
