"""Runs every benchmark, each against its baseline in the same run, and prints the table.

Usage (after ``scripts/setup`` and ``source scripts/env.sh``; ``scripts/bench`` does both)::

    python -m benchmarks.run [--only synth,startup,verify,memory,scale,setup,wheel] [--runs 5] ...

Exit code 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .common import Row, machine

FIGURES = ("synth", "startup", "verify", "memory", "scale", "setup", "wheel")


def _verify_missing(figure: str) -> list[Row]:
    return [
        Row(
            figure=figure,
            ours="not measured: ecr_replication.ops.verify does not exist yet",
            baseline="",
            ratio="",
            target="",
            passed=False,
        )
    ]


def use_bytecode_cache() -> None:
    """Let every measured process load compiled bytecode, as an installed package does.

    This machine sets ``PYTHONDONTWRITEBYTECODE=1``, so every process would compile the
    project's modules (and the baseline script) from source on each start: tens of ms that no
    user pays. Bytecode goes to a cache outside the working tree; each figure's warm-up run
    fills it.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "ecr-replication-bench-pycache")
    )


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | ours | baseline | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.figure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {r.verdict} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default=",".join(FIGURES),
        help=f"comma-separated figures to run (default: all of {', '.join(FIGURES)})",
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="synth runs per app and size (default: 5)"
    )
    parser.add_argument(
        "--startup-runs", type=int, default=15, help="runs per start-up command (default: 15)"
    )
    parser.add_argument(
        "--verify-runs", type=int, default=3, help="runs of verify and of the naive checker"
    )
    parser.add_argument(
        "--naive-repositories",
        type=int,
        default=5,
        help="repositories the naive checker checks per run, scaled to all 50 in the table "
        "(default: 5; 50 checks everything and takes about 7 minutes per run)",
    )
    parser.add_argument(
        "--scale-runs",
        type=int,
        default=5,
        help="runs of preflight and verify per world, with and without latency (default: 5)",
    )
    parser.add_argument(
        "--setup-runs",
        type=int,
        default=3,
        help="fresh-clone set-ups per contender, cold caches, downloading everything (default: 3)",
    )
    parser.add_argument(
        "--wheel-runs",
        type=int,
        default=3,
        help="runs of the README-from-the-wheel tests and of their baseline (default: 3)",
    )
    args = parser.parse_args(argv)
    selected = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in selected if f not in FIGURES]
    if unknown:
        parser.error(f"--only: {', '.join(unknown)} not one of {', '.join(FIGURES)}")

    use_bytecode_cache()
    verify_ready = importlib.util.find_spec("ecr_replication.ops.verify") is not None
    figures: dict[str, Callable[[], list[Row]]] = {}
    if "synth" in selected:
        from . import synth_bench

        figures["synth"] = lambda: synth_bench.run(args.runs)
    if "startup" in selected:
        from . import startup_bench

        figures["startup"] = lambda: startup_bench.run(args.startup_runs)
    if "verify" in selected:
        from . import verify_bench

        figures["verify"] = (
            (lambda: verify_bench.run(args.verify_runs, args.naive_repositories))
            if verify_ready
            else (lambda: _verify_missing("verify at scale"))
        )
    if "memory" in selected:
        from . import verify_bench

        figures["memory"] = (
            verify_bench.run_memory if verify_ready else (lambda: _verify_missing("verify memory"))
        )
    if "scale" in selected:
        from . import scale_bench

        figures["scale"] = (
            (lambda: scale_bench.run(args.scale_runs))
            if verify_ready
            else (lambda: _verify_missing("scale from the operations account"))
        )
    if "setup" in selected:
        from . import setup_bench

        figures["setup"] = lambda: setup_bench.run(args.setup_runs)
    if "wheel" in selected:
        from . import wheel_bench

        figures["wheel"] = lambda: wheel_bench.run(args.wheel_runs)

    print(f"Machine: {machine()}", flush=True)
    rows: list[Row] = []
    for name, figure in figures.items():
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        rows += figure()
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    print()
    print(table(rows))
    print()
    print(f"Machine: {machine()}")
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
