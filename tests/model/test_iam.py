"""The one IAM evaluator: each way a statement can allow, condition or deny, pinned.

``preflight`` (a deployed registry policy) and ``review`` (a synthesized one) both read
policies through it; ``tests/review`` and ``tests/ops`` check that each reads these cases the
same way.
"""

from __future__ import annotations

from typing import Any

import pytest

from ecr_replication.model.iam import (
    Caller,
    Decision,
    action_matches,
    arn_format_pattern,
    arn_patterns_intersect,
    evaluate,
    patterns_intersect,
    resource_covers,
    resource_overlaps,
)

ARN = "arn:aws:ecr:eu-west-1:111111111111:repository"
SOURCE = Caller(account="555444333222", partition="aws")
ROOT = "arn:aws:iam::555444333222:root"


def allow(**fields: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"AWS": ROOT},
        "Action": "ecr:ReplicateImage",
        "Resource": f"{ARN}/prod/*",
        **fields,
    }


def decide(*statements: dict[str, Any], resource: str = f"{ARN}/prod/*") -> Decision:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return evaluate(
        document, caller=SOURCE, action="ecr:ReplicateImage", resource=resource
    ).decision


@pytest.mark.parametrize(
    ("policy_pattern", "wanted", "covers"),
    [
        ("*", f"{ARN}/prod/*", True),
        (f"{ARN}/*", f"{ARN}/prod/*", True),
        (f"{ARN}/prod*", f"{ARN}/prod/*", True),
        (f"{ARN}/prod/*", f"{ARN}/prod/*", True),
        ("arn:aws:ecr:*:111111111111:repository/*", f"{ARN}/prod/*", True),
        (f"{ARN}/prod/api*", f"{ARN}/prod/*", False),
        (f"{ARN}/prod/api", f"{ARN}/prod/*", False),
        ("arn:aws:ecr:eu-west-1:222222222222:repository/*", f"{ARN}/prod/*", False),
        (f"{ARN}/prod/?pi", f"{ARN}/prod/api", True),
        (f"{ARN}/Prod/*", f"{ARN}/prod/*", False),
    ],
)
def test_resource_patterns_cover_only_what_they_fully_include(
    policy_pattern: str, wanted: str, covers: bool
) -> None:
    assert resource_covers(policy_pattern, wanted) is covers


@pytest.mark.parametrize(
    ("policy_pattern", "wanted", "overlaps"),
    [
        (f"{ARN}/prod/api*", f"{ARN}/prod/*", True),
        (f"{ARN}/prod/api", f"{ARN}/prod/*", True),
        (f"{ARN}/p?od/*", f"{ARN}/prod/*", True),
        (f"{ARN}/*/secret", f"{ARN}/prod/*", True),
        (f"{ARN}/staging/*", f"{ARN}/prod/*", False),
        (f"{ARN}/pr", f"{ARN}/prod/*", False),
        (f"{ARN}/prod/api", f"{ARN}/prod/api", True),
    ],
)
def test_resource_patterns_overlap_when_some_repository_of_the_set_matches(
    policy_pattern: str, wanted: str, overlaps: bool
) -> None:
    assert resource_overlaps(policy_pattern, wanted) is overlaps


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("ecr:ReplicateImage", True),
        ("ecr:Replicate*", True),
        ("ECR:replicate*", True),
        ("ecr:*", True),
        ("*", True),
        ("ecr:Replicate?mage", True),
        ("ecr:CreateRepository", False),
        ("ecr-public:*", False),
    ],
)
def test_actions_match_with_wildcards_case_insensitively(pattern: str, matches: bool) -> None:
    assert action_matches(pattern, "ecr:ReplicateImage") is matches


@pytest.mark.parametrize(
    ("statements", "decision"),
    [
        ([allow()], Decision.ALLOWED),
        ([allow(Action="ecr:Replicate*")], Decision.ALLOWED),
        ([allow(Action="ecr:*")], Decision.ALLOWED),
        ([allow(Action=["ecr:CreateRepository"])], Decision.NOT_ALLOWED),
        ([{**allow(), "NotAction": "ecr:DeleteRepository", "Action": None}], Decision.ALLOWED),
        ([_ for _ in [allow()] if False], Decision.NOT_ALLOWED),
        ([allow(Resource=f"{ARN}/prod/api*")], Decision.NOT_ALLOWED),
        (
            [allow(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})],
            Decision.CONDITIONAL,
        ),
        ([allow(), {**allow(), "Effect": "Deny"}], Decision.DENIED),
        (
            [allow(), {**allow(), "Effect": "Deny", "Resource": f"{ARN}/prod/secret"}],
            Decision.DENIED,
        ),
        (
            [allow(), {**allow(), "Effect": "Deny", "Resource": f"{ARN}/staging/*"}],
            Decision.ALLOWED,
        ),
        (
            [
                allow(),
                {
                    **allow(),
                    "Effect": "Deny",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
            Decision.CONDITIONAL,
        ),
        ([allow(Principal={"AWS": "arn:aws:iam::999999999999:root"})], Decision.NOT_ALLOWED),
        ([allow(Principal={"AWS": "555444333222"})], Decision.ALLOWED),
        ([allow(Principal="*")], Decision.ALLOWED),
        (
            [allow(Principal={"AWS": "arn:aws:iam::555444333222:role/ci"})],
            Decision.NOT_ALLOWED,
        ),
        (
            [{**allow(), "NotPrincipal": {"AWS": "arn:aws:iam::999999999999:root"}}],
            Decision.ALLOWED,
        ),
        (
            [{**allow(Resource=None), "NotResource": f"{ARN}/staging/*"}],
            Decision.ALLOWED,
        ),
        (
            [{**allow(Resource=None), "NotResource": f"{ARN}/prod/secret*"}],
            Decision.NOT_ALLOWED,
        ),
    ],
    ids=[
        "exact",
        "action-wildcard",
        "service-wildcard",
        "other-action",
        "not-action",
        "no-statement",
        "narrower-resource",
        "condition",
        "deny-all",
        "deny-part",
        "deny-elsewhere",
        "conditional-deny",
        "other-account",
        "bare-account-id",
        "anyone",
        "one-role-only",
        "not-principal",
        "not-resource-elsewhere",
        "not-resource-inside",
    ],
)
def test_each_statement_form_is_read_as_iam_reads_it(
    statements: list[dict[str, Any]], decision: Decision
) -> None:
    cleaned = [{k: v for k, v in s.items() if v is not None} for s in statements]
    assert decide(*cleaned) is decision


def test_the_evaluation_names_the_statements_that_decided() -> None:
    document = {
        "Statement": [
            {**allow(), "Sid": "Grant"},
            {**allow(), "Sid": "Guard", "Effect": "Deny"},
        ]
    }
    evaluation = evaluate(
        document, caller=SOURCE, action="ecr:ReplicateImage", resource=f"{ARN}/prod/*"
    )
    assert evaluation.decision is Decision.DENIED
    assert evaluation.statements == ("Guard",)
    assert evaluation.reason() == "denied by statement Guard"


def test_an_identity_policy_is_evaluated_without_a_principal() -> None:
    statements = [{"Effect": "Allow", "Action": "ecr:DescribeImages", "Resource": f"{ARN}/prod/*"}]
    allowed = evaluate(
        statements, caller=None, action="ecr:DescribeImages", resource=f"{ARN}/prod/api"
    )
    refused = evaluate(statements, caller=None, action="ecr:PutImage", resource=f"{ARN}/prod/api")
    assert allowed.allowed and not refused.allowed


def test_malformed_statements_are_skipped_not_fatal() -> None:
    document = {"Statement": ["not a statement", {"Effect": "Allow", "Action": 7}, allow()]}
    assert (
        evaluate(
            document, caller=SOURCE, action="ecr:ReplicateImage", resource=f"{ARN}/prod/*"
        ).decision
        is Decision.ALLOWED
    )


@pytest.mark.parametrize(
    ("first", "second", "meet"),
    [
        (
            "arn:aws:logs:eu-west-1:1:log-group:app:*",
            "arn:*:logs:*:*:log-group:*:log-stream:*",
            True,
        ),
        (f"{ARN}/prod/*", "arn:*:ecr:*:*:repository/*", True),
        (f"{ARN}/prod/*", "arn:*:logs:*:*:log-group:*", True),
        ("arn:aws:account::111111111111:account", "arn:*:account::*:account", True),
        ("arn:aws:account::111111111111:account", "arn:*:account::*:account/o-*/*", False),
        ("a?c", "ab*", True),
        ("abc", "abd", False),
        ("*", "anything", True),
    ],
)
def test_two_patterns_meet_when_some_string_matches_both(
    first: str, second: str, meet: bool
) -> None:
    assert patterns_intersect(first, second) is meet
    assert patterns_intersect(second, first) is meet


@pytest.mark.parametrize(
    ("first", "second", "meet"),
    [
        (f"{ARN}/prod/*", "arn:*:logs:*:*:log-group:*", False),
        (f"{ARN}/prod/*", "arn:*:ecr:*:*:repository/*", True),
        (
            "arn:aws:logs:eu-west-1:1:log-group:app:*",
            "arn:*:logs:*:*:log-group:*:log-stream:*",
            True,
        ),
        ("arn:aws:kms:eu-west-1:1:key/*", "arn:*:kms:*:*:alias/*", False),
        ("*", "arn:*:kms:*:*:key/*", True),
    ],
)
def test_arn_patterns_meet_field_by_field(first: str, second: str, meet: bool) -> None:
    # A plain pattern's trailing * would reach into another service's ARN; fields do not.
    assert arn_patterns_intersect(first, second) is meet


def test_an_arn_format_becomes_a_pattern() -> None:
    assert (
        arn_format_pattern("arn:${Partition}:ecr:${Region}:${Account}:repository/${RepositoryName}")
        == "arn:*:ecr:*:*:repository/*"
    )


# ---------------------------------------------------------------------------------------------
# Conditions, given the keys a request carries

EVENTS = Caller(account="123456789012", service="events.amazonaws.com")
KEY_ACTION = "kms:GenerateDataKey"


def decide_for(
    caller: Caller, statement: dict[str, Any], context: dict[str, Any] | None
) -> Decision:
    return evaluate(
        [statement], caller=caller, action=KEY_ACTION, resource="*", context=context
    ).decision


def service_allow(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "kms:GenerateDataKey*",
        "Resource": "*",
        "Condition": condition,
    }


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        # A key the request does not carry: only IfExists, negated operators and Null hold.
        ({"StringEquals": {"aws:SourceAccount": "123456789012"}}, {}, Decision.NOT_ALLOWED),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, Decision.ALLOWED),
        ({"StringNotEquals": {"aws:SourceAccount": "1"}}, {}, Decision.ALLOWED),
        ({"Null": {"aws:SourceArn": "true"}}, {}, Decision.ALLOWED),
        ({"Null": {"aws:SourceArn": "false"}}, {}, Decision.NOT_ALLOWED),
        # Keys compare case-insensitively, values as the operator says.
        (
            {"StringEquals": {"AWS:SourceAccount": "1"}},
            {"aws:sourceaccount": "1"},
            Decision.ALLOWED,
        ),
        (
            {"StringEquals": {"aws:SourceAccount": ["2", "1"]}},
            {"aws:SourceAccount": "1"},
            Decision.ALLOWED,
        ),
        (
            {"StringEquals": {"aws:SourceAccount": "2"}},
            {"aws:SourceAccount": "1"},
            Decision.NOT_ALLOWED,
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:*"}},
            {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:failures"},
            Decision.ALLOWED,
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:1:alarm:*"}},
            {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:2:alarm:failures"},
            Decision.NOT_ALLOWED,
        ),
        (
            {"Bool": {"aws:SecureTransport": "true"}},
            {"aws:SecureTransport": True},
            Decision.ALLOWED,
        ),
        # Every operator and every key must hold.
        (
            {"StringEquals": {"aws:SourceAccount": "1"}, "Bool": {"aws:SecureTransport": "true"}},
            {"aws:SourceAccount": "1", "aws:SecureTransport": "false"},
            Decision.NOT_ALLOWED,
        ),
        # Set qualifiers over a multi-valued key.
        (
            {"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/a"}},
            {"kms:ResourceAliases": ["alias/b", "alias/a"]},
            Decision.ALLOWED,
        ),
        (
            {"ForAllValues:StringEquals": {"kms:ResourceAliases": "alias/a"}},
            {"kms:ResourceAliases": ["alias/b", "alias/a"]},
            Decision.NOT_ALLOWED,
        ),
        # An operator the evaluator does not read leaves the answer conditional.
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {}, Decision.CONDITIONAL),
    ],
)
def test_a_condition_is_evaluated_against_the_request_context(
    condition: dict[str, Any], context: dict[str, Any], expected: Decision
) -> None:
    assert decide_for(EVENTS, service_allow(condition), context) is expected


def test_without_a_context_a_condition_stays_conditional() -> None:
    statement = service_allow({"StringEquals": {"aws:SourceAccount": "123456789012"}})
    assert decide_for(EVENTS, statement, None) is Decision.CONDITIONAL


def test_a_service_caller_matches_its_service_principal_and_everyone_only() -> None:
    anyone = {**service_allow({}), "Principal": "*"}
    del anyone["Condition"]
    account = {**anyone, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    other_service = {**anyone, "Principal": {"Service": "cloudwatch.amazonaws.com"}}
    assert decide_for(EVENTS, anyone, {}) is Decision.ALLOWED
    assert decide_for(EVENTS, account, {}) is Decision.NOT_ALLOWED
    assert decide_for(EVENTS, other_service, {}) is Decision.NOT_ALLOWED


def test_a_deny_whose_condition_holds_wins_and_one_whose_condition_fails_does_not() -> None:
    grants_for_aws_resources_only = {
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
    }
    admin = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    caller = Caller(account="123456789012")

    def create_grant(context: dict[str, Any]) -> Decision:
        return evaluate(
            [admin, grants_for_aws_resources_only],
            caller=caller,
            action="kms:CreateGrant",
            resource="*",
            context=context,
        ).decision

    assert create_grant({"kms:GrantIsForAWSResource": False}) is Decision.DENIED
    assert create_grant({}) is Decision.DENIED
    assert create_grant({"kms:GrantIsForAWSResource": True}) is Decision.ALLOWED


def test_a_trust_policy_statement_without_resource_is_about_the_role_it_is_attached_to() -> None:
    trust = {
        "Effect": "Allow",
        "Principal": {"Service": "ecr.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    role = "arn:aws:iam::123456789012:role/ecr-replication-template-eu-west-1"
    ecr = Caller(account="123456789012", service="ecr.amazonaws.com")
    assert evaluate([trust], caller=ecr, action="sts:AssumeRole", resource=role).allowed
    deny = {**trust, "Effect": "Deny"}
    assert (
        evaluate([trust, deny], caller=ecr, action="sts:AssumeRole", resource=role).decision
        is Decision.DENIED
    )


def test_an_identity_statement_without_resource_allows_nothing() -> None:
    # IAM refuses such a statement in an identity policy; it must not read as "everything".
    statement = {"Effect": "Allow", "Action": "ecr:DescribeImages"}
    decision = evaluate(
        [statement], caller=None, action="ecr:DescribeImages", resource=f"{ARN}/prod/api"
    ).decision
    assert decision is Decision.NOT_ALLOWED


# ---------------------------------------------------------------------------------------------
# Rules of the IAM user guide the simulator of tests/model/test_iam_against_simulator.py reads
# otherwise, pinned here by hand


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        # "IAM JSON policy elements: Resource": a * that ends a segment may reach over colons...
        ("arn:aws:ecr:*:repository/prod/api", True),
        ("arn:aws:ecr:eu-*:repository/prod/*", True),
        # ...one inside a segment may not, nor may a ?.
        ("arn:aws:ecr:e*1:repository/prod/api", False),
        ("arn:aws:ecr:eu-west-1?111111111111:repository/prod/api", False),
        ("arn:aws:ecr:eu-west-1:111111111111:repository/*api", True),
    ],
)
def test_a_resource_wildcard_reaches_over_colons_only_when_it_ends_a_segment(
    pattern: str, matches: bool
) -> None:
    assert resource_covers(pattern, f"{ARN}/prod/api") is matches


@pytest.mark.parametrize(
    ("value", "context", "decision"),
    [
        # "IAM policy elements: Variables and tags": special characters, defaults.
        ("${*}", {"aws:SourceAccount": "*"}, Decision.ALLOWED),
        ("${*}", {"aws:SourceAccount": "555444333222"}, Decision.NOT_ALLOWED),
        (
            "${aws:PrincipalTag/team, '555444333222'}",
            {"aws:SourceAccount": "555444333222"},
            Decision.ALLOWED,
        ),
        # A multivalued key cannot stand for a variable: undecided.
        ("${aws:TagKeys}", {"aws:SourceAccount": "a", "aws:TagKeys": ["a"]}, Decision.CONDITIONAL),
    ],
)
def test_policy_variables_are_read_as_the_guide_says(
    value: str, context: dict[str, Any], decision: Decision
) -> None:
    statement = allow(Resource="*", Condition={"StringEquals": {"aws:SourceAccount": value}})
    assert (
        evaluate(
            [statement],
            caller=SOURCE,
            action="ecr:ReplicateImage",
            resource=f"{ARN}/a",
            context=context,
        ).decision
        is decision
    )


def test_a_variable_in_a_resource_without_a_context_is_undecided() -> None:
    statement = allow(Resource=f"{ARN}/${{aws:PrincipalTag/team}}/*")
    assert decide(statement, resource=f"{ARN}/prod/api") is Decision.CONDITIONAL
    # What no value of the variable could match stays decided.
    other = allow(Resource="arn:aws:ecr:eu-west-1:999999999999:repository/${aws:PrincipalTag/team}")
    assert decide(other, resource=f"{ARN}/prod/api") is Decision.NOT_ALLOWED


def test_a_deny_the_evaluator_cannot_decide_keeps_an_allow_from_counting() -> None:
    deny = {
        **allow(),
        "Effect": "Deny",
        "Condition": {"StringEquals": {"aws:SourceAccount": "${aws:PrincipalTag/team}"}},
    }
    evaluation = evaluate(
        [allow(), deny], caller=SOURCE, action="ecr:ReplicateImage", resource=f"{ARN}/prod/*",
        context={"aws:SourceAccount": "555444333222"},
    )  # fmt: skip
    assert evaluation.decision is Decision.CONDITIONAL
