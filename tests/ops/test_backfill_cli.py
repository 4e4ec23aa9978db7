"""``ecr-replication backfill`` against the ECR emulator (moto has no backfill API).

Every documented answer of the four backfill operations has a test here: each status a
backfill can have (when found running, while followed, when stopped) and each error botocore
1.44's ECR model lists for ``StartReplicationBackfill``, ``StopReplicationBackfill``,
``ListReplicationBackfills`` and ``DescribeReplicationBackfillResults``.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from rich.console import Console

from ecr_replication import cli
from ecr_replication.errors import UsageError
from ecr_replication.model import Registry, parse_topology
from ecr_replication.ops import aws
from ecr_replication.ops.backfill import (
    BACKFILL_BOTO3,
    CommandLine,
    Options,
    Timing,
    execute,
    resume_command,
)
from tests.backfill_world import (
    MAX_RUNNING_BACKFILLS,
    EcrWorld,
    ImageResult,
    Step,
    declared_errors,
    statuses,
)

SOURCE = "555444333222"
PROD = "123456789012"
STAGING = "210987654321"
PROD_EU = f"{PROD}/eu-west-1"
STAGING_EU = f"{STAGING}/eu-central-1"
OTHER = "999988887777"
REPO_ROOT = Path(__file__).resolve().parents[2]
RAW_TOPOLOGY: dict[str, Any] = {
    "sources": [
        {
            "account": SOURCE,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [
                        {"account": PROD, "region": "eu-west-1"},
                        {"account": STAGING, "region": "eu-central-1"},
                    ],
                }
            ],
        }
    ]
}


def digest(seed: str) -> str:
    return f"sha256:{seed * 64}"[:71]


def registry(key: str) -> Registry:
    account, region = key.split("/")
    return Registry(account=account, region=region)


class WorldAccess(aws.RegistryAccess):
    """RegistryAccess whose every client is answered by the emulator."""

    def __init__(self, world: EcrWorld, **options: Any) -> None:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        super().__init__(parse_topology(RAW_TOPOLOGY), session=session, **options)
        self.world = world

    def new_client(self, session: boto3.session.Session, key: aws.ClientKey) -> Any:
        return self.world.attach(super().new_client(session, key), key.account)


@dataclass
class Run:
    """The world the command meets, and how it is run."""

    world: EcrWorld
    console_output: io.StringIO = field(default_factory=io.StringIO)
    command: CommandLine = field(default_factory=CommandLine)

    @property
    def source(self) -> Any:
        return self.world.at(f"{SOURCE}/us-east-1")

    def __call__(self, **options: Any) -> int:
        if "destinations" in options:
            options["destinations"] = tuple(registry(d) for d in options["destinations"])
        return execute(
            WorldAccess(self.world),
            Options(**options),
            timing=Timing(
                poll_seconds=10,
                first_retry_seconds=15,
                clock=self.world.time.clock,
                sleep=self.world.time.sleep,
            ),
            command=self.command,
            console=Console(file=self.console_output, width=250),
        )

    def report(self, capsys: pytest.CaptureFixture[str], **options: Any) -> tuple[int, Any]:
        capsys.readouterr()
        code = self(as_json=True, **options)
        return code, json.loads(capsys.readouterr().out)

    @property
    def printed(self) -> str:
        return self.console_output.getvalue()

    def called(self, operation: str) -> list[dict[str, Any]]:
        return [p for _, op, p in self.world.calls if op == operation]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    monkeypatch.setattr(aws, "DEFAULT_MAX_WORKERS", 1)
    world = EcrWorld(caller=SOURCE)
    world.at(f"{SOURCE}/us-east-1").configure(PROD_EU, STAGING_EU)
    yield Run(world=world)


def by_destination(document: Any) -> dict[str, Any]:
    return {b["destination"]: b for b in document["backfills"]}


# ---------------------------------------------------------------------------------------------
# Start and follow


def test_backfill_is_started_and_followed_to_completion(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.plan(
        PROD_EU,
        Step(status="IN_PROGRESS", completed=1),
        Step(status="COMPLETE", completed=4),
        total=4,
    )

    code, document = run.report(capsys, destinations=[PROD_EU])

    assert code == 0
    assert document["schema"] == "ecr-replication/backfill/v1"
    assert document["exitCode"] == 0
    (backfill,) = document["backfills"]
    assert backfill["state"] == "COMPLETE"
    assert backfill["backfillId"] == run.source.backfill_to(PROD_EU).backfill_id
    assert backfill["progress"] == {"total": 4, "completed": 4, "failed": 0}
    assert run.world.time.sleeps == [10.0]


def test_failed_images_are_collected_across_pages_and_printed_with_their_codes(
    run: Run,
) -> None:
    failed = [
        ImageResult(repository="prod/api", tag=f"v{n}", digest=digest(str(n))) for n in range(1001)
    ]
    run.source.plan(
        PROD_EU, Step(status="COMPLETE", completed=2, failed=1001), total=1003, results=failed
    )

    code = run(destinations=[PROD_EU])

    assert code == 1
    assert "2/1003 replicated, 1001 failed" in run.printed
    pages = run.called("DescribeReplicationBackfillResults")
    assert [p.get("resultStatusFilter") for p in pages] == [None, "FAILED", "FAILED"]
    assert "v0" in run.printed and "ReplicationFailure" in run.printed
    assert "... and 951 more (see --json)" in run.printed


@pytest.mark.parametrize("status", ["PREPARING", "IN_PROGRESS"])
def test_a_running_backfill_is_followed_not_restarted(
    run: Run, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    running = run.source.running(PROD_EU, status)

    code, document = run.report(capsys, destinations=[PROD_EU])

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["backfillId"], backfill["followedExisting"]) == (running.backfill_id, True)
    assert run.called("StartReplicationBackfill") == []


@pytest.mark.parametrize("ended", ["COMPLETE", "FAILED", "STOPPED"])
def test_an_ended_backfill_in_the_listing_does_not_stop_a_new_one(
    run: Run, capsys: pytest.CaptureFixture[str], ended: str
) -> None:
    old = run.source.running(PROD_EU, ended)

    code, document = run.report(capsys, destinations=[PROD_EU], wait=False)

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert backfill["backfillId"] not in (None, old.backfill_id)
    assert (backfill["state"], backfill["followedExisting"]) == ("PREPARING", False)


def test_a_stopping_backfill_is_waited_for_then_a_new_one_starts(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    stopping = run.source.running(PROD_EU, "STOPPING")
    run.world.time.meanwhile.append(lambda: run.source.end(stopping, "STOPPED"))

    code, document = run.report(capsys, destinations=[PROD_EU])

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert backfill["backfillId"] != stopping.backfill_id
    assert (backfill["state"], backfill["followedExisting"]) == ("COMPLETE", False)
    assert run.world.time.sleeps[0] == 15.0


def test_no_wait_never_reports_a_stopping_backfill_as_started(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    stopping = run.source.running(PROD_EU, "STOPPING")

    code, document = run.report(capsys, destinations=[PROD_EU], wait=False)

    assert code == 1
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["state"], backfill["status"], backfill["backfillId"]) == (
        "BLOCKED",
        "problem",
        None,
    )
    assert backfill["reason"] == (
        f"ECR says not now: the backfill to {PROD_EU} is stopping; nothing started"
    )
    assert document["startLater"] == f"ecr-replication backfill --destination {PROD_EU}"
    assert stopping.status == "STOPPING"


FOLLOWED_TO_THE_END = {
    # what ECR answers at each poll: the final state, its status and the exit code
    "complete": (["PREPARING", "IN_PROGRESS", "COMPLETE"], "COMPLETE", "ok", 0),
    "failed": (["IN_PROGRESS", "FAILED"], "FAILED", "problem", 1),
    "stopped": (["IN_PROGRESS", "STOPPED"], "STOPPED", "problem", 1),
    "stopping-then-stopped": (["IN_PROGRESS", "STOPPING", "STOPPED"], "STOPPED", "problem", 1),
}


@pytest.mark.parametrize("case", FOLLOWED_TO_THE_END)
def test_a_followed_backfill_ends_as_ecr_says(
    run: Run, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    steps, state, status, code = FOLLOWED_TO_THE_END[case]
    run.source.plan(
        PROD_EU,
        *(
            Step(status=s, failure_code="SOMETHING_FAILED" if s == "FAILED" else None)
            for s in steps
        ),
    )

    exit_code, document = run.report(capsys, destinations=[PROD_EU])

    backfill = by_destination(document)[PROD_EU]
    assert (exit_code, backfill["state"], backfill["status"]) == (code, state, status)
    if state == "FAILED":
        assert backfill["failureCode"] == "SOMETHING_FAILED"
    assert len(run.called("DescribeReplicationBackfillResults")) >= len(steps)


def test_every_status_of_the_model_is_met_above() -> None:
    assert set(statuses()) == {
        "PREPARING",
        "IN_PROGRESS",
        "COMPLETE",
        "FAILED",
        "STOPPING",
        "STOPPED",
    }


def test_no_wait_starts_every_destination_and_says_how_to_follow_them(run: Run) -> None:
    run.command = CommandLine(profile="ops")

    code = run(wait=False)

    assert code == 0
    for key in (PROD_EU, STAGING_EU):
        assert run.source.backfill_to(key).backfill_id in run.printed
    assert "Backfills started; follow them with: ecr-replication backfill --profile ops" in (
        run.printed
    )
    assert run.world.time.sleeps == []


def test_no_wait_under_a_full_queue_returns_at_once_with_exit_1_and_the_command(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    regions = ["us-west-1", "us-west-2", "ap-south-1", "ca-central-1", "sa-east-1"]
    for account in (OTHER, PROD):
        for region in regions:
            run.source.running(f"{account}/{region}")
    assert len(run.source.backfills) == MAX_RUNNING_BACKFILLS
    began = run.world.time.now
    run.command = CommandLine(config="ops/cdk.json", profile="ops")

    code = run(wait=False)

    assert code == 1
    assert run.world.time.now - began < 60
    assert run.world.time.sleeps == []
    later = (
        "ecr-replication backfill --config ops/cdk.json --profile ops "
        f"--destination {PROD_EU} --destination {STAGING_EU}"
    )
    assert f"ECR would not start 2 backfill(s) now; start them later with: {later}" in (
        " ".join(run.printed.split())
    )
    capsys.readouterr()
    code, document = run.report(capsys, wait=False)
    assert (code, document["startLater"]) == (1, later)
    assert {b["state"] for b in document["backfills"]} == {"BLOCKED"}


def test_the_registry_limit_waits_with_growing_delays_then_starts(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.fail("StartReplicationBackfill", "LimitExceededException", times=2)

    code, document = run.report(capsys, destinations=[PROD_EU])

    assert code == 0
    assert run.world.time.sleeps[:2] == [15.0, 30.0]
    assert by_destination(document)[PROD_EU]["state"] == "COMPLETE"


def test_in_progress_for_the_same_destination_follows_the_running_backfill(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    # Someone else starts it between the command's listing and its start.
    answer = run.source.answer

    def started_meanwhile(operation: str, params: Any) -> Any:
        if operation == "StartReplicationBackfill" and not run.source.backfills:
            run.source.running(PROD_EU, "PREPARING")
        return answer(operation, params)

    run.source.answer = started_meanwhile  # type: ignore[method-assign]

    code, document = run.report(capsys, destinations=[PROD_EU], wait=False)

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["backfillId"], backfill["followedExisting"]) == (
        run.source.backfills[0].backfill_id,
        True,
    )
    assert len(run.called("ListReplicationBackfills")) == 2


def test_destination_missing_from_the_deployed_configuration_is_reported_not_attempted(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.configure(PROD_EU)

    code, document = run.report(capsys, wait=False)

    assert code == 1
    staging = by_destination(document)[STAGING_EU]
    assert (staging["state"], staging["status"], staging["backfillId"]) == (
        "NOT_DEPLOYED",
        "problem",
        None,
    )
    assert "deploy the source stack first" in staging["reason"]
    assert [p["destination"]["region"] for p in run.called("StartReplicationBackfill")] == [
        "eu-west-1"
    ]


# ---------------------------------------------------------------------------------------------
# Every error the model documents for the four operations, and what is left unchecked

START_REFUSALS = ("ServerException", "InvalidParameterException", "ValidationException")
NOT_NOW = ("LimitExceededException", "ReplicationBackfillInProgressException")
LIST_ERRORS = ("ServerException", "InvalidParameterException", "ValidationException")
DESCRIBE_ERRORS = (
    "ServerException",
    "InvalidParameterException",
    "ValidationException",
    "ReplicationBackfillNotFoundException",
)
STOP_ERRORS = (
    "ServerException",
    "InvalidParameterException",
    "ValidationException",
    "ReplicationBackfillNotFoundException",
)


def test_the_errors_tested_are_every_error_the_model_documents() -> None:
    assert {*START_REFUSALS, *NOT_NOW} == declared_errors("StartReplicationBackfill")
    assert set(LIST_ERRORS) == declared_errors("ListReplicationBackfills")
    assert set(DESCRIBE_ERRORS) == declared_errors("DescribeReplicationBackfillResults")
    assert {*STOP_ERRORS, "ReplicationBackfillInvalidStatusException"} == declared_errors(
        "StopReplicationBackfill"
    )


@pytest.mark.parametrize("code", START_REFUSALS)
def test_a_refused_start_is_a_problem_with_its_code_and_the_others_go_on(
    run: Run, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    run.source.fail("StartReplicationBackfill", code, "it says no")

    exit_code, document = run.report(capsys, wait=False)

    assert exit_code == 1
    assert document["unchecked"] == []
    prod, staging = (by_destination(document)[k] for k in (PROD_EU, STAGING_EU))
    assert (prod["state"], prod["status"], prod["errorCode"]) == ("NOT_STARTED", "problem", code)
    assert prod["reason"] == f"starting the backfill to {PROD_EU}: {code}: it says no"
    assert staging["state"] == "PREPARING"


@pytest.mark.parametrize("code", LIST_ERRORS)
def test_a_listing_error_is_a_problem_with_its_code(
    run: Run, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    run.source.fail("ListReplicationBackfills", code, "cannot list")

    exit_code, document = run.report(capsys, wait=False)

    assert exit_code == 1
    assert {(b["state"], b["errorCode"]) for b in document["backfills"]} == {("NOT_STARTED", code)}
    assert run.called("StartReplicationBackfill") == []


@pytest.mark.parametrize("code", DESCRIBE_ERRORS)
def test_an_error_while_following_is_a_problem_with_its_code(
    run: Run, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    run.source.fail("DescribeReplicationBackfillResults", code, "cannot describe")

    exit_code, document = run.report(capsys, destinations=[PROD_EU])

    assert exit_code == 1
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["state"], backfill["errorCode"]) == ("PREPARING", code)
    assert backfill["reason"].endswith(f": {code}: cannot describe")
    assert len(run.called("DescribeReplicationBackfillResults")) == 1, "it stops following"


@pytest.mark.parametrize("code", STOP_ERRORS)
def test_a_stop_error_is_a_problem_with_its_code(
    run: Run, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    run.source.running(PROD_EU, "IN_PROGRESS")
    run.source.fail("StopReplicationBackfill", code, "cannot stop")

    exit_code, document = run.report(capsys, stop=True, destinations=[PROD_EU])

    assert exit_code == 1
    assert by_destination(document)[PROD_EU]["errorCode"] == code


def test_a_stop_answered_invalid_status_means_it_ended_before_the_stop(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.running(PROD_EU, "IN_PROGRESS")
    run.source.fail("StopReplicationBackfill", "ReplicationBackfillInvalidStatusException")

    code, document = run.report(capsys, stop=True, destinations=[PROD_EU])

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["state"], backfill["status"]) == ("NOT_RUNNING", "skipped")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("AccessDeniedException", "access denied (AccessDeniedException calling"),
        ("ThrottlingException", "throttled past retries (ThrottlingException calling"),
    ],
)
def test_what_says_nothing_about_the_backfill_leaves_it_unchecked(
    run: Run, capsys: pytest.CaptureFixture[str], code: str, reason: str
) -> None:
    run.source.fail("StartReplicationBackfill", code)

    exit_code, document = run.report(capsys, destinations=[PROD_EU])

    assert exit_code == 3
    (unchecked,) = document["unchecked"]
    assert unchecked["reason"].startswith(f"starting the backfill to {PROD_EU}: {reason}")


def test_a_boto3_without_the_backfill_api_gets_one_line_naming_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # botocore's own ECR model without the backfill operations: what an older release has.
    loader = botocore.session.get_session().get_component("data_loader")
    model = loader.load_service_model("ecr", "service-2")
    for operation in list(model["operations"]):
        if "ReplicationBackfill" in operation:
            del model["operations"][operation]
    folder = tmp_path / "models" / "ecr" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    installed = Path(botocore.__file__).parent / "data" / "ecr"
    shutil.copy(next(installed.glob("*/endpoint-rule-set-1.json*")), folder)
    old = botocore.session.Session()
    old.set_config_variable("data_path", str(tmp_path / "models"))
    world = EcrWorld(caller=SOURCE)
    world.at(f"{SOURCE}/us-east-1").configure(PROD_EU, STAGING_EU)

    def new_client(self: aws.RegistryAccess, session: Any, key: aws.ClientKey) -> Any:
        if key.service == "ecr":
            client = old.create_client("ecr", region_name=key.region)
        else:
            client = session.client(key.service, region_name=key.region)
        return world.attach(client, key.account)

    monkeypatch.setattr(aws.RegistryAccess, "new_client", new_client)
    config = tmp_path / "topology.json"
    config.write_text(json.dumps(RAW_TOPOLOGY))

    code = cli.main(["backfill", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.splitlines() == [
        f"ecr-replication backfill: this botocore ({botocore.__version__}) has no "
        "start_replication_backfill: backfill needs boto3 and botocore 1.44 or newer "
        "(pip install --upgrade 'boto3>=1.44')"
    ]


def test_the_version_named_is_the_lower_bound_of_the_boto3_dependency() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    (boto3_range,) = [d for d in project["dependencies"] if d.startswith("boto3")]
    assert re.match(r"boto3>=([\d.]+)", boto3_range)[1] == BACKFILL_BOTO3  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# Ctrl-C, and the commands printed


def test_ctrl_c_stops_following_not_the_backfill_and_says_how_to_resume(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.plan(PROD_EU, Step(status="IN_PROGRESS", completed=1), total=4)
    run.command = CommandLine(
        profile="ops",
        assume_role=False,
        role_name="reader",
        source_role_name="source reader",
        destinations=(registry(PROD_EU),),
    )

    def interrupt() -> None:
        raise KeyboardInterrupt

    run.world.time.meanwhile.append(interrupt)

    code = run(destinations=[PROD_EU])

    assert code == 130
    hint = capsys.readouterr().err
    command = (
        "ecr-replication backfill --profile ops --no-assume-role --role-name reader "
        f"--source-role-name 'source reader' --destination {PROD_EU}"
    )
    assert "the backfills keep running in ECR" in hint
    assert f"Follow them again with: {command}   (or stop them with: {command} --stop)" in hint
    assert "IN_PROGRESS" in run.printed
    assert run.called("StopReplicationBackfill") == []


def test_ctrl_c_with_json_reports_the_backfill_still_running_and_exit_130(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.plan(PROD_EU, Step(status="IN_PROGRESS", completed=1), total=4)

    def interrupt() -> None:
        raise KeyboardInterrupt

    run.world.time.meanwhile.append(interrupt)

    code, document = run.report(capsys, destinations=[PROD_EU])

    assert code == 130
    assert document["interrupted"] is True
    assert document["exitCode"] == 130
    assert by_destination(document)[PROD_EU]["state"] == "IN_PROGRESS"


def test_every_command_printed_repeats_every_option_of_the_run() -> None:
    args = cli.build_parser("backfill").parse_args(
        [
            "backfill",
            "--config",
            "ops/my topology.json",
            "--profile",
            "ops",
            "--no-assume-role",
            "--role-name",
            "reader",
            "--source-role-name",
            "src",
            "--destination",
            PROD_EU,
            "--no-wait",
        ]
    )

    assert resume_command(args) == (
        "ecr-replication backfill --config 'ops/my topology.json' --profile ops "
        f"--no-assume-role --role-name reader --source-role-name src --destination {PROD_EU}"
    )
    bare = cli.build_parser("backfill").parse_args(["backfill"])
    assert resume_command(bare) == "ecr-replication backfill"


# ---------------------------------------------------------------------------------------------
# Stop


@pytest.mark.parametrize(
    ("found", "answer", "state"),
    [
        ("PREPARING", None, "STOPPED"),  # nothing in flight: stopped at once
        ("IN_PROGRESS", None, "STOPPING"),  # replications in flight finish first
        ("IN_PROGRESS", "STOPPED", "STOPPED"),
    ],
)
def test_a_stop_answered_stopped_or_stopping_succeeds(
    run: Run, capsys: pytest.CaptureFixture[str], found: str, answer: str | None, state: str
) -> None:
    run.source.running(PROD_EU, found, stop_answer=answer)

    code, document = run.report(capsys, stop=True, destinations=[PROD_EU])

    assert code == 0
    assert document["mode"] == "stop"
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["state"], backfill["status"]) == (state, "ok")
    assert len(run.called("StopReplicationBackfill")) == 1


@pytest.mark.parametrize(
    ("found", "state", "status"),
    [
        ("STOPPING", "STOPPING", "ok"),
        ("COMPLETE", "NOT_RUNNING", "skipped"),
        ("FAILED", "NOT_RUNNING", "skipped"),
        ("STOPPED", "NOT_RUNNING", "skipped"),
    ],
)
def test_a_backfill_stopping_or_ended_is_not_stopped_again(
    run: Run, capsys: pytest.CaptureFixture[str], found: str, state: str, status: str
) -> None:
    run.source.running(PROD_EU, found)

    code, document = run.report(capsys, stop=True, destinations=[PROD_EU])

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["state"], backfill["status"]) == (state, status)
    assert run.called("StopReplicationBackfill") == []


# ---------------------------------------------------------------------------------------------
# Dry run


def test_dry_run_counts_image_and_tag_pairs_and_archived_images_apart(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    source, prod = run.source, run.world.at(PROD_EU)
    source.push("prod/api", digest("a"), "v1", "latest")  # 2 pairs
    source.push("prod/api", digest("b"))  # untagged: 1
    source.push("prod/api", digest("c"), "v0", status="ARCHIVED")
    source.push("prod/api", digest("d"), "old", status="ACTIVATING")
    source.push("tools/ci", digest("e"), "v1")  # no rule replicates it
    prod.push("prod/api", digest("a"), "v1")  # "latest" is missing
    prod.push("prod/api", digest("b"))
    prod.push("prod/api", digest("c"), "v0", status="ARCHIVED")  # there, archived

    code, document = run.report(capsys, dry_run=True)

    assert code == 1
    backfills = by_destination(document)
    assert {
        k: backfills[PROD_EU][k]
        for k in (
            "replications",
            "missingReplications",
            "archivedImages",
            "archivedMissingReplications",
            "repositories",
        )
    } == {
        "replications": 3,
        "missingReplications": 1,
        "archivedImages": 2,
        "archivedMissingReplications": 1,
        "repositories": 1,
    }
    # The destination's repository does not exist: everything is missing there.
    assert (
        backfills[STAGING_EU]["missingReplications"],
        backfills[STAGING_EU]["archivedMissingReplications"],
    ) == (3, 2)
    assert (
        "ECR does not document what a backfill does with archived images"
        in (backfills[PROD_EU]["reason"])
    )
    listings = run.called("DescribeImages")
    assert {p.get("filter", {}).get("imageStatus") for p in listings} == {"ANY"}
    assert {b["backfillId"] for b in document["backfills"]} == {None}
    assert run.called("StartReplicationBackfill") == []


def test_dry_run_exits_0_when_only_archived_images_are_missing(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.push("prod/api", digest("a"), "v1")
    run.source.push("prod/api", digest("c"), "v0", status="ARCHIVED")
    for key in (PROD_EU, STAGING_EU):
        run.world.at(key).push("prod/api", digest("a"), "v1")

    code, document = run.report(capsys, dry_run=True)

    assert code == 0
    assert {b["archivedMissingReplications"] for b in document["backfills"]} == {1}
    assert {b["status"] for b in document["backfills"]} == {"ok"}


def test_dry_run_exits_3_when_a_destination_cannot_be_read(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.source.push("prod/api", digest("a"), "v1")
    run.world.at(PROD_EU).push("prod/api", digest("a"), "v1")
    run.world.at(STAGING_EU).push("prod/api", digest("a"), "v1")
    run.world.at(STAGING_EU).fail("DescribeImages", "AccessDeniedException", times=None)

    code, document = run.report(capsys, dry_run=True)

    assert code == 3
    assert [u["check"] for u in document["unchecked"]] == [f"backfill to {STAGING_EU}"]


# ---------------------------------------------------------------------------------------------
# Arguments


def test_destination_outside_the_topology_is_refused(run: Run) -> None:
    with pytest.raises(UsageError, match=rf"--destination: {PROD}/us-west-2 is not a destination"):
        run(destinations=[f"{PROD}/us-west-2"])
    assert run.world.calls == []


def test_malformed_destination_argument_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "topology.json"
    config.write_text(json.dumps(RAW_TOPOLOGY))

    code = cli.main(["backfill", "--config", str(config), "--destination", "prod-eu"])

    assert code == 2
    assert "'prod-eu' is not ACCOUNT/REGION, e.g. 123456789012/eu-west-1" in capsys.readouterr().err


def test_stop_and_dry_run_cannot_be_combined(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["backfill", "--stop", "--dry-run"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
