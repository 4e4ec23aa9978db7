"""The topology key ``operations``: what it accepts, what it changes in the derived views, and
the same rules and messages for the JSON reader and the Python value object."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import OperationsSettings, parse_topology

BUILD = "555444333222"
PROD = "123456789012"
OPS = "999900002222"


def topology(operations: Any, **extra: Any) -> dict[str, Any]:
    return {
        "sources": [
            {
                "account": BUILD,
                "region": "us-east-1",
                "rules": [
                    {
                        "repositoryPrefixes": ["prod/"],
                        "destinations": [
                            {"account": PROD, "region": "eu-west-1"},
                            {"account": BUILD, "region": "us-west-2"},
                        ],
                    }
                ],
            }
        ],
        "operations": operations,
        **extra,
    }


def problems(operations: Any, **extra: Any) -> list[str]:
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(topology(operations, **extra))
    return [str(p) for p in info.value.problems]


def destinations(raw: dict[str, Any]) -> dict[str, Any]:
    return {d.registry.key: d for d in parse_topology(raw).destination_registries()}


def test_the_key_is_read_with_its_default() -> None:
    parsed = parse_topology(topology({"account": OPS}))
    assert parsed.operations == OperationsSettings(account=OPS, allow_backfill=False)
    assert parse_topology(topology({"account": OPS, "allowBackfill": True})).operations == (
        OperationsSettings(account=OPS, allow_backfill=True)
    )


def test_with_operations_every_destination_outside_it_gets_a_role_trusting_it() -> None:
    found = destinations(topology({"account": OPS}))
    same_account = found[f"{BUILD}/us-west-2"]
    assert same_account.needs_role and not same_account.needs_registry_policy
    assert same_account.role_trusted_accounts == (OPS,)
    assert same_account.role_grants == same_account.grants
    assert found[f"{PROD}/eu-west-1"].role_trusted_accounts == (OPS,)


def test_without_operations_roles_are_for_cross_account_sources_as_before() -> None:
    raw = topology(None)
    del raw["operations"]
    found = destinations(raw)
    assert not found[f"{BUILD}/us-west-2"].needs_role
    assert found[f"{PROD}/eu-west-1"].role_trusted_accounts == (BUILD,)
    assert not parse_topology(raw).needs_source_role(parse_topology(raw).sources[0])


def test_a_destination_in_the_operations_account_needs_no_role() -> None:
    found = destinations(topology({"account": PROD}))
    assert not found[f"{PROD}/eu-west-1"].needs_role
    assert found[f"{BUILD}/us-west-2"].needs_role


def test_sources_outside_the_operations_account_need_the_source_role() -> None:
    parsed = parse_topology(topology({"account": OPS}))
    assert parsed.needs_source_role(parsed.sources[0])
    inside = parse_topology(topology({"account": BUILD}))
    assert not inside.needs_source_role(inside.sources[0])


def test_the_source_roles_take_the_trust_conditions_of_the_destination_defaults() -> None:
    operator = f"arn:aws:iam::{OPS}:role/operator"
    parsed = parse_topology(
        topology(
            {"account": OPS},
            destinationDefaults={
                "role": {"externalId": "ops-id", "trustedPrincipalArns": [operator]}
            },
        )
    )
    assert parsed.source_role_settings.external_id == "ops-id"
    assert parsed.source_role_settings.trusted_principal_arns == (operator,)


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        (
            {"account": "99990000222"},
            "operations.account: '99990000222' is not a 12-digit AWS account id",
        ),
        (
            {"account": OPS, "allowBackfill": "yes"},
            "operations.allowBackfill: 'yes' must be true or false",
        ),
        ({}, "operations.account: is required"),
        (
            {"account": OPS, "allow_backfill": True},
            "operations.allow_backfill: unknown key; allowed keys here are account, allowBackfill",
        ),
        (OPS, f"operations: '{OPS}' must be a JSON object"),
    ],
)
def test_a_bad_value_names_the_field_the_value_and_what_is_allowed(
    operations: Any, expected: str
) -> None:
    assert any(p.startswith(expected) for p in problems(operations)), problems(operations)


def test_trusted_principals_must_be_in_the_operations_account() -> None:
    elsewhere = f"arn:aws:iam::{BUILD}:role/ci"
    found = problems(
        {"account": OPS},
        destinationDefaults={
            "role": {"trustedPrincipalArns": [f"arn:aws:iam::{OPS}:role/ok", elsewhere]}
        },
        destinationRegistries=[
            {"account": PROD, "region": "eu-west-1", "role": {"trustedPrincipalArns": [elsewhere]}}
        ],
    )
    assert found == [
        f"destinationDefaults.role.trustedPrincipalArns[1]: '{elsewhere}' is not in the "
        f"operations account {OPS}; with operations the roles trust principals of that account "
        "only",
        f"destinationRegistries[0].role.trustedPrincipalArns[0]: '{elsewhere}' is not in the "
        f"operations account {OPS}; with operations the roles trust principals of that account "
        "only",
    ]


@pytest.mark.parametrize(
    ("kwargs", "json_value"),
    [
        ({"account": "1"}, {"account": "1"}),
        ({"account": OPS, "allow_backfill": 1}, {"account": OPS, "allowBackfill": 1}),
    ],
)
def test_the_value_object_and_the_json_reader_share_rules_and_messages(
    kwargs: dict[str, Any], json_value: dict[str, Any]
) -> None:
    with pytest.raises(ReplicationConfigError) as info:
        OperationsSettings(**kwargs)
    (python,) = (str(p) for p in info.value.problems)
    (from_json,) = problems(json_value)
    assert from_json == f"operations.{python}"
