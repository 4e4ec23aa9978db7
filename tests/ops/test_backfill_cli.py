"""``ecr-replication backfill`` against botocore's Stubber (moto has no backfill API)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from ecr_replication import cli
from ecr_replication.errors import UsageError
from ecr_replication.model import Registry, parse_topology
from ecr_replication.ops.aws import ClientKey, RegistryAccess
from ecr_replication.ops.backfill import Options, Timing, execute, resume_command

SOURCE = "555444333222"
PROD = "123456789012"
STAGING = "210987654321"
PROD_EU = f"{PROD}/eu-west-1"
STAGING_EU = f"{STAGING}/eu-central-1"
STARTED = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
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


def backfill_id(n: int) -> str:
    return f"0a1b2c3d-0000-4000-8000-{n:012d}"


def destination(key: str) -> dict[str, str]:
    account, region = key.split("/")
    return {"registryId": account, "region": region}


def registry(key: str) -> Registry:
    account, region = key.split("/")
    return Registry(account=account, region=region)


class StubbedAccess(RegistryAccess):
    """RegistryAccess whose clients are botocore-stubbed, one per service and region."""

    def __init__(self) -> None:
        self._fake = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        super().__init__(parse_topology(RAW_TOPOLOGY), assume_role=False, session=self._fake)
        self.stubbed: dict[tuple[str, str], tuple[Any, Stubber]] = {}

    def stub(self, service: str, region: str) -> Stubber:
        if (service, region) not in self.stubbed:
            client = self._fake.client(service, region_name=region)
            stubber = Stubber(client)
            stubber.activate()
            self.stubbed[(service, region)] = (client, stubber)
        return self.stubbed[(service, region)][1]

    def new_client(self, session: boto3.session.Session, key: ClientKey) -> Any:
        return self.stubbed[(key.service, key.region)][0]


@dataclass
class SourceEcr:
    """The stubbed ECR of the source registry, with helpers for the backfill calls."""

    stubber: Stubber

    def describe_registry(self, *destinations: str) -> None:
        self.stubber.add_response(
            "describe_registry",
            {
                "registryId": SOURCE,
                "replicationConfiguration": {
                    "rules": [{"destinations": [destination(d) for d in destinations]}]
                },
            },
            {},
        )

    def list_backfills(
        self,
        *running: tuple[str, str, int],
        next_token: str | None = None,
        token: str | None = None,
    ) -> None:
        expected: dict[str, Any] = {"registryId": SOURCE, "maxResults": 50}
        if token:
            expected["nextToken"] = token
        response: dict[str, Any] = {
            "backfills": [
                {
                    "replicationBackfillId": backfill_id(n),
                    "destination": destination(key),
                    "status": status,
                    "startedAt": STARTED,
                }
                for key, status, n in running
            ]
        }
        if next_token:
            response["nextToken"] = next_token
        self.stubber.add_response("list_replication_backfills", response, expected)

    def start(self, key: str, n: int) -> None:
        self.stubber.add_response(
            "start_replication_backfill",
            {"replicationBackfillId": backfill_id(n), "status": "PREPARING"},
            {"registryId": SOURCE, "destination": destination(key)},
        )

    def start_error(self, key: str, code: str) -> None:
        self.stubber.add_client_error(
            "start_replication_backfill",
            service_error_code=code,
            service_message=f"{code} message",
            expected_params={"registryId": SOURCE, "destination": destination(key)},
        )

    def describe(self, n: int, status: str, *, total: int, completed: int, failed: int) -> None:
        self.stubber.add_response(
            "describe_replication_backfill_results",
            {
                "replicationBackfillId": backfill_id(n),
                "status": status,
                "progress": {
                    "totalReplicationCount": total,
                    "completedReplicationCount": completed,
                    "failedReplicationCount": failed,
                    "failureCodes": [],
                },
            },
            {"registryId": SOURCE, "replicationBackfillId": backfill_id(n), "maxResults": 1},
        )

    def failed_results(
        self,
        n: int,
        results: list[tuple[str, str, str]],
        *,
        next_token: str | None = None,
        token: str | None = None,
    ) -> None:
        expected: dict[str, Any] = {
            "registryId": SOURCE,
            "replicationBackfillId": backfill_id(n),
            "resultStatusFilter": "FAILED",
            "maxResults": 1000,
        }
        if token:
            expected["nextToken"] = token
        response: dict[str, Any] = {
            "results": [
                {
                    "repositoryName": repository,
                    "imageId": {"imageDigest": f"sha256:{digest * 64}"[:71], "imageTag": tag},
                    "status": "FAILED",
                    "failureCode": "ReplicationFailure",
                }
                for repository, tag, digest in results
            ]
        }
        if next_token:
            response["nextToken"] = next_token
        self.stubber.add_response("describe_replication_backfill_results", response, expected)


@dataclass
class FakeTime:
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    interrupt_on_sleep: bool = False

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if self.interrupt_on_sleep:
            raise KeyboardInterrupt
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class World:
    access: StubbedAccess
    ecr: SourceEcr
    time: FakeTime = field(default_factory=FakeTime)
    console_output: io.StringIO = field(default_factory=io.StringIO)

    def run(self, **options: Any) -> int:
        if "destinations" in options:
            options["destinations"] = tuple(registry(d) for d in options["destinations"])
        return execute(
            self.access,
            Options(**options),
            timing=Timing(
                poll_seconds=10,
                first_retry_seconds=15,
                clock=self.time.clock,
                sleep=self.time.sleep,
            ),
            resume="ecr-replication backfill --destination X",
            console=Console(file=self.console_output, width=200),
        )

    def report(self, capsys: pytest.CaptureFixture[str], **options: Any) -> tuple[int, Any]:
        code = self.run(as_json=True, **options)
        return code, json.loads(capsys.readouterr().out)

    @property
    def printed(self) -> str:
        return self.console_output.getvalue()


@pytest.fixture
def world() -> Iterator[World]:
    access = StubbedAccess()
    access.stub("sts", "us-east-1").add_response(
        "get_caller_identity",
        {"Account": SOURCE, "Arn": f"arn:aws:iam::{SOURCE}:user/ops", "UserId": "AIDAEXAMPLE"},
        {},
    )
    world = World(access=access, ecr=SourceEcr(access.stub("ecr", "us-east-1")))
    yield world
    for _client, stubber in access.stubbed.values():
        stubber.assert_no_pending_responses()


def by_destination(document: Any) -> dict[str, Any]:
    return {b["destination"]: b for b in document["backfills"]}


# ---------------------------------------------------------------------------------------------
# Start and follow


def test_backfill_is_started_and_followed_to_completion(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start(PROD_EU, 1)
    world.ecr.describe(1, "IN_PROGRESS", total=4, completed=1, failed=0)
    world.ecr.describe(1, "COMPLETE", total=4, completed=4, failed=0)
    world.ecr.failed_results(1, [])

    code, document = world.report(capsys, destinations=[PROD_EU])

    assert code == 0
    assert document["schema"] == "ecr-replication/backfill/v1"
    assert document["exitCode"] == 0
    (backfill,) = document["backfills"]
    assert backfill["state"] == "COMPLETE"
    assert backfill["backfillId"] == backfill_id(1)
    assert backfill["progress"] == {"total": 4, "completed": 4, "failed": 0}
    assert world.time.sleeps == [10.0]


def test_failed_images_are_collected_across_pages_and_printed_with_their_codes(
    world: World,
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start(PROD_EU, 1)
    world.ecr.describe(1, "COMPLETE", total=5, completed=2, failed=3)
    world.ecr.failed_results(
        1, [("prod/api", "v1", "a"), ("prod/api", "v2", "b")], next_token="page-2"
    )
    world.ecr.failed_results(1, [("prod/web", "latest", "c")], token="page-2")

    code = world.run(destinations=[PROD_EU])

    assert code == 1
    assert "2/5 replicated, 3 failed" in world.printed
    for repository, tag in [("prod/api", "v1"), ("prod/api", "v2"), ("prod/web", "latest")]:
        assert any(
            repository in line and tag in line and "ReplicationFailure" in line
            for line in world.printed.splitlines()
        ), (repository, tag)


def test_backfill_already_running_is_followed_not_restarted(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills(
        (STAGING_EU, "COMPLETE", 8), (PROD_EU, "IN_PROGRESS", 9), next_token="more"
    )
    world.ecr.list_backfills(token="more")
    # No start_replication_backfill is queued: starting would fail the test.
    world.ecr.describe(9, "COMPLETE", total=2, completed=2, failed=0)
    world.ecr.failed_results(9, [])

    code, document = world.report(capsys, destinations=[PROD_EU])

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert backfill["backfillId"] == backfill_id(9)
    assert backfill["followedExisting"] is True


def test_in_progress_answer_for_the_same_destination_follows_the_running_backfill(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start_error(PROD_EU, "ReplicationBackfillInProgressException")
    world.ecr.list_backfills((PROD_EU, "PREPARING", 3))

    code, document = world.report(capsys, destinations=[PROD_EU], wait=False)

    assert code == 0
    backfill = by_destination(document)[PROD_EU]
    assert (backfill["backfillId"], backfill["followedExisting"]) == (backfill_id(3), True)


def test_limit_exceeded_waits_with_growing_delays_then_starts(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start_error(PROD_EU, "LimitExceededException")
    world.ecr.start_error(PROD_EU, "LimitExceededException")
    world.ecr.start(PROD_EU, 1)

    code, document = world.report(capsys, destinations=[PROD_EU], wait=False)

    assert code == 0
    assert world.time.sleeps == [15.0, 30.0]
    assert by_destination(document)[PROD_EU]["state"] == "PREPARING"


def test_destination_missing_from_the_deployed_configuration_is_reported_not_attempted(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU)
    world.ecr.list_backfills()
    world.ecr.start(PROD_EU, 1)

    code, document = world.report(capsys, wait=False)

    assert code == 1
    staging = by_destination(document)[STAGING_EU]
    assert (staging["state"], staging["status"], staging["backfillId"]) == (
        "NOT_DEPLOYED",
        "problem",
        None,
    )
    assert "deploy the source stack first" in staging["reason"]


def test_no_wait_starts_every_destination_and_prints_the_ids(world: World) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start(PROD_EU, 1)
    world.ecr.start(STAGING_EU, 2)

    code = world.run(wait=False)

    assert code == 0
    assert backfill_id(1) in world.printed
    assert backfill_id(2) in world.printed
    assert world.time.sleeps == []


def test_access_denied_on_start_leaves_the_destination_unchecked(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start_error(PROD_EU, "AccessDeniedException")

    code, document = world.report(capsys, destinations=[PROD_EU])

    assert code == 3
    assert document["unchecked"] == [
        {
            "registry": f"{SOURCE}/us-east-1",
            "check": f"backfill to {PROD_EU}",
            "reason": f"starting the backfill to {PROD_EU}: access denied "
            "(AccessDeniedException calling StartReplicationBackfill)",
        }
    ]


def test_ctrl_c_stops_following_not_the_backfill_and_says_how_to_resume(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start(PROD_EU, 1)
    world.ecr.describe(1, "IN_PROGRESS", total=4, completed=1, failed=0)
    world.time.interrupt_on_sleep = True

    # No stop_replication_backfill is queued: stopping would fail the test.
    code = world.run(destinations=[PROD_EU])

    assert code == 130
    hint = capsys.readouterr().err
    assert "the backfills keep running in ECR" in hint
    assert "Follow them again with: ecr-replication backfill --destination X" in hint
    assert "IN_PROGRESS" in world.printed
    assert "Interrupted" in world.printed


def test_ctrl_c_with_json_reports_the_backfill_still_running_and_exit_130(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.list_backfills()
    world.ecr.start(PROD_EU, 1)
    world.ecr.describe(1, "IN_PROGRESS", total=4, completed=1, failed=0)
    world.time.interrupt_on_sleep = True

    code, document = world.report(capsys, destinations=[PROD_EU])

    assert code == 130
    assert document["interrupted"] is True
    assert document["exitCode"] == 130
    assert by_destination(document)[PROD_EU]["state"] == "IN_PROGRESS"


# ---------------------------------------------------------------------------------------------
# Stop and dry run


def test_stop_stops_running_backfills_and_reports_destinations_without_one(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.list_backfills((PROD_EU, "IN_PROGRESS", 1), (STAGING_EU, "COMPLETE", 2))
    world.ecr.stubber.add_response(
        "stop_replication_backfill",
        {"replicationBackfillId": backfill_id(1), "status": "STOPPING"},
        {"registryId": SOURCE, "replicationBackfillId": backfill_id(1)},
    )

    code, document = world.report(capsys, stop=True)

    assert code == 0
    assert document["mode"] == "stop"
    backfills = by_destination(document)
    assert (backfills[PROD_EU]["state"], backfills[PROD_EU]["backfillId"]) == (
        "STOPPING",
        backfill_id(1),
    )
    assert backfills[STAGING_EU]["state"] == "NOT_RUNNING"


def _images(*digests: str) -> dict[str, Any]:
    return {
        "imageDetails": [
            {
                "registryId": SOURCE,
                "repositoryName": "prod/api",
                "imageDigest": f"sha256:{d * 64}"[:71],
            }
            for d in digests
        ]
    }


def test_dry_run_counts_matching_source_images_missing_in_each_destination(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.ecr.describe_registry(PROD_EU, STAGING_EU)
    world.ecr.stubber.add_response(
        "describe_repositories",
        {
            "repositories": [
                {"repositoryName": "prod/api", "registryId": SOURCE},
                {"repositoryName": "tools/ci", "registryId": SOURCE},
            ]
        },
    )
    world.ecr.stubber.add_response("describe_images", _images("a", "b", "c"))
    world.access.stub("ecr", "eu-west-1").add_response("describe_images", _images("a"))
    world.access.stub("ecr", "eu-central-1").add_client_error(
        "describe_images", service_error_code="RepositoryNotFoundException"
    )

    code, document = world.report(capsys, dry_run=True)

    assert code == 1
    backfills = by_destination(document)
    assert (backfills[PROD_EU]["missingImages"], backfills[PROD_EU]["repositories"]) == (2, 1)
    assert (backfills[STAGING_EU]["missingImages"], backfills[STAGING_EU]["repositories"]) == (
        3,
        1,
    )
    assert {b["backfillId"] for b in document["backfills"]} == {None}


# ---------------------------------------------------------------------------------------------
# Arguments


def test_destination_outside_the_topology_is_refused(world: World) -> None:
    world.access.stubbed.clear()  # nothing is called
    with pytest.raises(UsageError, match=rf"--destination: {PROD}/us-west-2 is not a destination"):
        world.run(destinations=[f"{PROD}/us-west-2"])


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


def test_resume_command_repeats_the_config_and_destinations() -> None:
    args = cli.build_parser("backfill").parse_args(
        ["backfill", "--config", "ops/topology.json", "--destination", PROD_EU]
    )

    assert resume_command(args) == (
        f"ecr-replication backfill --config ops/topology.json --destination {PROD_EU}"
    )
