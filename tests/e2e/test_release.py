"""What a release publishes is checked before it is: ``scripts/check_dist.py`` passes the
release the checkout builds, and refuses one that holds more than the package, whose metadata
is wrong, or whose tag is not the version."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from .release_build import REPO, built_dist


@pytest.fixture(scope="module")
def dist() -> Path:
    return built_dist()


VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
WHEEL = f"ecr_replication-{VERSION}-py3-none-any.whl"
SDIST = f"ecr_replication-{VERSION}.tar.gz"
METADATA = f"ecr_replication-{VERSION}.dist-info/METADATA"


def check_dist() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_dist", REPO / "scripts/check_dist.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_of(dist: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "dist"
    shutil.copytree(dist, copy)
    return copy


def rewrite_wheel(wheel: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Rewrite each member through ``change`` (None drops it)."""
    with zipfile.ZipFile(wheel) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(wheel, "w") as target:
        for name, data in members:
            if (changed := change(name, data)) is not None:
                target.writestr(name, changed)


def problems(dist: Path, tag: str | None = None) -> list[str]:
    found: list[str] = check_dist().check(dist, tag)
    return found


@pytest.mark.wheel
def test_the_release_the_checkout_builds_passes_every_check(dist: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/check_dist.py", str(dist), "--tag", f"v{VERSION}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"check-dist: {WHEEL}, {SDIST}: ok\n"


@pytest.mark.wheel
def test_the_wheel_holds_the_package_and_its_licence_only(dist: Path) -> None:
    with zipfile.ZipFile(dist / WHEEL) as wheel:
        tops = {name.split("/")[0] for name in wheel.namelist()}
        assert f"ecr_replication-{VERSION}.dist-info/licenses/LICENSE" in wheel.namelist()
    assert tops == {"ecr_replication", f"ecr_replication-{VERSION}.dist-info"}


@pytest.mark.wheel
def test_a_wheel_holding_more_than_the_package_is_refused(dist: Path, tmp_path: Path) -> None:
    copy = copy_of(dist, tmp_path)
    with zipfile.ZipFile(copy / WHEEL, "a") as wheel:
        wheel.writestr("tests/conftest.py", "")
    assert problems(copy) == [
        f"{WHEEL}: holds tests/conftest.py, which is not the package or its licence"
    ]


@pytest.mark.wheel
def test_a_wheel_without_a_module_of_the_package_is_refused(dist: Path, tmp_path: Path) -> None:
    copy = copy_of(dist, tmp_path)
    rewrite_wheel(copy / WHEEL, lambda name, data: None if name.endswith("/iam.py") else data)
    assert problems(copy) == [f"{WHEEL}: lacks ecr_replication/model/iam.py"]


@pytest.mark.wheel
def test_invalid_metadata_or_another_long_description_is_refused(
    dist: Path, tmp_path: Path
) -> None:
    copy = copy_of(dist, tmp_path)

    def broken(name: str, data: bytes) -> bytes:
        if name != METADATA:
            return data
        text = data.decode().replace(f"Version: {VERSION}\n", "Version: one\n", 1)
        return text.replace("# ecr-replication", "# something else", 1).encode()

    rewrite_wheel(copy / WHEEL, broken)
    (found,) = problems(copy)
    assert re.match(rf"{WHEEL}: invalid core metadata: .*'one'", found)

    copy = copy_of(dist, tmp_path / "again")
    rewrite_wheel(
        copy / WHEEL,
        lambda name, data: (
            data.replace(b"# ecr-replication", b"# other") if name == METADATA else data
        ),
    )
    assert problems(copy) == [f"{WHEEL}: the long description is not README.md"]


@pytest.mark.wheel
def test_an_sdist_holding_the_tests_is_refused(dist: Path, tmp_path: Path) -> None:
    copy = copy_of(dist, tmp_path)
    extra = tmp_path / "test_extra.py"
    extra.write_text("")
    with tarfile.open(dist / SDIST) as source, tarfile.open(copy / SDIST, "w:gz") as target:
        for member in source.getmembers():
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
        target.add(extra, f"ecr_replication-{VERSION}/tests/test_extra.py")
    assert problems(copy) == [
        f"{SDIST}: holds ecr_replication-{VERSION}/tests/test_extra.py, which a release does "
        "not need"
    ]


@pytest.mark.wheel
def test_a_tag_that_is_not_the_version_is_refused(dist: Path) -> None:
    assert problems(dist, "v9.9.9") == [
        f"tag 'v9.9.9' is not v{VERSION}, the version in pyproject.toml"
    ]


def test_the_changelogs_newest_entry_is_the_version() -> None:
    """The version is written once (pyproject.toml); the changelog must follow it."""
    changelog = (REPO / "CHANGELOG.md").read_text()
    (newest,) = re.findall(r"^## (\S+)", changelog, flags=re.MULTILINE)[:1]
    assert newest == VERSION
