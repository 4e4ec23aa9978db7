"""Who is alerted and who operates: :class:`MonitoringSettings` (alerts on failed
replication) and :class:`OperationsSettings` (the account the operations commands run from).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import describe_value
from .checks import (
    FieldChecks,
    account_problem,
    region_problem,
    set_field,
)
from .limits import (
    EMAIL_PATTERN,
    SNS_TOPIC_ARN_PATTERN,
    region_partitions,
)
from .registries import Registry


@dataclass(frozen=True, kw_only=True, slots=True)
class MonitoringSettings:
    """Alerts on failed replication (ECR's "ECR Replication Action" events, result FAILED).

    ECR sends the event to the destination registry's default event bus, best effort. Without
    ``central_account`` every destination stack alerts by itself (local mode); with it, each
    forwards the events to that account's default bus, whose monitoring stack alerts.

    :param notification_emails: addresses subscribed to the alert topic. Default: none.
    :param notification_topic_arn: an existing SNS topic to alert instead of creating one (in
        the central account and region, or, without one, in every destination's). It must let
        events.amazonaws.com and cloudwatch.amazonaws.com publish. Default: a topic is created.
    :param central_account: the account and region that collects the events. Default: none.
    """

    notification_emails: Sequence[str] = ()
    notification_topic_arn: str | None = None
    central_account: Registry | None = None

    def __post_init__(self) -> None:
        checks = FieldChecks()
        emails = checks.strings("notificationEmails", self.notification_emails)
        set_field(self, "notification_emails", emails)
        for index, email in enumerate(emails):
            if not EMAIL_PATTERN.match(email):
                checks.add(
                    f"notificationEmails[{index}]",
                    f"{email!r} is not an e-mail address, e.g. 'platform-alerts@example.com'",
                )
        topic = self.notification_topic_arn
        if topic is not None:
            match = SNS_TOPIC_ARN_PATTERN.match(topic) if isinstance(topic, str) else None
            if match is None:
                checks.add(
                    "notificationTopicArn",
                    f"{describe_value(topic)} is not an SNS topic ARN, e.g. "
                    "'arn:aws:sns:us-east-1:999900001111:replication-alerts'",
                )
            elif (problem := region_problem(match["region"])) is not None:
                checks.add("notificationTopicArn", problem)
            elif region_partitions()[match["region"]] != match["partition"]:
                checks.add(
                    "notificationTopicArn",
                    f"{topic!r} names partition {match['partition']!r}, but {match['region']} "
                    f"is in {region_partitions()[match['region']]!r}",
                )
        if self.central_account is not None:
            checks.instance(
                "centralAccount", self.central_account, Registry, "a Registry {account, region}"
            )
        checks.raise_if_any()

    @property
    def topic_registry(self) -> Registry | None:
        """The account and region of ``notification_topic_arn``, if one is given."""
        match = SNS_TOPIC_ARN_PATTERN.match(self.notification_topic_arn or "")
        return Registry(account=match["account"], region=match["region"]) if match else None


@dataclass(frozen=True, kw_only=True, slots=True)
class OperationsSettings:
    """The account the operations commands (and a deployment pipeline) run from.

    With it, every destination role trusts this account instead of the source accounts, every
    registry outside it gets a read-only role for the commands (the source roles
    ``ecr-replication-source-<region>`` too), and one run of a command from this account reads
    every registry of the topology.

    :param account: the operations account id.
    :param allow_backfill: the source roles may also start, follow and stop replication
        backfills (``ecr-replication backfill`` from this account). Default: False (read-only).
    """

    account: str
    allow_backfill: bool = False

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.check("account", self.account, account_problem)
        checks.boolean("allowBackfill", self.allow_backfill)
        checks.raise_if_any()
