"""The release as a user gets it: the checkout's sdist and wheel, built once per test session
(shared by test_release.py and test_wheel.py, which each expose it as their ``dist`` fixture)."""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".venv" / "bin" / "uv"


@functools.cache
def built_dist() -> Path:
    """The sdist and the wheel, built as ``scripts/build-release`` builds them (``uv build``:
    the sdist, then the wheel from the sdist). Read-only: copy it to change it."""
    out = Path(tempfile.mkdtemp(prefix="ecr-replication-dist-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    result = subprocess.run(
        [str(UV), "build", "--quiet", "--out-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out
