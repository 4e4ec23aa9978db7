"""Figure 7: the README's examples from the built wheel (``tests/e2e/test_wheel.py``).

Ours: ``pytest -m wheel tests/e2e/test_wheel.py`` with warm caches (uv's, and the consumer
app's mypy cache; a warm-up run fills them): it builds the wheel, installs it with
``[nag,guard]`` into a fresh virtual environment, runs every README Python block there as its
own process, type-checks the consumer app and synthesizes it with the CDK CLI. Baseline: the
same README blocks run from the checkout in one process (``pytest tests/test_readme.py -m
"not e2e"``), interleaved. Target: ours under 150 s (the issue's budget); the ratio and a run
with mypy's cache cold (uv's still warm) are shown as information.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import REPO, Row, alternate, median, run_command, spread

BUDGET_SECONDS = 150.0


def _pytest(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]


OURS = _pytest("-m", "wheel", "tests/e2e/test_wheel.py")
BASELINE = _pytest("-m", "not e2e", "tests/test_readme.py")


def _uv_cache_dir() -> str:
    uv = REPO / ".venv" / "bin" / "uv"
    return subprocess.run(
        [str(uv), "cache", "dir"], capture_output=True, text=True, check=True
    ).stdout.strip()


def run(runs: int) -> list[Row]:
    run_command(OURS)  # warm-up: fills uv's and mypy's caches
    samples = alternate(
        {"ours": lambda _i: run_command(OURS), "baseline": lambda _i: run_command(BASELINE)},
        runs,
    )
    with tempfile.TemporaryDirectory(prefix="ecr-replication-wheel-bench-") as cold:
        env = {**os.environ, "XDG_CACHE_HOME": cold, "UV_CACHE_DIR": _uv_cache_dir()}
        cold_mypy = run_command(OURS, env=env)
    ours, baseline = median(samples["ours"]), median(samples["baseline"])
    print(f"   wheel: ours {spread(samples['ours'])}, baseline {spread(samples['baseline'])}")
    return [
        Row(
            figure=f"7. README from the wheel, median of {runs}",
            ours=f"`pytest -m wheel` (build, install, {_blocks()} blocks, mypy, CDK CLI) "
            f"{ours:.0f} s",
            baseline=f"the README blocks from the checkout, one process: {baseline:.0f} s",
            ratio=f"{ours / baseline:.2f}",
            target=f"< {BUDGET_SECONDS:.0f} s",
            passed=ours < BUDGET_SECONDS,
        ),
        Row(
            figure="7. the same, mypy's cache cold",
            ours=f"{cold_mypy:.0f} s (mypy reads aws-cdk-lib's types once)",
            baseline="",
            ratio="",
            target="",
            passed=None,
        ),
    ]


def _blocks() -> int:
    return (Path(REPO) / "README.md").read_text().count("```python\n")
