"""Figure 6: set-up on a fresh clone, against ``pip install -e ".[dev]"`` into a fresh venv.

Ours: ``scripts/setup`` in a fresh ``git clone`` of this repository's HEAD: uv bootstrapped
with pip, every package of ``uv.lock`` installed, Node.js linked, the CDK CLI installed from
``package-lock.json``. Baseline: ``python -m venv .venv && .venv/bin/pip install -e ".[dev]"``
in another fresh clone (Python packages only: less work than ours). Both start with empty
caches (pip ``--no-cache-dir``; uv and npm caches in new empty folders), so each run downloads
everything from the registries, as a new developer or a CI runner does; runs alternate, in
rotating order. Also timed: a re-run of ``scripts/setup`` on the installed clone (the quick
path), and once the pip fallback (``SETUP_WITH=pip``), whose installed versions must equal the
lock's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .common import REPO, Row, alternate, median, run_command, spread

TARGET = 0.5
"""Ours at most half the baseline's time (issue: "at most half")."""
RERUN_TARGET_SECONDS = 1.0


def _clone(into: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(into)], check=True)
    return into


def _cold_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_"))}
    # Nothing of this repository's .venv or node_modules on PATH: the clone installs its own.
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if str(REPO) not in p
    )
    env["PIP_NO_CACHE_DIR"] = "1"
    env["UV_CACHE_DIR"] = str(root / "uv-cache")
    env["npm_config_cache"] = str(root / "npm-cache")
    return env


def _ours(root: Path) -> float:
    clone = _clone(root / "ours")
    return run_command(["scripts/setup"], env=_cold_env(root), cwd=clone)


def _baseline(root: Path) -> float:
    clone = _clone(root / "baseline")
    env = _cold_env(root)
    started = run_command(["python3", "-m", "venv", ".venv"], env=env, cwd=clone)
    return started + run_command(
        [".venv/bin/python", "-m", "pip", "install", "--quiet", "-e", ".[dev]"],
        env=env,
        cwd=clone,
    )


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (``aws-cdk.asset-awscli-v1`` is
    ``aws-cdk-asset-awscli-v1``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked_versions(clone: Path) -> dict[str, str]:
    """The locked version of every package for this platform and Python.

    Read from ``requirements-dev.txt`` (the lock exported with markers): a package may be
    locked at two versions for two Python ranges (networkx), or only for another platform
    (colorama, pywin32 on Windows); markers say which line applies here.
    """
    from packaging.requirements import Requirement

    locked: dict[str, str] = {}
    for line in (clone / "requirements-dev.txt").read_text().splitlines():
        if not line or line[0] in " #-":
            continue
        requirement = Requirement(line.rstrip(" \\"))
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (pinned,) = requirement.specifier
        locked[_normalized(requirement.name)] = pinned.version
    return locked


def _installed_versions(clone: Path) -> dict[str, str]:
    listing = subprocess.run(
        [str(clone / ".venv/bin/python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {_normalized(p["name"]): p["version"] for p in json.loads(listing)}


def run(runs: int) -> list[Row]:
    work = Path(tempfile.mkdtemp(prefix="ecr-replication-setup-bench-"))

    def fresh(kind: str, index: int) -> Path:
        root = work / f"{kind}-{index}"
        root.mkdir()
        return root

    try:
        samples = alternate(
            {
                "ours": lambda i: _ours(fresh("ours", i)),
                "baseline": lambda i: _baseline(fresh("baseline", i)),
            },
            runs,
        )
        installed = work / "ours-0"
        rerun = [
            run_command(["scripts/setup"], env=_cold_env(installed), cwd=installed / "ours")
            for _ in range(5)
        ]
        fallback_root = fresh("fallback", 0)
        fallback_clone = _clone(fallback_root / "ours")
        fallback_seconds = run_command(
            ["scripts/setup"],
            env={**_cold_env(fallback_root), "SETUP_WITH": "pip"},
            cwd=fallback_clone,
        )
        locked = _locked_versions(fallback_clone)
        installed_versions = _installed_versions(fallback_clone)
        mismatched = sorted(
            name
            for name, version in locked.items()
            if name in installed_versions and installed_versions[name] != version
        )
        missing = sorted(
            n for n in locked if n not in installed_versions and n != "ecr-replication"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ours, baseline = median(samples["ours"]), median(samples["baseline"])
    ratio = ours / baseline
    print(f"   setup: ours {spread(samples['ours'])}, baseline {spread(samples['baseline'])}")
    return [
        Row(
            figure="6. fresh-clone set-up",
            ours=f"`scripts/setup` (uv, Node.js, CDK CLI) {ours:.1f} s",
            baseline=f'`pip install -e ".[dev]"` into a fresh venv {baseline:.1f} s',
            ratio=f"{ratio:.2f}",
            target=f"≤ {TARGET:.2f}",
            passed=ratio <= TARGET,
        ),
        Row(
            figure="6. set-up re-run",
            ours=f"`scripts/setup` again, nothing changed: {median(rerun) * 1000:.0f} ms",
            baseline="",
            ratio="",
            target=f"≤ {RERUN_TARGET_SECONDS:.0f} s",
            passed=median(rerun) <= RERUN_TARGET_SECONDS,
        ),
        Row(
            figure="6. pip fallback",
            ours=f"`SETUP_WITH=pip scripts/setup` {fallback_seconds:.1f} s; "
            f"{len(locked) - len(missing) - len(mismatched)} of {len(locked)} locked packages "
            f"at the locked version"
            + (f"; differ: {', '.join(mismatched)}" if mismatched else "")
            + (f"; not installed: {', '.join(missing)}" if missing else ""),
            baseline="",
            ratio="",
            target="every locked package for this platform, at its version",
            passed=not mismatched and not missing,
        ),
    ]
