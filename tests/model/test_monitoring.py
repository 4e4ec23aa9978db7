"""The topology key ``monitoring``: what it accepts, one failing input per rule, and the same
rules and messages for the JSON reader and the Python value object."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import MonitoringSettings, Registry, parse_topology

BUILD = "555444333222"
PROD = "123456789012"
OTHER = "210987654321"
CENTRAL = "999900001111"
CENTRAL_TOPIC = f"arn:aws:sns:us-east-1:{CENTRAL}:existing-topic"


def topology(monitoring: Any, destinations: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "sources": [
            {
                "account": BUILD,
                "region": "us-east-1",
                "rules": [
                    {
                        "repositoryPrefixes": ["prod/"],
                        "destinations": destinations
                        or [
                            {"account": PROD, "region": "eu-west-1"},
                            {"account": OTHER, "region": "eu-central-1"},
                        ],
                    }
                ],
            }
        ],
        "monitoring": monitoring,
    }


def problems(monitoring: Any, destinations: list[dict[str, str]] | None = None) -> list[str]:
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(topology(monitoring, destinations))
    return [str(p) for p in info.value.problems]


def test_the_issue_example_is_read_into_monitoring_settings() -> None:
    parsed = parse_topology(
        topology(
            {
                "notificationEmails": ["platform-alerts@example.com"],
                "notificationTopicArn": CENTRAL_TOPIC,
                "centralAccount": {"account": CENTRAL, "region": "us-east-1"},
            }
        )
    )
    assert parsed.monitoring == MonitoringSettings(
        notification_emails=("platform-alerts@example.com",),
        notification_topic_arn=CENTRAL_TOPIC,
        central_account=Registry(account=CENTRAL, region="us-east-1"),
    )
    assert parsed.monitoring_accounts() == (PROD, OTHER)  # sorted
    assert all(d.monitoring == parsed.monitoring for d in parsed.destination_registries())


def test_without_the_key_there_is_no_monitoring() -> None:
    raw = topology(None)
    del raw["monitoring"]
    parsed = parse_topology(raw)
    assert parsed.monitoring is None
    assert not any(d.needs_alerts for d in parsed.destination_registries())
    assert parsed.monitoring_accounts() == ()


def test_every_key_is_optional() -> None:
    parsed = parse_topology(topology({}))
    assert parsed.monitoring == MonitoringSettings()
    assert all(d.needs_alerts for d in parsed.destination_registries())


@pytest.mark.parametrize(
    ("monitoring", "expected"),
    [
        (
            {"notificationEmails": ["ok@example.com", "not-an-address"]},
            "monitoring.notificationEmails[1]: 'not-an-address' is not an e-mail address, "
            "e.g. 'platform-alerts@example.com'",
        ),
        (
            {"notificationEmails": "ok@example.com"},
            "monitoring.notificationEmails: 'ok@example.com' must be a list of strings "
            "(write ['ok@example.com'])",
        ),
        (
            {"notificationTopicArn": "existing-topic"},
            "monitoring.notificationTopicArn: 'existing-topic' is not an SNS topic ARN, e.g. "
            "'arn:aws:sns:us-east-1:999900001111:replication-alerts'",
        ),
        (
            {"notificationTopicArn": f"arn:aws:sqs:us-east-1:{CENTRAL}:queue"},
            "monitoring.notificationTopicArn: "
            f"'arn:aws:sqs:us-east-1:{CENTRAL}:queue' is not an SNS topic ARN",
        ),
        (
            {"notificationTopicArn": f"arn:aws:sns:xx-east-1:{CENTRAL}:t"},
            "monitoring.notificationTopicArn: 'xx-east-1' is not a known AWS region",
        ),
        (
            {"notificationTopicArn": f"arn:aws-cn:sns:us-east-1:{CENTRAL}:t"},
            f"monitoring.notificationTopicArn: 'arn:aws-cn:sns:us-east-1:{CENTRAL}:t' names "
            "partition 'aws-cn', but us-east-1 is in 'aws'",
        ),
        (
            {"centralAccount": {"account": "1", "region": "us-east-1"}},
            "monitoring.centralAccount.account: '1' is not a 12-digit AWS account id",
        ),
        (
            {"centralAccount": {"account": CENTRAL, "region": "mars-1"}},
            "monitoring.centralAccount.region: 'mars-1' is not a known AWS region",
        ),
        (
            {"centralAccount": {"account": CENTRAL}},
            "monitoring.centralAccount.region: is required",
        ),
        (
            {"centralAccount": {"account": CENTRAL, "region": "cn-north-1"}},
            f"monitoring.centralAccount: '{CENTRAL}/cn-north-1' is in partition 'aws-cn'; "
            "events cannot be sent to it from destinations in aws",
        ),
        (
            {"notificationEmail": ["ok@example.com"]},
            "monitoring.notificationEmail: unknown key; allowed keys here are "
            "notificationEmails, notificationTopicArn, centralAccount",
        ),
        ("alerts@example.com", "monitoring: 'alerts@example.com' must be a JSON object"),
    ],
)
def test_a_bad_value_names_the_field_the_value_and_what_is_allowed(
    monitoring: Any, expected: str
) -> None:
    assert any(p.startswith(expected) for p in problems(monitoring)), problems(monitoring)


def test_a_given_topic_must_be_in_the_central_account_and_region() -> None:
    (problem,) = problems(
        {
            "notificationTopicArn": CENTRAL_TOPIC,
            "centralAccount": {"account": CENTRAL, "region": "us-west-2"},
        }
    )
    assert problem.startswith(
        f"monitoring.notificationTopicArn: '{CENTRAL_TOPIC}' is in {CENTRAL}/us-east-1, but the "
        f"central account alerts from {CENTRAL}/us-west-2: the topic must be in the account and "
        "region that alerts"
    )


def test_without_a_central_account_a_given_topic_must_be_where_every_destination_is() -> None:
    topic = f"arn:aws:sns:eu-west-1:{PROD}:alerts"
    (problem,) = problems({"notificationTopicArn": topic})
    assert re.match(
        rf"monitoring\.notificationTopicArn: '{topic}' is in {PROD}/eu-west-1, but every "
        rf"destination alerts from {OTHER}/eu-central-1: .*; give monitoring\.centralAccount$",
        problem,
    )


def test_without_a_central_account_a_topic_where_the_only_destination_is_is_accepted() -> None:
    topic = f"arn:aws:sns:eu-west-1:{PROD}:alerts"
    parsed = parse_topology(
        topology({"notificationTopicArn": topic}, [{"account": PROD, "region": "eu-west-1"}])
    )
    assert parsed.monitoring is not None
    assert parsed.monitoring.topic_registry == Registry(account=PROD, region="eu-west-1")


def test_the_central_registry_as_a_destination_needs_no_alerts_of_its_own() -> None:
    parsed = parse_topology(topology({"centralAccount": {"account": PROD, "region": "eu-west-1"}}))
    needs = {d.registry.key: d.needs_alerts for d in parsed.destination_registries()}
    assert needs == {f"{PROD}/eu-west-1": False, f"{OTHER}/eu-central-1": True}
    assert parsed.monitoring_accounts() == (OTHER,)


def test_a_same_account_destination_gets_a_stack_for_its_alerts() -> None:
    parsed = parse_topology(
        topology({"notificationEmails": []}, [{"account": BUILD, "region": "us-west-2"}])
    )
    (destination,) = parsed.destination_registries()
    assert not destination.needs_registry_policy and not destination.needs_role
    assert destination.needs_stack


@pytest.mark.parametrize(
    ("kwargs", "json_value"),
    [
        ({"notification_emails": ["nope"]}, {"notificationEmails": ["nope"]}),
        ({"notification_topic_arn": "bad"}, {"notificationTopicArn": "bad"}),
        (
            {"notification_topic_arn": f"arn:aws-cn:sns:us-east-1:{CENTRAL}:t"},
            {"notificationTopicArn": f"arn:aws-cn:sns:us-east-1:{CENTRAL}:t"},
        ),
    ],
)
def test_the_value_object_and_the_json_reader_share_rules_and_messages(
    kwargs: dict[str, Any], json_value: dict[str, Any]
) -> None:
    with pytest.raises(ReplicationConfigError) as info:
        MonitoringSettings(**kwargs)
    (python,) = (str(p) for p in info.value.problems)
    (from_json,) = problems(json_value)
    assert from_json == f"monitoring.{python}"


def test_the_value_object_refuses_a_central_account_that_is_not_a_registry() -> None:
    with pytest.raises(ReplicationConfigError, match=r"^centralAccount: .*a Registry"):
        MonitoringSettings(central_account="999900001111/us-east-1")  # type: ignore[arg-type]
