"""Shared helpers: alternating timing of commands, medians, result rows, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    """One line of the final table."""

    figure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None  # None: informational, no target

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "**FAIL**", None: "info"}[self.passed]


def run_command(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path = REPO
) -> float:
    """Wall time of one whole process, in seconds; fails loudly if the process fails."""
    started = time.perf_counter()
    completed = subprocess.run(
        list(argv),
        env=None if env is None else dict(env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {completed.returncode}:\n{completed.stderr}")
    return elapsed


def alternate(
    contenders: Mapping[str, Callable[[int], float]], runs: int
) -> dict[str, list[float]]:
    """Time each contender ``runs`` times, interleaved and in rotating order.

    On a shared, noisy machine a burst of load hits whichever contender runs at that moment;
    rotating the order spreads it evenly, so the medians are comparable within one run.
    Each callable gets the run index and returns seconds.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(runs):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(contenders[name](index))
    return samples


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def spread(samples: Sequence[float]) -> str:
    return f"min {min(samples):.2f} / max {max(samples):.2f}"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        node = "not found"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, Node {node}, "
        f"{platform.system()} {platform.release()}; load average at start {load}"
    )


def python() -> str:
    return sys.executable
