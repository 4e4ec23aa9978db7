"""Stacks built from a topology: which stacks, what is in them, their order, their snapshots.

Each scenario's app is synthesized once per module (jsii is slow); the snapshot tests store
one JSON file per stack per scenario under ``__snapshots__/test_stacks/``.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match, Template
from syrupy.assertion import SnapshotAssertion

from ecr_replication.constructs.app import build_app
from ecr_replication.constructs.stacks import (
    DestinationReplicationStack,
    ReplicationStacks,
    SourceReplicationStack,
    add_replication_stacks,
)
from ecr_replication.constructs.warnings import WARNING_REPLICATION_NOT_CHAINED
from ecr_replication.model import Registry, parse_topology
from ecr_replication.naming import destination_stack_name, source_stack_name
from tests.snapshots import BOOTSTRAP_PARAMETER, snapshot_template

BUILD = "555444333222"
PROD = "123456789012"
ANALYTICS = "210987654321"
TEAM_B = "666555444333"

FAN_OUT = {
    "sources": [
        {
            "account": BUILD,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["prod/", "shared/base-"],
                    "destinations": [
                        {"account": PROD, "region": "eu-west-1"},
                        {"account": ANALYTICS, "region": "ap-southeast-2"},
                    ],
                },
                {
                    "repositoryPrefixes": ["prod/"],
                    "destinations": [{"account": BUILD, "region": "us-west-2"}],
                },
            ],
        }
    ],
    "destinationDefaults": {
        "role": {"externalId": "ecr-replication-tooling"},
        "repositoryTemplate": {"pullAccounts": ["111122223333"]},
    },
    "destinationRegistries": [
        {
            "account": ANALYTICS,
            "region": "ap-southeast-2",
            "allowCreateRepository": False,
            "repositoryTemplate": {
                "tagMutability": "IMMUTABLE_WITH_EXCLUSION",
                "tagMutabilityExclusionFilters": ["latest"],
            },
        }
    ],
}

TWO_SOURCES = {
    "sources": [
        {
            "account": BUILD,
            "region": "us-east-1",
            "rules": [
                {
                    "repositoryPrefixes": ["team-a/"],
                    "destinations": [{"account": PROD, "region": "eu-west-1"}],
                }
            ],
        },
        {
            "account": TEAM_B,
            "region": "us-west-2",
            "rules": [{"destinations": [{"account": PROD, "region": "eu-west-1"}]}],
        },
    ],
    "destinationDefaults": {"role": {"principalOrgId": "o-abcdefghij"}},
}


def registry(account: str, region: str) -> Registry:
    return Registry(account=account, region=region)


def build(raw: object) -> ReplicationStacks:
    return add_replication_stacks(App(), parse_topology(raw))


def resource_types(stack: Stack) -> list[str]:
    resources = Template.from_stack(stack).to_json()["Resources"]
    return sorted(r["Type"] for r in resources.values())


def stacks_of(app_stacks: ReplicationStacks) -> list[Stack]:
    return [*app_stacks.sources.values(), *app_stacks.destinations.values()]


@pytest.fixture(scope="module")
def default_app(cdk_json_topology: dict[str, Any]) -> ReplicationStacks:
    return build_app(App(context={"ecrReplication": cdk_json_topology}))


@pytest.fixture(scope="module")
def fan_out() -> ReplicationStacks:
    return build(FAN_OUT)


@pytest.fixture(scope="module")
def two_sources() -> ReplicationStacks:
    return build(TWO_SOURCES)


# ---------------------------------------------------------------------------------------------
# Which stacks, and their names


def test_the_default_app_has_one_source_and_one_destination_stack(
    default_app: ReplicationStacks,
) -> None:
    assert [s.stack_name for s in stacks_of(default_app)] == [
        "EcrReplicationSource-555444333222-us-east-1",
        "EcrReplicationDestination-123456789012-eu-west-1",
    ]


def test_every_stack_has_the_account_and_region_of_its_registry(
    fan_out: ReplicationStacks,
) -> None:
    for registry_, stack in [*fan_out.sources.items(), *fan_out.destinations.items()]:
        assert (stack.account, stack.region) == (registry_.account, registry_.region)


def test_stack_names_and_ids_are_deterministic(fan_out: ReplicationStacks) -> None:
    for registry_, source in fan_out.sources.items():
        assert source.stack_name == source.node.id == source_stack_name(registry_)
    for registry_, destination in fan_out.destinations.items():
        assert destination.stack_name == destination.node.id == destination_stack_name(registry_)
    assert sorted(s.stack_name for s in stacks_of(fan_out)) == [
        "EcrReplicationDestination-123456789012-eu-west-1",
        "EcrReplicationDestination-210987654321-ap-southeast-2",
        "EcrReplicationDestination-555444333222-us-west-2",
        "EcrReplicationSource-555444333222-us-east-1",
    ]


def test_there_is_one_source_stack_per_source_registry(two_sources: ReplicationStacks) -> None:
    assert list(two_sources.sources) == [
        registry(BUILD, "us-east-1"),
        registry(TEAM_B, "us-west-2"),
    ]
    assert all(isinstance(s, SourceReplicationStack) for s in two_sources.sources.values())
    assert list(two_sources.destinations) == [registry(PROD, "eu-west-1")]


def test_a_destination_that_needs_nothing_gets_no_stack() -> None:
    stacks = build(
        {
            "sources": [
                {
                    "account": BUILD,
                    "region": "us-east-1",
                    "rules": [{"destinations": [{"account": BUILD, "region": "us-west-2"}]}],
                }
            ],
            "destinationDefaults": {"repositoryTemplate": {"enabled": False}},
        }
    )
    assert stacks.destinations == {}
    (source,) = stacks.sources.values()
    assert source.dependencies == []


def test_stacks_are_added_into_the_given_app_next_to_its_own_stacks(new_stack: Any) -> None:
    app = App()
    own = new_stack(app=app, stack_id="MyOwnStack")
    stacks = add_replication_stacks(app, parse_topology(TWO_SOURCES))
    children = {child.node.id for child in app.node.children}
    assert children == {own.node.id, *(s.node.id for s in stacks_of(stacks))}
    assert all(s.node.scope is app for s in stacks_of(stacks))


# ---------------------------------------------------------------------------------------------
# What each stack holds


def test_the_source_stack_holds_only_the_replication_configuration(
    fan_out: ReplicationStacks,
) -> None:
    (source,) = fan_out.sources.values()
    assert resource_types(source) == ["AWS::ECR::ReplicationConfiguration"]
    assert source.replication.rules == parse_topology(FAN_OUT).sources[0].rules


def test_a_cross_account_destination_gets_policy_role_and_templates(
    fan_out: ReplicationStacks,
) -> None:
    stack = fan_out.destinations[registry(PROD, "eu-west-1")]
    assert resource_types(stack) == [
        "AWS::ECR::RegistryPolicy",
        "AWS::ECR::RepositoryCreationTemplate",
        "AWS::ECR::RepositoryCreationTemplate",
        "AWS::IAM::Role",
    ]
    assert stack.registry_policy is not None
    assert stack.role is not None
    assert stack.repository_template is not None
    assert stack.repository_template.prefixes == ("prod", "shared")


def test_a_same_account_cross_region_destination_gets_templates_but_no_policy_or_role(
    fan_out: ReplicationStacks,
) -> None:
    stack = fan_out.destinations[registry(BUILD, "us-west-2")]
    assert isinstance(stack, DestinationReplicationStack)
    assert stack.registry_policy is None
    assert stack.role is None
    assert resource_types(stack) == ["AWS::ECR::RepositoryCreationTemplate"]


def test_destination_overrides_reach_their_registry_only(fan_out: ReplicationStacks) -> None:
    analytics = Template.from_stack(fan_out.destinations[registry(ANALYTICS, "ap-southeast-2")])
    (policy,) = analytics.find_resources("AWS::ECR::RegistryPolicy").values()
    (statement,) = policy["Properties"]["PolicyText"]["Statement"]
    assert statement["Action"] == "ecr:ReplicateImage"
    role_actions = {
        action
        for role in analytics.find_resources("AWS::IAM::Role").values()
        for role_policy in role["Properties"]["Policies"]
        for s in role_policy["PolicyDocument"]["Statement"]
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert role_actions == {
        "account:GetRegionOptStatus",
        "cloudformation:DescribeStackResources",
        "ec2:DescribeRegions",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:DescribeRepositoryCreationTemplates",
        "ecr:GetAccountSetting",
        "ecr:GetRegistryPolicy",
    }, "the role only reads"
    analytics.has_resource_properties(
        "AWS::ECR::RepositoryCreationTemplate",
        {"Prefix": "prod", "ImageTagMutability": "IMMUTABLE_WITH_EXCLUSION"},
    )
    prod = Template.from_stack(fan_out.destinations[registry(PROD, "eu-west-1")])
    prod.has_resource_properties(
        "AWS::ECR::RepositoryCreationTemplate",
        {"Prefix": "prod", "ImageTagMutability": "IMMUTABLE"},
    )


def test_two_sources_share_one_registry_policy_in_their_destination(
    two_sources: ReplicationStacks,
) -> None:
    template = Template.from_stack(two_sources.destinations[registry(PROD, "eu-west-1")])
    template.resource_count_is("AWS::ECR::RegistryPolicy", 1)
    (policy,) = template.find_resources("AWS::ECR::RegistryPolicy").values()
    resources = {
        s["Principal"]["AWS"]: s["Resource"]
        for s in policy["Properties"]["PolicyText"]["Statement"]
    }
    assert resources == {
        "arn:aws:iam::555444333222:root": (
            "arn:aws:ecr:eu-west-1:123456789012:repository/team-a/*"
        ),
        "arn:aws:iam::666555444333:root": "arn:aws:ecr:eu-west-1:123456789012:repository/*",
    }


def test_an_unfiltered_source_gets_the_root_template_in_its_destination(
    two_sources: ReplicationStacks,
) -> None:
    stack = two_sources.destinations[registry(PROD, "eu-west-1")]
    assert stack.repository_template is not None
    assert stack.repository_template.prefixes == ("ROOT", "team-a")
    assert sorted(stack.repository_template.templates) == ["ROOT", "team-a"]


def test_repository_templates_can_be_turned_off(raw_topology: dict[str, Any]) -> None:
    raw_topology["destinationDefaults"] = {"repositoryTemplate": {"enabled": False}}
    (stack,) = build(raw_topology).destinations.values()
    assert stack.repository_template is None
    assert resource_types(stack) == [
        "AWS::ECR::RegistryPolicy",
        "AWS::IAM::Role",
    ]


def test_the_destination_role_can_be_turned_off(raw_topology: dict[str, Any]) -> None:
    raw_topology["destinationDefaults"] = {"role": {"enabled": False}}
    (stack,) = build(raw_topology).destinations.values()
    assert stack.role is None
    assert "AWS::IAM::Role" not in resource_types(stack)


# ---------------------------------------------------------------------------------------------
# Deploy order


def test_a_source_stack_depends_on_every_destination_stack_it_replicates_into(
    fan_out: ReplicationStacks,
) -> None:
    (source,) = fan_out.sources.values()
    assert {s.stack_name for s in source.dependencies} == {
        s.stack_name for s in fan_out.destinations.values()
    }
    for destination in fan_out.destinations.values():
        assert destination.dependencies == []


def test_each_of_two_sources_depends_on_the_shared_destination(
    two_sources: ReplicationStacks,
) -> None:
    (destination,) = two_sources.destinations.values()
    for source in two_sources.sources.values():
        assert source.dependencies == [destination]


# ---------------------------------------------------------------------------------------------
# Snapshots: one per stack per scenario


def assert_snapshots(stacks: ReplicationStacks, snapshot_json: SnapshotAssertion) -> None:
    for stack in stacks_of(stacks):
        template = snapshot_template(stack)
        assert BOOTSTRAP_PARAMETER not in template.get("Parameters", {})
        assert template == snapshot_json(name=stack.stack_name)


def test_every_stack_of_the_default_app_matches_its_snapshot(
    default_app: ReplicationStacks, snapshot_json: SnapshotAssertion
) -> None:
    assert_snapshots(default_app, snapshot_json)


def test_every_stack_of_the_fan_out_topology_matches_its_snapshot(
    fan_out: ReplicationStacks, snapshot_json: SnapshotAssertion
) -> None:
    assert_snapshots(fan_out, snapshot_json)


def test_every_stack_of_two_sources_into_one_registry_matches_its_snapshot(
    two_sources: ReplicationStacks, snapshot_json: SnapshotAssertion
) -> None:
    assert_snapshots(two_sources, snapshot_json)


def test_a_source_stack_that_replicates_onward_what_it_receives_warns_with_an_id() -> None:
    topology = parse_topology(
        {
            "sources": [
                {
                    "account": BUILD,
                    "region": "us-east-1",
                    "rules": [
                        {
                            "repositoryPrefixes": ["prod/"],
                            "destinations": [{"account": PROD, "region": "eu-west-1"}],
                        }
                    ],
                },
                {
                    "account": PROD,
                    "region": "eu-west-1",
                    "rules": [{"destinations": [{"account": PROD, "region": "eu-west-2"}]}],
                },
            ]
        }
    )
    stacks = add_replication_stacks(App(), topology)
    onward = stacks.sources[Registry(account=PROD, region="eu-west-1")]
    warnings = Annotations.from_stack(onward).find_warning("*", Match.any_value())
    (warning,) = [w for w in warnings if WARNING_REPLICATION_NOT_CHAINED in str(w.entry.data)]
    assert warning.id == f"/{onward.replication.node.path}"
    assert "receives prod/ from 555444333222/us-east-1 by replication" in str(warning.entry.data)
    first = stacks.sources[Registry(account=BUILD, region="us-east-1")]
    assert Annotations.from_stack(first).find_warning("*", Match.any_value()) == []
