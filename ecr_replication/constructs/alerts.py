"""Alerts on failed replication: ECR's "ECR Replication Action" events, turned into messages.

ECR sends one event per replicated image to the **destination** registry's default event bus,
best effort, with ``detail.result`` ``SUCCESS`` or ``FAILED``. A rule there matches the
failures and either alerts (an SNS topic with e-mail subscribers, and a CloudWatch alarm on the
rule's matched events) or forwards them to a central account's bus, whose
:class:`ReplicationMonitoringHub` alerts for every destination.

Whether a failure also produces an event in the **source** account is not documented (the AWS
samples show it on the destination's bus, and nothing on the source side), so nothing here
relies on one.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from ..errors import Problem, ReplicationConfigError
from ..model.checks import FieldChecks
from ..model.monitoring import MonitoringSettings
from ..model.policies import Statement, policy_document
from ..naming import account_root_arn
from .support import lazy, rendered_resource, stack_environment

EVENT_SOURCE = "aws.ecr"
EVENT_DETAIL_TYPE = "ECR Replication Action"
EVENT_BUS = "default"

FAILED_REPLICATION_PATTERN: dict[str, Any] = {
    "source": [EVENT_SOURCE],
    "detail-type": [EVENT_DETAIL_TYPE],
    "detail": {"result": ["FAILED"]},
}
"""The events of a failed replication."""

NOTIFICATION: dict[str, Any] = {
    "InputPathsMap": {
        "result": "$.detail.result",
        "repository": "$.detail.repository-name",
        "tag": "$.detail.image-tag",
        "digest": "$.detail.image-digest",
        "sourceAccount": "$.detail.source-account",
        "sourceRegion": "$.detail.source-region",
        "account": "$.account",
        "region": "$.region",
        "time": "$.time",
    },
    "InputTemplate": '"ECR replication <result>: <repository>:<tag> (<digest>) from '
    "<sourceAccount>/<sourceRegion> to <account>/<region> at <time>. Check it with: "
    'ecr-replication verify --repository <repository>"',
}
"""A readable message: what, from where to where, when, and what to run."""

ALARM_PERIOD_SECONDS = 300


PUBLISHER_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]
"""What a service publishing to an encrypted SNS topic needs of its key (SNS developer guide)."""


def topic_key_policy_statements(partition: str, region: str, account: str) -> list[Statement]:
    """The key policy of an alert topic's key.

    * The account administers the key (IAM policies decide who in it may use it).
    * EventBridge may encrypt, with **no** ``aws:Source*`` condition: the SNS developer guide
      (key management, "Enable compatibility between event sources from AWS services and
      encrypted topics") says those keys are not supported for EventBridge to encrypted
      topics; with them every delivery fails and only the rule's ``FailedInvocations`` shows it.
    * CloudWatch may encrypt for this account's alarms: it sends ``aws:SourceAccount`` and
      ``aws:SourceArn`` (the alarm), so the confused-deputy conditions stay.
    * Nobody may create a grant that is not for an AWS resource (AWS Control Tower's
      CT.KMS.PR.3): ``kms:CreateGrant`` is denied unless ``kms:GrantIsForAWSResource`` or
      ``aws:PrincipalIsAWSService`` is true.
    """
    return [
        {
            "Sid": "AccountAdministersTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": account_root_arn(partition, account)},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "EventBridgeEncryptsAlerts",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": PUBLISHER_KEY_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchEncryptsAlarms",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": PUBLISHER_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {
                    "aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"
                },
            },
        },
        {
            "Sid": "GrantsOnlyForAwsResources",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        },
    ]


def bus_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:events:{region}:{account}:event-bus/{EVENT_BUS}"


class _Alerting(Construct):
    """What both sides share: the failure rule, the topic it alerts, the alarm, the hooks."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: MonitoringSettings
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = stack_environment(scope)
        if not isinstance(settings, MonitoringSettings):
            raise ReplicationConfigError(
                [
                    Problem(
                        f"{self.node.path}.settings", f"{settings!r} must be a MonitoringSettings"
                    )
                ]
            )
        self.settings = settings
        self.topic: sns.CfnTopic | None = None
        self.key: kms.CfnKey | None = None
        self.alarm: cloudwatch.CfnAlarm | None = None
        self.subscriptions: list[sns.CfnSubscription] = []

    def event_pattern(self) -> dict[str, Any]:
        """The events the rule matches (plain data). Overridable; runs at synthesis."""
        return copy.deepcopy(FAILED_REPLICATION_PATTERN)

    def notification(self) -> dict[str, Any]:
        """The rule's ``InputTransformer`` for the alert's text (plain data). Overridable; runs
        at synthesis."""
        return copy.deepcopy(NOTIFICATION)

    def topic_policy_statements(self, rule_arn: str, alarm_arn: str) -> list[Statement]:
        """The created topic's policy: EventBridge and CloudWatch (this alarm) may publish;
        nobody may publish without TLS. Overridable; runs at synthesis.

        EventBridge's statement has no ``Condition``: the EventBridge user guide says a
        ``Condition`` block cannot be used in an SNS topic policy for EventBridge (its
        publishes would be refused). ``rule_arn`` is given for a subclass that knows better.
        """
        topic_arn = self.topic_arn
        return [
            {
                "Sid": "EventBridgePublishesFailures",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
            },
            {
                "Sid": "CloudWatchPublishesAlarm",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": alarm_arn}},
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ]

    def key_policy_statements(self) -> list[Statement]:
        """The policy of the created topic's key (see :func:`topic_key_policy_statements`),
        e.g. to add your organization's key administrators. Overridable; runs at synthesis.
        Keep EventBridge's statement free of ``aws:Source*`` conditions: EventBridge does not
        send them, and every alert would be dropped."""
        env = self._environment
        return topic_key_policy_statements(env.partition, env.region, env.account)

    @property
    def topic_arn(self) -> str:
        """The topic alerted: the one given, or the one created."""
        if self.settings.notification_topic_arn:
            return self.settings.notification_topic_arn
        assert self.topic is not None  # created when none is given
        return self.topic.ref

    def _alert(self, rule_id: str, description: str) -> events.CfnRule:
        """The failure rule alerting the topic (created unless given), its subscriptions and
        the alarm on the rule's matched events."""
        if not self.settings.notification_topic_arn:
            self.key = kms.CfnKey(
                self,
                "TopicKey",
                description="Encrypts the ecr-replication alert topic; EventBridge and "
                "CloudWatch may use it to publish",
                enable_key_rotation=True,
                key_policy=lazy(lambda: policy_document(self.key_policy_statements())),
            )
            self.topic = sns.CfnTopic(
                self,
                "Topic",
                display_name="ECR replication failures",
                kms_master_key_id=self.key.attr_arn,
            )
        rule = rendered_resource(
            events.CfnRule,
            self,
            rule_id,
            lambda: {
                "Description": description,
                "EventBusName": EVENT_BUS,
                "EventPattern": self.event_pattern(),
                "State": "ENABLED",
                "Targets": [
                    {"Id": "Alert", "Arn": self.topic_arn, "InputTransformer": self.notification()}
                ],
            },
        )
        self.alarm = cloudwatch.CfnAlarm(
            self,
            "Alarm",
            alarm_description="ECR replication failed in the last 5 minutes (ecr-replication)",
            namespace="AWS/Events",
            metric_name="MatchedEvents",
            dimensions=[cloudwatch.CfnAlarm.DimensionProperty(name="RuleName", value=rule.ref)],
            statistic="Sum",
            period=ALARM_PERIOD_SECONDS,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic_arn],
        )
        if self.topic is not None:
            alarm = self.alarm
            sns.CfnTopicPolicy(
                self,
                "TopicPolicy",
                topics=[self.topic.ref],
                policy_document=lazy(
                    lambda: policy_document(
                        self.topic_policy_statements(rule.attr_arn, alarm.attr_arn)
                    )
                ),
            )
        self.subscriptions = [
            sns.CfnSubscription(
                self, f"Email{index}", protocol="email", endpoint=email, topic_arn=self.topic_arn
            )
            for index, email in enumerate(self.settings.notification_emails)
        ]
        return rule


class ReplicationFailureAlerts(_Alerting):
    """The destination side: a rule on the registry's default bus matching failed replication.

    Without ``settings.central_account`` (local mode) it alerts here: an SNS topic (encrypted
    with a key of its own, TLS-only, EventBridge and CloudWatch allowed to publish) or the
    given ``notification_topic_arn``, the e-mails subscribed, a CloudWatch alarm on the rule's
    matched events (at least one in 5 minutes), and a readable message (repository, tag,
    digest, source → destination). With a central account it forwards the events to that
    account's default bus, through a role EventBridge assumes (trusted by
    ``events.amazonaws.com`` for this account only, ``events:PutEvents`` on that bus only).

    :param settings: the topology's monitoring settings.

    Extension points (plain data, at synthesis): :meth:`event_pattern`, :meth:`notification`,
    :meth:`topic_policy_statements`, :meth:`key_policy_statements`.

    :ivar rule: the ``CfnRule``. :ivar topic: the created ``CfnTopic``, or None.
    :ivar alarm: the ``CfnAlarm`` (local mode). :ivar forwarding_role: the ``CfnRole``
        (central mode).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: MonitoringSettings
    ) -> None:
        super().__init__(scope, construct_id, settings=settings)
        self.forwarding_role: iam.CfnRole | None = None
        env = self._environment
        central = settings.central_account
        if central is None:
            self.rule = self._alert("Rule", "Alerts on failed ECR replication into this registry")
            return
        if env.registry == central:
            raise ReplicationConfigError(
                [
                    Problem(
                        self.node.path,
                        f"this stack is the central account and region {central.key}: its "
                        "ReplicationMonitoringHub already watches this bus",
                    )
                ]
            )
        target = bus_arn(central.partition, central.region, central.account)
        self.forwarding_role = iam.CfnRole(
            self,
            "ForwardingRole",
            description="EventBridge forwards failed ECR replication events to the central "
            "account's bus (ecr-replication)",
            assume_role_policy_document=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": env.account}},
                    }
                ]
            ),
            policies=[
                iam.CfnRole.PolicyProperty(
                    policy_name="ForwardFailures",
                    policy_document=policy_document(
                        [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": target}]
                    ),
                )
            ],
        )
        role = self.forwarding_role
        self.rule = rendered_resource(
            events.CfnRule,
            self,
            "Rule",
            lambda: {
                "Description": f"Forwards failed ECR replication to {central.key}",
                "EventBusName": EVENT_BUS,
                "EventPattern": self.event_pattern(),
                "State": "ENABLED",
                "Targets": [{"Id": "CentralBus", "Arn": target, "RoleArn": role.attr_arn}],
            },
        )


class ReplicationMonitoringHub(_Alerting):
    """The central side: the default bus admits the destination accounts, and alerts for all.

    An ``AWS::Events::EventBusPolicy`` lets ``accounts`` (or every account of
    ``organization_id``) put events on this account's default bus; a rule matches failed
    replication from any of them and alerts as :class:`ReplicationFailureAlerts` does in local
    mode (topic, e-mails, alarm, readable message).

    :param settings: the topology's monitoring settings (its ``central_account`` is this
        stack's account and region).
    :param accounts: the destination accounts that forward events here. Default: none.
    :param organization_id: admit the whole organization instead (condition
        ``aws:PrincipalOrgID``). Default: none.

    :ivar bus_policy: the ``CfnEventBusPolicy``, or None. :ivar rule: the ``CfnRule``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: MonitoringSettings,
        accounts: Sequence[str] = (),
        organization_id: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id, settings=settings)
        checks = FieldChecks()
        given = checks.strings("accounts", accounts)
        if checks.problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in checks.problems)
        env = self._environment
        self.bus_policy: events.CfnEventBusPolicy | None = None
        bus = bus_arn(env.partition, env.region, env.account)
        if organization_id:
            principal: Any = "*"
            condition: dict[str, Any] = {
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_id}}
            }
        else:
            roots = [account_root_arn(env.partition, a) for a in given]
            principal = {"AWS": roots[0] if len(roots) == 1 else roots}
            condition = {}
        if organization_id or given:
            self.bus_policy = events.CfnEventBusPolicy(
                self,
                "BusPolicy",
                event_bus_name=EVENT_BUS,
                statement_id="EcrReplicationDestinations",
                statement={
                    "Sid": "EcrReplicationDestinations",
                    "Effect": "Allow",
                    "Principal": principal,
                    "Action": "events:PutEvents",
                    "Resource": bus,
                    **condition,
                },
            )
        self.rule = self._alert("Rule", "Alerts on failed ECR replication into any destination")
