"""A library user's first day, from the built wheel instead of the checkout.

The wheel of the checkout is installed with the extras the README's examples use (``[nag]``,
``[guard]``; every version pinned by ``uv.lock``, exported as constraints) into a fresh virtual
environment outside the checkout. From a folder outside the checkout, with Node.js from
``.venv/bin`` and deprecated CDK APIs failing (``JSII_DEPRECATED=fail``):

- every Python block of the README runs as a program and synthesizes, printing no warning of
  jsii and recording its warnings without a stack trace;
- a typed consumer app (``consumer_app.py``) passes ``mypy --strict`` against the installed
  wheel, and the CDK CLI synthesizes it: the hook's prefix is granted, the warning names its
  ``Annotation::`` acknowledgement, and no ``program.js`` line precedes it.

Marked ``wheel`` (``pytest -m wheel`` runs only these); ``scripts/test`` runs them too. The
README states their time; ``mypy`` runs while the examples do, with a cache of its own beside
uv's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_readme import PYTHON_BLOCKS

from .release_build import REPO, UV, built_dist

pytestmark = pytest.mark.wheel

CONSUMER_APP = Path(__file__).with_name("consumer_app.py")
# Beside uv's cache, not in the checkout: a fresh clone (CI's) finds it warm too. Its first run
# reads all of aws-cdk-lib's types (about 90 s of CPU); mypy validates the cache by content.
MYPY_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "ecr-replication"
    / "mypy-wheel-consumer"
)
TIMEOUT = 300


@pytest.fixture(scope="module")
def dist() -> Path:
    return built_dist()


@dataclass(frozen=True)
class UserEnvironment:
    """A fresh virtual environment holding the wheel, and a home for the user's files."""

    home: Path
    venv: Path
    env: dict[str, str]
    mypy: subprocess.Popen[str]

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(
        self, *command: str | Path, cwd: Path, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(c) for c in command],
            cwd=cwd,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )


def uv(*args: str | Path, cwd: Path) -> None:
    result = subprocess.run(
        [str(UV), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def user_env(venv: Path, node_bin: Path) -> dict[str, str]:
    """The user's shell: the virtual environment and Node.js on PATH, nothing of the checkout's
    (no CDK, jsii or Python variables inherited), deprecated CDK APIs failing."""
    dropped = ("CDK_", "JSII_", "PYTHON", "VIRTUAL_ENV", "MYPY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), str(node_bin), "/usr/bin", "/bin"])
    env["JSII_DEPRECATED"] = "fail"
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


@pytest.fixture(scope="module")
def user(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserEnvironment]:
    home = tmp_path_factory.mktemp("user")
    assert not home.resolve().is_relative_to(REPO), "the user's files are outside the checkout"
    (wheel,) = dist.glob("*.whl")
    constraints = home / "constraints.txt"
    uv(
        *("export", "--frozen", "--extra", "nag", "--extra", "guard", "--no-emit-project"),
        *("--no-hashes", "--format", "requirements.txt", "--quiet", "-o", constraints),
        cwd=REPO,
    )
    venv = home / "venv"
    uv("venv", "--quiet", "--python", sys.executable, venv, cwd=home)
    python = ("--python", venv / "bin" / "python")
    uv("pip", "install", "--quiet", *python, "-c", constraints, f"{wheel}[nag,guard]", cwd=home)
    # The README's remedy for aws/aws-cdk#38482, which uv's unpacking order may need.
    uv(
        *("pip", "install", "--quiet", *python, "-c", constraints),
        *("--reinstall-package", "aws-cdk-lib", "aws-cdk-lib"),
        cwd=home,
    )
    # Node.js as the README advises: its one file linked into a folder on PATH.
    node_bin = home / "node-bin"
    node_bin.mkdir()
    (node_bin / "node").symlink_to((REPO / ".venv" / "bin" / "node").resolve())
    env = user_env(venv, node_bin)

    consumer = home / "consumer"
    consumer.mkdir()
    shutil.copy(CONSUMER_APP, consumer / "app.py")
    MYPY_CACHE.mkdir(parents=True, exist_ok=True)
    mypy = subprocess.Popen(
        [
            str(REPO / ".venv" / "bin" / "mypy"),
            *("--strict", "--python-executable", str(venv / "bin" / "python")),
            *("--cache-dir", str(MYPY_CACHE), "app.py"),
        ],
        cwd=consumer,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield UserEnvironment(home=home, venv=venv, env=env, mypy=mypy)
    finally:
        if mypy.poll() is None:
            mypy.kill()
        mypy.communicate()


def warnings_with_a_trace(assembly: Path) -> list[str]:
    """The library's warnings recorded with a JavaScript stack trace, whose first frame the CDK
    CLI prints (for a Python app, a line of the jsii kernel's ``program.js``)."""
    warnings = [
        (path, entry)
        for metadata in assembly.glob("*.metadata.json")
        for path, entries in json.loads(metadata.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:warning"
    ]
    return [
        f"{path}: {entry['data']}"
        for path, entry in warnings
        if "[ack: ecr-replication:" in str(entry["data"]) and entry.get("trace")
    ]


def test_the_wheel_is_what_the_user_imports(user: UserEnvironment) -> None:
    result = user.run(
        user.python,
        "-c",
        "import ecr_replication, aws_cdk.cloud_assembly_schema as s;"
        "print(ecr_replication.__file__);"
        "print(s.MetadataEntry.__jsii_type__)",
        cwd=user.home,
    )
    assert result.returncode == 0, result.stderr
    module, schema = result.stdout.splitlines()
    assert Path(module).is_relative_to(user.venv), "not the checkout's package"
    assert schema == "aws-cdk-lib.cloud_assembly_schema.MetadataEntry"
    version = user.run(user.venv / "bin" / "ecr-replication", "--version", cwd=user.home)
    assert version.stdout.strip() == f"ecr-replication {wheel_version(user)}"


def wheel_version(user: UserEnvironment) -> str:
    (dist_info,) = (user.venv / "lib").glob("python3.*/site-packages/ecr_replication-*.dist-info")
    return dist_info.name.removeprefix("ecr_replication-").removesuffix(".dist-info")


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_every_readme_python_block_synthesizes_from_the_wheel_with_deprecations_failing(
    user: UserEnvironment, index: int
) -> None:
    folder = user.home / f"example-{index}"
    folder.mkdir()
    (folder / "app.py").write_text(PYTHON_BLOCKS[index])
    result = user.run(user.python, "app.py", cwd=folder, CDK_OUTDIR=str(folder / "cdk.out"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((folder / "cdk.out").glob("*.template.json")), "it wrote its templates"
    assert result.stderr == "", "no jsii or deprecation warning"
    assert warnings_with_a_trace(folder / "cdk.out") == []


def test_the_cdk_cli_synthesizes_the_consumer_app_with_the_hooks_grant_and_a_clean_warning(
    user: UserEnvironment,
) -> None:
    consumer = user.home / "consumer"
    (consumer / "cdk.json").write_text(json.dumps({"app": "python app.py"}))
    result = user.run(
        REPO / "node_modules" / ".bin" / "cdk", "synth", "--no-notices", "--quiet", cwd=consumer
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "program.js" not in result.stderr
    assert "Acknowledge with 'Annotation::ecr-replication:roleTrustsWholeAccount'" in result.stderr
    template = json.loads((consumer / "cdk.out" / "Prod.template.json").read_text())
    (policy,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::ECR::RegistryPolicy"
    ]
    (statement,) = policy["Properties"]["PolicyText"]["Statement"]
    assert statement["Resource"] == [
        "arn:aws:ecr:eu-west-1:123456789012:repository/prod/*",
        "arn:aws:ecr:eu-west-1:123456789012:repository/shared/*",
    ]


def test_a_typed_consumer_app_passes_mypy_strict_against_the_installed_wheel(
    user: UserEnvironment,
) -> None:
    output, _ = user.mypy.communicate(timeout=TIMEOUT)
    assert user.mypy.returncode == 0, output
    assert output.strip().endswith("Success: no issues found in 1 source file")
