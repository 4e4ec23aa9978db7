"""An operations account: the source roles, destination roles that trust it (same-account
destinations too), the constructs alone, and the stage a pipeline deploys in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack, pipelines
from aws_cdk.assertions import Annotations, Match, Template
from syrupy.assertion import SnapshotAssertion

from ecr_replication import ReplicationSourceRole, ReplicationStage
from ecr_replication.constructs.stacks import ReplicationStacks, add_replication_stacks
from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import Registry, ReplicationRule, RoleSettings, parse_topology
from ecr_replication.model.policies import Statement
from tests.snapshots import snapshot_template
from tests.topologies import (
    CENTRAL_MONITORING,
    DESTINATION,
    OPERATIONS,
    OPERATIONS_ACCOUNT,
    OPERATOR,
    SECOND_SOURCE,
    SOURCE,
)

ROLE_WARNING = "ecr-replication:roleTrustsWholeAccount"


def registry(account: str, region: str) -> Registry:
    return Registry(account=account, region=region)


def roles(stack: Stack) -> dict[str, dict[str, Any]]:
    """The stack's IAM roles by role name."""
    template = Template.from_stack(stack).to_json()
    return {
        r["Properties"]["RoleName"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    }


def statements_by_sid(role: dict[str, Any]) -> dict[str, Statement]:
    (policy,) = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


@pytest.fixture(scope="module")
def operated() -> ReplicationStacks:
    return add_replication_stacks(App(), parse_topology(OPERATIONS))


# ---------------------------------------------------------------------------------------------
# The source role


def test_every_source_gets_a_read_only_role_trusted_by_the_operator(
    operated: ReplicationStacks,
) -> None:
    for source, stack in operated.sources.items():
        role = roles(stack)[f"ecr-replication-source-{source.region}"]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"AWS": OPERATOR}
        assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "ecr-replication-ops"}}
        assert stack.role is not None


def test_the_source_role_reads_on_the_narrowest_resources_and_may_backfill_when_allowed(
    operated: ReplicationStacks,
) -> None:
    stack = operated.sources[registry(SOURCE, "us-east-1")]
    by_sid = statements_by_sid(roles(stack)["ecr-replication-source-us-east-1"])
    repositories = f"arn:aws:ecr:us-east-1:{SOURCE}:repository"
    assert by_sid["ListRepositories"] == {
        "Sid": "ListRepositories",
        "Effect": "Allow",
        "Action": "ecr:DescribeRepositories",
        "Resource": f"{repositories}/*",
    }
    assert by_sid["ReadReplicatedImages"]["Action"] == [
        "ecr:BatchGetImage",  # what ListImageReferrers needs (verify --referrers)
        "ecr:DescribeImageReplicationStatus",
        "ecr:DescribeImages",
    ]
    assert by_sid["ReadReplicatedImages"]["Resource"] == [
        f"{repositories}/prod/*",
        f"{repositories}/team-a/*",
        f"{repositories}/shared/*",
    ]
    assert by_sid["ReadRegistrySettings"]["Action"] == [
        "ec2:DescribeRegions",
        "ecr:DescribeRegistry",
    ]
    assert by_sid["ReadRegionOptIn"]["Resource"] == f"arn:aws:account::{SOURCE}:account"
    assert by_sid["BackfillReplication"]["Action"] == [
        "ecr:DescribeReplicationBackfillResults",
        "ecr:ListReplicationBackfills",
        "ecr:StartReplicationBackfill",
        "ecr:StopReplicationBackfill",
    ]


def test_without_allow_backfill_the_source_role_has_no_write_action() -> None:
    topology = {**OPERATIONS, "operations": {"account": OPERATIONS_ACCOUNT}}
    stacks = add_replication_stacks(App(), parse_topology(topology))
    for source, stack in stacks.sources.items():
        by_sid = statements_by_sid(roles(stack)[f"ecr-replication-source-{source.region}"])
        assert set(by_sid) == {
            "ListRepositories",
            "ReadReplicatedImages",
            "ReadRegistrySettings",
            "ReadRegionOptIn",
        }


def test_a_source_in_the_operations_account_gets_no_role() -> None:
    topology = {**OPERATIONS, "destinationDefaults": {}, "operations": {"account": SOURCE}}
    stacks = add_replication_stacks(App(), parse_topology(topology))
    assert stacks.sources[registry(SOURCE, "us-east-1")].role is None
    assert stacks.sources[registry(SECOND_SOURCE, "ap-southeast-2")].role is not None


def test_without_operations_no_source_stack_has_a_role() -> None:
    topology = {k: v for k, v in OPERATIONS.items() if k != "operations"}
    topology["destinationDefaults"] = {}
    stacks = add_replication_stacks(App(), parse_topology(topology))
    for stack in stacks.sources.values():
        assert stack.role is None
        assert roles(stack) == {}


# ---------------------------------------------------------------------------------------------
# Destination roles with an operations account


def test_destination_roles_trust_the_operator_not_the_source_accounts(
    operated: ReplicationStacks,
) -> None:
    for destination, stack in operated.destinations.items():
        role = roles(stack)[f"ecr-replication-destination-{destination.region}"]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"AWS": OPERATOR}


def test_a_same_account_destination_gets_a_role_reading_its_replicas(
    operated: ReplicationStacks,
) -> None:
    stack = operated.destinations[registry(SOURCE, "us-west-2")]
    assert stack.registry_policy is None  # same-account replication needs no grant
    role = roles(stack)["ecr-replication-destination-us-west-2"]
    assert statements_by_sid(role)["ReadReplicatedImages"]["Resource"] == (
        f"arn:aws:ecr:us-west-2:{SOURCE}:repository/shared/*"
    )


def test_without_conditions_the_operations_trust_warns_about_the_whole_account() -> None:
    topology = {**OPERATIONS, "destinationDefaults": {}}
    stacks = add_replication_stacks(App(), parse_topology(topology))
    source = stacks.sources[registry(SOURCE, "us-east-1")]
    Annotations.from_stack(source).has_warning(
        "/EcrReplicationSource-555444333222-us-east-1/SourceRole",
        Match.string_like_regexp(
            f"the source role may be assumed by any principal of account {OPERATIONS_ACCOUNT}"
        ),
    )
    destination = stacks.destinations[registry(DESTINATION, "eu-west-1")]
    trust = roles(destination)["ecr-replication-destination-eu-west-1"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{OPERATIONS_ACCOUNT}:root"}


def test_the_source_stack_snapshot(
    operated: ReplicationStacks, snapshot_json: SnapshotAssertion
) -> None:
    stack = operated.sources[registry(SECOND_SOURCE, "ap-southeast-2")]
    assert snapshot_template(stack) == snapshot_json(name=stack.stack_name)


# ---------------------------------------------------------------------------------------------
# The source role alone


def build_stack() -> Stack:
    return Stack(App(), "Build", env=Environment(account=SOURCE, region="us-east-1"))


RULES = [
    ReplicationRule(
        repository_prefixes=["prod/"], destinations=[registry(DESTINATION, "eu-west-1")]
    )
]


def test_the_source_role_alone_checks_its_inputs() -> None:
    with pytest.raises(ReplicationConfigError) as raised:
        ReplicationSourceRole(
            build_stack(),
            "Role",
            rules="prod/",  # type: ignore[arg-type]
            trusted_accounts=["12345"],
            allow_backfill="yes",  # type: ignore[arg-type]
            role_name="bad name",
        )
    problems = [str(p) for p in raised.value.problems]
    assert [p.split(":")[0] for p in problems] == [
        "Build/Role.rules",
        "Build/Role.allow_backfill",
        "Build/Role.role_name",
        "Build/Role.trusted_accounts[0]",
    ]


def test_a_source_role_trusting_nobody_is_refused() -> None:
    with pytest.raises(
        ReplicationConfigError, match=r"^Build/Role\.trusted_accounts: the role trusts nobody"
    ):
        ReplicationSourceRole(build_stack(), "Role", rules=RULES, trusted_accounts=[])


def test_the_source_role_hooks_are_plain_data_at_synthesis() -> None:
    class ReadOnlyListing(ReplicationSourceRole):
        def permission_statements(self) -> list[Statement]:
            return [s for s in super().permission_statements() if s["Sid"] == "ListRepositories"]

        def trust_statements(self) -> list[Statement]:
            statements = super().trust_statements()
            statements[0]["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            return statements

    stack = build_stack()
    ReadOnlyListing(
        stack,
        "Role",
        rules=RULES,
        trusted_accounts=[OPERATIONS_ACCOUNT],
        settings=RoleSettings(trusted_principal_arns=[OPERATOR]),
    )
    role = roles(stack)["ecr-replication-source-us-east-1"]
    assert list(statements_by_sid(role)) == ["ListRepositories"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {
        "Bool": {"aws:MultiFactorAuthPresent": "true"}
    }


def test_the_source_role_of_a_registry_can_be_imported_by_name() -> None:
    stack = build_stack()
    imported = ReplicationSourceRole.from_registry(
        stack, "Imported", account=SECOND_SOURCE, region="ap-southeast-2"
    )
    assert imported.role_arn == (
        f"arn:aws:iam::{SECOND_SOURCE}:role/ecr-replication-source-ap-southeast-2"
    )


# ---------------------------------------------------------------------------------------------
# The stage, in a pipeline


def deploy_actions(assembly: Path, pipeline_stack: str, stage: str) -> dict[str, int]:
    """``{action name: run order}`` of one stage of the pipeline's CodePipeline."""
    template = json.loads((assembly / f"{pipeline_stack}.template.json").read_text())
    (pipeline,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    (actions,) = [s["Actions"] for s in pipeline["Properties"]["Stages"] if s["Name"] == stage]
    return {a["Name"]: a["RunOrder"] for a in actions}


def test_a_pipeline_deploys_monitoring_then_destinations_then_sources(tmp_path: Path) -> None:
    topology = parse_topology({**CENTRAL_MONITORING, "operations": {"account": OPERATIONS_ACCOUNT}})
    app = App(outdir=str(tmp_path))
    pipeline_stack = Stack(
        app, "Pipeline", env=Environment(account=OPERATIONS_ACCOUNT, region="us-east-1")
    )
    source = pipelines.CodePipelineSource.connection(
        "example/ecr-replication",
        "main",
        connection_arn=f"arn:aws:codeconnections:us-east-1:{OPERATIONS_ACCOUNT}:connection/"
        "11111111-2222-3333-4444-555555555555",
    )
    pipeline = pipelines.CodePipeline(
        pipeline_stack,
        "Pipeline",
        cross_account_keys=True,
        synth=pipelines.ShellStep("Synth", input=source, commands=["scripts/synth"]),
    )
    stage = ReplicationStage(app, "Replication", topology=topology)
    pipeline.add_stage(stage)
    app.synth()

    order = deploy_actions(tmp_path, "Pipeline", "Replication")
    monitoring = stage.stacks.monitoring
    assert monitoring is not None
    for destination in stage.stacks.destinations.values():
        assert order[f"{monitoring.stack_name}.Deploy"] < order[f"{destination.stack_name}.Prepare"]
    for source in stage.stacks.sources.values():
        for destination in source.source.destinations:
            before = stage.stacks.destinations[destination].stack_name
            assert order[f"{before}.Deploy"] < order[f"{source.stack_name}.Prepare"]
    assert {name.rsplit(".", 1)[0] for name in order} == {
        s.stack_name
        for s in [monitoring, *stage.stacks.destinations.values(), *stage.stacks.sources.values()]
    }


def test_the_stage_takes_a_topology_object() -> None:
    with pytest.raises(
        ReplicationConfigError, match=r"^Replication\.topology: dict must be a ReplicationTopology"
    ):
        ReplicationStage(App(), "Replication", topology=OPERATIONS)  # type: ignore[arg-type]
