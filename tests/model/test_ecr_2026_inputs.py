"""The inputs ECR gained by 2026: delete replication per rule, templates applied on push, and
registry policy statements with any ECR action (scope V2). Each is checked once, where it
enters, with the same message for JSON and Python."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import (
    Registry,
    ReplicationRule,
    RepositoryTemplateSettings,
    parse_topology,
)

BUILD = "555444333222"
PROD = "123456789012"
STAGING = "210987654321"
PROD_ARN = f"arn:aws:ecr:eu-west-1:{PROD}:repository"


def topology(**rule: Any) -> dict[str, Any]:
    return {
        "sources": [
            {
                "account": BUILD,
                "region": "us-east-1",
                "rules": [
                    {
                        "repositoryPrefixes": ["prod/"],
                        "destinations": [{"account": PROD, "region": "eu-west-1"}],
                        **rule,
                    },
                    {
                        "repositoryPrefixes": ["staging/"],
                        "destinations": [{"account": STAGING, "region": "eu-west-1"}],
                    },
                ],
            }
        ]
    }


def problems_of(raw: object) -> list[str]:
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(raw)
    return [str(p) for p in info.value.problems]


# ---------------------------------------------------------------------------------------------
# replicateDeletions


def test_replicate_deletions_is_read_per_rule_and_is_off_by_default() -> None:
    parsed = parse_topology(topology(replicateDeletions=True))
    assert [r.replicate_deletions for r in parsed.sources[0].rules] == [True, False]
    assert (
        ReplicationRule(
            destinations=[Registry(account=PROD, region="eu-west-1")]
        ).replicate_deletions
        is False
    )


def test_replicate_deletions_that_is_not_a_boolean_is_one_error_in_json_and_python() -> None:
    assert problems_of(topology(replicateDeletions="yes")) == [
        "sources[0].rules[0].replicateDeletions: 'yes' must be true or false"
    ]
    with pytest.raises(ReplicationConfigError) as info:
        ReplicationRule(
            destinations=[Registry(account=PROD, region="eu-west-1")],
            replicate_deletions="yes",  # type: ignore[arg-type]
        )
    assert str(info.value) == "replicateDeletions: 'yes' must be true or false"


# ---------------------------------------------------------------------------------------------
# repositoryTemplate.appliedFor


def test_templates_apply_for_replication_by_default() -> None:
    assert RepositoryTemplateSettings().applied_for == ("REPLICATION",)


def test_applied_for_may_add_create_on_push_and_pull_through_cache_in_a_fixed_order() -> None:
    raw = topology()
    raw["destinationDefaults"] = {
        "repositoryTemplate": {
            "appliedFor": ["PULL_THROUGH_CACHE", "REPLICATION", "CREATE_ON_PUSH"]
        }
    }
    parsed = parse_topology(raw)
    assert parsed.destination_defaults.repository_template.applied_for == (
        "REPLICATION",
        "CREATE_ON_PUSH",
        "PULL_THROUGH_CACHE",
    )


def test_a_registry_override_inherits_applied_for_unless_it_gives_its_own() -> None:
    raw = topology()
    raw["destinationDefaults"] = {
        "repositoryTemplate": {"appliedFor": ["REPLICATION", "CREATE_ON_PUSH"]}
    }
    raw["destinationRegistries"] = [
        {
            "account": PROD,
            "region": "eu-west-1",
            "repositoryTemplate": {"tagMutability": "IMMUTABLE"},
        },
        {
            "account": STAGING,
            "region": "eu-west-1",
            "repositoryTemplate": {"appliedFor": ["REPLICATION"]},
        },
    ]
    parsed = parse_topology(raw)
    prod, staging = (
        o.settings.repository_template.applied_for for o in parsed.destination_overrides
    )
    assert prod == ("REPLICATION", "CREATE_ON_PUSH")
    assert staging == ("REPLICATION",)


@pytest.mark.parametrize(
    ("applied_for", "expected"),
    [
        (
            [],
            "appliedFor: [] must include 'REPLICATION': these templates set up the repositories "
            "replication creates; CREATE_ON_PUSH and PULL_THROUGH_CACHE may be added beside it",
        ),
        (
            ["CREATE_ON_PUSH"],
            "appliedFor: [\"CREATE_ON_PUSH\"] must include 'REPLICATION'",
        ),
        (
            ["REPLICATION", "ON_PULL"],
            "appliedFor[1]: 'ON_PULL' is not one of REPLICATION, CREATE_ON_PUSH, "
            "PULL_THROUGH_CACHE",
        ),
        (["REPLICATION", "REPLICATION"], "appliedFor[1]: 'REPLICATION' is listed twice"),
        ("REPLICATION", "appliedFor: 'REPLICATION' must be a list of strings"),
    ],
    ids=["empty", "without-replication", "unknown", "twice", "bare-string"],
)
def test_applied_for_must_name_replication_and_known_values_only(
    applied_for: Any, expected: str
) -> None:
    raw = topology()
    raw["destinationDefaults"] = {"repositoryTemplate": {"appliedFor": applied_for}}
    (found,) = problems_of(raw)
    assert found.startswith(f"destinationDefaults.repositoryTemplate.{expected}"), found
    with pytest.raises(ReplicationConfigError) as info:
        RepositoryTemplateSettings(applied_for=applied_for)
    assert str(info.value).startswith(expected)


# ---------------------------------------------------------------------------------------------
# Every bad input at once


def test_every_bad_input_of_the_new_settings_is_one_path_named_error_all_at_once() -> None:
    raw = topology(replicateDeletions="yes")
    raw["destinationDefaults"] = {"repositoryTemplate": {"appliedFor": []}}
    raw["destinationRegistries"] = [
        {
            "account": PROD,
            "region": "eu-west-1",
            "repositoryTemplate": {"appliedFor": ["CREATE_ON_PUSH"]},
            "additionalPolicyStatements": [
                {
                    "Sid": "Pull",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{STAGING}:root"},
                    "Action": ["ecr:BatchGetImage", "s3:GetObject"],
                    "Resource": f"{PROD_ARN}/prod/*",
                }
            ],
        }
    ]

    found = problems_of(raw)

    assert [p.split(":")[0] for p in found] == [
        "sources[0].rules[0].replicateDeletions",
        "destinationDefaults.repositoryTemplate.appliedFor",
        "destinationRegistries[0].repositoryTemplate.appliedFor",
        "destinationRegistries[0].additionalPolicyStatements[0].Action[1]",
    ]
    assert "'yes' must be true or false" in found[0]
    assert "[] must include 'REPLICATION'" in found[1]
    assert "[\"CREATE_ON_PUSH\"] must include 'REPLICATION'" in found[2]
    assert "'s3:GetObject' is not an ECR action" in found[3]
