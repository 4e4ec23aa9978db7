"""One run from the operations account checks every registry: sources in two accounts are read
through their source roles, destinations through their destination roles, and the source role
allows exactly what the commands call there.

moto plays every account: the caller is moto's default account, here the operations account;
``AssumeRole`` into any account gives credentials acting in it. What moto lacks goes through
partial stubs (see ``opshelp``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecr_replication.model import Registry
from ecr_replication.model.iam import as_list
from ecr_replication.model.policies import source_role_permission_statements

from .opshelp import (
    DEST_A,
    DEST_B,
    IAM_ACTION_OF,
    SOURCE_ACCOUNT,
    ClientStubs,
    CliResult,
    deploy_replication,
    push,
    topology_of,
)

OPS = SOURCE_ACCOUNT  # moto's default account: the caller
SRC_1 = Registry(account="333333333333", region="us-east-1")
SRC_2 = Registry(account="444444444444", region="eu-central-1")
SOURCES = (SRC_1, SRC_2)
PREFIXES = {SRC_1: "prod/", SRC_2: "team-b/"}

Run = Callable[..., CliResult]


def document(**operations: Any) -> dict[str, Any]:
    """Two sources in two accounts, two destinations, run from the operations account."""

    def source(registry: Registry, destinations: tuple[Registry, ...]) -> dict[str, Any]:
        return {
            "account": registry.account,
            "region": registry.region,
            "rules": [
                {
                    "repositoryPrefixes": [PREFIXES[registry]],
                    "destinations": [
                        {"account": d.account, "region": d.region} for d in destinations
                    ],
                }
            ],
        }

    return {
        "sources": [source(SRC_1, (DEST_A,)), source(SRC_2, (DEST_A, DEST_B))],
        "destinationDefaults": {"repositoryTemplate": {"enabled": False}},
        "operations": {"account": OPS, **operations},
    }


def replicated_world(write_config: Callable[..., Path], **operations: Any) -> Path:
    """The topology deployed, one image per source, replicated to every destination."""
    config = write_config(document(**operations))
    deploy_replication(topology_of(config))
    for source, destinations in ((SRC_1, (DEST_A,)), (SRC_2, (DEST_A, DEST_B))):
        repository = f"{PREFIXES[source]}api"
        digest = push(source, repository, "v1", f"{source.account}-v1")
        for destination in destinations:
            assert push(destination, repository, "v1", f"{source.account}-v1") == digest
    return config


def identities(stubs: ClientStubs, account: str) -> set[str]:
    """The identities of the clients created for calls in ``account``."""
    return {key.identity for key in stubs.created if key.account == account}


def actions_in(stubs: ClientStubs, accounts: tuple[str, ...]) -> set[str]:
    """The IAM actions of the calls made in ``accounts``."""
    return {
        IAM_ACTION_OF.get(f"{service}:{operation}", f"{service}:{operation}")
        for service, _, account, operation in stubs.calls
        if account in accounts
    }


def granted(registry: Registry, *, allow_backfill: bool) -> set[str]:
    statements = source_role_permission_statements(
        partition="aws",
        region=registry.region,
        account=registry.account,
        prefixes=(PREFIXES[registry],),
        allow_backfill=allow_backfill,
    )
    return {a for s in statements for a in as_list(s["Action"])}


def test_one_run_from_the_operations_account_checks_every_registry(
    write_config: Callable[..., Path], run_cli: Run, stubs: ClientStubs
) -> None:
    config = replicated_world(write_config)

    for command in ("preflight", "verify", "cost"):
        result = run_cli(command, "--config", str(config), "--json")
        assert result.code == 0, (command, result.out, result.err)
        assert result.json["unchecked"] == [], command

    for source in SOURCES:
        assert identities(stubs, source.account) == {
            f"arn:aws:iam::{source.account}:role/ecr-replication-source-{source.region}"
        }
    for destination in (DEST_A, DEST_B):
        assert identities(stubs, destination.account) == {
            f"arn:aws:iam::{destination.account}:role/ecr-replication-destination-"
            f"{destination.region}"
        }
    # Every registry was read, not only those of the caller's account.
    verified = run_cli("verify", "--config", str(config), "--json").json
    assert {(r["source"], r["destination"], r["status"]) for r in verified["results"]} == {
        (SRC_1.key, DEST_A.key, "ok"),
        (SRC_2.key, DEST_A.key, "ok"),
        (SRC_2.key, DEST_B.key, "ok"),
    }


def test_the_source_role_allows_exactly_what_the_commands_call_in_sources(
    write_config: Callable[..., Path], run_cli: Run, stubs: ClientStubs
) -> None:
    config = replicated_world(write_config)
    # One source answers the region opt-in through the Account API, preflight's fallback.
    stubs.fail(SRC_2, "ec2", "describe_regions", "UnauthorizedOperation", region="us-east-1")
    stubs.respond(
        SRC_2,
        "account",
        "get_region_opt_status",
        {"RegionName": SRC_2.region, "RegionOptStatus": "ENABLED_BY_DEFAULT"},
        region="us-east-1",
    )

    result = run_cli("preflight", "--config", str(config), "--json")
    assert result.json["unchecked"] == [], result.json["unchecked"]
    # A tag missing in one destination: verify asks the source for its replication status.
    digest = push(SRC_1, "prod/api", "v2", "src1-v2")
    stubs.respond(
        SRC_1,
        "ecr",
        "describe_image_replication_status",
        {
            "repositoryName": "prod/api",
            "imageId": {"imageDigest": digest},
            "replicationStatuses": [
                {"region": DEST_A.region, "registryId": DEST_A.account, "status": "FAILED"}
            ],
        },
    )
    for command in (["verify", "--referrers"], ["cost"], ["backfill", "--dry-run"]):
        result = run_cli(*command, "--config", str(config), "--json")
        assert result.json["unchecked"] == [], (command, result.json["unchecked"])

    accounts = tuple(s.account for s in SOURCES)
    # ListImageReferrers (verify --referrers) is authorized as ecr:BatchGetImage.
    assert actions_in(stubs, accounts) == granted(SRC_1, allow_backfill=False)
    stubs.assert_all_used()


def test_with_allow_backfill_the_source_role_may_start_backfills(
    write_config: Callable[..., Path], run_cli: Run, stubs: ClientStubs
) -> None:
    config = replicated_world(write_config, allowBackfill=True)
    for source, destinations in ((SRC_1, (DEST_A,)), (SRC_2, (DEST_A, DEST_B))):
        stubs.respond(source, "ecr", "list_replication_backfills", {"backfills": []})
        for index, destination in enumerate(destinations):
            stubs.respond(
                source,
                "ecr",
                "start_replication_backfill",
                {"replicationBackfillId": f"bf-{source.account}-{index}", "status": "PREPARING"},
                {
                    "registryId": source.account,
                    "destination": {
                        "region": destination.region,
                        "registryId": destination.account,
                    },
                },
            )

    result = run_cli("backfill", "--no-wait", "--config", str(config), "--json")

    assert result.json["unchecked"] == [], result.json
    assert {b["backfillId"] for b in result.json["backfills"]} == {
        f"bf-{SRC_1.account}-0",
        f"bf-{SRC_2.account}-0",
        f"bf-{SRC_2.account}-1",
    }
    called = actions_in(stubs, tuple(s.account for s in SOURCES))
    assert "ecr:StartReplicationBackfill" in called
    assert called <= granted(SRC_1, allow_backfill=True)
    assert not called <= granted(SRC_1, allow_backfill=False)
    stubs.assert_all_used()


def test_a_source_role_name_can_be_given(
    write_config: Callable[..., Path], run_cli: Run, stubs: ClientStubs
) -> None:
    config = replicated_world(write_config)

    result = run_cli("verify", "--config", str(config), "--source-role-name", "ops-reader")

    assert result.code == 0, result.err
    assert identities(stubs, SRC_1.account) == {f"arn:aws:iam::{SRC_1.account}:role/ops-reader"}


def test_outside_the_operations_account_sources_are_read_as_the_caller(
    write_config: Callable[..., Path], run_cli: Run, stubs: ClientStubs
) -> None:
    raw = document()
    raw["operations"]["account"] = "999900001111"  # the caller is not in it
    config = write_config(raw)
    deploy_replication(topology_of(config))
    # The destination roles trust the operations account only: IAM refuses the caller.
    for _ in (DEST_A, DEST_B):
        stubs.fail(
            Registry(account=SOURCE_ACCOUNT, region="us-east-1"),
            "sts",
            "assume_role",
            "AccessDenied",
            "not authorized to perform sts:AssumeRole",
        )

    result = run_cli("preflight", "--config", str(config), "--json")

    unchecked = {u["registry"]: u["reason"] for u in result.json["unchecked"]}
    assert set(unchecked) == {SRC_1.key, SRC_2.key, DEST_A.key, DEST_B.key}
    assert unchecked[SRC_1.key].startswith(
        f"the credentials in use are for account {SOURCE_ACCOUNT}, not {SRC_1.account}; run "
        f"with credentials of {SRC_1.account}, or from the operations account 999900001111"
    )
    for destination in (DEST_A, DEST_B):
        assert unchecked[destination.key].endswith(
            "access denied (AccessDenied calling AssumeRole); the roles trust the operations "
            "account 999900001111: run from it"
        ), unchecked
    assert not any("ecr-replication-source-" in key.identity for key in stubs.created)
