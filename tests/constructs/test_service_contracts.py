"""AWS's service-to-service contracts, judged from the synthesized templates.

cfn-lint, cdk-nag and moto accept a template that a real account refuses: they cannot see a
KMS condition key that a service never sends, or a topic policy a service cannot satisfy. Each
test here encodes what the AWS documentation says one integration needs and sends, with the
source in its docstring, and fails if a template breaks it. Policies are read with the model's
IAM evaluator (``ecr_replication.model.iam``), given the condition keys the calling service
sends (``context``): a condition on a key the service does not send fails, as it does in IAM.

References are resolved to the ARNs CloudFormation would give them (a resource's logical id
stands for its generated name), so a condition on "this alarm" is judged against this alarm.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ecr_replication.model.iam import Caller, Decision, RequestContext, evaluate
from ecr_replication.model.limits import ecr_template_kms_key_pattern
from tests.topologies import (
    CENTRAL,
    CENTRAL_MONITORING,
    DESTINATION,
    EVERY_DESTINATION_OPTION,
    GOVERNED,
    LOCAL_MONITORING,
    LOG_KEY_ARN,
    SECOND_SOURCE,
    SOURCE,
    synth_topology,
)

OTHER_ACCOUNT = "444455556666"
ORGANIZATION = "o-abcdef1234"


@dataclass(frozen=True)
class Template:
    """One synthesized stack: its template, with references resolved to plain ARNs."""

    name: str
    account: str
    region: str
    body: dict[str, Any]

    @property
    def partition(self) -> str:
        return "aws"

    def resources(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.body["Resources"].items():
            if resource["Type"] == kind:
                yield logical_id, self.resolve(resource.get("Properties", {}))

    def only(self, kind: str) -> tuple[str, dict[str, Any]]:
        (found,) = self.resources(kind)
        return found

    def arn(self, logical_id: str) -> str:
        """The ARN CloudFormation gives a resource of this template (its logical id as name)."""
        kind = self.body["Resources"][logical_id]["Type"]
        p, r, a = self.partition, self.region, self.account
        formats = {
            "AWS::SNS::Topic": f"arn:{p}:sns:{r}:{a}:{logical_id}",
            "AWS::Events::Rule": f"arn:{p}:events:{r}:{a}:rule/{logical_id}",
            "AWS::CloudWatch::Alarm": f"arn:{p}:cloudwatch:{r}:{a}:alarm:{logical_id}",
            "AWS::IAM::Role": f"arn:{p}:iam::{a}:role/{self.role_name(logical_id)}",
            "AWS::KMS::Key": f"arn:{p}:kms:{r}:{a}:key/{logical_id}",
            "AWS::Logs::LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{logical_id}:*",
            "AWS::Lambda::Function": f"arn:{p}:lambda:{r}:{a}:function:{logical_id}",
        }
        return formats[kind]

    def role_name(self, logical_id: str) -> str:
        name = self.body["Resources"][logical_id].get("Properties", {}).get("RoleName")
        return str(name) if isinstance(name, str) else logical_id

    def resolve(self, value: Any) -> Any:
        pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                if argument in pseudo:
                    return pseudo[argument]
                kind = self.body["Resources"][argument]["Type"]
                return self.arn(argument) if kind == "AWS::SNS::Topic" else argument
            if function == "Fn::GetAtt":
                logical_id, attribute = argument
                assert attribute in ("Arn", "TopicArn"), value
                return self.arn(logical_id)
            if function == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.resolve(p)) for p in parts)
        return {k: self.resolve(v) for k, v in value.items()}


def read_templates(assembly: Path) -> dict[str, Template]:
    manifest = json.loads((assembly / "manifest.json").read_text())
    templates = {}
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        account, region = artifact["environment"].removeprefix("aws://").split("/")
        body = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        templates[name] = Template(name=name, account=account, region=region, body=body)
    return templates


TOPOLOGIES = {
    "local": LOCAL_MONITORING,
    "central": CENTRAL_MONITORING,
    "organization": {
        **CENTRAL_MONITORING,
        "destinationDefaults": {"role": {"principalOrgId": ORGANIZATION}},
    },
    "templates": EVERY_DESTINATION_OPTION,
    "governed": GOVERNED,
}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Template]]:
    return {
        name: read_templates(synth_topology(context, tmp_path_factory.mktemp(name)))
        for name, context in TOPOLOGIES.items()
    }


def alerting_stacks(synthesized: dict[str, dict[str, Template]]) -> list[Template]:
    """Every stack that creates an alert topic: each local-mode destination, the central hub."""
    found = [
        t
        for topology in ("local", "central", "governed")
        for t in synthesized[topology].values()
        if any(t.resources("AWS::SNS::Topic"))
    ]
    assert {t.name for t in found} >= {
        f"EcrReplicationDestination-{DESTINATION}-eu-west-1",
        f"EcrReplicationMonitoring-{CENTRAL}-us-east-1",
    }
    return found


def decide(
    document: Any,
    caller: Caller | None,
    action: str,
    resource: str,
    context: RequestContext,
) -> Decision:
    return evaluate(
        document, caller=caller, action=action, resource=resource, context=context
    ).decision


def service(name: str, account: str) -> Caller:
    return Caller(account=account, service=name)


# ---------------------------------------------------------------------------------------------
# Alerts: EventBridge and CloudWatch to an encrypted SNS topic


def test_eventbridge_can_use_the_alert_topic_key_without_aws_source_keys(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """EventBridge to an SNS topic encrypted with a customer managed key.

    Amazon SNS Developer Guide, "Key management", section "Enable compatibility between event
    sources from AWS services and encrypted topics"
    (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html): the key policy must
    let ``events.amazonaws.com`` call ``kms:GenerateDataKey*`` and ``kms:Decrypt``, and the
    ``aws:SourceAccount`` / ``aws:SourceArn`` condition keys are not supported for EventBridge
    to encrypted topics: EventBridge sends none of them to KMS, so a key policy conditioned on
    them refuses every delivery (reported in awslabs/landing-zone-accelerator-on-aws#407 and
    awslabs/aws-deployment-framework#769).
    """
    for template in alerting_stacks(synthesized):
        _, key = template.only("AWS::KMS::Key")
        events = service("events.amazonaws.com", template.account)
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            assert decide(key["KeyPolicy"], events, action, "*", {}) is Decision.ALLOWED, (
                template.name,
                action,
            )


def test_cloudwatch_can_use_the_alert_topic_key_for_this_accounts_alarms_only(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """A CloudWatch alarm notifying an encrypted SNS topic.

    Amazon SNS Developer Guide, "Key management" (CloudWatch among the AWS event sources that
    need ``kms:GenerateDataKey*`` and ``kms:Decrypt`` on the topic's key) and Amazon CloudWatch
    User Guide, "Confused deputy prevention"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-confused-deputy.html):
    CloudWatch sends ``aws:SourceAccount`` and ``aws:SourceArn`` (the alarm), so the key policy
    keeps them and another account's alarm cannot use the key.
    """
    for template in alerting_stacks(synthesized):
        _, key = template.only("AWS::KMS::Key")
        alarm_id, _ = template.only("AWS::CloudWatch::Alarm")
        own: RequestContext = {
            "aws:SourceAccount": template.account,
            "aws:SourceArn": template.arn(alarm_id),
        }
        foreign: RequestContext = {
            "aws:SourceAccount": OTHER_ACCOUNT,
            "aws:SourceArn": f"arn:aws:cloudwatch:{template.region}:{OTHER_ACCOUNT}:alarm:x",
        }
        for action in ("kms:GenerateDataKey", "kms:Decrypt"):
            own_call = decide(
                key["KeyPolicy"], service("cloudwatch.amazonaws.com", template.account),
                action, "*", own,
            )  # fmt: skip
            foreign_call = decide(
                key["KeyPolicy"], service("cloudwatch.amazonaws.com", OTHER_ACCOUNT),
                action, "*", foreign,
            )  # fmt: skip
            assert own_call is Decision.ALLOWED, (template.name, action)
            assert foreign_call is Decision.NOT_ALLOWED, (template.name, action)


def test_the_alert_topic_key_rotates_and_lets_grants_be_made_for_aws_resources_only(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """AWS Control Tower proactive controls CT.KMS.PR.1 and CT.KMS.PR.3
    (https://docs.aws.amazon.com/controltower/latest/controlreference/kms-rules.html): a
    customer managed key has rotation on, and its policy denies ``kms:CreateGrant`` to every
    principal when ``kms:GrantIsForAWSResource`` and ``aws:PrincipalIsAWSService`` are both
    false (``BoolIfExists``). The account's administrators keep every other action.
    """
    for template in alerting_stacks(synthesized):
        _, key = template.only("AWS::KMS::Key")
        assert key["EnableKeyRotation"] is True
        admin = Caller(account=template.account)
        policy = key["KeyPolicy"]
        for_a_person: RequestContext = {
            "kms:GrantIsForAWSResource": False,
            "aws:PrincipalIsAWSService": False,
        }
        assert decide(policy, admin, "kms:CreateGrant", "*", for_a_person) is Decision.DENIED
        assert decide(policy, admin, "kms:CreateGrant", "*", {}) is Decision.DENIED
        for_a_service = {"kms:GrantIsForAWSResource": True, "aws:PrincipalIsAWSService": False}
        assert decide(policy, admin, "kms:CreateGrant", "*", for_a_service) is Decision.ALLOWED
        assert decide(policy, admin, "kms:ScheduleKeyDeletion", "*", {}) is Decision.ALLOWED
        assert decide(policy, Caller(account=OTHER_ACCOUNT), "kms:Decrypt", "*", {}) is (
            Decision.NOT_ALLOWED
        )


def test_eventbridge_may_publish_to_the_alert_topic_under_a_statement_without_condition(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """EventBridge to an SNS topic: Amazon EventBridge User Guide, "Using resource-based
    policies for Amazon EventBridge", section "Amazon SNS permissions"
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions):
    the topic policy allows ``events.amazonaws.com`` to ``sns:Publish``, and "you can't use
    Condition blocks in Amazon SNS topic policies for EventBridge".
    """
    for template in alerting_stacks(synthesized):
        topic_id, _ = template.only("AWS::SNS::Topic")
        _, policy = template.only("AWS::SNS::TopicPolicy")
        document = policy["PolicyDocument"]
        events = service("events.amazonaws.com", template.account)
        topic = template.arn(topic_id)
        over_tls: RequestContext = {"aws:SecureTransport": True}
        assert decide(document, events, "sns:Publish", topic, over_tls) is Decision.ALLOWED
        assert decide(document, events, "sns:Publish", topic, {}) is Decision.ALLOWED
        reaching_events = [
            s
            for s in document["Statement"]
            if s["Effect"] == "Allow"
            and s["Principal"] in ({"Service": "events.amazonaws.com"}, "*", {"AWS": "*"})
        ]
        assert reaching_events
        assert all("Condition" not in s for s in reaching_events)


def test_only_this_alarm_may_publish_to_the_alert_topic_through_cloudwatch(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """CloudWatch to an SNS topic: Amazon CloudWatch User Guide, "Confused deputy prevention"
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-confused-deputy.html):
    CloudWatch sends the alarm's ARN as ``aws:SourceArn`` when it publishes, so the topic
    policy names this alarm and no other alarm can use the topic through CloudWatch.
    """
    for template in alerting_stacks(synthesized):
        topic_id, _ = template.only("AWS::SNS::Topic")
        alarm_id, alarm = template.only("AWS::CloudWatch::Alarm")
        _, policy = template.only("AWS::SNS::TopicPolicy")
        topic = template.arn(topic_id)
        assert alarm["AlarmActions"] == [topic]
        cloudwatch = service("cloudwatch.amazonaws.com", template.account)
        this_alarm: RequestContext = {
            "aws:SourceArn": template.arn(alarm_id),
            "aws:SecureTransport": True,
        }
        other_alarm: RequestContext = {
            "aws:SourceArn": f"arn:aws:cloudwatch:{template.region}:{OTHER_ACCOUNT}:alarm:x",
            "aws:SecureTransport": True,
        }
        document = policy["PolicyDocument"]
        assert decide(document, cloudwatch, "sns:Publish", topic, this_alarm) is Decision.ALLOWED
        assert decide(document, cloudwatch, "sns:Publish", topic, other_alarm) is (
            Decision.NOT_ALLOWED
        )


def test_nobody_may_publish_to_the_alert_topic_without_tls(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """Amazon SNS Developer Guide, "Amazon SNS security best practices", "Enforce encryption of
    data in transit" (https://docs.aws.amazon.com/sns/latest/dg/sns-security-best-practices.html):
    a topic policy denies ``sns:Publish`` when ``aws:SecureTransport`` is false.
    """
    for template in alerting_stacks(synthesized):
        topic_id, _ = template.only("AWS::SNS::Topic")
        _, policy = template.only("AWS::SNS::TopicPolicy")
        plain_text: RequestContext = {"aws:SecureTransport": False}
        anyone = Caller(account=template.account)
        assert (
            decide(
                policy["PolicyDocument"], anyone, "sns:Publish", template.arn(topic_id), plain_text
            )
            is Decision.DENIED
        )


def test_the_failure_rule_publishes_to_the_topic_through_its_policy_not_a_role(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """Amazon EventBridge User Guide, "Using resource-based policies for Amazon EventBridge"
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html): for
    an SNS target, permission comes from the topic's resource-based policy; a ``RoleArn`` on
    the target may make delivery fail, particularly to a topic encrypted with a KMS key.
    """
    for template in alerting_stacks(synthesized):
        topic_id, _ = template.only("AWS::SNS::Topic")
        rules = [r for _, r in template.resources("AWS::Events::Rule")]
        targets = [t for r in rules for t in r["Targets"] if t["Arn"] == template.arn(topic_id)]
        assert targets, template.name
        assert all("RoleArn" not in t for t in targets)


# ---------------------------------------------------------------------------------------------
# Central monitoring: forwarding to another account's bus


def forwarding_stacks(synthesized: dict[str, dict[str, Template]]) -> list[Template]:
    found = [
        t
        for topology in ("central", "organization")
        for t in synthesized[topology].values()
        if any(
            "RoleArn" in target
            for _, rule in t.resources("AWS::Events::Rule")
            for target in rule["Targets"]
        )
    ]
    assert len(found) >= 4  # three destinations outside the central account, two topologies
    return found


def test_the_forwarding_role_is_assumed_by_eventbridge_for_this_account_and_puts_on_one_bus(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """Amazon EventBridge User Guide, "Sending and receiving events between AWS accounts"
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html): a rule
    sends to another account's bus through an execution role that ``events.amazonaws.com``
    assumes and that may ``events:PutEvents`` on that bus; "Cross-service confused deputy
    prevention" (https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html):
    EventBridge sends ``aws:SourceAccount`` when it assumes the role, so the trust names it.
    """
    central_bus = f"arn:aws:events:us-east-1:{CENTRAL}:event-bus/default"
    for template in forwarding_stacks(synthesized):
        ((_, rule),) = list(template.resources("AWS::Events::Rule"))
        (target,) = rule["Targets"]
        assert target["Arn"] == central_bus
        role_id = target["RoleArn"].rsplit("/", 1)[1]
        role = template.resolve(template.body["Resources"][role_id]["Properties"])
        trust = role["AssumeRolePolicyDocument"]
        own: RequestContext = {
            "aws:SourceAccount": template.account,
            "aws:SourceArn": f"arn:aws:events:{template.region}:{template.account}:rule/x",
        }
        events = service("events.amazonaws.com", template.account)
        assert decide(trust, events, "sts:AssumeRole", template.arn(role_id), own) is (
            Decision.ALLOWED
        )
        foreign: RequestContext = {"aws:SourceAccount": OTHER_ACCOUNT}
        assert decide(trust, events, "sts:AssumeRole", template.arn(role_id), foreign) is (
            Decision.NOT_ALLOWED
        )
        permissions = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        assert decide(permissions, None, "events:PutEvents", central_bus, {}) is Decision.ALLOWED
        other_bus = f"arn:aws:events:us-east-1:{OTHER_ACCOUNT}:event-bus/default"
        assert decide(permissions, None, "events:PutEvents", other_bus, {}) is (
            Decision.NOT_ALLOWED
        )


def test_the_central_bus_admits_the_destination_accounts_or_the_organization(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """Amazon EventBridge User Guide, "Permissions for event buses"
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-perms.html): the
    receiving bus's resource policy allows ``events:PutEvents`` from the sending accounts, or
    from every account of an organization with the condition ``aws:PrincipalOrgID``.
    """
    bus = f"arn:aws:events:us-east-1:{CENTRAL}:event-bus/default"
    senders = [DESTINATION, "210987654321", SOURCE]
    for topology in ("central", "organization"):
        hub = synthesized[topology][f"EcrReplicationMonitoring-{CENTRAL}-us-east-1"]
        _, policy = hub.only("AWS::Events::EventBusPolicy")
        statement = [policy["Statement"]]
        in_org: RequestContext = {"aws:PrincipalOrgID": ORGANIZATION}
        for account in senders:
            caller = Caller(account=account)
            assert decide(statement, caller, "events:PutEvents", bus, in_org) is Decision.ALLOWED
        outsider = Caller(account=OTHER_ACCOUNT)
        elsewhere: RequestContext = {"aws:PrincipalOrgID": "o-someoneelse"}
        assert decide(statement, outsider, "events:PutEvents", bus, elsewhere) is (
            Decision.NOT_ALLOWED
        )


# ---------------------------------------------------------------------------------------------
# ECR: the registry policy and the repository creation templates


def test_the_registry_policy_lets_each_source_account_replicate_into_its_prefixes(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """Amazon ECR User Guide, "Private registry permissions" and "Configuring cross-account
    replication" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions.html):
    the destination's registry policy allows the source account (``arn:aws:iam::SOURCE:root``)
    ``ecr:ReplicateImage``, and ``ecr:CreateRepository`` for repositories replication creates,
    on the destination's repository ARNs. Replication calls as the source account's
    service-linked role, which carries no organization or tag context: the grants stand
    without conditions.
    """
    template = synthesized["governed"][f"EcrReplicationDestination-{DESTINATION}-eu-west-1"]
    _, policy = template.only("AWS::ECR::RegistryPolicy")
    document = policy["PolicyText"]
    repository = f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository"
    grants = {SOURCE: "prod/api", SECOND_SOURCE: "anything/at-all"}
    for account, name in grants.items():
        for action in ("ecr:ReplicateImage", "ecr:CreateRepository"):
            assert (
                decide(document, Caller(account=account), action, f"{repository}/{name}", {})
                is Decision.ALLOWED
            ), (account, action)
    assert (
        decide(document, Caller(account=SOURCE), "ecr:ReplicateImage", f"{repository}/dev/api", {})
        is Decision.NOT_ALLOWED
    )
    assert (
        decide(
            document,
            Caller(account=OTHER_ACCOUNT),
            "ecr:ReplicateImage",
            f"{repository}/prod/a",
            {},
        )
        is Decision.NOT_ALLOWED
    )
    allowed_actions = {"ecr:ReplicateImage", "ecr:CreateRepository", "ecr:BatchImportUpstreamImage"}
    for statement in document["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert set(actions) <= allowed_actions
        assert "Condition" not in statement


def test_the_template_role_is_assumed_by_ecr_only_and_may_use_the_templates_key(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """Amazon ECR User Guide, "Templates to control repositories created during a pull through
    cache, create on push, or replication action" — the IAM role for repository creation
    templates (https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html):
    KMS encryption or resource tags need ``CustomRoleArn``, a role in the registry's account
    that trusts ``ecr.amazonaws.com`` and may create and tag the repositories and use the key
    (``kms:CreateGrant``, ``kms:DescribeKey``, ``kms:RetireGrant``).
    """
    template = synthesized["templates"][f"EcrReplicationDestination-{DESTINATION}-eu-west-1"]
    creation_templates = [t for _, t in template.resources("AWS::ECR::RepositoryCreationTemplate")]
    assert creation_templates
    role_arns = {t["CustomRoleArn"] for t in creation_templates}
    (role_arn,) = role_arns
    role_id = next(
        lid for lid, _ in template.resources("AWS::IAM::Role") if template.arn(lid) == role_arn
    )
    _, role = next((lid, r) for lid, r in template.resources("AWS::IAM::Role") if lid == role_id)
    trust = role["AssumeRolePolicyDocument"]
    ecr = service("ecr.amazonaws.com", template.account)
    assert decide(trust, ecr, "sts:AssumeRole", role_arn, {}) is Decision.ALLOWED
    lambda_service = service("lambda.amazonaws.com", template.account)
    assert decide(trust, lambda_service, "sts:AssumeRole", role_arn, {}) is Decision.NOT_ALLOWED
    permissions = [
        s
        for _, p in template.resources("AWS::IAM::Policy")
        if {"Ref": role_id} in p["Roles"] or role_id in p["Roles"]
        for s in p["PolicyDocument"]["Statement"]
    ]
    key = creation_templates[0]["EncryptionConfiguration"]["KmsKey"]
    for action in ("kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"):
        assert decide(permissions, None, action, key, {}) is Decision.ALLOWED
    repository = f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/prod/api"
    for action in ("ecr:CreateRepository", "ecr:TagResource"):
        assert decide(permissions, None, action, repository, {}) is Decision.ALLOWED


def test_a_templates_key_is_the_full_key_arn_ecr_accepts(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """Amazon ECR API Reference, ``EncryptionConfigurationForRepositoryCreationTemplate``
    (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_EncryptionConfigurationForRepositoryCreationTemplate.html):
    ``kmsKey`` is the full ARN of the key (the service model's pattern
    ``arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-z0-9-]+``), never an alias.
    """
    keys = [
        t["EncryptionConfiguration"]["KmsKey"]
        for templates in synthesized.values()
        for template in templates.values()
        for _, t in template.resources("AWS::ECR::RepositoryCreationTemplate")
        if "KmsKey" in t["EncryptionConfiguration"]
    ]
    assert keys
    assert all(ecr_template_kms_key_pattern().fullmatch(k) for k in keys), keys
    assert all(":alias/" not in k for k in keys)


# ---------------------------------------------------------------------------------------------
# The backfill function in a VPC, and its logs


def backfill(synthesized: dict[str, dict[str, Template]]) -> Template:
    return synthesized["governed"][f"EcrReplicationSource-{SOURCE}-us-east-1"]


def function_role_statements(template: Template) -> list[dict[str, Any]]:
    _, function = template.only("AWS::Lambda::Function")
    role_id = function["Role"].rsplit("/", 1)[1]
    role = template.resolve(template.body["Resources"][role_id]["Properties"])
    return [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_a_function_in_a_vpc_may_manage_its_network_interfaces_in_the_given_subnets(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """AWS Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon
    VPC", required IAM permissions
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html): the execution role
    needs ``ec2:CreateNetworkInterface``, ``ec2:DescribeNetworkInterfaces``,
    ``ec2:DescribeSubnets``, ``ec2:DeleteNetworkInterface``, ``ec2:AssignPrivateIpAddresses``
    and ``ec2:UnassignPrivateIpAddresses`` (what ``AWSLambdaVPCAccessExecutionRole`` grants),
    or creating the function fails; the Describe actions work only on ``*``. The subnets may
    belong to another account (a shared VPC).
    """
    template = backfill(synthesized)
    _, function = template.only("AWS::Lambda::Function")
    settings = GOVERNED["sources"][0]["backfillFunction"]
    assert function["VpcConfig"] == {
        "SubnetIds": settings["subnetIds"],
        "SecurityGroupIds": settings["securityGroupIds"],
    }
    statements = function_role_statements(template)
    ec2 = "arn:aws:ec2:us-east-1"
    interface = f"{ec2}:{SOURCE}:network-interface/eni-0123456789abcdef0"
    shared_subnet = f"{ec2}:{OTHER_ACCOUNT}:subnet/{settings['subnetIds'][0]}"
    group = f"{ec2}:{SOURCE}:security-group/{settings['securityGroupIds'][0]}"
    for resource in (interface, shared_subnet, group):
        assert decide(statements, None, "ec2:CreateNetworkInterface", resource, {}) is (
            Decision.ALLOWED
        ), resource
    other_subnet = f"{ec2}:{SOURCE}:subnet/subnet-99999999"
    assert decide(statements, None, "ec2:CreateNetworkInterface", other_subnet, {}) is (
        Decision.NOT_ALLOWED
    )
    for action in (
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ):
        assert decide(statements, None, action, interface, {}) is Decision.ALLOWED, action
    for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"):
        assert decide(statements, None, action, "*", {}) is Decision.ALLOWED, action


def test_the_function_writes_to_its_own_log_group_encrypted_with_the_given_key(
    synthesized: dict[str, dict[str, Template]],
) -> None:
    """AWS Lambda Developer Guide, "Sending Lambda function logs to CloudWatch Logs" (a custom
    log group: the execution role needs ``logs:CreateLogStream`` and ``logs:PutLogEvents`` on
    it; https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html)
    and Amazon CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS Key
    Management Service" (``KmsKeyId`` is the key's ARN, a key in the log group's region;
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
    """
    template = backfill(synthesized)
    log_group_id, log_group = template.only("AWS::Logs::LogGroup")
    _, function = template.only("AWS::Lambda::Function")
    assert function["LoggingConfig"]["LogGroup"] == log_group_id
    assert log_group["KmsKeyId"] == LOG_KEY_ARN
    assert log_group["KmsKeyId"].split(":")[3:5] == [template.region, template.account]
    assert log_group["RetentionInDays"] >= 365
    stream = re.sub(r":\*$", ":log-stream:2026/12/04/[$LATEST]abc", template.arn(log_group_id))
    statements = function_role_statements(template)
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert decide(statements, None, action, stream, {}) is Decision.ALLOWED, action
