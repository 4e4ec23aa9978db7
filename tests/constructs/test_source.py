"""SourceRegistryReplication: the source registry's one replication configuration."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk import aws_ecr as ecr
from aws_cdk.assertions import Annotations, Match, Template

from ecr_replication.constructs.source import (
    WARNING_UNFILTERED_CROSS_ACCOUNT,
    RenderedRule,
    SourceRegistryReplication,
)
from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import Registry, ReplicationRule

BUILD = "555444333222"
PROD = Registry(account="123456789012", region="eu-west-1")
DR = Registry(account=BUILD, region="us-west-2")


def rule(*destinations: Registry, prefixes: tuple[str, ...] = ()) -> ReplicationRule:
    return ReplicationRule(destinations=destinations, repository_prefixes=prefixes)


@pytest.fixture
def source_stack(new_stack: Any) -> Any:
    return new_stack(BUILD, "us-east-1", stack_id="Source")


def test_rules_render_destinations_and_prefix_filters(source_stack: Any) -> None:
    SourceRegistryReplication(
        source_stack,
        "Replication",
        rules=[rule(PROD, DR, prefixes=("prod/", "shared/")), rule(DR)],
    )
    template = Template.from_stack(source_stack)
    template.resource_count_is("AWS::ECR::ReplicationConfiguration", 1)
    template.has_resource_properties(
        "AWS::ECR::ReplicationConfiguration",
        {
            "ReplicationConfiguration": {
                "Rules": [
                    {
                        "Destinations": [
                            {"Region": "eu-west-1", "RegistryId": "123456789012"},
                            {"Region": "us-west-2", "RegistryId": BUILD},
                        ],
                        "RepositoryFilters": [
                            {"Filter": "prod/", "FilterType": "PREFIX_MATCH"},
                            {"Filter": "shared/", "FilterType": "PREFIX_MATCH"},
                        ],
                    },
                    {
                        "Destinations": [{"Region": "us-west-2", "RegistryId": BUILD}],
                        "RepositoryFilters": Match.absent(),
                    },
                ]
            }
        },
    )


def test_a_rule_added_after_creation_is_in_the_template(source_stack: Any) -> None:
    replication = SourceRegistryReplication(source_stack, "Replication", rules=[rule(DR)])
    replication.add_rule(rule(PROD, prefixes=("prod/",)))
    assert replication.rules == (rule(DR), rule(PROD, prefixes=("prod/",)))
    assert replication.destinations == (DR, PROD)
    rules = Template.from_stack(source_stack).find_resources("AWS::ECR::ReplicationConfiguration")
    (resource,) = rules.values()
    assert len(resource["Properties"]["ReplicationConfiguration"]["Rules"]) == 2


def test_the_resource_attribute_is_the_l1_replication_configuration(source_stack: Any) -> None:
    replication = SourceRegistryReplication(source_stack, "Replication", rules=[rule(DR)])
    assert isinstance(replication.resource, ecr.CfnReplicationConfiguration)
    assert replication.node.default_child is replication.resource
    assert replication.registry == Registry(account=BUILD, region="us-east-1")


def test_an_eleventh_rule_is_refused(source_stack: Any) -> None:
    replication = SourceRegistryReplication(
        source_stack,
        "Replication",
        rules=[rule(DR, prefixes=(f"team-{i}/",)) for i in range(10)],
    )
    with pytest.raises(
        ReplicationConfigError, match=r"^Source/Replication\.rules: has 11 rules; .*at most 10"
    ):
        replication.add_rule(rule(DR, prefixes=("team-10/",)))
    assert len(replication.rules) == 10


def test_a_26th_unique_destination_is_refused(source_stack: Any) -> None:
    accounts = [f"10000000{i:04d}" for i in range(26)]
    replication = SourceRegistryReplication(
        source_stack,
        "Replication",
        rules=[rule(*(Registry(account=a, region="eu-west-1") for a in accounts[:25]))],
    )
    with pytest.raises(
        ReplicationConfigError, match=r"^Source/Replication\.rules: .*26 unique destinations"
    ):
        replication.add_rule(rule(Registry(account=accounts[25], region="eu-west-1")))


def test_a_destination_equal_to_the_stacks_registry_is_refused(source_stack: Any) -> None:
    with pytest.raises(
        ReplicationConfigError,
        match=r"^Source/Replication\.rules\[0\]\.destinations\[0\]: .*source registry itself",
    ):
        SourceRegistryReplication(
            source_stack, "Replication", rules=[rule(Registry(account=BUILD, region="us-east-1"))]
        )


def test_a_destination_in_another_partition_is_refused(source_stack: Any) -> None:
    with pytest.raises(ReplicationConfigError, match="does not cross partitions"):
        SourceRegistryReplication(
            source_stack,
            "Replication",
            rules=[rule(Registry(account="123456789012", region="cn-north-1"))],
        )


def test_a_configuration_without_rules_fails_at_synth(source_stack: Any) -> None:
    SourceRegistryReplication(source_stack, "Replication")
    with pytest.raises(
        RuntimeError, match=r"Source/Replication\.rules: \[\] must list at least one rule"
    ):
        Template.from_stack(source_stack)


def test_a_second_configuration_for_the_same_registry_is_refused(source_stack: Any) -> None:
    SourceRegistryReplication(source_stack, "Replication", rules=[rule(DR)])
    with pytest.raises(
        ReplicationConfigError,
        match=r"^Source/Again: registry 555444333222/us-east-1 already has a replication "
        r"configuration at Source/Replication",
    ):
        SourceRegistryReplication(source_stack, "Again", rules=[rule(PROD)])


def test_a_second_configuration_in_another_stack_with_the_same_env_is_refused(
    new_stack: Any,
) -> None:
    app = App()
    first = new_stack(BUILD, "us-east-1", app=app, stack_id="First")
    second = new_stack(BUILD, "us-east-1", app=app, stack_id="Second")
    SourceRegistryReplication(first, "Replication", rules=[rule(DR)])
    with pytest.raises(ReplicationConfigError, match="already has a replication configuration"):
        SourceRegistryReplication(second, "Replication", rules=[rule(PROD)])


def test_configurations_for_different_registries_coexist_in_one_app(new_stack: Any) -> None:
    app = App()
    east = new_stack(BUILD, "us-east-1", app=app, stack_id="East")
    west = new_stack(BUILD, "us-west-1", app=app, stack_id="West")
    SourceRegistryReplication(east, "Replication", rules=[rule(DR)])
    SourceRegistryReplication(west, "Replication", rules=[rule(DR)])
    Template.from_stack(west).resource_count_is("AWS::ECR::ReplicationConfiguration", 1)


def test_the_same_registry_in_two_separate_apps_is_allowed(new_stack: Any) -> None:
    stacks = [new_stack(BUILD, "us-east-1") for _ in range(2)]
    assert stacks[0].node.root is not stacks[1].node.root
    for stack in stacks:
        SourceRegistryReplication(stack, "Replication", rules=[rule(DR)])
        Template.from_stack(stack).resource_count_is("AWS::ECR::ReplicationConfiguration", 1)


def test_an_unfiltered_cross_account_rule_is_warned_about(source_stack: Any) -> None:
    SourceRegistryReplication(source_stack, "Replication", rules=[rule(DR), rule(PROD)])
    Annotations.from_stack(source_stack).has_warning(
        "/Source/Replication",
        Match.string_like_regexp(
            r"rules\[1\] replicates every repository to other accounts \(123456789012/eu-west-1\)"
            rf".*\[ack: {WARNING_UNFILTERED_CROSS_ACCOUNT}\]"
        ),
    )


def test_filtered_or_same_account_rules_raise_no_warning(source_stack: Any) -> None:
    SourceRegistryReplication(
        source_stack, "Replication", rules=[rule(DR), rule(PROD, prefixes=("prod/",))]
    )
    Annotations.from_stack(source_stack).has_no_warning("*", Match.any_value())


def test_render_rule_can_be_overridden_in_a_subclass(source_stack: Any) -> None:
    class AlsoSharedImages(SourceRegistryReplication):
        def render_rule(self, rule: ReplicationRule) -> RenderedRule:
            rendered = super().render_rule(rule)
            rendered.setdefault("RepositoryFilters", []).append(
                {"Filter": "shared/", "FilterType": "PREFIX_MATCH"}
            )
            return rendered

    AlsoSharedImages(source_stack, "Replication", rules=[rule(PROD, prefixes=("prod/",))])
    Template.from_stack(source_stack).has_resource_properties(
        "AWS::ECR::ReplicationConfiguration",
        {
            "ReplicationConfiguration": {
                "Rules": [
                    {
                        "Destinations": [{"Region": "eu-west-1", "RegistryId": "123456789012"}],
                        "RepositoryFilters": [
                            {"Filter": "prod/", "FilterType": "PREFIX_MATCH"},
                            {"Filter": "shared/", "FilterType": "PREFIX_MATCH"},
                        ],
                    }
                ]
            }
        },
    )


def test_a_subclass_cannot_add_a_second_configuration_for_the_registry(
    source_stack: Any,
) -> None:
    class Custom(SourceRegistryReplication):
        pass

    SourceRegistryReplication(source_stack, "Replication", rules=[rule(DR)])
    with pytest.raises(ReplicationConfigError, match="already has a replication configuration"):
        Custom(source_stack, "Custom", rules=[rule(PROD)])
