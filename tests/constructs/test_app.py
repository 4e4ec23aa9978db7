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
    result = run(["cdk", "synth", "--no-notices", "--strict", "-o", str(out)], repo_root)
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
def test_cdk_synth_strict_of_the_default_app_is_quiet(cdk_synth: Any) -> None:
    # --strict fails on any warning: the embedded default is the recommended set-up. No stray
    # jsii kernel location, no feature-flag notice (cdk.json carries the recommended flags).
    result, _ = cdk_synth
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower()
    assert "program.js" not in result.stderr
    assert "feature flags" not in result.stderr


CLASSIC = {
    "sources": [
        {
            "account": "555444333222",
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [{"account": "123456789012", "region": "eu-west-1"}],
                }
            ],
        }
    ]
}


@pytest.mark.e2e
def test_a_warning_fails_strict_synth_until_acknowledged_in_the_context(
    repo_root: Path, tmp_path: Path
) -> None:
    command = [
        "cdk",
        "synth",
        "--no-notices",
        "--strict",
        "-c",
        f"ecrReplication={json.dumps(CLASSIC)}",
    ]
    warned = run([*command, "-o", str(tmp_path / "warned")], repo_root)
    assert warned.returncode == 1
    assert "Acknowledge with 'Annotation::ecr-replication:roleTrustsWholeAccount'" in warned.stderr
    assert "program.js" not in warned.stderr
    acknowledged = run(
        [
            *command,
            "-c",
            'ecrReplication:acknowledge=["ecr-replication:roleTrustsWholeAccount"]',
            "-o",
            str(tmp_path / "acknowledged"),
        ],
        repo_root,
    )
    assert acknowledged.returncode == 0, acknowledged.stderr


@pytest.mark.e2e
def test_json_over_several_lines_in_c_is_caught_with_a_hint(
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
            "ecrReplication=" + json.dumps(CLASSIC, indent=2),
        ],
        repo_root,
    )
    assert result.returncode == 1
    assert (
        "ecrReplication: is not valid JSON: Expecting property name enclosed in double quotes at "
        "line 1 column 2 (the value is only '{': the CDK CLI keeps only the first line of a -c "
        "value, so give the JSON on one line)"
    ) in result.stderr


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


def test_app_main_started_by_hand_without_a_context_says_to_run_cdk_synth_or_set_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python app.py`` alone: cdk.json holds the topology, but only the CDK CLI reads it."""
    for name in ("CDK_CONTEXT_JSON", "CDK_OUTDIR", "CONTEXT_OVERFLOW_LOCATION_ENV"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "ecr-replication: ecrReplication is not in the app's context: `python app.py` alone does "
        "not read cdk.json. Run `cdk synth` (the CDK CLI reads cdk.json and runs the app), or set "
        """CDK_CONTEXT_JSON='{"ecrReplication": {...}}' (and CDK_OUTDIR) to run it directly"""
    ]


def test_app_main_run_by_the_cli_without_the_key_says_where_to_put_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDK_CONTEXT_JSON", "{}")
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "put it under context in cdk.json" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# Warnings: acknowledged from context, recorded without a stack trace


def test_warnings_listed_in_the_context_are_acknowledged_in_every_stack() -> None:
    from aws_cdk.assertions import Annotations, Match

    app = App(
        context={
            "ecrReplication": CLASSIC,
            "ecrReplication:acknowledge": ["Annotation::ecr-replication:roleTrustsWholeAccount"],
        }
    )
    stacks = build_app(app)
    for stack in stacks.destinations.values():
        Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_the_acknowledgement_id_the_cdk_cli_prints_acknowledges_the_warning_in_an_app() -> None:
    """The CLI says ``Acknowledge with 'Annotation::ecr-replication:...'``: the README gives
    ``Validations.of(stack).acknowledge`` for that form, beside the short id."""
    from aws_cdk import Acknowledgment, Validations
    from aws_cdk.assertions import Annotations, Match

    stacks = build_app(App(context={"ecrReplication": CLASSIC}))
    (stack,) = stacks.destinations.values()
    Validations.of(stack).acknowledge(
        Acknowledgment(
            id="Annotation::ecr-replication:roleTrustsWholeAccount", reason="CI assumes it"
        )
    )
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_an_unknown_warning_id_in_the_context_is_refused_with_the_known_ones() -> None:
    app = App(context={"ecrReplication": CLASSIC, "ecrReplication:acknowledge": "roleTrusts"})
    with pytest.raises(
        ReplicationConfigError,
        match=r"^ecrReplication:acknowledge\[0\]: 'roleTrusts' is not a warning of "
        r"ecr-replication; known: ecr-replication:unfilteredCrossAccountRule, ",
    ):
        build_app(app)


def test_the_librarys_warnings_carry_no_stack_trace() -> None:
    from aws_cdk.assertions import Annotations, Match

    stacks = build_app(App(context={"ecrReplication": CLASSIC}))
    (stack,) = stacks.destinations.values()
    (warning,) = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert "roleTrustsWholeAccount" in str(warning.entry.data)
    assert not warning.entry.trace


def test_in_an_app_made_quiet_once_the_warnings_below_it_carry_no_stack_trace() -> None:
    # app.py makes its App quiet once; the constructs then skip setting it again.
    from aws_cdk.assertions import Annotations, Match

    from ecr_replication.constructs.warnings import quiet_app

    app = App(context={"ecrReplication": CLASSIC})
    quiet_app(app)
    (stack,) = build_app(app).destinations.values()
    (warning,) = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert "roleTrustsWholeAccount" in str(warning.entry.data)
    assert not warning.entry.trace


def test_cdk_json_carries_the_feature_flags_a_new_app_of_the_pinned_cdk_gets(
    repo_root: Path,
) -> None:
    recommended = json.loads(
        (
            repo_root / "node_modules/aws-cdk/lib/init-templates/.recommended-feature-flags.json"
        ).read_text()
    )
    context = json.loads((repo_root / "cdk.json").read_text())["context"]
    flags = {k: v for k, v in context.items() if k.startswith("@aws-cdk")}
    assert flags == recommended, "upgrade: copy the CLI's recommended flags into cdk.json"


def test_a_truncated_multi_line_context_value_gets_a_hint() -> None:
    from ecr_replication.model import topology_from_context

    with pytest.raises(ReplicationConfigError, match=r"give the JSON on one line\)$"):
        topology_from_context("{")
    with pytest.raises(ReplicationConfigError) as info:
        topology_from_context('{"sources": [}')
    assert "one line" not in str(info.value), "a JSON mistake that is not a cut line gets no hint"
