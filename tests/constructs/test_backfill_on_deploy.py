"""Backfill on deploy: the custom resource the source construct adds when the option is on."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Annotations, Match, Template
from syrupy.assertion import SnapshotAssertion

from ecr_replication.constructs import backfill_handler
from ecr_replication.constructs.backfill import (
    BACKFILL_RESOURCE_TYPE,
    WARNING_BACKFILLS_QUEUE,
    ReplicationBackfillOnDeploy,
)
from ecr_replication.constructs.source import SourceRegistryReplication
from ecr_replication.constructs.stacks import SourceReplicationStack
from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import (
    BackfillFunctionSettings,
    Registry,
    ReplicationRule,
    parse_topology,
)
from tests.cfn_lint import lint
from tests.snapshots import snapshot_template
from tests.topologies import FAN_OUT, GOVERNED, stack_templates, synth_topology

# The same accounts as the shared fixtures (tests/conftest.py); not imported from there, since
# another conftest.py (tests/ops) would shadow the module name.
BUILD_ACCOUNT = "555444333222"
PROD_ACCOUNT = "123456789012"
STAGING_ACCOUNT = "210987654321"
StackFactory = Callable[..., Stack]
PROD_EU = Registry(account=PROD_ACCOUNT, region="eu-west-1")
STAGING_EU_CENTRAL = Registry(account=STAGING_ACCOUNT, region="eu-central-1")
STAGING_EU = Registry(account=STAGING_ACCOUNT, region="eu-west-1")


def source_stack(
    new_stack: StackFactory, **options: Any
) -> tuple[Stack, SourceRegistryReplication]:
    stack = new_stack(BUILD_ACCOUNT, "us-east-1")
    replication = SourceRegistryReplication(
        stack,
        "Replication",
        rules=[ReplicationRule(destinations=[PROD_EU], repository_prefixes=["prod/"])],
        **options,
    )
    return stack, replication


def backfill_resource(template: Template) -> dict[str, Any]:
    (resource,) = template.find_resources(BACKFILL_RESOURCE_TYPE).values()
    return resource


def test_without_the_option_the_stack_has_no_backfill_resources(new_stack: StackFactory) -> None:
    stack, replication = source_stack(new_stack)
    template = Template.from_stack(stack)

    assert replication.backfill is None
    assert [r["Type"] for r in template.to_json()["Resources"].values()] == [
        "AWS::ECR::ReplicationConfiguration"
    ]


def test_option_adds_a_custom_resource_listing_every_destination(new_stack: StackFactory) -> None:
    stack, replication = source_stack(new_stack, backfill_existing_images=True)
    replication.add_rule(
        ReplicationRule(destinations=[STAGING_EU_CENTRAL, PROD_EU], repository_prefixes=["qa/"])
    )

    resource = backfill_resource(Template.from_stack(stack))

    assert isinstance(replication.backfill, ReplicationBackfillOnDeploy)
    # Destinations added after the construct still count; each is listed once.
    assert resource["Properties"]["Destinations"] == [
        {"Region": "eu-west-1", "RegistryId": PROD_ACCOUNT},
        {"Region": "eu-central-1", "RegistryId": STAGING_ACCOUNT},
    ]


def test_backfill_runs_after_the_replication_configuration_exists(
    new_stack: StackFactory,
) -> None:
    stack, replication = source_stack(new_stack, backfill_existing_images=True)

    resource = backfill_resource(Template.from_stack(stack))

    assert stack.resolve(replication.resource.logical_id) in resource["DependsOn"]


def test_lambda_never_retries_the_function_and_the_first_request_finds_it_so(
    new_stack: StackFactory,
) -> None:
    """AWS Lambda Developer Guide, "Invoking a Lambda function asynchronously"
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html), and CloudFormation's
    ``AWS::Lambda::EventInvokeConfig``
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-eventinvokeconfig.html):
    "By default, Lambda retries an asynchronous invocation twice if the function returns an
    error"; ``MaximumRetryAttempts`` (0 to 2) changes that for the version or alias named by
    ``Qualifier`` (``$LATEST`` is what an unqualified function ARN, the service token,
    invokes). A retry would start the backfills of a request that was already answered.
    """
    stack, replication = source_stack(new_stack, backfill_existing_images=True)
    assert replication.backfill is not None
    template = Template.from_stack(stack)

    (config_id, config), *others = template.find_resources("AWS::Lambda::EventInvokeConfig").items()
    assert others == []
    function_id = stack.resolve(replication.backfill.function.logical_id)
    assert config["Properties"] == {
        "FunctionName": {"Ref": function_id},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 0,
    }
    assert config_id in backfill_resource(template)["DependsOn"]


def _event_invoke_config_schema() -> dict[str, Any]:
    from cfnlint.schema.manager import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        "us-east-1", "AWS::Lambda::EventInvokeConfig"
    )
    return dict(schema.schema)


def test_the_invoke_config_passes_cloudformations_schema_cdk_nag_and_control_tower(
    tmp_path: Path,
) -> None:
    # The resource schema cfn-lint carries (CloudFormation's registry schema of the type).
    schema = _event_invoke_config_schema()
    assert set(schema["required"]) == {"FunctionName", "Qualifier"}
    retries = schema["properties"]["MaximumRetryAttempts"]
    assert (retries["minimum"], retries["maximum"]) == (0, 2)

    # A governed source (function in a VPC, logs under a key): with cdk-nag and Control
    # Tower's proactive controls on, any finding fails synthesis.
    assembly = synth_topology(GOVERNED, tmp_path, nag=True, guard=True)
    report = json.loads((assembly / "validation-report.json").read_text())
    # Only cdk-nag is listed (all acknowledged); the controls plugin is listed when it finds
    # something, and synthesis would have failed.
    assert [r["violations"] for r in report["pluginReports"]] == [[]]
    region, path = next(
        (r, p)
        for _, (r, p) in stack_templates(assembly).items()
        if "AWS::Lambda::EventInvokeConfig" in p.read_text()
    )
    template = json.loads(path.read_text())
    assert findings(template, region) == []
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig":
            resource["Properties"]["MaximumRetryAttempts"] = 3
    assert any("MaximumRetryAttempts" in finding for finding in findings(template, region))


def findings(template: dict[str, Any], region: str) -> list[str]:
    """cfn-lint's findings for a template, one line each."""
    return [f"{m.rule.id} {m.message} at {m.path}" for m in lint(json.dumps(template), region)]


def test_backfill_is_answered_by_the_inline_handler_module(new_stack: StackFactory) -> None:
    stack, _ = source_stack(new_stack, backfill_existing_images=True)
    template = Template.from_stack(stack)

    (function,) = template.find_resources("AWS::Lambda::Function").values()
    assert function["Properties"]["Code"] == {
        "ZipFile": Path(backfill_handler.__file__).read_text()
    }
    assert function["Properties"]["Handler"] == "index.handler"
    assert function["Properties"]["Runtime"] == "python3.14"
    # CloudFormation stops waiting soon after the function's own timeout, not after an hour.
    assert int(backfill_resource(template)["Properties"]["ServiceTimeout"]) > int(
        function["Properties"]["Timeout"]
    )


def test_function_may_only_start_and_list_backfills_and_write_its_own_log_group(
    new_stack: StackFactory,
) -> None:
    stack, replication = source_stack(new_stack, backfill_existing_images=True)
    assert replication.backfill is not None
    log_group = stack.resolve(replication.backfill.log_group.node.default_child.logical_id)  # type: ignore[union-attr]
    template = Template.from_stack(stack)

    template.resource_count_is("AWS::IAM::Policy", 0)
    template.resource_count_is("AWS::IAM::Role", 1)
    (role,) = template.find_resources("AWS::IAM::Role").values()
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["Policies"] == [
        {
            "PolicyName": "Backfill",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["ecr:StartReplicationBackfill", "ecr:ListReplicationBackfills"],
                        "Resource": "*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
                    },
                ],
            },
        }
    ]
    template.has_resource_properties(
        "AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": {"Ref": log_group}}}
    )


def test_policy_hook_runs_at_synthesis_and_can_narrow_the_permissions(
    new_stack: StackFactory,
) -> None:
    class RegionLocked(ReplicationBackfillOnDeploy):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.locked_region = "us-east-1"  # set after the base constructor

        def policy_statements(self) -> list[Any]:
            statements = super().policy_statements()
            statements[0]["Condition"] = {
                "StringEquals": {"aws:RequestedRegion": self.locked_region}
            }
            return statements

    stack, replication = source_stack(new_stack)
    RegionLocked(stack, "Backfill", replication=replication)

    Template.from_stack(stack).has_resource_properties(
        "AWS::IAM::Role",
        {
            "Policies": [
                {
                    "PolicyDocument": {
                        "Statement": Match.array_with(
                            [
                                Match.object_like(
                                    {
                                        "Action": Match.array_with(
                                            ["ecr:StartReplicationBackfill"]
                                        ),
                                        "Condition": {
                                            "StringEquals": {"aws:RequestedRegion": "us-east-1"}
                                        },
                                    }
                                )
                            ]
                        )
                    },
                    "PolicyName": "Backfill",
                }
            ]
        },
    )


def test_warns_when_two_destinations_share_a_region(new_stack: StackFactory) -> None:
    stack, replication = source_stack(new_stack, backfill_existing_images=True)
    replication.add_rule(ReplicationRule(destinations=[STAGING_EU], repository_prefixes=["qa/"]))

    assert replication.backfill is not None
    Annotations.from_stack(stack).has_warning(
        f"/{replication.backfill.node.path}",
        Match.string_like_regexp(
            "several destinations in eu-west-1, but ECR runs one backfill per destination region"
        ),
    )


def test_warns_when_more_destinations_than_ecr_runs_backfills_at_once(
    new_stack: StackFactory,
) -> None:
    regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "us-west-1"]
    accounts = [PROD_ACCOUNT, STAGING_ACCOUNT]
    many = [Registry(account=a, region=r) for a in accounts for r in regions]
    stack = new_stack(BUILD_ACCOUNT, "us-east-1")
    replication = SourceRegistryReplication(
        stack,
        "Replication",
        rules=[ReplicationRule(destinations=many, repository_prefixes=["prod/"])],
        backfill_existing_images=True,
    )

    assert replication.backfill is not None
    Annotations.from_stack(stack).has_warning(
        f"/{replication.backfill.node.path}",
        Match.string_like_regexp("12 destinations, but ECR runs at most 10 backfills"),
    )


def test_no_warning_when_every_backfill_can_run_at_once(new_stack: StackFactory) -> None:
    stack, replication = source_stack(new_stack, backfill_existing_images=True)
    replication.add_rule(
        ReplicationRule(destinations=[STAGING_EU_CENTRAL], repository_prefixes=["qa/"])
    )

    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp(".*backfill.*"))
    assert WARNING_BACKFILLS_QUEUE == "ecr-replication:backfillsQueue"


def test_topology_option_reaches_the_source_stack() -> None:
    raw = copy.deepcopy(FAN_OUT)
    raw["sources"][0]["backfillExistingImages"] = True
    source = parse_topology(raw).sources[0]

    stack = SourceReplicationStack(App(), "Source", source=source)

    assert backfill_resource(Template.from_stack(stack))["Properties"]["Destinations"] == [
        {"Region": "eu-west-1", "RegistryId": "123456789012"},
        {"Region": "eu-central-1", "RegistryId": "210987654321"},
        {"Region": "us-west-2", "RegistryId": "555444333222"},
    ]


def test_backfill_stack_passes_cfn_lint_and_cdk_nag(tmp_path: Path) -> None:
    raw = copy.deepcopy(FAN_OUT)
    raw["sources"][0]["backfillExistingImages"] = True

    # With the nag flag on, an unacknowledged cdk-nag finding makes synthesis raise.
    assembly = synth_topology(raw, tmp_path, nag=True)

    findings = []
    for stack, (region, template) in stack_templates(assembly).items():
        findings += [
            f"{stack}: {m.rule.id} {m.message}" for m in lint(template.read_text(), region)
        ]
    assert findings == []


def test_source_stack_with_backfill_matches_snapshot(snapshot_json: SnapshotAssertion) -> None:
    app = App()
    stack = Stack(app, "Source", env=Environment(account=BUILD_ACCOUNT, region="us-east-1"))
    SourceRegistryReplication(
        stack,
        "Replication",
        rules=[
            ReplicationRule(
                destinations=[PROD_EU, STAGING_EU_CENTRAL], repository_prefixes=["prod/"]
            )
        ],
        backfill_existing_images=True,
    )
    template = snapshot_template(stack)
    # The handler's code is checked above; keep the snapshot about the resources.
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"]["Code"]["ZipFile"] = "<ecr_replication/backfill_handler.py>"

    assert template == snapshot_json


# ---------------------------------------------------------------------------------------------
# The function's settings: VPC, log key, log retention

SUBNETS = ("subnet-0abc1234def567890", "subnet-12345678")
GROUPS = ("sg-0abc1234def567890",)
LOG_KEY = f"arn:aws:kms:us-east-1:{BUILD_ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


def only_resource(template: Template, kind: str) -> dict[str, Any]:
    (resource,) = template.find_resources(kind).values()
    return resource["Properties"]


def test_by_default_the_function_runs_outside_a_vpc_and_keeps_its_logs_one_year(
    new_stack: StackFactory,
) -> None:
    stack, replication = source_stack(new_stack, backfill_existing_images=True)
    template = Template.from_stack(stack)
    assert replication.backfill is not None
    assert replication.backfill.settings == BackfillFunctionSettings()
    assert "VpcConfig" not in only_resource(template, "AWS::Lambda::Function")
    log_group = only_resource(template, "AWS::Logs::LogGroup")
    assert log_group["RetentionInDays"] == 365
    assert "KmsKeyId" not in log_group


def test_function_settings_put_it_in_the_vpc_and_its_logs_under_the_key(
    new_stack: StackFactory,
) -> None:
    settings = BackfillFunctionSettings(
        subnet_ids=SUBNETS,
        security_group_ids=GROUPS,
        log_kms_key_arn=LOG_KEY,
        log_retention_days=731,
    )
    stack, _ = source_stack(new_stack, backfill_existing_images=True, backfill_function=settings)
    template = Template.from_stack(stack)
    assert only_resource(template, "AWS::Lambda::Function")["VpcConfig"] == {
        "SubnetIds": list(SUBNETS),
        "SecurityGroupIds": list(GROUPS),
    }
    log_group = only_resource(template, "AWS::Logs::LogGroup")
    assert log_group["RetentionInDays"] == 731
    assert log_group["KmsKeyId"] == LOG_KEY
    statements = {
        s.get("Sid"): s
        for s in only_resource(template, "AWS::IAM::Role")["Policies"][0]["PolicyDocument"][
            "Statement"
        ]
    }
    interfaces = f"arn:aws:ec2:us-east-1:{BUILD_ACCOUNT}:network-interface/*"
    assert statements["CreateFunctionNetworkInterfaces"]["Resource"] == [
        interfaces,
        *(f"arn:aws:ec2:us-east-1:*:subnet/{s}" for s in SUBNETS),
        *(f"arn:aws:ec2:us-east-1:*:security-group/{g}" for g in GROUPS),
    ]
    assert statements["ManageFunctionNetworkInterfaces"]["Resource"] == interfaces
    assert statements["DescribeFunctionNetwork"]["Resource"] == "*"


def test_outside_a_vpc_the_role_gets_no_network_permissions(new_stack: StackFactory) -> None:
    settings = BackfillFunctionSettings(log_kms_key_arn=LOG_KEY)
    stack, _ = source_stack(new_stack, backfill_existing_images=True, backfill_function=settings)
    document = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::Role"))
    assert "ec2:" not in document


def test_the_construct_takes_settings_directly_and_checks_the_key_against_its_stack(
    new_stack: StackFactory,
) -> None:
    _stack, replication = source_stack(new_stack)
    elsewhere = LOG_KEY.replace(BUILD_ACCOUNT, PROD_ACCOUNT).replace("us-east-1", "eu-west-1")
    with pytest.raises(ReplicationConfigError) as error:
        ReplicationBackfillOnDeploy(
            replication,
            "Backfill",
            replication=replication,
            settings=BackfillFunctionSettings(log_kms_key_arn=elsewhere),
        )
    assert [str(p) for p in error.value.problems] == [
        f"Test-{BUILD_ACCOUNT}-us-east-1/Replication/Backfill.settings.logKmsKeyArn: "
        f"{elsewhere!r} is in account {PROD_ACCOUNT!r}, region 'eu-west-1'; the key must be in "
        f"the source registry's account {BUILD_ACCOUNT}, region us-east-1 (partition aws)"
    ]
    with pytest.raises(ReplicationConfigError, match=r"settings: \{\} must be a Backfill"):
        ReplicationBackfillOnDeploy(
            replication,
            "Other",
            replication=replication,
            settings={},  # type: ignore[arg-type]
        )


def test_function_settings_without_backfill_are_refused(new_stack: StackFactory) -> None:
    with pytest.raises(
        ReplicationConfigError,
        match=r"Replication\.backfill_function: is only used with backfill_existing_images=True",
    ):
        source_stack(new_stack, backfill_function=BackfillFunctionSettings())


def test_topology_function_settings_reach_the_source_stack() -> None:
    context = copy.deepcopy(FAN_OUT)
    context["sources"][0]["backfillExistingImages"] = True
    context["sources"][0]["backfillFunction"] = {
        "subnetIds": list(SUBNETS),
        "securityGroupIds": list(GROUPS),
    }
    topology = parse_topology(context)
    stack = SourceReplicationStack(App(), "Source", source=topology.sources[0])
    assert stack.replication.backfill is not None
    assert stack.replication.backfill.settings.subnet_ids == SUBNETS
    function = only_resource(Template.from_stack(stack), "AWS::Lambda::Function")
    assert function["VpcConfig"]["SecurityGroupIds"] == list(GROUPS)


def test_bad_function_settings_are_named_as_the_source_construct_was_given_them(
    new_stack: StackFactory,
) -> None:
    elsewhere = LOG_KEY.replace(BUILD_ACCOUNT, PROD_ACCOUNT)
    with pytest.raises(ReplicationConfigError) as error:
        source_stack(
            new_stack,
            backfill_existing_images=True,
            backfill_function=BackfillFunctionSettings(log_kms_key_arn=elsewhere),
        )
    (problem,) = error.value.problems
    assert (
        problem.path == f"Test-{BUILD_ACCOUNT}-us-east-1/Replication.backfill_function.logKmsKeyArn"
    )
    with pytest.raises(ReplicationConfigError) as wrong_type:
        source_stack(new_stack, backfill_existing_images=True, backfill_function={"subnetIds": []})
    assert [str(p) for p in wrong_type.value.problems] == [
        f"Test-{BUILD_ACCOUNT}-us-east-1/Replication.backfill_function: "
        '{"subnetIds": []} must be a BackfillFunctionSettings'
    ]
