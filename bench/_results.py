"""What every benchmark shares: the machine it ran on and its own section of RESULTS.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    """Cores, CPU model, RAM, Python, and the load average when the benchmark started."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores (nproc), {cpu}, {ram:.1f} GiB RAM, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start"
    )


def record(heading: str, section: str) -> None:
    """Replace (or append) the ``heading`` section of RESULTS.md; other sections stay."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    start = text.find(heading + "\n")
    if start < 0:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + section)
        return
    end = text.find("\n## ", start + len(heading))
    rest = "" if end < 0 else text[end + 1 :]
    RESULTS.write_text(text[:start] + section + ("\n" + rest if rest else ""))
