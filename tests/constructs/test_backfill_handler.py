"""The backfill-on-deploy Lambda handler, against the ECR emulator (moto has no backfill API).

Every documented answer of the two operations the function calls (``StartReplicationBackfill``,
``ListReplicationBackfills``: their errors in botocore 1.44's model, and every backfill status
a listing can show) has a test here; so do CloudFormation's rules for the response (one per
request, within 4,096 bytes) and the function's time.
"""

from __future__ import annotations

import ast
import io
import json
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from ecr_replication.constructs import backfill_handler
from ecr_replication.constructs.backfill_handler import (
    ECR_BACKFILL_MODEL,
    MAX_RESPONSE_BYTES,
    Budget,
    ecr_client,
    handler,
)
from tests.backfill_world import (
    MAX_RUNNING_BACKFILLS,
    EcrWorld,
    Registry,
    declared_errors,
    statuses,
)

SOURCE = "555444333222"
PROD = "123456789012"
STAGING = "210987654321"
PROD_EU = f"{PROD}/eu-west-1"
STAGING_EU = f"{STAGING}/eu-west-1"
STAGING_CENTRAL = f"{STAGING}/eu-central-1"
RESPONSE_URL = "https://cloudformation-custom-resource-response.example/secret-signature"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{SOURCE}:stack/Source/guid"
ANOTHER_ACCOUNT = "999988887777"


def destinations(*keys: str) -> list[dict[str, str]]:
    return [{"RegistryId": key.split("/")[0], "Region": key.split("/")[1]} for key in keys]


def event(request_type: str, new: list[str], old: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": STACK_ID,
        "RequestId": "request-1",
        "LogicalResourceId": "ReplicationBackfill",
        "ResourceType": "Custom::EcrReplicationBackfill",
        "ResourceProperties": {"ServiceToken": "arn:fn", "Destinations": destinations(*new)},
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = "backfill-request-0"
    if old is not None:
        body["OldResourceProperties"] = {
            "ServiceToken": "arn:fn",
            "Destinations": destinations(*old),
        }
    return body


@dataclass
class LambdaContext:
    remaining_ms: int = 600_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Deploy:
    """One handler invocation's collaborators: the emulated source registry, fake time, the
    clients the handler made and the response it sent."""

    world: EcrWorld
    model_dir: Path
    responses: list[dict[str, Any]] = field(default_factory=list)
    configs: list[Config] = field(default_factory=list)
    began: float = 0.0

    @property
    def source(self) -> Registry:
        return self.world.at(f"{SOURCE}/us-east-1")

    def client(self, config: Config) -> Any:
        self.configs.append(config)
        client = ecr_client("us-east-1", model_dir=str(self.model_dir), config=config)
        return self.world.attach(client)

    def send(self, url: str, body: bytes, timeout: float) -> None:
        assert len(body) <= MAX_RESPONSE_BYTES
        self.responses.append(
            {"url": url, "size": len(body), "at": self.world.time.now, **json.loads(body)}
        )

    def run(self, request: dict[str, Any], context: LambdaContext | None = None) -> dict[str, Any]:
        self.began = self.world.time.now
        handler(
            request,
            context or LambdaContext(),
            make_client=self.client,
            clock=self.world.time.clock,
            sleep=self.world.time.sleep,
            send=self.send,
        )
        assert len(self.responses) == 1, "CloudFormation must get exactly one response"
        return self.responses[0]

    def deliver_with(self, send: Any) -> None:
        """Answer a Delete (no ECR call) through ``send`` instead of :meth:`send`."""
        handler(
            event("Delete", []),
            LambdaContext(600_000),
            clock=self.world.time.clock,
            sleep=self.world.time.sleep,
            send=send,
        )

    def starts(self) -> list[str]:
        return [
            f"{p['destination']['registryId']}/{p['destination']['region']}"
            for _, operation, p in self.world.calls
            if operation == "StartReplicationBackfill"
        ]


@pytest.fixture
def deploy(tmp_path: Path) -> Deploy:
    world = EcrWorld(caller=SOURCE)
    deploy = Deploy(world=world, model_dir=tmp_path)
    deploy.source.configure(PROD_EU, STAGING_EU, STAGING_CENTRAL)
    return deploy


# ---------------------------------------------------------------------------------------------
# Which destinations get a backfill


def test_create_starts_one_backfill_per_destination(deploy: Deploy) -> None:
    response = deploy.run(event("Create", [PROD_EU, STAGING_CENTRAL]))

    assert response["Status"] == "SUCCESS"
    assert deploy.starts() == [PROD_EU, STAGING_CENTRAL]
    assert response["Data"] == {"Started": f"{PROD_EU},{STAGING_CENTRAL}", "NotStarted": ""}
    assert deploy.source.backfill_to(PROD_EU).backfill_id in response["Reason"]
    assert response["PhysicalResourceId"] == "backfill-request-1"


def test_update_starts_backfills_only_for_destinations_not_in_the_old_properties(
    deploy: Deploy,
) -> None:
    response = deploy.run(event("Update", [PROD_EU, STAGING_CENTRAL], old=[PROD_EU]))

    assert response["Status"] == "SUCCESS"
    assert deploy.starts() == [STAGING_CENTRAL]
    assert response["Data"] == {"Started": STAGING_CENTRAL, "NotStarted": ""}
    assert response["PhysicalResourceId"] == "backfill-request-0", "an update keeps the resource"


def test_update_that_only_removes_destinations_calls_no_ecr_api(deploy: Deploy) -> None:
    response = deploy.run(event("Update", [PROD_EU], old=[PROD_EU, STAGING_EU]))

    assert response["Status"] == "SUCCESS"
    assert response["Reason"] == "no destination is new; no backfill started"
    assert deploy.world.calls == []
    assert deploy.configs == [], "no client is even made"


def test_delete_starts_and_stops_nothing(deploy: Deploy) -> None:
    running = deploy.source.running(PROD_EU)

    response = deploy.run(event("Delete", [PROD_EU]))

    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == "backfill-request-0"
    assert deploy.world.calls == []
    assert running.status == "IN_PROGRESS"


# ---------------------------------------------------------------------------------------------
# Every status a listing can show for the destination, after "a backfill is in progress"


@pytest.mark.parametrize("status", ["PREPARING", "IN_PROGRESS"])
def test_a_backfill_running_to_the_destination_counts_as_started(
    deploy: Deploy, status: str
) -> None:
    running = deploy.source.running(PROD_EU, status)

    response = deploy.run(event("Create", [PROD_EU]))

    assert response["Status"] == "SUCCESS"
    assert f"{PROD_EU} ({running.backfill_id}, already running)" in response["Reason"]
    assert deploy.world.time.sleeps == []


def test_a_backfill_stopping_to_the_destination_is_not_started_and_is_waited_for(
    deploy: Deploy,
) -> None:
    stopping = deploy.source.running(PROD_EU, "STOPPING")
    deploy.world.time.meanwhile.append(lambda: deploy.source.end(stopping, "STOPPED"))

    response = deploy.run(event("Create", [PROD_EU]))

    assert response["Status"] == "SUCCESS"
    assert deploy.world.time.sleeps == [5.0]
    new = deploy.source.backfill_to(PROD_EU)
    assert new is not stopping
    assert f"{PROD_EU} ({new.backfill_id})" in response["Reason"]


def test_a_backfill_that_stays_stopping_leaves_the_destination_not_started(
    deploy: Deploy,
) -> None:
    deploy.source.running(PROD_EU, "STOPPING")

    response = deploy.run(event("Update", [PROD_EU], old=[]))

    assert response["Status"] == "SUCCESS"
    assert response["Data"] == {"Started": "", "NotStarted": PROD_EU}
    assert f"{PROD_EU}: a backfill to {PROD_EU} is stopping" in response["Reason"]


@pytest.mark.parametrize("ended", ["COMPLETE", "FAILED", "STOPPED"])
def test_an_ended_backfill_to_the_destination_does_not_count_as_started(
    deploy: Deploy, ended: str
) -> None:
    # ECR runs one backfill per destination *region*: another account's blocks this one.
    deploy.source.running(STAGING_EU, ended)
    blocking = deploy.source.running(f"{ANOTHER_ACCOUNT}/eu-west-1")
    deploy.source.destinations.append((ANOTHER_ACCOUNT, "eu-west-1"))
    deploy.world.time.meanwhile.append(lambda: deploy.source.end(blocking))

    response = deploy.run(event("Create", [STAGING_EU]))

    assert response["Status"] == "SUCCESS"
    assert deploy.starts() == [STAGING_EU, STAGING_EU]
    assert "already running" not in response["Reason"]


def test_every_status_of_the_model_is_covered_above() -> None:
    assert set(statuses()) == {
        "PREPARING",
        "IN_PROGRESS",
        "STOPPING",
        "COMPLETE",
        "FAILED",
        "STOPPED",
    }


# ---------------------------------------------------------------------------------------------
# Every error the model documents for the two operations

START_ERRORS = {
    # code: what the function makes of it
    "ServerException": "refused",
    "InvalidParameterException": "refused",
    "ValidationException": "refused",
    "LimitExceededException": "not now",
    "ReplicationBackfillInProgressException": "not now",
}
LIST_ERRORS = ("ServerException", "InvalidParameterException", "ValidationException")


def test_the_errors_tested_are_every_error_the_model_documents() -> None:
    assert set(START_ERRORS) == declared_errors("StartReplicationBackfill")
    assert set(LIST_ERRORS) == declared_errors("ListReplicationBackfills")
    # The function calls nothing else; Stop and Describe answers cannot reach it.
    assert set(ECR_BACKFILL_MODEL["operations"]) == {
        "StartReplicationBackfill",
        "ListReplicationBackfills",
    }


@pytest.mark.parametrize("code", [c for c, kind in START_ERRORS.items() if kind == "refused"])
def test_a_refused_start_fails_a_create_naming_the_code_and_the_command(
    deploy: Deploy, code: str
) -> None:
    deploy.source.fail("StartReplicationBackfill", code, "it says no")

    response = deploy.run(event("Create", [PROD_EU, STAGING_CENTRAL]))

    assert response["Status"] == "FAILED"
    assert deploy.starts() == [PROD_EU, STAGING_CENTRAL], "tried again only by the command"
    assert response["Reason"].startswith(
        f"1 of 2 backfills not started. Start them with: ecr-replication backfill "
        f"--destination {PROD_EU}. Why: {PROD_EU}: {code}: it says no. Started: "
        f"{STAGING_CENTRAL} ("
    )
    assert deploy.world.time.sleeps == []


@pytest.mark.parametrize("code", [c for c, kind in START_ERRORS.items() if kind == "refused"])
def test_a_refused_start_never_fails_an_update(deploy: Deploy, code: str) -> None:
    deploy.source.fail("StartReplicationBackfill", code, "it says no")

    response = deploy.run(event("Update", [PROD_EU], old=[]))

    assert response["Status"] == "SUCCESS"
    assert response["Data"] == {"Started": "", "NotStarted": PROD_EU}
    assert response["Reason"] == (
        "1 of 1 backfills not started; the update goes on. Start them with: "
        f"ecr-replication backfill --destination {PROD_EU}. Why: {PROD_EU}: {code}: it says no. "
        "None started"
    )


def test_registry_limit_is_retried_with_growing_delays_until_a_backfill_starts(
    deploy: Deploy,
) -> None:
    deploy.source.fail("StartReplicationBackfill", "LimitExceededException", times=3)

    response = deploy.run(event("Create", [PROD_EU]))

    assert response["Status"] == "SUCCESS"
    assert deploy.world.time.sleeps == [5.0, 10.0, 20.0]


def test_in_progress_for_another_account_in_the_region_waits_then_starts(deploy: Deploy) -> None:
    blocking = deploy.source.running(f"{ANOTHER_ACCOUNT}/eu-west-1")
    deploy.world.time.meanwhile += [lambda: None, lambda: deploy.source.end(blocking)]

    response = deploy.run(event("Create", [PROD_EU]))

    assert response["Status"] == "SUCCESS"
    assert deploy.world.time.sleeps == [5.0, 10.0]
    assert deploy.world.operations_called() == [
        "StartReplicationBackfill",
        "ListReplicationBackfills",
        "StartReplicationBackfill",
        "ListReplicationBackfills",
        "StartReplicationBackfill",
    ]


def test_the_listing_is_read_across_pages(deploy: Deploy) -> None:
    # 51 ended backfills fill more than one page of 50 before the running one.
    for _ in range(51):
        deploy.source.running(PROD_EU, "COMPLETE")
    running = deploy.source.running(PROD_EU, "IN_PROGRESS")

    response = deploy.run(event("Create", [PROD_EU]))

    assert f"{running.backfill_id}, already running" in response["Reason"]
    listings = [p for _, op, p in deploy.world.calls if op == "ListReplicationBackfills"]
    assert [p.get("nextToken") is not None for p in listings] == [False, True]


@pytest.mark.parametrize("code", LIST_ERRORS)
def test_a_listing_error_leaves_the_destination_not_started_with_the_code(
    deploy: Deploy, code: str
) -> None:
    deploy.source.running(PROD_EU)
    deploy.source.fail("ListReplicationBackfills", code, "cannot list")

    response = deploy.run(event("Create", [PROD_EU]))

    assert response["Status"] == "FAILED"
    assert f"{PROD_EU}: listing the running backfills: {code}: cannot list" in response["Reason"]


def test_every_destination_is_tried_after_one_fails_and_the_started_ones_are_named(
    deploy: Deploy,
) -> None:
    deploy.source.configure(PROD_EU, STAGING_CENTRAL)  # STAGING_EU is not configured

    response = deploy.run(event("Create", [PROD_EU, STAGING_EU, STAGING_CENTRAL]))

    assert response["Status"] == "FAILED"
    assert deploy.starts() == [PROD_EU, STAGING_EU, STAGING_CENTRAL]
    prod, central = (deploy.source.backfill_to(k).backfill_id for k in (PROD_EU, STAGING_CENTRAL))
    assert response["Reason"].endswith(
        f"Started: {PROD_EU} ({prod}), {STAGING_CENTRAL} ({central})"
    )
    assert response["Data"] == {
        "Started": f"{PROD_EU},{STAGING_CENTRAL}",
        "NotStarted": STAGING_EU,
    }


# ---------------------------------------------------------------------------------------------
# A full queue: Update (a rollback too) succeeds, Create fails, both name the command


def full_queue(source: Registry) -> None:
    regions = ["us-west-1", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2"]
    for account in (PROD, STAGING):
        for region in regions:
            source.running(f"{account}/{region}")
    assert len(source.backfills) == MAX_RUNNING_BACKFILLS


def test_a_rollback_shaped_update_under_a_full_queue_answers_success(deploy: Deploy) -> None:
    # The update removed STAGING_CENTRAL and failed; its rollback is an Update with the
    # properties swapped, which asks for a backfill to STAGING_CENTRAL again.
    full_queue(deploy.source)

    response = deploy.run(
        event("Update", [PROD_EU, STAGING_CENTRAL], old=[PROD_EU]), LambdaContext(600_000)
    )

    assert response["Status"] == "SUCCESS"
    assert response["Reason"] == (
        "1 of 1 backfills not started; the update goes on. Start them with: "
        f"ecr-replication backfill --destination {STAGING_CENTRAL}. Why: {STAGING_CENTRAL}: "
        "ECR already runs the most backfills a registry may run at once. None started"
    )
    assert response["Data"] == {"Started": "", "NotStarted": STAGING_CENTRAL}
    budget = Budget.from_remaining(deploy.began, 600.0)
    assert response["at"] <= budget.answer_deadline
    assert len(deploy.starts()) > 5, "it kept trying while there was time"


def test_a_create_under_a_full_queue_fails_naming_the_command(deploy: Deploy) -> None:
    full_queue(deploy.source)

    response = deploy.run(event("Create", [PROD_EU, STAGING_CENTRAL]), LambdaContext(100_000))

    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(
        "2 of 2 backfills not started. Start them with: ecr-replication backfill "
        f"--destination {PROD_EU} --destination {STAGING_CENTRAL}. Why: "
    )
    # 100 s: 2 s of margin, 25 s for the answer, calls until 73 s; a call may take
    # 2 * (3.65 + 7.3) + 1 + 5 = 27.9 s, so the last round begins by 45.1 s.
    assert deploy.world.time.sleeps == pytest.approx([5.0, 10.0, 20.0, 10.1])
    assert response["at"] - deploy.began <= 98


# ---------------------------------------------------------------------------------------------
# The response: one per request, within 4,096 bytes


@pytest.mark.parametrize("count", [1, 48, 300])
@pytest.mark.parametrize("started", [True, False], ids=["started", "queue-full"])
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_every_response_fits_cloudformations_4096_bytes(
    tmp_path: Path, count: int, started: bool, request_type: str
) -> None:
    """AWS CloudFormation User Guide, "Custom resource response objects"
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html):
    "The total size of the response body can't exceed 4096 bytes"; ``Status``,
    ``PhysicalResourceId``, ``StackId``, ``RequestId`` and ``LogicalResourceId`` are required,
    the last three copied from the request; ``Reason`` is required when the status is FAILED.
    The request's identifiers are as long as CloudFormation makes them here.
    """
    world = EcrWorld(caller=SOURCE)
    deploy = Deploy(world=world, model_dir=tmp_path)
    # The longest region names: the longest command.
    regions = ["ap-southeast-1", "ap-northeast-1", "ap-southeast-2", "ap-northeast-2"]
    keys = [f"{100000000000 + n:012d}/{regions[n % len(regions)]}" for n in range(count)]
    deploy.source.configure(*keys)
    if not started:
        full_queue(deploy.source)
    request = event(request_type, keys, old=[] if request_type == "Update" else None)
    request["StackId"] = f"arn:aws:cloudformation:us-east-1:{SOURCE}:stack/{'S' * 128}/" + (
        "0123abcd-0123-4567-89ab-0123456789ab"
    )
    request["LogicalResourceId"] = "L" * 255
    request["RequestId"] = "0123abcd-0123-4567-89ab-0123456789ab"

    response = deploy.run(request, LambdaContext(120_000))

    assert response["size"] <= 4096
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        assert response[key] == request[key]
    assert response["PhysicalResourceId"]
    assert response["Status"] in ("SUCCESS", "FAILED")
    if response["Status"] == "FAILED":
        assert response["Reason"]
    if not started:
        assert response["Reason"].startswith(f"{count} of {count} backfills not started")
        if count <= 48:
            # The command with every destination always survives the cut.
            assert (
                "Start them with: ecr-replication backfill --destination " in (response["Reason"])
            )
            assert all(f"--destination {key}" in response["Reason"] for key in keys)
        else:
            assert (
                "Start them with: ecr-replication backfill (every destination"
                in (response["Reason"])
            )


def test_a_response_that_would_not_fit_is_cut_and_says_so(deploy: Deploy) -> None:
    body = backfill_handler.response_body(
        event("Create", []),
        status="FAILED",
        reason="x" * 5000,
        physical_id="p",
        data={"Started": ",".join(f"{n:012d}/eu-west-1" for n in range(100)), "NotStarted": ""},
    )

    response = json.loads(body)
    assert len(body) <= 4096
    assert response["Reason"].endswith(" ... (cut; the function's log has it all)")
    assert response["Data"]["Started"].endswith("more")
    assert len(response["Data"]["Started"]) <= 420


def test_response_goes_to_the_response_url_with_the_request_ids(deploy: Deploy) -> None:
    response = deploy.run(event("Delete", []))

    assert response["url"] == RESPONSE_URL
    assert response["StackId"] == STACK_ID
    assert response["RequestId"] == "request-1"
    assert response["LogicalResourceId"] == "ReplicationBackfill"
    assert response["Reason"] == "nothing to do on delete: running backfills go on"


def test_response_url_is_kept_out_of_the_logs(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy.run(event("Create", [PROD_EU]))

    logs = capsys.readouterr().out
    assert "RequestType" in logs
    assert f"backfill to {PROD_EU}" in logs
    assert "secret-signature" not in logs


def test_only_an_https_response_url_is_answered(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    request = event("Delete", [])
    request["ResponseURL"] = "file:///etc/passwd"

    handler(request, LambdaContext(), send=deploy.send)

    assert deploy.responses == []
    assert "REFUSED to answer: the ResponseURL is not an https URL (scheme 'file')" in (
        capsys.readouterr().out
    )


def test_a_failed_response_put_is_retried_and_logged(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = [ConnectionResetError("reset"), TimeoutError("timed out")]
    timeouts: list[float] = []

    def flaky(url: str, body: bytes, timeout: float) -> None:
        timeouts.append(timeout)
        if failures:
            raise failures.pop(0)
        deploy.send(url, body, timeout)

    deploy.deliver_with(flaky)

    assert len(deploy.responses) == 1
    logs = capsys.readouterr().out
    assert "response PUT attempt 1 failed: ConnectionResetError: reset" in logs
    assert "response PUT attempt 2 failed: TimeoutError: timed out" in logs
    # Each attempt leaves room for the ones after it, within the 30 s kept for answering.
    assert sum(timeouts) + sum(deploy.world.time.sleeps) <= 30


def test_a_response_that_cannot_be_delivered_is_logged_and_the_function_returns(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    attempts: list[float] = []

    def down(url: str, body: bytes, timeout: float) -> None:
        attempts.append(timeout)
        raise OSError("network unreachable")

    deploy.deliver_with(down)

    assert len(attempts) == 3
    assert "NO RESPONSE DELIVERED to CloudFormation" in capsys.readouterr().out


def test_response_is_put_as_json_with_the_empty_content_type_the_url_is_signed_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[urllib.request.Request, float]] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> io.BytesIO:
        sent.append((request, timeout))
        return io.BytesIO(b"")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    backfill_handler.send_response(RESPONSE_URL, b'{"Status": "SUCCESS"}', 7.5)

    ((request, timeout),) = sent
    assert request.get_method() == "PUT"
    assert request.full_url == RESPONSE_URL
    assert request.get_header("Content-type") == ""
    assert json.loads(request.data) == {"Status": "SUCCESS"}  # type: ignore[arg-type]
    assert timeout == 7.5


# ---------------------------------------------------------------------------------------------
# Requests that cannot be worked on


def test_destinations_property_of_the_wrong_shape_fails_a_create_naming_the_field(
    deploy: Deploy,
) -> None:
    request = event("Create", [])
    request["ResourceProperties"]["Destinations"] = [{"Region": "eu-west-1"}]

    response = deploy.run(request)

    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(
        "ResourceProperties.Destinations[0]: {'Region': 'eu-west-1'} is not"
    )


def test_old_properties_of_the_wrong_shape_never_fail_an_update(deploy: Deploy) -> None:
    # The rollback of an update whose properties were broken carries them as the old ones.
    request = event("Update", [PROD_EU])
    request["OldResourceProperties"] = {"Destinations": "broken"}

    response = deploy.run(request)

    assert response["Status"] == "SUCCESS"
    assert response["Reason"] == (
        "no backfill started (OldResourceProperties.Destinations: 'broken' is not a list of "
        "destinations); the update goes on"
    )


def test_unknown_request_type_fails_naming_it(deploy: Deploy) -> None:
    response = deploy.run(event("Replace", [PROD_EU]))

    assert response["Status"] == "FAILED"
    assert response["Reason"] == "RequestType: 'Replace' is not Create, Update or Delete"


class BrokenContext(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        raise RuntimeError("no clock")


@pytest.mark.parametrize(("request_type", "status"), [("Create", "FAILED"), ("Update", "SUCCESS")])
def test_an_unexpected_error_still_answers_and_never_fails_an_update(
    deploy: Deploy, request_type: str, status: str
) -> None:
    response = deploy.run(event(request_type, [PROD_EU], old=[]), BrokenContext())

    assert response["Status"] == status
    assert "unexpected error: RuntimeError: no clock" in response["Reason"]


# ---------------------------------------------------------------------------------------------
# Time: every call sized to what is left, the answer always in time


@pytest.mark.parametrize("remaining", [3.0, 10.0, 30.0, 60.0, 100.0, 300.0, 600.0, 900.0])
def test_calls_and_answer_fit_in_the_remaining_time(remaining: float) -> None:
    budget = Budget.from_remaining(0.0, remaining)

    assert 0 <= budget.calls_deadline < budget.answer_deadline <= remaining
    config = budget.client_config()
    assert config.connect_timeout == budget.connect_timeout
    assert config.read_timeout == budget.read_timeout
    assert config.retries == {"mode": "standard", "max_attempts": budget.max_attempts}
    # A call that may begin now ends, in the worst case, before the calls' deadline; the
    # answer keeps the rest (at least a quarter of the time, at most 30 s).
    worst = budget.max_attempts * (budget.connect_timeout + budget.read_timeout)
    # botocore's standard backoff before each retry: at most 1, 2, 4 ... s, plus 5 s more
    # when the answer asks for it (x-amz-retry-after).
    worst += sum(2 ** (n - 1) + 5 for n in range(1, budget.max_attempts))
    assert budget.call_seconds == worst
    if budget.allows_call(0.0):
        assert worst <= budget.calls_deadline
    assert budget.answer_deadline - budget.calls_deadline >= min(30.0, remaining / 4)


def test_the_default_timeouts_are_bounded_for_ten_minutes() -> None:
    budget = Budget.from_remaining(0.0, 600.0)

    # botocore's defaults are 60 s connect and read timeouts: five attempts could take more
    # than the 30 s the answer keeps.
    assert (budget.connect_timeout, budget.read_timeout, budget.max_attempts) == (5.0, 20.0, 3)
    assert budget.call_seconds == 88.0


def test_slow_calls_stop_before_the_deadline_and_the_rest_is_named(deploy: Deploy) -> None:
    keys = [f"{PROD}/{r}" for r in ("eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1")]
    deploy.source.configure(*keys)
    deploy.source.slow["StartReplicationBackfill"] = 70.0  # each start takes 70 s

    response = deploy.run(event("Update", keys, old=[]), LambdaContext(300_000))

    # 300 s: calls until 300 - 2 - 30 = 268 s, each may take 3 * 25 + 13 = 88 s: three fit.
    assert deploy.starts() == keys[:3]
    assert response["Data"] == {"Started": ",".join(keys[:3]), "NotStarted": keys[3]}
    assert (
        f"{keys[3]}: not attempted: the function ran out of time for ECR calls"
        in (response["Reason"])
    )
    assert response["at"] - deploy.began <= 298
    assert deploy.configs[0].read_timeout == 20.0


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def test_a_call_that_never_answers_times_out_and_the_answer_arrives_in_time(
    tmp_path: Path, silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real botocore timeouts against a real socket: 8 s left for the whole invocation.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sent: list[dict[str, Any]] = []
    began = time.monotonic()

    handler(
        event("Update", [PROD_EU, STAGING_CENTRAL], old=[]),
        LambdaContext(8_000),
        make_client=lambda config: ecr_client(
            "us-east-1", model_dir=str(tmp_path), config=config, endpoint_url=silent_endpoint
        ),
        send=lambda url, body, timeout: sent.append(json.loads(body)),
    )

    elapsed = time.monotonic() - began
    (response,) = sent
    assert elapsed < 8.0
    assert response["Status"] == "SUCCESS"
    assert "ReadTimeoutError" in response["Reason"]
    assert response["Data"]["NotStarted"] == f"{PROD_EU},{STAGING_CENTRAL}"


# ---------------------------------------------------------------------------------------------
# The function must run on whatever botocore the Lambda runtime bundles


def _botocore_operation_and_shapes(operations: list[str]) -> dict[str, Any]:
    loader = botocore.session.get_session().get_component("data_loader")
    model = loader.load_service_model("ecr", "service-2")

    def without_docs(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_docs(v) for k, v in value.items() if k != "documentation"}
        if isinstance(value, list):
            return [without_docs(v) for v in value]
        return value

    shapes: dict[str, Any] = {}

    def collect(name: str) -> None:
        if name not in shapes:
            shapes[name] = without_docs(model["shapes"][name])
            for key in ("member", "key", "value"):
                if key in shapes[name]:
                    collect(shapes[name][key]["shape"])
            for member in shapes[name].get("members", {}).values():
                collect(member["shape"])

    for operation in operations:
        spec = model["operations"][operation]
        for name in (spec["input"]["shape"], spec["output"]["shape"]):
            collect(name)
        for error in spec["errors"]:
            collect(error["shape"])
    return {
        "metadata": without_docs(model["metadata"]),
        "operations": {op: without_docs(model["operations"][op]) for op in operations},
        "shapes": shapes,
    }


def test_embedded_model_is_botocores_model_of_the_two_operations() -> None:
    expected = _botocore_operation_and_shapes(
        ["StartReplicationBackfill", "ListReplicationBackfills"]
    )
    assert json.loads(json.dumps(expected)) == {
        key: ECR_BACKFILL_MODEL[key] for key in ("metadata", "operations", "shapes")
    }


def test_client_is_built_from_the_embedded_model_not_the_installed_one(tmp_path: Path) -> None:
    client = ecr_client("eu-west-1", model_dir=str(tmp_path))

    assert sorted(client.meta.service_model.operation_names) == [
        "ListReplicationBackfills",
        "StartReplicationBackfill",
    ]
    assert client.meta.endpoint_url == "https://api.ecr.eu-west-1.amazonaws.com"


def test_handler_source_needs_only_the_standard_library_and_botocore() -> None:
    # The file is deployed alone as index.py: an import of this package or of aws_cdk, or of
    # a third-party module, would fail in Lambda.
    tree = ast.parse(Path(backfill_handler.__file__).read_text())
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert {m for m in modules if m not in sys.stdlib_module_names} == {"botocore"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level > 0 for node in ast.walk(tree))
