"""A real ``mlflow server`` on 127.0.0.1 for tests (SQLite backend, local artifact store).

Used by a session-scoped fixture in ``tests/test_tracking.py``: the server starts once,
tests talk to it over HTTP exactly as a user's tracking server, and it is stopped after.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

STARTUP_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_until_healthy(uri: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"mlflow server exited with {process.returncode}:\n{log.read_text()}"
            )
        if _healthy(uri):
            return
        time.sleep(0.5)
    raise RuntimeError(
        f"mlflow server not healthy after {STARTUP_TIMEOUT_S:.0f} s:\n{log.read_text()}"
    )


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextlib.contextmanager
def mlflow_server(folder: Path) -> Iterator[str]:
    """Start ``mlflow server`` with its store in ``folder``; yield its URI; stop it after.

    The server's output goes to ``folder/server.log``, which is shown if it fails to start.
    """
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    command = [
        str(mlflow_cli), "server",
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = folder / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=folder)
    try:
        _wait_until_healthy(uri, process, log)
        yield uri
    finally:
        _stop(process)
