"""requirements.lock: every dependency of pyproject.toml pinned, hashed, within its bounds.

``make`` installs the lock with ``pip install --require-hashes`` (the tested versions) and
then the package itself without dependencies; ``pyproject.toml`` keeps the lower bounds.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(r) for r in names]


def _pins(text: str) -> dict[str, Version]:
    """``name==version`` lines of a lock (hash and comment lines skipped)."""
    pins = {}
    for line in text.splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = Version(match.group(2))
    return pins


def _blocks(text: str) -> list[str]:
    """One entry per requirement: its pin line and the hash lines continuing it."""
    return [b for b in re.split(r"\n(?=[A-Za-z0-9])", text) if PIN.match(b.strip())]


def test_the_pin_reader_on_a_hand_written_lock():
    text = "numpy==2.1.0 \\\n    --hash=sha256:ab\nPyYAML==6.0.2 \\\n    --hash=sha256:cd\n"
    assert _pins(text) == {"numpy": Version("2.1.0"), "pyyaml": Version("6.0.2")}
    assert len(_blocks(text)) == 2


@pytest.mark.parametrize("requirement", _project_requirements(), ids=str)
def test_every_dependency_is_pinned_within_its_bounds(requirement):
    pins = _pins(LOCK.read_text(encoding="utf-8"))
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement.name} (pyproject.toml) is missing from {LOCK.name}"
    assert requirement.specifier.contains(pins[name], prereleases=True), (
        f"{LOCK.name} pins {name}=={pins[name]}, outside pyproject's {requirement.specifier}"
    )


def test_every_pin_has_a_sha256_hash_and_the_build_backend_is_locked():
    text = LOCK.read_text(encoding="utf-8")
    blocks = _blocks(text)
    assert len(blocks) == len(_pins(text)) > 100
    unhashed = [b.split()[0] for b in blocks if "--hash=sha256:" not in b]
    assert unhashed == []
    # `pip install --no-build-isolation -e .` builds with these, so they are locked too
    assert {"setuptools", "wheel"} <= set(_pins(text))
    assert _pins(text)["setuptools"] >= Version("77")
