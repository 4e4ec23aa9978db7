"""What a user expects of a command line tool: --version, --profile, --json that never breaks a
pipeline, an unreadable registry named as such, reasons on one line, and a fast --help."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecr_replication import cli
from ecr_replication.ops import aws
from ecr_replication.ops.config import load_topology

from .opshelp import DEST_A, DEST_B, SOURCE, ClientStubs, CliResult, push

Run = Callable[..., CliResult]
WriteConfig = Callable[..., Path]
AWS_COMMANDS = ("preflight", "verify", "cost", "backfill")


def test_version_prints_the_package_version(run_cli: Run) -> None:
    result = run_cli("--version")
    assert (result.code, result.out) == (0, f"ecr-replication {cli.version()}\n")


@pytest.mark.parametrize("command", AWS_COMMANDS)
def test_every_command_that_calls_aws_takes_a_profile(command: str) -> None:
    args = cli.build_parser(command).parse_args([command, "--profile", "ops"])
    assert args.profile == "ops"


def test_a_profile_selects_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    args = cli.build_parser("verify").parse_args(["verify", "--profile", "ops"])
    access = aws.access_for(load_topology(write_config()), args)
    session = access._sessions[aws.CALLER]
    assert session.get_credentials().access_key == "AKIAOPS"


def test_an_unknown_profile_is_one_line_and_exit_2(run_cli: Run, write_config: WriteConfig) -> None:
    result = run_cli("verify", "--config", str(write_config()), "--profile", "nope")
    assert result.code == 2
    assert result.err == (
        "ecr-replication verify: --profile nope: no such profile in the AWS config files "
        "(profiles: none)\n"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["verify", "--json", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["cost", "--json", "--storage-price", "cheap"], "argument --storage-price"),
        (["preflight", "--json", "--config", "missing.json"], "missing.json: does not exist"),
        (
            ["verify", "--json", "--repository", "tools/x"],
            "--repository: 'tools/x' matches no replication rule",
        ),
    ],
    ids=["argparse", "bad-value", "config", "usage"],
)
def test_under_json_a_usage_or_input_error_is_a_json_document_on_stdout(
    run_cli: Run, write_config: WriteConfig, argv: list[str], error: str, tmp_path: Path
) -> None:
    if "--config" not in argv:
        argv = [*argv, "--config", str(write_config())]
    else:
        argv = [a if a != "missing.json" else str(tmp_path / "missing.json") for a in argv]
    result = run_cli(*argv)
    assert result.code == 2
    document = result.json
    assert document["schema"] == "ecr-replication/error/v1"
    assert (document["command"], document["exitCode"]) == (argv[0], 2)
    assert error in document["error"]
    assert error in result.err


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_verify_without_credentials_names_the_registry_it_could_not_read(
    run_cli: Run, write_config: WriteConfig, no_credentials: None
) -> None:
    result = run_cli("verify", "--config", str(write_config()))
    assert result.code == 3
    assert "No source repository matches" not in result.out
    assert "Verify:" not in result.out, "no empty table"
    assert result.out.strip().splitlines() == [
        f"Could not check {SOURCE.key}: list repositories: no usable AWS credentials found "
        "(set AWS_PROFILE or sign in, then run again)"
    ]


def test_preflight_without_credentials_says_the_reason_once_for_every_row(
    run_cli: Run, write_config: WriteConfig, no_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per line of output
    result = run_cli("preflight", "--config", str(write_config()))
    assert result.code == 3
    reason = "no usable AWS credentials found (set AWS_PROFILE or sign in, then run again)"
    assert result.out.count(reason) == 1, result.out
    summary = result.out.strip().splitlines()[-1]
    assert summary.startswith("Could not check ")
    assert summary.endswith(f": could not identify the caller: {reason}")
    assert all(r.key in summary for r in (SOURCE, DEST_A, DEST_B))
    rows = [line for line in result.out.splitlines() if "│ unchecked │" in line]
    assert len(rows) >= 4, "every check is still a row, marked unchecked"
    document = run_cli("preflight", "--config", str(write_config()), "--json").json
    assert {u["reason"] for u in document["unchecked"]} == {
        f"could not identify the caller: {reason}"
    }
    assert len(document["unchecked"]) == len(rows), "--json keeps the reason on every entry"


def test_cost_without_credentials_prints_no_figures(
    run_cli: Run, write_config: WriteConfig, no_credentials: None
) -> None:
    result = run_cli("cost", "--config", str(write_config()))
    assert result.code == 3
    assert "0.00" not in result.out and "Total" not in result.out
    assert f"Could not check {SOURCE.key}" in result.out
    document = run_cli("cost", "--config", str(write_config()), "--json").json
    assert {d["complete"] for d in document["destinations"]} == {False}


HTML_PAGE = (
    "<!doctype html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><h1>502 Bad Gateway</h1><hr><center>proxy</center></body></html>"
)


def test_an_html_error_page_becomes_one_line_reason_named_once(
    run_cli: Run, write_config: WriteConfig, stubs: ClientStubs
) -> None:
    config = write_config()
    for name in ("prod/api", "prod/web", "prod/db"):
        push(SOURCE, name, "v1", name)
    for _ in range(3):
        stubs.fail(SOURCE, "ecr", "describe_images", "502", HTML_PAGE, http_status_code=502)

    result = run_cli("verify", "--config", str(config))

    assert result.code == 3
    assert "<" not in result.out
    (summary,) = [line for line in result.out.splitlines() if line.startswith("Could not check")]
    assert result.out.count("502 Bad Gateway") == 1, "the reason is named once, not per row"
    assert summary == (
        f"Could not check {SOURCE.key}: list images (prod/api, prod/db, prod/web): "
        "HTTP 502 calling DescribeImages: 502 Bad Gateway"
    )


def test_a_reason_from_an_html_page_names_the_status_and_the_first_line() -> None:
    error = ClientError(
        {
            "Error": {"Code": "502", "Message": HTML_PAGE},
            "ResponseMetadata": {"HTTPStatusCode": 502},
        },
        "DescribeImages",
    )
    assert aws.describe_failure(error) == "HTTP 502 calling DescribeImages: 502 Bad Gateway"


@pytest.mark.parametrize("command", [None, "review", *AWS_COMMANDS, "import"])
def test_help_of_every_command_loads_no_aws_sdk_terminal_library_or_cdk(
    command: str | None,
) -> None:
    argv = [command, "--help"] if command else ["--help"]
    script = (
        "import io, sys, contextlib\n"
        "from ecr_replication.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({argv!r}) == 0\n"
        "heavy = ('boto3', 'botocore', 'rich', 'aws_cdk', 'jsii', 'constructs')\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == []


def test_a_command_runs_with_fewer_collections_and_restores_the_thresholds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[int, ...]] = []

    def run(_: Any) -> int:
        seen.append(gc.get_threshold())
        return 0

    monkeypatch.setattr(
        cli, "_command_module", lambda _: SimpleNamespace(run=run, add_arguments=lambda _: None)
    )
    before = gc.get_threshold()

    assert cli.main(["cost", "--help"]) == 0  # --help never runs the command
    assert cli.main(["cost"]) == 0

    assert seen == [cli.GC_THRESHOLD]
    assert gc.get_threshold() == before
