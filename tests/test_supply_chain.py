"""The supply chain: the locks say what is installed, the workflow is pinned and audited.

- ``uv.lock`` matches ``pyproject.toml``, and ``requirements-dev.txt`` (pip's fallback) is the
  lock exported, so both install paths give the same versions;
- zizmor, run offline over ``.github/``, reports nothing of medium severity or above, and
  still reports an unpinned action when there is one;
- every action is pinned to a full commit SHA with its version in a comment; checkout never
  keeps credentials; every job is read-only except the release's publish job (OIDC for PyPI's
  trusted publishing), which runs on a version tag only; the test matrix is the Python
  versions the package claims;
- Dependabot proposes updates for the Python lock, the CDK CLI lock and the actions.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
WORKFLOWS = REPO / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def run(*command: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def workflows() -> dict[str, dict[str, Any]]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(WORKFLOWS.glob("*.yml"))}


def steps() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{name}:{job_name}", step)
        for name, workflow in workflows().items()
        for job_name, job in workflow["jobs"].items()
        for step in job["steps"]
    ]


# ---------------------------------------------------------------------------------------------
# The locks


def test_the_lock_matches_pyproject() -> None:
    result = run(BIN / "uv", "lock", "--check", "--offline")
    assert result.returncode == 0, result.stderr


def test_the_pip_fallback_installs_exactly_the_lock(tmp_path: Path) -> None:
    exported = tmp_path / "requirements.txt"
    result = run(
        BIN / "uv",
        "export",
        "--frozen",
        "--extra",
        "dev",
        "--no-emit-project",
        "--format",
        "requirements.txt",
        "--quiet",
        "-o",
        exported,
    )
    assert result.returncode == 0, result.stderr

    def pins(path: Path) -> list[str]:
        # The header names the output file; everything else must be equal.
        return [line for line in path.read_text().splitlines() if not line.startswith("#    uv ")]

    assert pins(REPO / "requirements-dev.txt") == pins(exported), (
        "requirements-dev.txt is out of date with uv.lock: run scripts/upgrade --export-only"
    )


def test_every_locked_package_is_pinned_with_hashes() -> None:
    text = (REPO / "requirements-dev.txt").read_text()
    requirements = re.findall(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", text, flags=re.MULTILINE)
    assert len(requirements) > 50
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_the_installed_environment_is_the_locked_one() -> None:
    with (REPO / "uv.lock").open("rb") as file:
        locked = {p["name"]: p["version"] for p in tomllib.load(file)["package"] if "version" in p}
    from importlib import metadata

    for name in ("aws-cdk-lib", "cfn-lint", "cdk-nag", "moto", "boto3", "uv", "zizmor"):
        assert metadata.version(name) == locked[name], name


def test_aws_cdk_libs_cloud_assembly_schema_won_the_install() -> None:
    """aws-cdk-lib and aws-cdk.cloud-assembly-schema both ship this module (aws/aws-cdk#38482);
    scripts/setup makes aws-cdk-lib's copy win, whose types the library's objects carry."""
    from aws_cdk import cloud_assembly_schema

    assert cloud_assembly_schema.MetadataEntry.__jsii_type__ == (
        "aws-cdk-lib.cloud_assembly_schema.MetadataEntry"
    ), "aws-cdk.cloud-assembly-schema overwrote aws-cdk-lib's module: run scripts/setup"


@pytest.mark.parametrize("tool", ["aws-cdk", "@cloud-copilot/iam-simulate"])
def test_each_node_tool_is_locked_exactly(tool: str) -> None:
    package = json.loads((REPO / "package.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())
    version = package["devDependencies"][tool]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "package.json pins an exact version"
    assert lock["packages"][f"node_modules/{tool}"]["version"] == version


def test_the_iam_simulator_is_a_test_tool_only() -> None:
    # AGPL-3.0: the tests run it (tests/iam_simulator.cjs); the package never names it, and the
    # wheel holds only the package.
    package = json.loads((REPO / "package.json").read_text())
    assert "@cloud-copilot/iam-simulate" in package["devDependencies"]
    assert not package.get("dependencies")
    mentions = [
        path
        for path in (REPO / "ecr_replication").rglob("*")
        if path.is_file() and "cloud-copilot" in path.read_text(errors="ignore")
    ]
    assert mentions == []
    assert pyproject()["tool"]["setuptools"]["packages"]["find"]["include"] == ["ecr_replication*"]


def test_library_users_get_ranges_not_pins() -> None:
    for requirement in pyproject()["project"]["dependencies"]:
        assert ">=" in requirement and "<" in requirement and "==" not in requirement


# ---------------------------------------------------------------------------------------------
# The workflow


def zizmor(*paths: Path) -> tuple[int, list[dict[str, Any]]]:
    result = run(
        BIN / "zizmor",
        "--offline",
        "--no-progress",
        "--min-severity",
        "medium",
        "--format",
        "json",
        *paths,
    )
    assert result.returncode in (0, 11, 12, 13, 14), result.stderr  # 1: zizmor failed
    return result.returncode, json.loads(result.stdout or "[]")


def test_zizmor_finds_nothing_of_medium_severity_or_above() -> None:
    code, findings = zizmor(REPO / ".github")
    assert [(f["ident"], f["determinations"]["severity"]) for f in findings] == []
    assert code == 0


def test_zizmor_still_reports_an_unpinned_action(tmp_path: Path) -> None:
    workflow = (WORKFLOWS / "synth-review.yml").read_text()
    unpinned = re.sub(r"actions/checkout@[0-9a-f]{40} # v[\d.]+", "actions/checkout@v5", workflow)
    assert unpinned != workflow
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(unpinned)

    code, findings = zizmor(tmp_path / ".github")

    assert code == 14
    assert {f["ident"] for f in findings} == {"unpinned-uses"}


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    workflow_text = "\n".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    uses = re.findall(r"uses: (.+)$", workflow_text, flags=re.MULTILINE)
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []


def test_checkout_never_keeps_credentials() -> None:
    checkouts = [s for _, s in steps() if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


# The one exception to read-only jobs: publishing to PyPI with trusted publishing needs an
# OIDC token, and only the release's publish job may ask for one.
PUBLISH_JOB = ("release.yml", "publish")


def test_permissions_are_empty_by_default_and_read_only_per_job() -> None:
    for name, workflow in workflows().items():
        assert workflow["permissions"] == {}, name
        for job_name, job in workflow["jobs"].items():
            if (name, job_name) == PUBLISH_JOB:
                assert job["permissions"] == {"contents": "read", "id-token": "write"}
            else:
                assert job["permissions"] == {"contents": "read"}, (name, job_name)


def test_only_a_version_tag_publishes_and_every_pull_request_builds_and_checks_a_release() -> None:
    release = workflows()["release.yml"]
    triggers = release[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers) == {"pull_request", "push"}
    assert triggers["push"] == {"branches": ["main"], "tags": ["v*"]}
    build, publish = release["jobs"]["build"], release["jobs"]["publish"]
    assert "if" not in build, "the dry run runs on every trigger"
    build_runs = " ".join(s.get("run", "") for s in build["steps"])
    assert "scripts/build-release" in build_runs and "publish" not in build_runs
    assert publish["if"] == "github.ref_type == 'tag'"
    assert publish["needs"] == "build"
    assert publish["environment"]["name"] == "pypi"
    runs = [s["run"] for s in publish["steps"] if "run" in s]
    assert runs == [
        ".ci/run",
        'scripts/build-release --tag "$GITHUB_REF_NAME"',
        ".venv/bin/uv publish --trusted-publishing always dist/*",
    ], "tested, built and checked, then published with OIDC only (never a stored token)"


def test_the_matrix_is_the_python_versions_the_package_claims() -> None:
    project = pyproject()["project"]
    claimed = [
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    minimum = project["requires-python"].removeprefix(">=")
    assert claimed[0] == minimum
    (test_job,) = [
        job for job in workflows()["synth-review.yml"]["jobs"].values() if "strategy" in job
    ]
    assert test_job["strategy"]["matrix"]["python"] == claimed


def test_dependabot_updates_both_locks_and_the_actions() -> None:
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    ecosystems = {u["package-ecosystem"] for u in config["updates"]}
    assert ecosystems == {"uv", "npm", "github-actions"}


@pytest.mark.parametrize("script", ["setup", "upgrade", "test", "synth", "bench", "build-release"])
def test_the_scripts_are_executable(script: str) -> None:
    path = REPO / "scripts" / script
    assert path.stat().st_mode & 0o111
