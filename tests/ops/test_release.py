"""``ecr-replication release``: after ``cdk destroy``, the generated grants leave a registry
policy that was kept on delete, and nothing else does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecr_replication.naming import destination_stack_name

from .opshelp import (
    DEST_A,
    DEST_B,
    ClientStubs,
    CliResult,
    deploy_replication,
    ecr_client,
    stub_stack,
    topology_document,
    topology_of,
)

Run = Callable[..., CliResult]
WriteConfig = Callable[..., Path]
ARN_A = f"arn:aws:ecr:{DEST_A.region}:{DEST_A.account}:repository"
TEAM_B = {
    "Sid": "TeamBReplication",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::444444444444:root"},
    "Action": "ecr:ReplicateImage",
    "Resource": f"{ARN_A}/team-b/*",
}
GENERATED_SID = "ReplicateFrom123456789012UsEast1"
"""The Sid the library gives the grant of the source 123456789012/us-east-1 (written by hand)."""


def with_kept(*statements: dict[str, Any]) -> dict[str, Any]:
    return topology_document(
        destinationRegistries=[
            {
                "account": DEST_A.account,
                "region": DEST_A.region,
                "additionalPolicyStatements": list(statements),
            }
        ]
    )


def live_statements(registry: Any = DEST_A) -> list[dict[str, Any]] | None:
    client = ecr_client(registry)
    try:
        text = client.get_registry_policy()["policyText"]
    except client.exceptions.RegistryPolicyNotFoundException:
        return None
    statements: list[dict[str, Any]] = json.loads(text)["Statement"]
    return statements


def add_live(statement: dict[str, Any], registry: Any = DEST_A) -> None:
    live = live_statements(registry) or []
    document = {"Version": "2012-10-17", "Statement": [*live, statement]}
    ecr_client(registry).put_registry_policy(policyText=json.dumps(document))


def test_release_removes_the_generated_grant_and_keeps_every_other_statement(
    write_config: WriteConfig, run_cli: Run
) -> None:
    config = write_config(with_kept(TEAM_B))
    deploy_replication(topology_of(config))
    added_since = {**TEAM_B, "Sid": "AddedSince", "Resource": f"{ARN_A}/cache/*"}
    add_live(added_since)

    result = run_cli("release", "--config", str(config), "--destination", DEST_A.key)

    assert result.code == 0, result.err
    assert live_statements() == [TEAM_B, added_since]
    assert (
        f"{DEST_A.key}: removed {GENERATED_SID}; kept: TeamBReplication, AddedSince" in result.out
    )
    assert "Released." in result.out


def test_a_dry_run_prints_the_same_plan_and_changes_nothing(
    write_config: WriteConfig, run_cli: Run
) -> None:
    config = write_config(with_kept(TEAM_B))
    deploy_replication(topology_of(config))
    before = live_statements()

    dry = run_cli("release", "--config", str(config), "--dry-run", "--json")

    assert dry.code == 0
    assert live_statements() == before
    planned, other = dry.json["destinations"]
    assert other["destination"] == DEST_B.key  # every destination whose stack writes a policy
    assert planned == {
        "destination": DEST_A.key,
        "action": "put",
        "dryRun": True,
        "removed": [GENERATED_SID],
        "kept": ["TeamBReplication"],
        "changed": [],
        "stack": None,
        "note": None,
    }
    done = run_cli("release", "--config", str(config), "--json")
    assert [{**d, "dryRun": True} for d in done.json["destinations"]] == [planned, other]


def test_a_policy_left_empty_is_deleted(write_config: WriteConfig, run_cli: Run) -> None:
    config = write_config()
    deploy_replication(topology_of(config))
    assert [s["Sid"] for s in live_statements(DEST_B) or []] == [GENERATED_SID]

    result = run_cli("release", "--config", str(config), "--destination", DEST_B.key)

    assert result.code == 0, result.err
    assert live_statements(DEST_B) is None
    assert "and delete the policy (nothing else is in it)" in result.out


def test_without_a_live_policy_release_says_so_and_succeeds(
    write_config: WriteConfig, run_cli: Run
) -> None:
    config = write_config(with_kept(TEAM_B))

    result = run_cli("release", "--config", str(config), "--destination", DEST_A.key)

    assert result.code == 0
    assert f"{DEST_A.key}: no registry policy is live; nothing to release" in result.out


def test_a_destination_outside_the_topology_is_one_line_and_exit_2(
    write_config: WriteConfig, run_cli: Run
) -> None:
    config = write_config(with_kept(TEAM_B))

    result = run_cli("release", "--config", str(config), "--destination", "999988887777/us-west-2")

    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "ecr-replication release: --destination 999988887777/us-west-2: not a destination of "
        f"the topology (destinations: {DEST_A.key}, {DEST_B.key})"
    ]


def test_release_refuses_while_the_destination_stack_exists_unless_forced(
    write_config: WriteConfig, run_cli: Run, stubs: ClientStubs
) -> None:
    config = write_config(with_kept(TEAM_B))
    deploy_replication(topology_of(config))
    before = live_statements()
    stub_stack(stubs, DEST_A, ())

    refused = run_cli("release", "--config", str(config), "--destination", DEST_A.key)

    assert refused.code == 1
    assert live_statements() == before
    assert f"its stack {destination_stack_name(DEST_A)} still exists" in refused.out

    stub_stack(stubs, DEST_A, ())
    forced = run_cli("release", "--config", str(config), "--destination", DEST_A.key, "--force")
    assert forced.code == 0
    assert live_statements() == [TEAM_B]


def test_a_statement_with_a_generated_sid_but_other_content_is_kept_and_named(
    write_config: WriteConfig, run_cli: Run
) -> None:
    config = write_config(with_kept(TEAM_B))
    deploy_replication(topology_of(config))
    [generated, kept] = live_statements() or []
    edited = {**generated, "Resource": f"{ARN_A}/hand-edited/*"}
    ecr_client(DEST_A).put_registry_policy(
        policyText=json.dumps({"Version": "2012-10-17", "Statement": [edited, kept]})
    )

    result = run_cli("release", "--config", str(config), "--destination", DEST_A.key, "--json")

    assert result.code == 1
    assert live_statements() == [edited, kept]
    assert result.json["destinations"][0]["changed"] == [GENERATED_SID]


def test_credentials_of_another_account_are_named_with_the_way_to_run_it(
    write_config: WriteConfig, run_cli: Run
) -> None:
    config = write_config(with_kept(TEAM_B))
    deploy_replication(topology_of(config))

    result = run_cli(
        "release", "--config", str(config), "--destination", DEST_A.key, "--no-assume-role"
    )

    assert result.code == 3
    assert "the credentials in use are for account 123456789012, not 111111111111" in result.out
