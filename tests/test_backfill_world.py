"""The ECR emulator of tests/backfill_world.py follows botocore's model of ECR.

The backfill tests are only as good as the emulator they run against: these check it against
the installed botocore (``service-2.json``, ``paginators-1.json``) through real botocore
clients, which validate requests and parse answers as they would against AWS.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from tests.backfill_world import (
    BACKFILL_OPERATIONS,
    COMMON_ERRORS,
    MAX_RUNNING_BACKFILLS,
    OPERATIONS,
    EcrWorld,
    ImageResult,
    Registry,
    Step,
    declared_errors,
    ecr_model,
    ecr_paginators,
    statuses,
)

SOURCE = "555444333222"
PROD_EU = "123456789012/eu-west-1"
STAGING_EU = "210987654321/eu-west-1"
UNKNOWN_ID = "0a1b2c3d-0000-4000-8000-999999999999"


@pytest.fixture
def world() -> EcrWorld:
    world = EcrWorld(caller=SOURCE)
    world.at(f"{SOURCE}/us-east-1").configure(PROD_EU, STAGING_EU)
    return world


@pytest.fixture
def ecr(world: EcrWorld) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return world.attach(session.client("ecr"))


def source(world: EcrWorld) -> Registry:
    return world.at(f"{SOURCE}/us-east-1")


def destination(key: str) -> dict[str, str]:
    account, region = key.split("/")
    return {"registryId": account, "region": region}


def error_of(call: Any, **params: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call(**params)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_emulated_operations_and_their_paginators_are_the_models() -> None:
    assert set(OPERATIONS) <= set(ecr_model().operation_names)
    for operation in (*BACKFILL_OPERATIONS, "DescribeImages", "DescribeRepositories"):
        if operation in ("StartReplicationBackfill", "StopReplicationBackfill"):
            assert operation not in ecr_paginators()
            continue
        paging = ecr_paginators()[operation]
        assert (paging["input_token"], paging["output_token"]) == ("nextToken", "nextToken")


@pytest.mark.parametrize("operation", BACKFILL_OPERATIONS)
def test_every_error_the_model_declares_reaches_the_client_with_its_code(
    world: EcrWorld, ecr: Any, operation: str
) -> None:
    method = getattr(ecr, _snake(operation))
    params = {
        "StartReplicationBackfill": {"destination": destination(PROD_EU)},
        "StopReplicationBackfill": {"replicationBackfillId": UNKNOWN_ID},
        "ListReplicationBackfills": {},
        "DescribeReplicationBackfillResults": {"replicationBackfillId": UNKNOWN_ID},
    }[operation]
    for code in sorted(declared_errors(operation) | COMMON_ERRORS):
        source(world).fail(operation, code)
        fault = code == "ServerException"  # the one error shape the model marks as a fault
        assert error_of(method, **params) == (code, 500 if fault else 400)


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def test_an_error_the_model_does_not_declare_cannot_be_injected(world: EcrWorld) -> None:
    with pytest.raises(AssertionError, match="ListReplicationBackfills does not answer"):
        source(world).fail("ListReplicationBackfills", "LimitExceededException")


def test_an_answer_that_does_not_fit_the_output_shape_fails_the_call(
    world: EcrWorld, ecr: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Registry._list_replication_backfills

    def with_unknown_field(self: Registry, params: Any) -> dict[str, Any]:
        return {**original(self, params), "backfillCount": 1}

    monkeypatch.setattr(Registry, "_list_replication_backfills", with_unknown_field)
    with pytest.raises(ParamValidationError, match="backfillCount"):
        ecr.list_replication_backfills()


def test_what_ecr_says_about_starts_stops_and_ids_are_declared_errors(
    world: EcrWorld, ecr: Any
) -> None:
    registry = source(world)
    start = ecr.start_replication_backfill
    assert error_of(start, destination=destination("111122223333/eu-west-1"))[0] == (
        "ValidationException"  # not in the replication configuration
    )
    first = start(destination=destination(PROD_EU))
    assert first["status"] == "PREPARING"
    assert error_of(start, destination=destination(STAGING_EU))[0] == (
        "ReplicationBackfillInProgressException"  # one per destination region
    )
    regions = ["us-west-1", "us-west-2", "ap-south-1", "ca-central-1", "sa-east-1"]
    for n in range(MAX_RUNNING_BACKFILLS - 1):
        registry.running(f"{100000000000 + n:012d}/{regions[n % 5]}")
    registry.configure(PROD_EU, STAGING_EU, "111122223333/eu-north-1")
    assert error_of(start, destination=destination("111122223333/eu-north-1"))[0] == (
        "LimitExceededException"  # ten per registry
    )
    stopped = ecr.stop_replication_backfill(replicationBackfillId=first["replicationBackfillId"])
    assert stopped["status"] == "STOPPED"
    assert error_of(
        ecr.stop_replication_backfill, replicationBackfillId=first["replicationBackfillId"]
    )[0] == ("ReplicationBackfillInvalidStatusException")
    assert error_of(ecr.describe_replication_backfill_results, replicationBackfillId=UNKNOWN_ID)[
        0
    ] == ("ReplicationBackfillNotFoundException")
    assert error_of(ecr.describe_replication_backfill_results, replicationBackfillId="bf-1")[0] == (
        "InvalidParameterException"
    )  # not the id's pattern


def test_a_backfill_meets_every_status_of_the_model_and_every_answer_is_valid(
    world: EcrWorld, ecr: Any
) -> None:
    registry = source(world)
    registry.plan(
        PROD_EU,
        Step(status="IN_PROGRESS", completed=1),
        Step(status="COMPLETE", completed=1, failed=1),
        total=2,
        results=[ImageResult(repository="prod/api", tag="v1", digest="sha256:" + "a" * 64)],
    )
    registry.plan(STAGING_EU, Step(status="IN_PROGRESS"), Step(status="FAILED"))
    seen = []
    for key in (PROD_EU, STAGING_EU):
        started = ecr.start_replication_backfill(destination=destination(key))
        seen.append(started["status"])
        while True:
            answer = ecr.describe_replication_backfill_results(
                replicationBackfillId=started["replicationBackfillId"]
            )
            seen.append(answer["status"])
            if answer["status"] in ("COMPLETE", "FAILED"):
                break
    assert answer["status"] == "FAILED"
    stopping = registry.running("111122223333/eu-north-1", "IN_PROGRESS")
    answer = ecr.stop_replication_backfill(replicationBackfillId=stopping.backfill_id)
    seen.append(answer["status"])
    answer = ecr.describe_replication_backfill_results(replicationBackfillId=stopping.backfill_id)
    seen.append(answer["status"])
    listed = ecr.list_replication_backfills()["backfills"]

    assert set(seen) == set(statuses())
    assert {b["status"] for b in listed} == {"COMPLETE", "FAILED", "STOPPED"}
    assert set(world.validated) >= set(BACKFILL_OPERATIONS)


def test_progress_is_absent_while_preparing_and_results_only_once_ended(
    world: EcrWorld, ecr: Any
) -> None:
    registry = source(world)
    registry.plan(
        PROD_EU,
        Step(status="PREPARING"),
        Step(status="COMPLETE", completed=1),
        total=1,
        results=[
            ImageResult(
                repository="prod/api", tag="v1", digest="sha256:" + "a" * 64, status="COMPLETE"
            )
        ],
    )
    backfill_id = ecr.start_replication_backfill(destination=destination(PROD_EU))[
        "replicationBackfillId"
    ]

    preparing = ecr.describe_replication_backfill_results(replicationBackfillId=backfill_id)
    done = ecr.describe_replication_backfill_results(replicationBackfillId=backfill_id)

    assert "progress" not in preparing and preparing["results"] == []
    assert done["progress"]["completedReplicationCount"] == 1
    assert [r["imageId"]["imageTag"] for r in done["results"]] == ["v1"]


def test_pages_follow_the_models_paginators_and_page_sizes(world: EcrWorld, ecr: Any) -> None:
    registry = source(world)
    for n in range(120):
        registry.running(f"{100000000000 + n:012d}/eu-west-1", "COMPLETE")
    pages = list(ecr.get_paginator("list_replication_backfills").paginate())
    assert [len(p["backfills"]) for p in pages] == [50, 50, 20]

    results = [
        ImageResult(repository="prod/api", tag=f"v{n}", digest="sha256:" + "b" * 64)
        for n in range(2500)
    ]
    ended = registry.running(PROD_EU, "COMPLETE", results=results)
    pages = list(
        ecr.get_paginator("describe_replication_backfill_results").paginate(
            replicationBackfillId=ended.backfill_id
        )
    )
    assert [len(p["results"]) for p in pages] == [1000, 1000, 500]

    for n in range(250):
        registry.push("prod/api", f"sha256:{n:064d}", f"v{n}")
    pages = list(ecr.get_paginator("describe_images").paginate(repositoryName="prod/api"))
    assert [len(p["imageDetails"]) for p in pages] == [100, 100, 50]


def test_page_sizes_and_tokens_outside_the_model_are_refused(world: EcrWorld, ecr: Any) -> None:
    assert error_of(ecr.list_replication_backfills, maxResults=51) == (
        "InvalidParameterException",
        400,
    )
    with pytest.raises(ParamValidationError):  # botocore checks the minimum itself
        ecr.list_replication_backfills(maxResults=0)
    assert error_of(ecr.list_replication_backfills, nextToken="not-a-token")[0] == (
        "InvalidParameterException"
    )


def test_image_listings_hold_active_images_unless_a_status_is_asked_for(
    world: EcrWorld, ecr: Any
) -> None:
    registry = source(world)
    registry.push("prod/api", "sha256:" + "a" * 64, "v1")
    registry.push("prod/api", "sha256:" + "b" * 64, "v0", status="ARCHIVED")
    registry.push("prod/api", "sha256:" + "c" * 64, status="ACTIVATING")

    def statuses_listed(**filters: Any) -> list[str]:
        details = ecr.describe_images(repositoryName="prod/api", **filters)["imageDetails"]
        return sorted(d["imageStatus"] for d in details)

    assert statuses_listed() == ["ACTIVE"]
    assert statuses_listed(filter={"imageStatus": "ARCHIVED"}) == ["ARCHIVED"]
    assert statuses_listed(filter={"imageStatus": "ANY"}) == ["ACTIVATING", "ACTIVE", "ARCHIVED"]
    assert error_of(ecr.describe_images, repositoryName="prod/web")[0] == (
        "RepositoryNotFoundException"
    )
