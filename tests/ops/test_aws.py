"""The AWS access layer: credentials per side, role assumption, failures, paging, concurrency."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
)

from ecr_replication.model import Registry, parse_topology
from ecr_replication.ops import aws

from .opshelp import (
    DEST_A,
    DEST_B,
    SOURCE,
    ClientStubs,
    push,
    topology_document,
)


def client_error(code: str, operation: str = "DescribeImages") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "details"}}, operation)


def access(
    topology: dict[str, Any] | None = None,
    *,
    assume_role: bool = True,
    role_name: str | None = None,
) -> aws.RegistryAccess:
    """Access for the test topology; ``topology`` holds ``topology_document`` options."""
    document = topology_document(**(topology or {}))
    return aws.RegistryAccess(
        parse_topology(document), assume_role=assume_role, role_name=role_name
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            client_error("AccessDeniedException"),
            "access denied (AccessDeniedException calling DescribeImages)",
        ),
        (
            client_error("ThrottlingException"),
            "throttled past retries (ThrottlingException calling DescribeImages)",
        ),
        (
            client_error("ExpiredTokenException"),
            "expired credentials (ExpiredTokenException calling DescribeImages); refresh them and run again",
        ),
        (
            client_error("UnknownOperationException"),
            "API not offered by this endpoint (UnknownOperationException calling DescribeImages)",
        ),
        (client_error("ServerException"), "ServerException calling DescribeImages: details"),
        (
            NoCredentialsError(),
            "no usable AWS credentials found (set AWS_PROFILE or sign in, then run again)",
        ),
        (
            EndpointConnectionError(endpoint_url="https://ecr.x"),
            'could not reach the endpoint: Could not connect to the endpoint URL: "https://ecr.x"',
        ),
        (
            ParamValidationError(report="bad"),
            "request rejected by botocore: Parameter validation failed: bad",
        ),
    ],
)
def test_botocore_errors_become_one_line_reasons(error: Exception, reason: str) -> None:
    assert aws.describe_failure(error) == reason
    with pytest.raises(aws.AccessError) as raised, aws.guarded("repository prod/api"):
        raise error
    assert raised.value.reason == f"repository prod/api: {reason}"


def test_clients_use_the_adaptive_retry_mode() -> None:
    client = access().ecr(SOURCE, side="source")

    assert client.meta.config.retries["mode"] == "adaptive"


def test_sources_use_the_callers_credentials_and_destinations_assume_the_destination_role() -> None:
    registries = access()

    assert registries.identity(SOURCE, "source") == aws.CALLER
    assert registries.identity(DEST_A, "destination") == (
        "arn:aws:iam::111111111111:role/ecr-replication-destination-eu-west-1"
    )
    acting_as = registries.client("sts", DEST_A, side="destination").get_caller_identity()
    assert acting_as["Account"] == DEST_A.account
    assert acting_as["Arn"].endswith(
        ":assumed-role/ecr-replication-destination-eu-west-1/ecr-replication"
    )


def test_no_role_is_assumed_without_one_in_the_topology_or_with_no_assume_role() -> None:
    same_account = Registry(account=SOURCE.account, region="eu-west-1")
    role_disabled = access({"destinationDefaults": {"role": {"enabled": False}}})

    assert (
        access({"destinations": (same_account,)}).identity(same_account, "destination")
        == aws.CALLER
    )
    assert role_disabled.identity(DEST_A, "destination") == aws.CALLER
    assert access(assume_role=False).identity(DEST_A, "destination") == aws.CALLER
    assert access(role_name="ops-reader").identity(DEST_A, "destination") == (
        "arn:aws:iam::111111111111:role/ops-reader"
    )


def test_a_role_is_assumed_once_however_many_clients_use_it(stubs: ClientStubs) -> None:
    registries = access()

    registries.client("ecr", DEST_A, side="destination")
    registries.client("ec2", DEST_A, side="destination", region="us-east-1")

    assert stubs.count("AssumeRole") == 1


def test_registry_level_calls_refuse_credentials_of_another_account() -> None:
    registries = access(assume_role=False)

    with pytest.raises(
        aws.AccessError, match="credentials in use are for account 123456789012, not 111111111111"
    ) as raised:
        registries.client("ecr", DEST_A, side="destination", own_account=True)

    assert raised.value.reason.endswith("drop --no-assume-role to assume the destination role")
    assert raised.value.credentials is True
    assert registries.client("ecr", DEST_A, side="destination") is not None  # repository reads may


def test_without_a_role_in_the_topology_the_refusal_suggests_role_name() -> None:
    registries = access({"destinationDefaults": {"role": {"enabled": False}}})

    with pytest.raises(aws.AccessError, match="pass --role-name with a role to assume there"):
        registries.client("ecr", DEST_A, side="destination", own_account=True)


def test_listing_images_asks_for_1000_per_page_and_follows_every_page(stubs: ClientStubs) -> None:
    push(SOURCE, "prod/api", "v1", "api-1")
    image = {
        "registryId": SOURCE.account,
        "repositoryName": "prod/api",
        "imageDigest": "sha256:" + "a" * 64,
    }
    params = {"registryId": SOURCE.account, "repositoryName": "prod/api", "maxResults": 1000}
    stubs.respond(
        SOURCE, "ecr", "describe_images", {"imageDetails": [image], "nextToken": "2"}, params
    )
    stubs.respond(
        SOURCE,
        "ecr",
        "describe_images",
        {"imageDetails": [image, image]},
        {**params, "nextToken": "2"},
    )
    client = access().ecr(SOURCE, side="source")

    assert len(aws.list_images(client, SOURCE, "prod/api")) == 3
    stubs.assert_all_used()


def test_run_concurrently_keeps_input_order_and_stays_within_its_bound() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work(item: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.01 * (item % 3))
        with lock:
            running -= 1
        return item * 2

    done: list[None] = []

    results = aws.run_concurrently(
        list(range(12)), work, max_workers=3, on_done=lambda: done.append(None)
    )

    assert results == [i * 2 for i in range(12)]
    assert 1 < peak <= 3
    assert len(done) == 12


def test_home_regions_are_always_enabled_regions_of_the_partition() -> None:
    assert aws.home_region(DEST_A) == "us-east-1"
    assert aws.home_region(DEST_B) == "us-east-1"
    assert (
        aws.home_region(Registry(account=SOURCE.account, region="cn-northwest-1")) == "cn-north-1"
    )


def test_from_the_operations_account_sources_are_read_through_their_source_roles() -> None:
    other = Registry(account="333333333333", region="eu-central-1")
    document = {
        "sources": [
            {
                "account": other.account,
                "region": other.region,
                "rules": [{"destinations": [{"account": DEST_A.account, "region": DEST_A.region}]}],
            },
            {
                "account": SOURCE.account,
                "region": SOURCE.region,
                "rules": [{"destinations": [{"account": SOURCE.account, "region": "us-west-2"}]}],
            },
        ],
        "operations": {"account": SOURCE.account},  # moto's caller
    }
    same_account_destination = Registry(account=SOURCE.account, region="us-west-2")
    registries = aws.RegistryAccess(parse_topology(document))

    assert registries.identity(other, "source") == (
        "arn:aws:iam::333333333333:role/ecr-replication-source-eu-central-1"
    )
    assert registries.identity(SOURCE, "source") == aws.CALLER  # in the operations account
    assert registries.identity(same_account_destination, "destination") == aws.CALLER
    named = aws.RegistryAccess(parse_topology(document), source_role_name="ops-reader")
    assert named.identity(other, "source") == "arn:aws:iam::333333333333:role/ops-reader"
    caller_only = aws.RegistryAccess(parse_topology(document), assume_role=False)
    assert caller_only.identity(other, "source") == aws.CALLER
    acting_as = registries.client("sts", other, side="source").get_caller_identity()
    assert acting_as["Account"] == other.account


def test_roles_of_different_registries_are_assumed_concurrently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each AssumeRole waits for the other one: assumed one after the other, the first would
    # wait in vain and the barrier would break.
    barrier = threading.Barrier(2, timeout=10)
    original = aws.RegistryAccess.new_client

    def meet(**_: Any) -> None:
        barrier.wait()  # returns None: botocore goes on with the call

    def new_client(self: aws.RegistryAccess, session: Any, key: aws.ClientKey) -> Any:
        client = original(self, session, key)
        if key.service == "sts":
            client.meta.events.register("before-call.sts.AssumeRole", meet)
        return client

    monkeypatch.setattr(aws.RegistryAccess, "new_client", new_client)
    registries = access()

    clients = aws.run_concurrently(
        [DEST_A, DEST_B],
        lambda d: registries.client("sts", d, side="destination").get_caller_identity(),
        max_workers=2,
    )

    assert [c["Account"] for c in clients] == [DEST_A.account, DEST_B.account]
    assert not barrier.broken
