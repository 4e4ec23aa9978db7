"""Checks a release's sdist and wheel before they are published (run by scripts/build-release).

    python scripts/check_dist.py DIST_DIR [--tag vX.Y.Z]

- one sdist and one wheel of this project, at the version of pyproject.toml (the one place the
  version is written); with ``--tag``, the tag is ``v`` and that version; CHANGELOG.md's newest
  entry is that version;
- their core metadata is valid (``packaging``'s validator), names the licence, the Python
  versions and the extras ``nag`` and ``guard``, and carries README.md as a Markdown long
  description that PyPI's renderer (``readme_renderer``) renders;
- the wheel holds the package (every module of ``ecr_replication/`` in the checkout, and
  ``py.typed``) and its licence, and nothing else; the sdist holds the package, the README,
  the changelog, the licence and the build files, and nothing else (no tests, no lock).

Prints one line per problem and exits 1, or one line saying what was checked and exits 0.
"""

from __future__ import annotations

import argparse
import re
import sys
import tarfile
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "ecr_replication"
EXTRAS = {"nag", "guard"}
WHEEL_METADATA_FILES = {"METADATA", "WHEEL", "RECORD", "entry_points.txt", "top_level.txt"}
SDIST_TOP_LEVEL = {
    PACKAGE,
    f"{PACKAGE}.egg-info",
    "CHANGELOG.md",
    "LICENSE",
    "MANIFEST.in",
    "PKG-INFO",
    "README.md",
    "pyproject.toml",
    "setup.cfg",
}


def project_version() -> str:
    with (REPO / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def changelog_version() -> str | None:
    match = re.search(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    return match[1] if match else None


def package_modules() -> set[str]:
    """Every file the wheel must hold from the package: its modules and ``py.typed``."""
    return {
        p.relative_to(REPO).as_posix()
        for p in (REPO / PACKAGE).rglob("*")
        if p.is_file() and (p.suffix == ".py" or p.name == "py.typed")
    }


def metadata_problems(text: str, version: str, where: str) -> list[str]:
    """Core metadata (METADATA or PKG-INFO): valid, complete, and its README renders."""
    from packaging.metadata import InvalidMetadata, Metadata
    from readme_renderer.markdown import render

    problems: list[str] = []
    try:
        metadata = Metadata.from_email(text, validate=True)
    except (ExceptionGroup, InvalidMetadata) as error:
        causes = error.exceptions if isinstance(error, ExceptionGroup) else [error]
        return [f"{where}: invalid core metadata: {cause}" for cause in causes]
    if str(metadata.name) != "ecr-replication" or str(metadata.version) != version:
        problems.append(f"{where}: is {metadata.name} {metadata.version}, not {version}")
    if metadata.license_expression != "Apache-2.0":
        problems.append(f"{where}: licence {metadata.license_expression!r}, not 'Apache-2.0'")
    if not metadata.requires_python:
        problems.append(f"{where}: no Requires-Python")
    if missing := EXTRAS - {str(e) for e in metadata.provides_extra or ()}:
        problems.append(f"{where}: the extras {sorted(missing)} are missing")
    description = HeaderParser().parsestr(text).get_payload()
    readme = (REPO / "README.md").read_text()
    if metadata.description_content_type != "text/markdown":
        problems.append(
            f"{where}: Description-Content-Type {metadata.description_content_type!r}, "
            "not 'text/markdown'"
        )
    elif not isinstance(description, str) or description.strip() != readme.strip():
        problems.append(f"{where}: the long description is not README.md")
    elif not render(description, variant="GFM"):
        problems.append(f"{where}: PyPI's renderer cannot render the README")
    return problems


def wheel_problems(path: Path, version: str) -> list[str]:
    dist_info = f"{PACKAGE}-{version}.dist-info"
    allowed = {
        *package_modules(),
        *(f"{dist_info}/{name}" for name in WHEEL_METADATA_FILES),
        f"{dist_info}/licenses/LICENSE",
    }
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        metadata = (
            wheel.read(f"{dist_info}/METADATA").decode() if f"{dist_info}/METADATA" in names else ""
        )
    problems = [
        f"{path.name}: holds {name}, which is not the package or its licence"
        for name in sorted(names - allowed)
    ]
    problems += [f"{path.name}: lacks {name}" for name in sorted(allowed - names)]
    return problems + metadata_problems(metadata, version, path.name)


def sdist_problems(path: Path, version: str) -> list[str]:
    root = f"{PACKAGE}-{version}"
    with tarfile.open(path) as sdist:
        names = [m.name for m in sdist.getmembers() if m.isfile()]
        info = sdist.extractfile(f"{root}/PKG-INFO") if f"{root}/PKG-INFO" in names else None
        metadata = info.read().decode() if info else ""
    problems = []
    for name in names:
        top = name.removeprefix(f"{root}/").split("/")[0]
        if not name.startswith(f"{root}/") or top not in SDIST_TOP_LEVEL:
            problems.append(f"{path.name}: holds {name}, which a release does not need")
    in_sdist = {n.removeprefix(f"{root}/") for n in names}
    problems += [
        f"{path.name}: lacks {name}"
        for name in sorted(package_modules() | {"LICENSE", "README.md", "CHANGELOG.md"})
        if name not in in_sdist
    ]
    return problems + metadata_problems(metadata, version, f"{path.name} PKG-INFO")


def check(dist: Path, tag: str | None) -> list[str]:
    version = project_version()
    problems = []
    if tag is not None and tag != f"v{version}":
        problems.append(f"tag {tag!r} is not v{version}, the version in pyproject.toml")
    if (logged := changelog_version()) != version:
        problems.append(f"CHANGELOG.md's newest entry is {logged}, not {version}")
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    expected = {f"{PACKAGE}-{version}-py3-none-any.whl", f"{PACKAGE}-{version}.tar.gz"}
    if {p.name for p in [*wheels, *sdists]} != expected:
        found = ", ".join(p.name for p in [*wheels, *sdists]) or "nothing"
        return [*problems, f"{dist}: holds {found}; expected {', '.join(sorted(expected))}"]
    return [*problems, *wheel_problems(wheels[0], version), *sdist_problems(sdists[0], version)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dist", type=Path, help="the folder uv build wrote")
    parser.add_argument("--tag", help="the release tag, vX.Y.Z")
    args = parser.parse_args(argv)
    problems = check(args.dist, args.tag)
    for problem in problems:
        print(f"check-dist: {problem}", file=sys.stderr)
    if problems:
        return 1
    built = sorted(p.name for p in [*args.dist.glob("*.whl"), *args.dist.glob("*.tar.gz")])
    print(f"check-dist: {', '.join(built)}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
