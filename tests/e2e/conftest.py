"""The release as a user gets it: the sdist and the wheel, built once per test session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".venv" / "bin" / "uv"


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout's sdist and wheel, built as ``scripts/build-release`` builds them (``uv
    build``: the sdist, then the wheel from the sdist). Treat as read-only: copy to change."""
    out = tmp_path_factory.mktemp("dist")
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
