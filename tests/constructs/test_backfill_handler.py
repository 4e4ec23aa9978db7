"""The backfill-on-deploy Lambda handler, against botocore's Stubber (moto has no backfill API)."""

from __future__ import annotations

import ast
import io
import json
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from ecr_replication.constructs import backfill_handler
from ecr_replication.constructs.backfill_handler import ECR_BACKFILL_MODEL, ecr_client, handler

SOURCE = "555444333222"
PROD = "123456789012"
STAGING = "210987654321"
BACKFILL_ID = "0a1b2c3d-0000-4000-8000-00000000000{}"
RESPONSE_URL = "https://cloudformation-custom-resource-response.example/secret-signature"


def destinations(*keys: str) -> list[dict[str, str]]:
    return [{"RegistryId": key.split("/")[0], "Region": key.split("/")[1]} for key in keys]


def event(request_type: str, new: list[str], old: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": f"arn:aws:cloudformation:us-east-1:{SOURCE}:stack/Source/guid",
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
class FakeTime:
    """A clock that only moves when the handler sleeps, so backoff tests run instantly."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Deploy:
    """One handler invocation's collaborators: stubbed ECR, fake time, captured response."""

    client: Any
    stubber: Stubber
    time: FakeTime = field(default_factory=FakeTime)
    responses: list[Mapping[str, Any]] = field(default_factory=list)

    def run(
        self, request: Mapping[str, Any], context: LambdaContext | None = None
    ) -> Mapping[str, Any]:
        handler(
            request,
            context or LambdaContext(),
            client=self.client,
            clock=self.time.clock,
            sleep=self.time.sleep,
            send=lambda url, body: self.responses.append({"url": url, **body}),
        )
        assert len(self.responses) == 1, "CloudFormation must get exactly one response"
        return self.responses[0]

    def expect_start(self, key: str, backfill_id: str) -> None:
        account, region = key.split("/")
        destination = {"region": region, "registryId": account}
        self.stubber.add_response(
            "start_replication_backfill",
            {
                "replicationBackfillId": backfill_id,
                "registryId": SOURCE,
                "destination": destination,
                "status": "PREPARING",
            },
            {"destination": destination},
        )

    def expect_start_error(self, key: str, code: str, message: str = "") -> None:
        account, region = key.split("/")
        self.stubber.add_client_error(
            "start_replication_backfill",
            service_error_code=code,
            service_message=message or code,
            http_status_code=400,
            expected_params={"destination": {"region": region, "registryId": account}},
        )

    def expect_list(
        self,
        backfills: list[tuple[str, str, str]],
        next_token: str | None = None,
        token: str | None = None,
    ) -> None:
        response: dict[str, Any] = {
            "registryId": SOURCE,
            "backfills": [
                {
                    "replicationBackfillId": backfill_id,
                    "destination": {"registryId": key.split("/")[0], "region": key.split("/")[1]},
                    "status": status,
                    "startedAt": datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
                }
                for key, status, backfill_id in backfills
            ],
        }
        if next_token:
            response["nextToken"] = next_token
        expected: dict[str, Any] = {"maxResults": 50}
        if token:
            expected["nextToken"] = token
        self.stubber.add_response("list_replication_backfills", response, expected)


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[Deploy]:
    client = ecr_client("us-east-1", model_dir=str(tmp_path))
    with Stubber(client) as stubber:
        yield Deploy(client=client, stubber=stubber)
        stubber.assert_no_pending_responses()


# ---------------------------------------------------------------------------------------------
# Which destinations get a backfill


def test_create_starts_one_backfill_per_destination(deploy: Deploy) -> None:
    deploy.expect_start(f"{PROD}/eu-west-1", BACKFILL_ID.format(1))
    deploy.expect_start(f"{STAGING}/eu-central-1", BACKFILL_ID.format(2))

    response = deploy.run(event("Create", [f"{PROD}/eu-west-1", f"{STAGING}/eu-central-1"]))

    assert response["Status"] == "SUCCESS"
    assert response["Data"] == {"Destinations": f"{PROD}/eu-west-1,{STAGING}/eu-central-1"}
    assert BACKFILL_ID.format(1) in response["Reason"]
    assert response["PhysicalResourceId"] == "backfill-request-1"


def test_update_starts_backfills_only_for_destinations_not_in_the_old_properties(
    deploy: Deploy,
) -> None:
    deploy.expect_start(f"{STAGING}/eu-central-1", BACKFILL_ID.format(2))

    response = deploy.run(
        event(
            "Update",
            [f"{PROD}/eu-west-1", f"{STAGING}/eu-central-1"],
            old=[f"{PROD}/eu-west-1"],
        )
    )

    assert response["Status"] == "SUCCESS"
    assert response["Data"] == {"Destinations": f"{STAGING}/eu-central-1"}
    assert response["PhysicalResourceId"] == "backfill-request-0", "an update keeps the resource"


def test_update_that_only_removes_destinations_starts_nothing(deploy: Deploy) -> None:
    response = deploy.run(
        event("Update", [f"{PROD}/eu-west-1"], old=[f"{PROD}/eu-west-1", f"{STAGING}/eu-west-1"])
    )

    assert response["Status"] == "SUCCESS"
    assert response["Reason"] == "no destination is new; no backfill started"


def test_delete_starts_and_stops_nothing(deploy: Deploy) -> None:
    # The stubber has no responses queued: any ECR call would fail the test.
    response = deploy.run(event("Delete", [f"{PROD}/eu-west-1"]))

    assert response["Status"] == "SUCCESS"
    assert response["PhysicalResourceId"] == "backfill-request-0"


# ---------------------------------------------------------------------------------------------
# What ECR may answer


def test_backfill_already_running_to_the_destination_counts_as_started(deploy: Deploy) -> None:
    deploy.expect_start_error(f"{PROD}/eu-west-1", "ReplicationBackfillInProgressException")
    deploy.expect_list(
        [(f"{PROD}/eu-west-1", "COMPLETE", BACKFILL_ID.format(7))], next_token="page-2"
    )
    deploy.expect_list(
        [(f"{PROD}/eu-west-1", "IN_PROGRESS", BACKFILL_ID.format(8))], token="page-2"
    )

    response = deploy.run(event("Create", [f"{PROD}/eu-west-1"]))

    assert response["Status"] == "SUCCESS"
    assert BACKFILL_ID.format(8) in response["Reason"]
    assert deploy.time.sleeps == []


def test_backfill_running_to_another_account_in_the_same_region_is_waited_for(
    deploy: Deploy,
) -> None:
    # ECR runs one backfill per destination *region*: this one is not ours, so wait and retry.
    deploy.expect_start_error(f"{STAGING}/eu-west-1", "ReplicationBackfillInProgressException")
    deploy.expect_list([(f"{PROD}/eu-west-1", "IN_PROGRESS", BACKFILL_ID.format(1))])
    deploy.expect_start(f"{STAGING}/eu-west-1", BACKFILL_ID.format(2))

    response = deploy.run(event("Create", [f"{STAGING}/eu-west-1"]))

    assert response["Status"] == "SUCCESS"
    assert BACKFILL_ID.format(2) in response["Reason"]
    assert deploy.time.sleeps == [5.0]


def test_registry_limit_is_retried_with_growing_delays_until_a_backfill_starts(
    deploy: Deploy,
) -> None:
    for _ in range(3):
        deploy.expect_start_error(f"{PROD}/eu-west-1", "LimitExceededException")
    deploy.expect_start(f"{PROD}/eu-west-1", BACKFILL_ID.format(1))

    response = deploy.run(event("Create", [f"{PROD}/eu-west-1"]))

    assert response["Status"] == "SUCCESS"
    assert deploy.time.sleeps == [5.0, 10.0, 20.0]


def test_registry_limit_that_outlasts_the_function_fails_before_the_timeout_and_says_what_to_run(
    deploy: Deploy,
) -> None:
    # 100 s left, 30 s kept for answering: delays of 5, 10, 20 fit, the next 40 does not.
    for _ in range(4):
        deploy.expect_start_error(f"{PROD}/eu-west-1", "LimitExceededException")

    response = deploy.run(
        event("Create", [f"{PROD}/eu-west-1"]), LambdaContext(remaining_ms=100_000)
    )

    assert response["Status"] == "FAILED"
    assert deploy.time.sleeps == [5.0, 10.0, 20.0]
    assert response["Reason"] == (
        f"could not start the backfill to {PROD}/eu-west-1 in time: the registry already runs "
        "the maximum number of backfills. Run `ecr-replication backfill --destination "
        f"{PROD}/eu-west-1` once it has finished"
    )


def test_any_other_ecr_error_fails_with_the_destination_code_and_message(deploy: Deploy) -> None:
    deploy.expect_start(f"{PROD}/eu-west-1", BACKFILL_ID.format(1))
    deploy.expect_start_error(
        f"{STAGING}/eu-central-1",
        "ValidationException",
        "The destination is not in the replication configuration",
    )

    response = deploy.run(event("Create", [f"{PROD}/eu-west-1", f"{STAGING}/eu-central-1"]))

    assert response["Status"] == "FAILED"
    assert response["Reason"] == (
        f"could not start the backfill to {STAGING}/eu-central-1: ValidationException: "
        "The destination is not in the replication configuration"
    )
    assert deploy.time.sleeps == []


# ---------------------------------------------------------------------------------------------
# Bad requests and the response itself


def test_destinations_property_of_the_wrong_shape_fails_naming_the_field(deploy: Deploy) -> None:
    request = event("Create", [])
    request["ResourceProperties"]["Destinations"] = [{"Region": "eu-west-1"}]

    response = deploy.run(request)

    assert response["Status"] == "FAILED"
    assert response["Reason"].startswith(
        "ResourceProperties.Destinations[0]: {'Region': 'eu-west-1'} is not"
    )


def test_unknown_request_type_fails_naming_it(deploy: Deploy) -> None:
    response = deploy.run(event("Replace", [f"{PROD}/eu-west-1"]))

    assert response["Status"] == "FAILED"
    assert response["Reason"] == "RequestType: 'Replace' is not Create, Update or Delete"


def test_unexpected_error_still_answers_cloudformation(deploy: Deploy) -> None:
    class BrokenContext(LambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            raise RuntimeError("no clock")

    response = deploy.run(event("Create", [f"{PROD}/eu-west-1"]), BrokenContext())

    assert response["Status"] == "FAILED"
    assert response["Reason"] == "unexpected error: RuntimeError: no clock"


def test_response_goes_to_the_response_url_with_the_request_ids(deploy: Deploy) -> None:
    response = deploy.run(event("Delete", []))

    assert response["url"] == RESPONSE_URL
    assert response["StackId"] == f"arn:aws:cloudformation:us-east-1:{SOURCE}:stack/Source/guid"
    assert response["RequestId"] == "request-1"
    assert response["LogicalResourceId"] == "ReplicationBackfill"


def test_response_url_is_kept_out_of_the_logs(
    deploy: Deploy, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy.run(event("Delete", []))

    logs = capsys.readouterr().out
    assert "RequestType" in logs
    assert "secret-signature" not in logs


def test_response_is_put_as_json_with_the_empty_content_type_the_url_is_signed_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[urllib.request.Request] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> io.BytesIO:
        sent.append(request)
        return io.BytesIO(b"")

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    backfill_handler.send_response(RESPONSE_URL, {"Status": "SUCCESS"})

    (request,) = sent
    assert request.get_method() == "PUT"
    assert request.full_url == RESPONSE_URL
    assert request.get_header("Content-type") == ""
    assert json.loads(request.data) == {"Status": "SUCCESS"}  # type: ignore[arg-type]


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
