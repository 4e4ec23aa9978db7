"""Alerts on failed replication: the event pattern against sample events, the readable message,
the stacks of each mode (local, central), the constructs used alone, and their snapshots.

The pattern and the message are read from the synthesized rule (not from the module's
constants), then given to moto's EventBridge: a rule with that pattern and input transformer,
targeting an SQS queue, receives exactly the events the deployed rule would alert on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template
from moto import mock_aws
from syrupy.assertion import SnapshotAssertion

from ecr_replication.constructs.alerts import (
    ReplicationFailureAlerts,
    ReplicationMonitoringHub,
)
from ecr_replication.constructs.stacks import ReplicationStacks, add_replication_stacks
from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import MonitoringSettings, Registry, parse_topology
from ecr_replication.model.policies import Statement
from tests.snapshots import snapshot_template
from tests.topologies import (
    CENTRAL,
    CENTRAL_MONITORING,
    CLASSIC,
    DESTINATION,
    LOCAL_MONITORING,
    MONITORING_EMAIL,
    SECOND_DESTINATION,
    SOURCE,
)

CENTRAL_BUS = f"arn:aws:events:us-east-1:{CENTRAL}:event-bus/default"
GIVEN_TOPIC = f"arn:aws:sns:eu-west-1:{DESTINATION}:existing-topic"


def replication_event(result: str = "FAILED", **overrides: Any) -> dict[str, Any]:
    """A PutEvents entry shaped like ECR's event (AWS documentation sample, values ours)."""
    detail = {
        "result": result,
        "repository-name": "prod/api",
        "image-digest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd",
        "action-type": "REPLICATE",
        "image-tag": "v1.4.2",
        "source-account": SOURCE,
        "source-region": "us-east-1",
    }
    entry = {
        "Source": "aws.ecr",
        "DetailType": "ECR Replication Action",
        "Detail": json.dumps(detail),
    }
    return {**entry, **overrides}


PUSH_EVENT = replication_event(
    DetailType="ECR Image Action",
    Detail=json.dumps(
        {
            "result": "FAILED",
            "repository-name": "prod/api",
            "image-digest": "sha256:7f5b",
            "action-type": "PUSH",
            "image-tag": "v1.4.2",
        }
    ),
)


def build(raw: dict[str, Any]) -> ReplicationStacks:
    return add_replication_stacks(App(), parse_topology(raw))


def resources(stack: Stack, kind: str) -> list[dict[str, Any]]:
    template = Template.from_stack(stack).to_json()
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def only(stack: Stack, kind: str) -> dict[str, Any]:
    (found,) = resources(stack, kind)
    return found


def logical_id(stack: Stack, kind: str) -> str:
    template = Template.from_stack(stack).to_json()
    (found,) = [k for k, r in template["Resources"].items() if r["Type"] == kind]
    return found


def registry(account: str, region: str) -> Registry:
    return Registry(account=account, region=region)


@pytest.fixture(scope="module")
def local() -> ReplicationStacks:
    return build(LOCAL_MONITORING)


@pytest.fixture(scope="module")
def central() -> ReplicationStacks:
    return build(CENTRAL_MONITORING)


# ---------------------------------------------------------------------------------------------
# The pattern and the message, against sample events


@pytest.fixture
def delivered(local: ReplicationStacks) -> Iterator[Any]:
    """Puts events on a moto bus whose rule has the synthesized pattern and message; returns
    the messages the rule's target received."""
    stack = local.destinations[registry(DESTINATION, "eu-west-1")]
    rule = only(stack, "AWS::Events::Rule")
    (target,) = rule["Targets"]
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-1")
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = boto3.client("events", region_name="eu-west-1")
        events.put_rule(Name="failures", EventPattern=json.dumps(rule["EventPattern"]))
        events.put_targets(
            Rule="failures",
            Targets=[{"Id": "q", "Arn": queue_arn, "InputTransformer": target["InputTransformer"]}],
        )

        def put(*entries: dict[str, Any]) -> list[str]:
            answer = events.put_events(Entries=list(entries))
            assert answer["FailedEntryCount"] == 0
            received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            return [json.loads(m["Body"]) for m in received.get("Messages", [])]

        yield put


def test_a_failed_replication_event_matches_and_reads_as_one_sentence(delivered: Any) -> None:
    (message,) = delivered(replication_event("FAILED"))
    assert message.startswith(
        "ECR replication FAILED: prod/api:v1.4.2 (sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e"
        f"4782432e0378abcd1234abcd) from {SOURCE}/us-east-1 to 123456789012/eu-west-1 at "
    )
    assert message.endswith("Check it with: ecr-replication verify --repository prod/api")


def test_a_successful_replication_does_not_alert(delivered: Any) -> None:
    assert delivered(replication_event("SUCCESS")) == []


def test_a_push_event_does_not_alert(delivered: Any) -> None:
    assert delivered(PUSH_EVENT) == []


def test_the_same_event_from_another_source_does_not_alert(delivered: Any) -> None:
    assert delivered(replication_event("FAILED", Source="com.example.builds")) == []


def test_only_the_failure_among_mixed_events_alerts(delivered: Any) -> None:
    messages = delivered(
        replication_event("SUCCESS"),
        PUSH_EVENT,
        replication_event("FAILED", Detail=json.dumps({"result": "FAILED", "image-tag": "v2"})),
    )
    assert len(messages) == 1
    assert ":v2 " in messages[0]


# ---------------------------------------------------------------------------------------------
# Local mode


def test_local_mode_alerts_in_every_destination_stack_including_same_account(
    local: ReplicationStacks,
) -> None:
    assert local.monitoring is None
    assert set(local.destinations) == {
        registry(DESTINATION, "eu-west-1"),
        registry(SECOND_DESTINATION, "eu-central-1"),
        registry(SOURCE, "us-west-2"),
    }
    for stack in local.destinations.values():
        rule = only(stack, "AWS::Events::Rule")
        assert rule["EventPattern"] == {
            "source": ["aws.ecr"],
            "detail-type": ["ECR Replication Action"],
            "detail": {"result": ["FAILED"]},
        }
        assert rule["EventBusName"] == "default"
        (target,) = rule["Targets"]
        assert target["Arn"] == {"Ref": logical_id(stack, "AWS::SNS::Topic")}
    for stack in local.sources.values():
        assert resources(stack, "AWS::Events::Rule") == []


def test_local_mode_topic_is_encrypted_with_a_rotating_key_its_publishers_may_use(
    local: ReplicationStacks,
) -> None:
    stack = local.destinations[registry(DESTINATION, "eu-west-1")]
    topic = only(stack, "AWS::SNS::Topic")
    key_id = logical_id(stack, "AWS::KMS::Key")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = only(stack, "AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True
    by_sid = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    assert set(by_sid) == {
        "AccountAdministersTheKey",
        "EventBridgeEncryptsAlerts",
        "CloudWatchEncryptsAlarms",
        "GrantsOnlyForAwsResources",
    }
    # What each publisher may do and under which conditions: tests/test_service_contracts.py.
    assert by_sid["EventBridgeEncryptsAlerts"]["Principal"] == {"Service": "events.amazonaws.com"}
    assert by_sid["CloudWatchEncryptsAlarms"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }


def test_local_mode_topic_policy_admits_eventbridge_and_this_alarm_and_requires_tls(
    local: ReplicationStacks,
) -> None:
    stack = local.destinations[registry(DESTINATION, "eu-west-1")]
    topic_ref = {"Ref": logical_id(stack, "AWS::SNS::Topic")}
    policy = only(stack, "AWS::SNS::TopicPolicy")
    assert policy["Topics"] == [topic_ref]
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert by_sid["EventBridgePublishesFailures"]["Principal"] == {
        "Service": "events.amazonaws.com"
    }
    assert "Condition" not in by_sid["EventBridgePublishesFailures"]
    assert by_sid["CloudWatchPublishesAlarm"]["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": {"Fn::GetAtt": [logical_id(stack, "AWS::CloudWatch::Alarm"), "Arn"]}
        }
    }
    assert by_sid["TlsOnly"]["Effect"] == "Deny"
    assert by_sid["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(s["Resource"] == topic_ref for s in by_sid.values())


def test_local_mode_subscribes_the_emails_and_alarms_on_one_matched_event_in_5_minutes(
    local: ReplicationStacks,
) -> None:
    stack = local.destinations[registry(SOURCE, "us-west-2")]
    topic_ref = {"Ref": logical_id(stack, "AWS::SNS::Topic")}
    assert resources(stack, "AWS::SNS::Subscription") == [
        {"Protocol": "email", "Endpoint": MONITORING_EMAIL, "TopicArn": topic_ref}
    ]
    alarm = only(stack, "AWS::CloudWatch::Alarm")
    assert alarm["Namespace"] == "AWS/Events"
    assert alarm["MetricName"] == "MatchedEvents"
    assert alarm["Dimensions"] == [
        {"Name": "RuleName", "Value": {"Ref": logical_id(stack, "AWS::Events::Rule")}}
    ]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (300, 1, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [topic_ref]


def test_local_mode_with_a_given_topic_creates_no_topic_and_alerts_that_one() -> None:
    topology = {
        **CLASSIC,
        "monitoring": {"notificationTopicArn": GIVEN_TOPIC, "notificationEmails": []},
    }
    stack = build(topology).destinations[registry(DESTINATION, "eu-west-1")]
    for kind in ("AWS::SNS::Topic", "AWS::SNS::TopicPolicy", "AWS::KMS::Key"):
        assert resources(stack, kind) == []
    (target,) = only(stack, "AWS::Events::Rule")["Targets"]
    assert target["Arn"] == GIVEN_TOPIC
    assert only(stack, "AWS::CloudWatch::Alarm")["AlarmActions"] == [GIVEN_TOPIC]
    assert resources(stack, "AWS::SNS::Subscription") == []


def test_without_monitoring_no_stack_has_alert_resources() -> None:
    stacks = build(CLASSIC)
    assert stacks.monitoring is None
    for stack in [*stacks.sources.values(), *stacks.destinations.values()]:
        for kind in ("AWS::Events::Rule", "AWS::SNS::Topic", "AWS::CloudWatch::Alarm"):
            assert resources(stack, kind) == []


# ---------------------------------------------------------------------------------------------
# Central mode


def test_central_mode_forwards_from_every_destination_to_the_central_bus_with_a_role(
    central: ReplicationStacks,
) -> None:
    for stack in central.destinations.values():
        rule = only(stack, "AWS::Events::Rule")
        assert rule["EventPattern"]["detail"] == {"result": ["FAILED"]}
        (target,) = rule["Targets"]
        assert target["Arn"] == CENTRAL_BUS
        assert "InputTransformer" not in target  # the hub formats the message
        forwarding = [
            k
            for k, r in Template.from_stack(stack).to_json()["Resources"].items()
            if r["Type"] == "AWS::IAM::Role" and "ForwardingRole" in k
        ]
        assert target["RoleArn"] == {"Fn::GetAtt": [*forwarding, "Arn"]}
        for kind in ("AWS::SNS::Topic", "AWS::CloudWatch::Alarm", "AWS::SNS::Subscription"):
            assert resources(stack, kind) == []


def test_central_mode_forwarding_role_is_for_eventbridge_of_this_account_and_that_bus_only(
    central: ReplicationStacks,
) -> None:
    stack = central.destinations[registry(DESTINATION, "eu-west-1")]
    alerts = stack.alerts
    assert alerts is not None and alerts.forwarding_role is not None
    role = next(
        r
        for r in resources(stack, "AWS::IAM::Role")
        if r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "events.amazonaws.com"}
    )
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": DESTINATION}}
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "events:PutEvents", "Resource": CENTRAL_BUS}
    ]


def test_central_mode_hub_admits_every_destination_account_and_alerts(
    central: ReplicationStacks,
) -> None:
    hub = central.monitoring
    assert hub is not None
    assert (hub.account, hub.region) == (CENTRAL, "us-east-1")
    bus_policy = only(hub, "AWS::Events::EventBusPolicy")
    statement = bus_policy["Statement"]
    assert statement["Principal"] == {
        "AWS": [f"arn:aws:iam::{a}:root" for a in (DESTINATION, SECOND_DESTINATION, SOURCE)]
    }
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == CENTRAL_BUS
    assert "Condition" not in statement
    rule = only(hub, "AWS::Events::Rule")
    assert rule["EventPattern"]["detail-type"] == ["ECR Replication Action"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": logical_id(hub, "AWS::SNS::Topic")}
    assert "InputTransformer" in target
    assert sorted(s["Endpoint"] for s in resources(hub, "AWS::SNS::Subscription")) == [
        "oncall@example.com",
        MONITORING_EMAIL,
    ]
    assert only(hub, "AWS::CloudWatch::Alarm")["MetricName"] == "MatchedEvents"


def test_central_mode_destination_stacks_depend_on_the_monitoring_stack(
    central: ReplicationStacks,
) -> None:
    assert central.monitoring is not None
    for stack in central.destinations.values():
        assert central.monitoring in stack.dependencies
    for stack in central.sources.values():
        assert central.monitoring not in stack.dependencies


def test_central_mode_with_an_organization_admits_it_in_one_statement() -> None:
    topology = {
        **CENTRAL_MONITORING,
        "destinationDefaults": {"role": {"principalOrgId": "o-abcdef1234"}},
    }
    hub = build(topology).monitoring
    assert hub is not None
    statement = only(hub, "AWS::Events::EventBusPolicy")["Statement"]
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}


def test_the_central_registry_as_a_destination_is_watched_by_the_hub_alone() -> None:
    topology = {
        **CENTRAL_MONITORING,
        "monitoring": {
            "notificationEmails": [MONITORING_EMAIL],
            "centralAccount": {"account": DESTINATION, "region": "eu-west-1"},
        },
    }
    stacks = build(topology)
    watched = stacks.destinations[registry(DESTINATION, "eu-west-1")]
    assert watched.alerts is None
    assert resources(watched, "AWS::Events::Rule") == []
    hub = stacks.monitoring
    assert hub is not None
    principals = only(hub, "AWS::Events::EventBusPolicy")["Statement"]["Principal"]["AWS"]
    assert f"arn:aws:iam::{DESTINATION}:root" not in principals  # its own account needs no grant


def test_a_same_account_destination_in_another_region_forwards_through_its_role() -> None:
    topology = {
        **CENTRAL_MONITORING,
        "monitoring": {"centralAccount": {"account": SOURCE, "region": "eu-west-1"}},
    }
    stacks = build(topology)
    same_account = stacks.destinations[registry(SOURCE, "us-west-2")]
    (target,) = only(same_account, "AWS::Events::Rule")["Targets"]
    assert target["Arn"] == f"arn:aws:events:eu-west-1:{SOURCE}:event-bus/default"
    assert "RoleArn" in target
    hub = stacks.monitoring
    assert hub is not None
    principal = only(hub, "AWS::Events::EventBusPolicy")["Statement"]["Principal"]["AWS"]
    assert f"arn:aws:iam::{SOURCE}:root" not in principal


# ---------------------------------------------------------------------------------------------
# The constructs alone


def env_stack(account: str = DESTINATION, region: str = "eu-west-1") -> Stack:
    return Stack(App(), "Alone", env=Environment(account=account, region=region))


def test_alerts_need_monitoring_settings() -> None:
    with pytest.raises(
        ReplicationConfigError, match=r"Alone/Alerts\.settings: .* must be a MonitoringSettings"
    ):
        ReplicationFailureAlerts(env_stack(), "Alerts", settings={"notificationEmails": []})  # type: ignore[arg-type]


def test_alerts_in_the_central_registry_itself_are_refused() -> None:
    settings = MonitoringSettings(central_account=registry(DESTINATION, "eu-west-1"))
    with pytest.raises(ReplicationConfigError, match="its ReplicationMonitoringHub already"):
        ReplicationFailureAlerts(env_stack(), "Alerts", settings=settings)


def test_the_hub_refuses_accounts_that_are_not_a_list_of_strings() -> None:
    with pytest.raises(ReplicationConfigError, match=r"Alone/Hub\.accounts"):
        ReplicationMonitoringHub(
            env_stack(),
            "Hub",
            settings=MonitoringSettings(),
            accounts=[123],  # type: ignore[list-item]
        )


def test_a_hub_without_accounts_or_organization_has_no_bus_policy() -> None:
    stack = env_stack(CENTRAL, "us-east-1")
    hub = ReplicationMonitoringHub(stack, "Hub", settings=MonitoringSettings())
    assert hub.bus_policy is None
    assert resources(stack, "AWS::Events::EventBusPolicy") == []
    assert len(resources(stack, "AWS::Events::Rule")) == 1


def test_hooks_change_the_pattern_message_and_topic_policy_at_synthesis() -> None:
    class ProdOnly(ReplicationFailureAlerts):
        def event_pattern(self) -> dict[str, Any]:
            pattern = super().event_pattern()
            pattern["detail"]["repository-name"] = [{"prefix": "prod/"}]
            return pattern

        def notification(self) -> dict[str, Any]:
            return {**super().notification(), "InputTemplate": '"failed: <repository>"'}

        def topic_policy_statements(self, rule_arn: str, alarm_arn: str) -> list[Statement]:
            return [
                s
                for s in super().topic_policy_statements(rule_arn, alarm_arn)
                if s["Sid"] != "CloudWatchPublishesAlarm"
            ]

    stack = env_stack()
    ProdOnly(stack, "Alerts", settings=MonitoringSettings(notification_emails=[MONITORING_EMAIL]))
    rule = only(stack, "AWS::Events::Rule")
    assert rule["EventPattern"]["detail"] == {
        "result": ["FAILED"],
        "repository-name": [{"prefix": "prod/"}],
    }
    assert rule["Targets"][0]["InputTransformer"]["InputTemplate"] == '"failed: <repository>"'
    sids = [s["Sid"] for s in only(stack, "AWS::SNS::TopicPolicy")["PolicyDocument"]["Statement"]]
    assert sids == ["EventBridgePublishesFailures", "TlsOnly"]


def test_the_key_policy_hook_runs_at_synthesis_with_the_subclass_state() -> None:
    class SecurityAdministers(ReplicationFailureAlerts):
        def key_policy_statements(self) -> list[Statement]:
            return [
                *super().key_policy_statements(),
                {
                    "Sid": "SecurityTeam",
                    "Effect": "Allow",
                    "Principal": {"AWS": self.security_role},
                    "Action": "kms:DescribeKey",
                    "Resource": "*",
                },
            ]

    stack = env_stack()
    alerts = SecurityAdministers(stack, "Alerts", settings=MonitoringSettings())
    alerts.security_role = f"arn:aws:iam::{DESTINATION}:role/security"  # set after construction
    statements = only(stack, "AWS::KMS::Key")["KeyPolicy"]["Statement"]
    assert [s["Sid"] for s in statements] == [
        "AccountAdministersTheKey",
        "EventBridgeEncryptsAlerts",
        "CloudWatchEncryptsAlarms",
        "GrantsOnlyForAwsResources",
        "SecurityTeam",
    ]
    assert statements[-1]["Principal"] == {"AWS": f"arn:aws:iam::{DESTINATION}:role/security"}


def test_the_default_pattern_hook_returns_a_fresh_copy_each_time() -> None:
    alerts = ReplicationFailureAlerts(env_stack(), "Alerts", settings=MonitoringSettings())
    alerts.event_pattern()["detail"]["result"].append("SUCCESS")
    assert alerts.event_pattern()["detail"] == {"result": ["FAILED"]}


# ---------------------------------------------------------------------------------------------
# Snapshots: one topology per mode


def test_local_mode_snapshot(local: ReplicationStacks, snapshot_json: SnapshotAssertion) -> None:
    stack = local.destinations[registry(DESTINATION, "eu-west-1")]
    assert snapshot_template(stack) == snapshot_json(name=stack.stack_name)


def test_central_mode_snapshots(
    central: ReplicationStacks, snapshot_json: SnapshotAssertion
) -> None:
    assert central.monitoring is not None
    destination = central.destinations[registry(DESTINATION, "eu-west-1")]
    for stack in (central.monitoring, destination):
        assert snapshot_template(stack) == snapshot_json(name=stack.stack_name)
