"""The CDK app: context in, stacks out; end to end through the real ``cdk`` CLI and ``app.py``.

The end-to-end tests are marked ``e2e`` (each starts Node.js and jsii) but run by default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from ecr_replication.constructs.app import build_app, main
from ecr_replication.errors import ReplicationConfigError

INVALID_TOPOLOGY = {
    "sources": [
        {
            "account": "12345",
            "region": "us-east-1",
            "rules": [{"destinations": [{"account": "123456789012", "region": "eu-west-1"}]}],
        }
    ]
}
INVALID_MESSAGE = (
    "sources[0].account: '12345' is not a 12-digit AWS account id "
    "(give it as a string, e.g. '123456789012')"
)
DEFAULT_STACKS = (
    "EcrReplicationSource-555444333222-us-east-1",
    "EcrReplicationDestination-123456789012-eu-west-1",
)


def cli_env(repo: Path, **extra: str) -> dict[str, str]:
    """The environment ``scripts/env.sh`` sets up, without any inherited CDK app variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    env["PATH"] = os.pathsep.join(
        [str(repo / ".venv" / "bin"), str(repo / "node_modules" / ".bin"), env.get("PATH", "")]
    )
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    env.update(extra)
    return env


def run(command: list[str], repo: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=repo,
        env=cli_env(repo, **extra_env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def templates_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.template.json"))


# ---------------------------------------------------------------------------------------------
# build_app, in process


def test_build_app_reads_the_topology_from_an_object_in_the_context(
    cdk_json_topology: dict[str, Any],
) -> None:
    stacks = build_app(App(context={"ecrReplication": cdk_json_topology}))
    names = [s.stack_name for s in [*stacks.sources.values(), *stacks.destinations.values()]]
    assert names == list(DEFAULT_STACKS)


def test_build_app_reads_the_topology_from_a_json_string_in_the_context(
    cdk_json_topology: dict[str, Any],
) -> None:
    stacks = build_app(App(context={"ecrReplication": json.dumps(cdk_json_topology)}))
    names = [s.stack_name for s in [*stacks.sources.values(), *stacks.destinations.values()]]
    assert names == list(DEFAULT_STACKS)


def test_build_app_without_the_context_key_says_how_to_set_it() -> None:
    with pytest.raises(ReplicationConfigError, match=r"^ecrReplication: is not set; .*-c"):
        build_app(App())


@pytest.mark.parametrize("value", [5, "[1, 2]"], ids=["number", "json-string-of-a-list"])
def test_build_app_names_the_context_key_when_its_value_is_not_an_object(value: object) -> None:
    app = App(context={"ecrReplication": value})
    with pytest.raises(
        ReplicationConfigError, match=r"^ecrReplication: \S+.* must be a JSON object$"
    ):
        build_app(app)


@pytest.mark.parametrize(
    ("context_json", "expected"),
    [
        ("notjson", "is not valid JSON: Expecting value at line 1 column 1"),
        ("[]", "'[]' must be a JSON object of context keys"),
        ("5", "'5' must be a JSON object of context keys"),
    ],
)
def test_app_main_refuses_a_cdk_context_json_that_is_not_an_object_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    context_json: str,
    expected: str,
) -> None:
    monkeypatch.setenv("CDK_CONTEXT_JSON", context_json)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"ecr-replication: CDK_CONTEXT_JSON: {expected}")


def test_build_app_with_an_invalid_topology_creates_no_stack() -> None:
    app = App(context={"ecrReplication": INVALID_TOPOLOGY})
    with pytest.raises(ReplicationConfigError, match="12-digit"):
        build_app(app)
    assert app.node.children == []


# ---------------------------------------------------------------------------------------------
# The real cdk CLI


@pytest.fixture(scope="module")
def cdk_synth(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("cdk.out")
    result = run(["cdk", "synth", "--no-notices", "-o", str(out)], repo_root)
    return result, out


@pytest.mark.e2e
def test_cdk_synth_of_the_default_app_succeeds_and_writes_every_template(cdk_synth: Any) -> None:
    result, out = cdk_synth
    assert result.returncode == 0, result.stderr
    assert templates_in(out) == sorted(f"{name}.template.json" for name in DEFAULT_STACKS)
    manifest = json.loads((out / "manifest.json").read_text())
    environments = {a["environment"] for a in manifest["artifacts"].values() if "environment" in a}
    assert environments == {
        "aws://555444333222/us-east-1",
        "aws://123456789012/eu-west-1",
    }


@pytest.mark.e2e
def test_cdk_synth_prints_no_deprecation_or_node_end_of_life_warning(cdk_synth: Any) -> None:
    result, _ = cdk_synth
    output = (result.stdout + result.stderr).lower()
    assert "deprecated" not in output
    assert "end-of-life" not in output


@pytest.mark.e2e
def test_cdk_synth_with_an_invalid_context_fails_with_the_short_message(
    repo_root: Path, tmp_path: Path
) -> None:
    result = run(
        [
            "cdk",
            "synth",
            "--no-notices",
            "-o",
            str(tmp_path),
            "-c",
            f"ecrReplication={json.dumps(INVALID_TOPOLOGY)}",
        ],
        repo_root,
    )
    assert result.returncode != 0
    assert INVALID_MESSAGE in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert templates_in(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# python app.py, as the CLI runs it


@pytest.mark.e2e
def test_app_py_runs_directly_with_the_context_and_outdir_of_the_cli(
    repo_root: Path, tmp_path: Path, cdk_json_topology: dict[str, Any]
) -> None:
    result = run(
        [sys.executable, "app.py"],
        repo_root,
        CDK_CONTEXT_JSON=json.dumps({"ecrReplication": cdk_json_topology}),
        CDK_OUTDIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert templates_in(tmp_path) == sorted(f"{name}.template.json" for name in DEFAULT_STACKS)


@pytest.mark.e2e
def test_app_py_with_an_invalid_context_exits_2_with_the_short_message_and_writes_nothing(
    repo_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run(
        [sys.executable, "app.py"],
        repo_root,
        CDK_CONTEXT_JSON=json.dumps({"ecrReplication": INVALID_TOPOLOGY}),
        CDK_OUTDIR=str(out),
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "ecr-replication: invalid ecrReplication topology:",
        f"  {INVALID_MESSAGE}",
    ]
    assert "Traceback" not in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.e2e
def test_app_py_with_a_context_that_is_not_json_exits_2_without_a_traceback(
    repo_root: Path, tmp_path: Path
) -> None:
    result = run(
        [sys.executable, "app.py"],
        repo_root,
        CDK_CONTEXT_JSON=json.dumps({"ecrReplication": '{"sources": ['}),
        CDK_OUTDIR=str(tmp_path),
    )
    assert result.returncode == 2
    assert "is not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
