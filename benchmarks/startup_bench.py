"""Figure 2: start-up of the operations command vs ``python -c "import boto3"``."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from .common import Row, alternate, median, python, run_command, spread

TARGET_RATIO = 0.6
"""Every ``--help`` within 0.6 of ``import boto3``: no command loads boto3 or rich to answer."""


def _command(argv: list[str]) -> Callable[[int], float]:
    return lambda _index: run_command(argv)


def print_import_profile(cli_args: list[str]) -> None:
    """What a slow start-up spends its time on: ``python -X importtime``, top-level imports."""
    completed = subprocess.run(
        [python(), "-X", "importtime", "-m", "ecr_replication", *cli_args],
        capture_output=True,
        text=True,
        check=False,
    )
    top: list[tuple[int, str]] = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if not name.startswith("  "):  # one leading space: imported at top level
            top.append((int(cumulative), name.strip()))
    top.sort(reverse=True)
    listed = ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in top[:8])
    print(f"  profile (-X importtime, ecr-replication {' '.join(cli_args)}): {listed}", flush=True)


def run(runs: int) -> list[Row]:
    cli = shutil.which("ecr-replication")
    if cli is None:
        raise RuntimeError("ecr-replication is not on PATH: run scripts/setup and source env.sh")
    from ecr_replication.cli import COMMANDS

    contenders = {
        "import boto3": _command([python(), "-c", "import boto3"]),
        "ecr-replication --help": _command([cli, "--help"]),
    }
    for command in COMMANDS:
        contenders[f"ecr-replication {command} --help"] = _command([cli, command, "--help"])
    for contender in contenders.values():  # warm-up: bytecode compiled, files in page cache
        contender(0)
    samples = alternate(contenders, runs)
    baseline = median(samples["import boto3"])
    print(
        f"  start-up baseline import boto3: {baseline * 1000:.0f} ms "
        f"({spread(samples['import boto3'])})",
        flush=True,
    )
    rows = []
    for name in contenders:
        if name == "import boto3":
            continue
        ours = median(samples[name])
        print(
            f"  start-up {name}: {ours * 1000:.0f} ms ({spread(samples[name])}), "
            f"ratio {ours / baseline:.2f}",
            flush=True,
        )
        rows.append(
            Row(
                figure=f"start-up `{name}`, median of {runs}",
                ours=f"{ours * 1000:.0f} ms",
                baseline=f"{baseline * 1000:.0f} ms (`python -c 'import boto3'`)",
                ratio=f"{ours / baseline:.2f}",
                target=f"≤ {TARGET_RATIO}",
                passed=ours / baseline <= TARGET_RATIO,
            )
        )
    slowest = max((n for n in contenders if n != "import boto3"), key=lambda n: median(samples[n]))
    if any(r.passed is False for r in rows):
        print_import_profile(slowest.removeprefix("ecr-replication ").split())
    return rows
