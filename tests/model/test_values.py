"""Value objects check themselves with the same rules and messages as the JSON reader.

One validation path: the reader builds the value objects and lets them check themselves, so a
Python caller and a ``cdk.json`` user read the same message for the same mistake.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import (
    DestinationSettings,
    Grant,
    Registry,
    ReplicationRule,
    ReplicationTopology,
    RepositoryTemplateSettings,
    RoleSettings,
    SourceRegistry,
    parse_topology,
)

from ..topologies import LIFECYCLE_POLICY

BUILD = Registry(account="555444333222", region="us-east-1")
PROD = Registry(account="123456789012", region="eu-west-1")


def problems(build: Any) -> list[str]:
    with pytest.raises(ReplicationConfigError) as info:
        build()
    return [str(p) for p in info.value.problems]


# ---------------------------------------------------------------------------------------------
# Grants


def test_a_grant_given_a_string_of_prefixes_is_one_clear_error_not_a_wildcard_per_letter() -> None:
    assert problems(lambda: Grant(source=BUILD, repository_prefixes="prod/")) == [
        "repositoryPrefixes: 'prod/' must be a list of strings (write ['prod/'])"
    ]


@pytest.mark.parametrize(
    ("prefixes", "expected"),
    [
        (("Prod/",), "repositoryPrefixes[0]: 'Prod/' is not a valid ECR repository filter"),
        (("x",), "repositoryPrefixes[0]: 'x' must be 2 to 256 characters long (it has 1)"),
        (("prod/", "prod/"), "repositoryPrefixes[1]: 'prod/' is listed twice"),
        ((7,), "repositoryPrefixes[0]: 7 must be a string"),
    ],
)
def test_a_grant_checks_its_prefixes_like_a_rule(prefixes: tuple[Any, ...], expected: str) -> None:
    (found,) = problems(lambda: Grant(source=BUILD, repository_prefixes=prefixes))
    assert found.startswith(expected)
    rule = problems(lambda: ReplicationRule(destinations=[PROD], repository_prefixes=prefixes))
    assert rule == [found], "a grant and a rule share one rule and one message"


def test_a_grant_source_must_be_a_registry() -> None:
    assert problems(lambda: Grant(source="555444333222/us-east-1", repository_prefixes=())) == [  # type: ignore[arg-type]
        "source: '555444333222/us-east-1' must be a Registry (the source account and region)"
    ]


def test_a_rule_given_a_string_of_prefixes_is_one_error() -> None:
    assert problems(lambda: ReplicationRule(destinations=[PROD], repository_prefixes="prod/")) == [
        "repositoryPrefixes: 'prod/' must be a list of strings (write ['prod/'])"
    ]


def test_a_rule_given_plain_dicts_for_destinations_names_the_type_it_needs() -> None:
    assert problems(
        lambda: ReplicationRule(destinations=[{"account": "123456789012", "region": "eu-west-1"}])  # type: ignore[list-item]
    ) == [
        'destinations[0]: {"account": "123456789012", "region": "eu-west-1"} must be a Registry '
        "(in JSON an object {account, region})"
    ]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            lambda: SourceRegistry(
                account=BUILD.account, region=BUILD.region, rules=[], backfill_existing_images="yes"
            ),
            "backfillExistingImages: 'yes' must be true or false",
        ),  # type: ignore[arg-type]
        (lambda: RoleSettings(enabled=1), "enabled: 1 must be true or false"),  # type: ignore[arg-type]
        (
            lambda: RoleSettings(trusted_principal_arns="arn:aws:iam::555444333222:role/ci"),
            "trustedPrincipalArns: 'arn:aws:iam::555444333222:role/ci' must be a list of strings",
        ),
        (
            lambda: RepositoryTemplateSettings(pull_accounts="111122223333"),
            "pullAccounts: '111122223333' must be a list of strings",
        ),
        (
            lambda: RepositoryTemplateSettings(resource_tags={"team": 1}),
            "resourceTags.team: 1 must be a string",
        ),
        (
            lambda: RepositoryTemplateSettings(description=None),
            "description: null must be a string",
        ),  # type: ignore[arg-type]
        (
            lambda: DestinationSettings(role={"externalId": "x"}),
            'role: {"externalId": "x"} must be a RoleSettings',
        ),  # type: ignore[arg-type]
        (
            lambda: ReplicationTopology(sources={"a"}),
            "sources: {'a'} must be a list of source registries",
        ),  # type: ignore[arg-type]
    ],
    ids=[
        "bool",
        "bool-int",
        "arns-string",
        "accounts-string",
        "tag-number",
        "description-none",
        "settings-dict",
        "sources-set",
    ],
)
def test_python_values_of_the_wrong_type_are_one_clear_error(build: Any, expected: str) -> None:
    found = problems(build)
    assert any(p.startswith(expected) for p in found), found


def test_natural_python_forms_are_accepted() -> None:
    rule = ReplicationRule(destinations=(PROD,), repository_prefixes=("prod/",))
    assert rule.destinations == (PROD,) and rule.repository_prefixes == ("prod/",)
    from_dict = RepositoryTemplateSettings(
        lifecycle_policy=LIFECYCLE_POLICY, resource_tags={"b": "2", "a": "1"}
    )
    from_text = RepositoryTemplateSettings(
        lifecycle_policy=json.dumps(LIFECYCLE_POLICY, separators=(",", ":")),
        resource_tags=[("a", "1"), ("b", "2")],
    )
    assert from_dict == from_text
    assert from_dict.tags == (("a", "1"), ("b", "2"))


# ---------------------------------------------------------------------------------------------
# parse_topology raises only ReplicationConfigError


@pytest.mark.parametrize(
    "raw",
    [
        None,
        set(),
        b'{"sources": []}',
        3.5,
        {"sources": {"a", "b"}},
        {"sources": [BUILD]},
        {"sources": [{"account": BUILD, "region": "us-east-1", "rules": []}]},
        {"sources": [{1: 2}]},
        {
            "sources": [
                {
                    "account": "555444333222",
                    "region": "us-east-1",
                    "rules": [{"destinations": [PROD]}],
                }
            ]
        },
        {
            "sources": [],
            "destinationDefaults": {"repositoryTemplate": {"resourceTags": {"a": object()}}},
        },
        {
            "sources": [],
            "destinationDefaults": {
                "repositoryTemplate": {"lifecyclePolicy": {"rules": [object()]}}
            },
        },
        {"sources": [], "destinationRegistries": "123456789012/eu-west-1"},
        {"sources": [float("nan")]},
    ],
    ids=[
        "none",
        "set",
        "bytes",
        "float",
        "sources-set",
        "registry-object",
        "registry-as-account",
        "non-string-key",
        "registry-as-destination",
        "tag-object",
        "lifecycle-object",
        "overrides-string",
        "nan",
    ],
)
def test_parse_topology_raises_only_its_own_error_whatever_it_is_given(raw: Any) -> None:
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(raw)
    assert info.value.problems
    assert all(len(str(p)) < 300 for p in info.value.problems)


def test_a_json_value_and_a_python_value_get_the_same_message() -> None:
    raw = {
        "sources": [
            {
                "account": BUILD.account,
                "region": BUILD.region,
                "rules": [
                    {
                        "repositoryPrefixes": ["Prod/"],
                        "destinations": [{"account": PROD.account, "region": PROD.region}],
                    }
                ],
            }
        ]
    }
    (json_problem,) = problems(lambda: parse_topology(raw))
    (python_problem,) = problems(
        lambda: ReplicationRule(destinations=[PROD], repository_prefixes=["Prod/"])
    )
    assert json_problem == f"sources[0].rules[0].{python_problem}"


def test_each_value_object_lives_in_its_subjects_module_and_values_still_exports_it() -> None:
    """One subject per file; ``ecr_replication.model.values`` keeps every name it had."""
    import importlib

    from ecr_replication.model import values

    homes = {
        "Registry": "registries",
        "ReplicationRule": "registries",
        "SourceRegistry": "registries",
        "Grant": "registries",
        "BackfillFunctionSettings": "backfill_function",
        "RepositoryTemplateSettings": "templates",
        "RoleSettings": "roles",
        "MonitoringSettings": "monitoring",
        "OperationsSettings": "monitoring",
        "DestinationSettings": "destinations",
        "DestinationOverride": "destinations",
        "DestinationRegistry": "destinations",
    }
    for name, home in homes.items():
        value_object = getattr(values, name)
        assert value_object.__module__ == f"ecr_replication.model.{home}", name
        module = importlib.import_module(f"ecr_replication.model.{home}")
        assert getattr(module, name) is value_object
    for name in (
        "Destination",
        "repository_patterns",
        "union_prefixes",
        "source_rule_problems",
        "many_destinations_warning",
        "merge_grants",
        "backfill_function_problems",
        "template_prefix_for",
        "template_prefix_problem",
        "canonical_applied_for",
    ):
        assert (name in values.__all__ and callable(getattr(values, name))) or name == "Destination"
