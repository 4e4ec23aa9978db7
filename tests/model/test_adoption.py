"""What a deploy would replace: kept statements in the model, and the comparisons preflight and
import rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import (
    DestinationSettings,
    Registry,
    ReplicationRule,
    SourceRegistry,
    parse_topology,
)
from ecr_replication.model.adoption import (
    describe_statement,
    live_rules,
    monitoring_json,
    release_statements,
    removed_statements,
    stack_alerts,
    statement_reproduced,
    stopped_replications,
    template_json,
)
from ecr_replication.model.policies import generated_statements, registry_policy_document

BUILD = Registry(account="555444333222", region="us-east-1")
PROD = Registry(account="123456789012", region="eu-west-1")
DR = Registry(account="555444333222", region="us-west-2")
ARN = "arn:aws:ecr:eu-west-1:123456789012:repository"
PULL_THROUGH_CACHE = {
    "Sid": "PullThroughCache",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
    "Action": ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
    "Resource": f"{ARN}/docker-hub/*",
}


def topology(**destination: Any) -> dict[str, Any]:
    return {
        "sources": [
            {
                "account": BUILD.account,
                "region": BUILD.region,
                "rules": [
                    {
                        "repositoryPrefixes": ["prod/"],
                        "destinations": [{"account": PROD.account, "region": PROD.region}],
                    }
                ],
            }
        ],
        "destinationRegistries": [{"account": PROD.account, "region": PROD.region, **destination}],
    }


def problems(raw: Any) -> list[str]:
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(raw)
    return [str(p) for p in info.value.problems]


# ---------------------------------------------------------------------------------------------
# Kept statements


def test_kept_statements_go_verbatim_into_the_registry_policy_after_the_grants() -> None:
    parsed = parse_topology(topology(additionalPolicyStatements=[PULL_THROUGH_CACHE]))
    (destination,) = parsed.destination_registries()
    statements = registry_policy_document(destination)["Statement"]
    assert [s["Sid"] for s in statements] == [
        "ReplicateFrom555444333222UsEast1",
        "PullThroughCache",
    ]
    assert statements[1] == PULL_THROUGH_CACHE


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({**PULL_THROUGH_CACHE, "Sid": None}, "Sid: null must be 1 to 100 letters and digits"),
        ({**PULL_THROUGH_CACHE, "Effect": "Permit"}, "Effect: 'Permit' must be Allow or Deny"),
        (
            {**PULL_THROUGH_CACHE, "Action": ["ecr:BatchGetImage", "s3:GetObject"]},
            "Action[1]: 's3:GetObject' is not an ECR action; a registry policy holds ecr: "
            "actions only (any of them under registry policy scope V2, e.g. 'ecr:BatchGetImage'; "
            "under V1 only ecr:BatchImportUpstreamImage, ecr:CreateRepository, "
            "ecr:ReplicateImage)",
        ),
        (
            {**PULL_THROUGH_CACHE, "NotAction": "ecr:ReplicateImage"},
            "Action: give exactly one of Action and NotAction",
        ),
        ({**PULL_THROUGH_CACHE, "Principal": "everyone"}, "Principal: 'everyone' must be \"*\""),
        ({**PULL_THROUGH_CACHE, "Resource": "repository/x"}, "Resource: 'repository/x' is not '*'"),
        ({**PULL_THROUGH_CACHE, "NotResource": "*"}, "NotResource: unknown key"),
        ("Allow everything", "'Allow everything' must be an IAM statement object"),
    ],
    ids=["sid", "effect", "action", "both", "principal", "resource", "unknown-key", "string"],
)
def test_a_kept_statement_is_checked_with_its_field_path(statement: Any, expected: str) -> None:
    found = problems(topology(additionalPolicyStatements=[statement]))
    path = "destinationRegistries[0].additionalPolicyStatements[0]"
    assert any(p.startswith(path) and expected in p for p in found), found


def test_a_scope_v2_statement_with_any_ecr_action_is_kept_verbatim() -> None:
    # Registry policy scope V2 (the default since the account setting exists) lets a registry
    # policy hold any ECR action, pulls for a whole organization among them.
    pull = {
        "Sid": "OrgPull",
        "Effect": "Allow",
        "Principal": "*",
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ECR:Describe*"],
        "Resource": f"{ARN}/prod/*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}},
    }
    parsed = parse_topology(topology(additionalPolicyStatements=[pull]))
    (destination,) = parsed.destination_registries()
    assert registry_policy_document(destination)["Statement"][1] == pull


def test_kept_sids_are_unique_and_distinct_from_the_generated_grants() -> None:
    twice = problems(topology(additionalPolicyStatements=[PULL_THROUGH_CACHE, PULL_THROUGH_CACHE]))
    assert twice == [
        "destinationRegistries[0].additionalPolicyStatements[1].Sid: 'PullThroughCache' is "
        "already the Sid of additionalPolicyStatements[0]; Sids must be unique"
    ]
    clash = {**PULL_THROUGH_CACHE, "Sid": "ReplicateFrom555444333222UsEast1"}
    assert problems(topology(additionalPolicyStatements=[clash])) == [
        "destinationRegistries[0].additionalPolicyStatements[0].Sid: "
        "'ReplicateFrom555444333222UsEast1' is the Sid of a generated grant of "
        "123456789012/eu-west-1; give the kept statement another Sid"
    ]


def test_kept_statements_count_towards_the_policy_size_limit() -> None:
    big = [
        {
            **PULL_THROUGH_CACHE,
            "Sid": f"Kept{i}",
            "Resource": [f"{ARN}/team-{i}-{j}/*" for j in range(8)],
        }
        for i in range(20)
    ]
    (found,) = problems(topology(additionalPolicyStatements=big))
    assert "the registry policy for destination 123456789012/eu-west-1 would be" in found


def test_kept_statements_are_per_registry_not_defaults() -> None:
    raw = topology()
    raw["destinationDefaults"] = {"additionalPolicyStatements": [PULL_THROUGH_CACHE]}
    assert problems(raw) == [
        "destinationDefaults.additionalPolicyStatements: is kept in one registry's policy, "
        "verbatim: give the statements per registry under destinationRegistries"
    ]


def test_python_settings_take_the_same_statements_and_copy_them() -> None:
    given = dict(PULL_THROUGH_CACHE)
    settings = DestinationSettings(additional_policy_statements=[given])
    given["Sid"] = "Changed"
    assert settings.additional_policy_statements[0]["Sid"] == "PullThroughCache"


def test_a_registry_with_only_kept_statements_still_gets_its_policy() -> None:
    raw = {
        "sources": [
            {
                "account": BUILD.account,
                "region": BUILD.region,
                "rules": [{"destinations": [{"account": DR.account, "region": DR.region}]}],
            }
        ],
        "destinationRegistries": [
            {
                "account": DR.account,
                "region": DR.region,
                "additionalPolicyStatements": [PULL_THROUGH_CACHE],
            }
        ],
    }
    (destination,) = parse_topology(raw).destination_registries()
    assert destination.needs_registry_policy and not destination.needs_role


# ---------------------------------------------------------------------------------------------
# Reproduced statements


GRANT = {
    "Sid": "ReplicateFrom555444333222UsEast1",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::555444333222:root"},
    "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
    "Resource": f"{ARN}/prod/*",
}


@pytest.mark.parametrize(
    ("live", "reproduced"),
    [
        (GRANT, True),
        ({**GRANT, "Sid": "Other", "Action": ["ECR:ReplicateImage", "ecr:CreateRepository"]}, True),
        ({**GRANT, "Action": "ecr:ReplicateImage", "Resource": f"{ARN}/prod/api*"}, True),
        ({**GRANT, "Principal": {"AWS": "555444333222"}}, True),
        ({**GRANT, "Resource": f"{ARN}/*"}, False),
        ({**GRANT, "Principal": {"AWS": "arn:aws:iam::666555444333:root"}}, False),
        ({**GRANT, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}}, False),
        ({**GRANT, "Effect": "Deny"}, False),
        ({**GRANT, "Action": "ecr:*"}, False),
        (PULL_THROUGH_CACHE, False),
    ],
    ids=[
        "same",
        "same-but-sid-order-case",
        "narrower",
        "bare-account",
        "wider",
        "other-account",
        "condition",
        "deny",
        "wildcard-action",
        "pull-through-cache",
    ],
)
def test_a_live_statement_survives_only_if_the_deployed_policy_reproduces_it(
    live: dict[str, Any], reproduced: bool
) -> None:
    assert statement_reproduced(live, [GRANT]) is reproduced
    assert (removed_statements([live], [GRANT]) == []) is reproduced


def test_a_grant_limited_by_a_deny_deployed_again_is_reproduced_by_the_grants() -> None:
    """Found by the round-trip property (explore profile): preflight said a deploy removes a
    narrow grant that the generated grant reproduces, because the kept Deny limits both."""
    deny = {**GRANT, "Sid": "NoCreate", "Effect": "Deny", "Action": "ecr:CreateRepository"}
    narrow = {**GRANT, "Action": "ecr:CreateRepository", "Resource": f"{ARN}/prod/api*"}
    assert statement_reproduced(narrow, [GRANT, deny])
    assert not statement_reproduced(deny, [GRANT])


def test_a_removed_statement_is_named_by_sid_principals_and_actions() -> None:
    assert describe_statement(PULL_THROUGH_CACHE) == (
        "PullThroughCache (Allow; principals: arn:aws:iam::123456789012:root; actions: "
        "ecr:BatchImportUpstreamImage, ecr:CreateRepository)"
    )


# ---------------------------------------------------------------------------------------------
# Stopped replication


def test_a_deploy_stops_live_rules_the_topology_lacks() -> None:
    source = SourceRegistry(
        account=BUILD.account,
        region=BUILD.region,
        rules=[ReplicationRule(destinations=[PROD], repository_prefixes=["prod/"])],
    )
    live = live_rules(
        {
            "rules": [
                {
                    "destinations": [
                        {"region": PROD.region, "registryId": PROD.account},
                        {"region": DR.region, "registryId": DR.account},
                    ],
                    "repositoryFilters": [
                        {"filter": "prod/api", "filterType": "PREFIX_MATCH"},
                        {"filter": "dev/", "filterType": "PREFIX_MATCH"},
                    ],
                },
                {"destinations": [{"region": PROD.region, "registryId": PROD.account}]},
            ]
        }
    )
    assert stopped_replications(live, source) == [
        "a deploy stops replication of dev/ to 123456789012/eu-west-1",
        "a deploy stops replication of prod/api, dev/ to 555444333222/us-west-2",
        "a deploy stops replication of every repository to 123456789012/eu-west-1",
    ]


# ---------------------------------------------------------------------------------------------
# Templates


def test_a_live_template_becomes_repository_template_settings() -> None:
    lifecycle = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 500,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    pull = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ],
            }
        ],
    }
    settings, notes = template_json(
        {
            "prefix": "prod",
            "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
            "encryptionConfiguration": {
                "encryptionType": "KMS",
                "kmsKey": "arn:aws:kms:eu-west-1:123456789012:key/abc",
            },
            "lifecyclePolicy": json.dumps(lifecycle),
            "repositoryPolicy": json.dumps(pull),
            "resourceTags": [{"Key": "team", "Value": "platform"}],
            "description": "made by hand",
            "appliedFor": ["REPLICATION"],
        }
    )
    assert notes == []
    assert settings == {
        "appliedFor": ["REPLICATION"],
        "tagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "tagMutabilityExclusionFilters": ["latest"],
        "encryption": "KMS",
        "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/abc",
        "lifecyclePolicy": lifecycle,
        "pullAccounts": ["111122223333"],
        "resourceTags": {"team": "platform"},
        "description": "made by hand",
    }


def test_a_template_with_a_push_policy_cannot_be_carried() -> None:
    push = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "ecr:PutImage",
            }
        ]
    }
    _settings, notes = template_json(
        {
            "prefix": "prod",
            "repositoryPolicy": json.dumps(push),
            "appliedFor": ["REPLICATION", "PULL_THROUGH_CACHE"],
        }
    )
    assert notes == [
        "its repository policy statement (no Sid) (Allow; principals: "
        "arn:aws:iam::111122223333:root; actions: ecr:PutImage) is not pull-only access",
    ]


def test_a_template_applied_on_push_and_for_pull_through_cache_is_carried() -> None:
    settings, notes = template_json(
        {"prefix": "prod", "appliedFor": ["PULL_THROUGH_CACHE", "CREATE_ON_PUSH", "REPLICATION"]}
    )
    assert notes == []
    assert settings["appliedFor"] == ["REPLICATION", "CREATE_ON_PUSH", "PULL_THROUGH_CACHE"]


def test_a_template_not_applied_for_replication_cannot_be_carried() -> None:
    _settings, notes = template_json({"prefix": "prod", "appliedFor": ["CREATE_ON_PUSH"]})
    assert notes == [
        "it is applied for CREATE_ON_PUSH, not for REPLICATION, which the topology's templates "
        "always are"
    ]


def test_a_template_without_a_description_keeps_none() -> None:
    """Not the topology's default description, which a deploy would add."""
    settings, _notes = template_json({"prefix": "prod", "appliedFor": ["REPLICATION"]})
    assert settings["description"] == ""


# ---------------------------------------------------------------------------------------------
# Release: the generated statements out, everything else kept


GENERATED = {
    "Sid": "ReplicateFrom555444333222UsEast1",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::555444333222:root"},
    "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
    "Resource": f"{ARN}/prod/*",
}


def test_release_removes_what_the_topology_generates_and_keeps_the_rest_in_order() -> None:
    [destination] = parse_topology(topology()).destination_registries()
    [generated] = generated_statements(destination)
    assert generated == GENERATED  # written by hand: the oracle is not the code under test
    added_live = {**PULL_THROUGH_CACHE, "Sid": "AddedLive"}

    plan = release_statements([PULL_THROUGH_CACHE, GENERATED, added_live], [generated])

    assert plan.removed == (GENERATED,)
    assert plan.kept == (PULL_THROUGH_CACHE, added_live)
    assert plan.changed == ()


def test_release_matches_by_sid_and_content_never_by_one_alone() -> None:
    edited = {**GENERATED, "Resource": f"{ARN}/prod/*", "Condition": {"Bool": {"x": "true"}}}
    same_grant_other_sid = {**GENERATED, "Sid": "TeamBGrant"}
    reordered = {**GENERATED, "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"]}

    assert release_statements([edited], [GENERATED]).changed == (GENERATED["Sid"],)
    assert release_statements([edited], [GENERATED]).removed == ()
    assert release_statements([same_grant_other_sid], [GENERATED]).removed == ()
    assert release_statements([reordered], [GENERATED]).removed == (reordered,)


# ---------------------------------------------------------------------------------------------
# Alerts read back from a destination stack's resources


def resources(*types: str, role: str = "ecr-replication-destination-eu-west-1") -> list[Any]:
    physical = {"AWS::IAM::Role": role}
    return [
        {"ResourceType": t, "PhysicalResourceId": physical.get(t, f"id-{i}")}
        for i, t in enumerate(types)
    ]


LOCAL = ("AWS::Events::Rule", "AWS::SNS::Topic", "AWS::KMS::Key", "AWS::CloudWatch::Alarm")


def test_a_stack_without_an_alert_rule_has_no_alerts() -> None:
    listed = resources("AWS::ECR::RegistryPolicy", "AWS::IAM::Role")
    assert stack_alerts(PROD, listed, "ecr-replication-destination-eu-west-1") is None


def test_local_alerts_without_subscriptions_read_back_whole() -> None:
    alerts = stack_alerts(
        PROD, resources(*LOCAL, "AWS::IAM::Role"), "ecr-replication-destination-eu-west-1"
    )
    assert alerts is not None and not alerts.central and alerts.topic_created

    assert monitoring_json([alerts]) == ({}, [])


def test_e_mail_subscriptions_are_named_as_not_read_with_what_a_deploy_removes() -> None:
    listed = resources(*LOCAL, "AWS::SNS::Subscription", "AWS::SNS::Subscription")
    alerts = stack_alerts(PROD, listed, "ecr-replication-destination-eu-west-1")
    assert alerts is not None

    monitoring, [note] = monitoring_json([alerts])

    assert monitoring == {}
    assert "2 e-mail subscription(s) are not" in note
    assert "deploying this file as it is would remove them" in note


@pytest.mark.parametrize(
    ("listed", "kind"),
    [
        (
            resources("AWS::Events::Rule", "AWS::IAM::Role", role="forwarder")
            + resources("AWS::IAM::Role"),
            "forwarding to a central account",
        ),
        (
            resources("AWS::Events::Rule", "AWS::CloudWatch::Alarm"),
            "alerting a topic the stack did not create",
        ),
    ],
)
def test_central_or_given_topic_alerts_are_not_written_and_named(
    listed: list[Any], kind: str
) -> None:
    alerts = stack_alerts(PROD, listed, "ecr-replication-destination-eu-west-1")
    assert alerts is not None

    monitoring, [note] = monitoring_json([alerts])

    assert monitoring is None
    assert note.startswith("monitoring: not read")
    assert kind in note
    assert "deploying this file as it is would remove those alerts" in note
