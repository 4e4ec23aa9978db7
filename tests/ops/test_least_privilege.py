"""The roles the constructs create for the operations commands allow exactly what they call.

Every command that reads AWS runs against moto (stubs where moto stops), every API call is
recorded with the account it acts in, and the calls made in destination accounts (through the
destination role) are compared with the role's permission statements.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ecr_replication.model.iam import as_list
from ecr_replication.model.policies import destination_role_permission_statements
from ecr_replication.naming import destination_stack_name

from .opshelp import (
    DEST_A,
    DEST_B,
    IAM_ACTION_OF,
    SOURCE,
    SOURCE_ACCOUNT,
    TEMPLATES_PARAMS,
    ClientStubs,
    CliResult,
    deploy_replication,
    push,
    stub_stack,
    template_response,
    topology_of,
)

Run = Callable[..., CliResult]


def actions_called(stubs: ClientStubs, *, outside: str) -> set[str]:
    """IAM actions of the calls made in accounts other than ``outside``."""
    called = {
        f"{service}:{operation}"
        for service, _, account, operation in stubs.calls
        if account != outside
    }
    return {IAM_ACTION_OF.get(action, action) for action in called}


def granted_actions(statements: list[dict[str, object]]) -> set[str]:
    return {a for s in statements for a in as_list(s["Action"])}


def test_the_destination_role_allows_exactly_what_the_commands_call_in_destinations(
    write_config: Callable[..., Path], run_cli: Run, stubs: ClientStubs
) -> None:
    # A kept statement only registry policy scope V2 accepts: preflight reads the scope.
    config = write_config(
        destinationRegistries=[
            {
                "account": DEST_A.account,
                "region": DEST_A.region,
                "additionalPolicyStatements": [
                    {
                        "Sid": "WorkloadPulls",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
                        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                        "Resource": f"arn:aws:ecr:{DEST_A.region}:{DEST_A.account}:repository/prod/*",
                    }
                ],
            }
        ]
    )
    topology = topology_of(config)
    deploy_replication(topology)
    digest = push(SOURCE, "prod/api", "v1", "api-v1")
    assert push(DEST_A, "prod/api", "v1", "api-v1") == digest
    for destination in (DEST_A, DEST_B):
        stubs.respond(
            destination,
            "ecr",
            "describe_repository_creation_templates",
            template_response("prod"),
            TEMPLATES_PARAMS,
        )
        stub_stack(stubs, destination, ("prod",))
    # One destination answers the region opt-in through the Account API, preflight's fallback.
    stubs.fail(DEST_A, "ec2", "describe_regions", "UnauthorizedOperation", region="us-east-1")
    stubs.respond(
        DEST_A,
        "account",
        "get_region_opt_status",
        {"RegionName": DEST_A.region, "RegionOptStatus": "ENABLED_BY_DEFAULT"},
        region="us-east-1",
    )

    commands = (["preflight"], ["verify", "--referrers"], ["cost"], ["backfill", "--dry-run"])
    for command in commands:
        result = run_cli(*command, "--config", str(config), "--json")
        assert result.json["unchecked"] == [], (command, result.json["unchecked"])

    (destination,) = (d for d in topology.destination_registries() if d.registry == DEST_A)
    granted = granted_actions(
        destination_role_permission_statements(
            partition="aws",
            region=DEST_A.region,
            account=DEST_A.account,
            prefixes=destination.grants[0].repository_prefixes,
            stack_name=destination_stack_name(DEST_A),
        )
    )
    assert actions_called(stubs, outside=SOURCE_ACCOUNT) == granted
    assert {"ecr:BatchGetImage", "ecr:GetAccountSetting"} <= granted
    stubs.assert_all_used()
