"""The IAM evaluator judged by an independent IAM simulator, on generated policies and requests.

``model/iam.py`` is the one reading of IAM behind review, preflight, import and the contract
tests; comparing it with itself could not catch a wrong reading. Here Hypothesis generates
policies (every operator the evaluator reads, ``ForAnyValue`` / ``ForAllValues``, ``IfExists``,
``Null``, policy variables, ``NotAction`` / ``NotResource`` / ``NotPrincipal``, service
principals, a single statement as a dict) and requests (context keys present, absent,
multivalued), and every answer of the evaluator must be the simulator's
(``tests/iam_oracle.py``: ALLOWED = Allowed, DENIED = ExplicitlyDenied, NOT_ALLOWED =
ImplicitlyDenied). The evaluator may answer CONDITIONAL only where its docstring says it cannot
decide (:func:`undecidable`, restated here from that list, not computed by the evaluator).

Like for like (see ``tests/iam_oracle.py``): literal resource ARNs; callers in another account,
whose own policies allow everything, or service principals; always a context. Left out because
the simulator departs from the IAM user guide there (each is a documented rule the evaluator
follows, pinned by hand-written cases in ``tests/model/test_iam.py``):

* resource patterns of fewer than six ARN segments with a ``*`` that ends a segment, and any
  under ``NotResource``: the simulator pads them with ``*`` segments and reads a mismatch
  under ``NotResource`` as excluding nothing; the guide ("IAM JSON policy elements:
  Resource") lets a ``*`` that ends a segment reach over colons;
* wildcards in a resource pattern's resource type (before its first ``/``), which the
  simulator compares as text;
* policy variables in ``Arn*`` condition values: the simulator splits an ARN pattern at the
  colons inside ``${aws:...}``;
* a multivalued key given as one string, or a single-valued key as a list: the simulator reads
  each key by its documented type, the evaluator by the shape of the value (a list is
  multivalued), so the context gives each key in its documented shape.

Examples are derandomized in CI (``tests/conftest.py``, ten times the profile's examples).
The table at the end keeps the disagreements Hypothesis found and shrank, each with the IAM
user guide page that decides it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ecr_replication.model import iam
from tests.iam_oracle import DECISIONS, EXPLICITLY_DENIED, IamSimulator, simulation

RESOURCE_ACCOUNT = "111111111111"
SOURCE = "555444333222"
OTHER = "999988887777"
ROLE = f"arn:aws:iam::{SOURCE}:role/replicator"
OTHER_ROLE = f"arn:aws:iam::{OTHER}:role/intruder"
REGION = "eu-west-1"


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


# ---------------------------------------------------------------------------------------------
# What is asked: per kind of policy, the callers, actions and resources of the requests


REPOSITORIES = tuple(
    f"arn:aws:ecr:{REGION}:{RESOURCE_ACCOUNT}:repository/{name}"
    for name in ("prod/api", "prod/web", "staging/api")
)
ECR_ACTIONS = ("ecr:ReplicateImage", "ecr:CreateRepository", "ecr:BatchImportUpstreamImage")
KEY = f"arn:aws:kms:{REGION}:{RESOURCE_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt", "kms:CreateGrant")
TEMPLATE_ROLE = f"arn:aws:iam::{RESOURCE_ACCOUNT}:role/ecr-replication-template-{REGION}"

CROSS_ACCOUNT = (iam.Caller(account=SOURCE), iam.Caller(account=SOURCE, arn=ROLE))
EVENTS = iam.Caller(account=RESOURCE_ACCOUNT, service="events.amazonaws.com")
ECR = iam.Caller(account=RESOURCE_ACCOUNT, service="ecr.amazonaws.com")

KINDS: dict[str, dict[str, Any]] = {
    "registry policy": {
        "callers": (*CROSS_ACCOUNT, ECR),
        "actions": ECR_ACTIONS,
        "resources": REPOSITORIES,
        "principal": True,
        "resource": "repository",
    },
    "identity policy": {
        "callers": (None,),
        "actions": ECR_ACTIONS,
        "resources": REPOSITORIES,
        "principal": False,
        "resource": "repository",
    },
    "key policy": {
        "callers": (*CROSS_ACCOUNT, EVENTS),
        "actions": KEY_ACTIONS,
        "resources": (KEY,),
        "principal": True,
        "resource": "key",
    },
    "trust policy": {
        "callers": (*CROSS_ACCOUNT, ECR),
        "actions": ("sts:AssumeRole",),
        "resources": (TEMPLATE_ROLE,),
        "principal": True,
        "resource": None,
    },
}

# ---------------------------------------------------------------------------------------------
# Policies

PRINCIPALS = (
    "*",
    {"AWS": "*"},
    {"AWS": root(SOURCE)},
    {"AWS": SOURCE},
    {"AWS": ROLE},
    {"AWS": root(OTHER)},
    {"AWS": OTHER_ROLE},
    {"AWS": [root(OTHER), ROLE]},
    {"Service": "events.amazonaws.com"},
    {"Service": "ecr.amazonaws.com"},
    {"Service": ["cloudwatch.amazonaws.com", "ecr.amazonaws.com"]},
    {"AWS": root(OTHER), "Service": "events.amazonaws.com"},
)
NOT_PRINCIPALS = tuple(p for p in PRINCIPALS if p != "*")
ACTION_PATTERNS = {
    "repository": (
        "ecr:ReplicateImage",
        "ecr:CreateRepository",
        "ecr:*",
        "ecr:Replicate*",
        "*",
        "ECR:replicateimage",
        "ecr:Re?licateImage",
        "ecr:*Image",
        "ecr:BatchImportUpstreamImage",
        "s3:GetObject",
    ),
    "key": ("kms:GenerateDataKey*", "kms:Decrypt", "kms:*", "kms:CreateGrant", "*", "s3:*"),
    None: ("sts:AssumeRole", "sts:*", "*", "sts:TagSession"),
}
REGIONS = (REGION, "*", "eu-*", "eu-west-?", "us-east-1")
ACCOUNTS = (RESOURCE_ACCOUNT, "*", "1111*", OTHER)
REPOSITORY_NAMES = (
    "*",
    "prod/*",
    "prod/api",
    "prod/a?i",
    "prod*",
    "*api",
    "Prod/*",
    "staging/*",
    "prod/${aws:PrincipalTag/team}",
    "${aws:PrincipalTag/team}/*",
    "prod/${aws:PrincipalTag/team, 'api'}",
)
KEY_NAMES = ("*", "1234abcd-*", "other-key")

VARIABLE = re.compile(r"\$\{([^}]*)\}")


def resource_patterns(kind: str | None, *, short: bool) -> st.SearchStrategy[str]:
    """Six-segment ARN patterns (or ``*``) with wildcards within segments, variables in the
    resource id; with ``short``, five-segment ones too."""
    service, type_, names = (
        ("ecr", "repository/", REPOSITORY_NAMES)
        if kind == "repository"
        else ("kms", "key/", KEY_NAMES)
    )
    return st.one_of(
        st.just("*"),
        st.builds(
            lambda region, account, name: f"arn:aws:{service}:{region}:{account}:{type_}{name}",
            st.sampled_from(REGIONS),
            st.sampled_from(ACCOUNTS),
            st.sampled_from(names),
        ),
        # Five segments, a wildcard inside the region's: it stays there, so nothing matches
        # (the simulator and the guide agree; a * that ends a segment would reach further).
        st.sampled_from(names).map(lambda name: f"arn:aws:{service}:e*1:{type_}{name}")
        if short
        else st.nothing(),
    )


# Condition keys in their documented shapes (IAM user guide, "AWS global condition context
# keys"): what a request may carry, and what a policy may compare them with.
STRING_KEYS = {
    "aws:PrincipalOrgID": (("o-abc123", "o-other", "O-ABC123"), ("o-abc123", "o-other", "O-ABC123", "o-*", "o-abc???", "${aws:PrincipalTag/team}")),
    "aws:PrincipalTag/team": (("prod", "api", "Prod"), ("prod", "Prod", "p*", "staging", "${aws:PrincipalTag/team}")),
    "aws:SourceAccount": ((SOURCE, RESOURCE_ACCOUNT), (SOURCE, RESOURCE_ACCOUNT, "5554*", "${aws:PrincipalAccount}", "${aws:PrincipalTag/team, '555444333222'}")),
    "aws:PrincipalAccount": ((SOURCE, OTHER), (SOURCE, OTHER, "${aws:SourceAccount}")),
}  # fmt: skip
ARN_KEYS = {
    "aws:SourceArn": (
        (
            f"arn:aws:events:{REGION}:{SOURCE}:rule/alerts",
            f"arn:aws:events:{REGION}:{SOURCE}:rule/other",
            f"arn:aws:cloudwatch:{REGION}:{SOURCE}:alarm:failures",
            f"arn:aws:cloudwatch:{REGION}:{OTHER}:alarm:failures",
        ),
        (
            f"arn:aws:events:{REGION}:{SOURCE}:rule/alerts",
            f"arn:aws:events:*:{SOURCE}:rule/*",
            f"arn:aws:events:{REGION}:*:rule/al*",
            f"arn:aws:*:{REGION}:{SOURCE}:*",
            f"arn:aws:cloudwatch:{REGION}:{SOURCE}:alarm:*",
            f"arn:aws:events:{REGION}:{SOURCE}:*",
            "arn:aws:events:eu*:rule/alerts",
            f"arn:aws:events:{REGION}:{SOURCE}:rule/Alerts",
        ),
    ),
    "aws:PrincipalArn": ((ROLE, OTHER_ROLE), (ROLE, f"arn:aws:iam::{SOURCE}:role/*", "arn:aws:iam::*:role/intr*")),
}  # fmt: skip
ALARM_ARNS = (
    "arn:aws:*:*:alarm:*",
    f"arn:aws:*:{SOURCE}:alarm:*",
    f"arn:aws:cloudwatch:*:{SOURCE}:alarm:*",
    f"arn:aws:cloudwatch:{REGION}:*:alarm:fail*",
)
BOOL_KEYS = {
    "aws:SecureTransport": ("true", "false", "True"),
    "aws:PrincipalIsAWSService": ("true", "false"),
}
MULTIVALUED_KEYS = {"aws:TagKeys": (("team", "cost", "Team"), ("team", "cost", "Team", "t*", "${aws:PrincipalTag/team}"))}  # fmt: skip

STRING_OPERATORS = ("StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
                    "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike")  # fmt: skip
ARN_OPERATORS = ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike")


@st.composite
def condition_entries(draw: st.DrawFn) -> tuple[str, str, Any]:
    """One operator on one key: ``(operator, key, value or values)``."""
    kind = draw(st.sampled_from(("string", "arn", "alarm", "bool", "multivalued", "null")))
    qualifier = ""
    if kind == "string":
        key = draw(st.sampled_from(sorted(STRING_KEYS)))
        operator = draw(st.sampled_from(STRING_OPERATORS))
        pool = STRING_KEYS[key][1]
        qualifier = draw(st.sampled_from(("", "", "", "ForAnyValue:", "ForAllValues:")))
    elif kind == "arn":
        key = draw(st.sampled_from(sorted(ARN_KEYS)))
        operator = draw(st.sampled_from((*ARN_OPERATORS, "StringLike", "StringEquals")))
        pool = ARN_KEYS[key][1]
    elif kind == "alarm":
        # An alarm's ARN has a colon in its resource part: read as one pattern, a * before it
        # would reach over the parts.
        key, operator, pool = "aws:SourceArn", draw(st.sampled_from(ARN_OPERATORS)), ALARM_ARNS
    elif kind == "bool":
        key = draw(st.sampled_from(sorted(BOOL_KEYS)))
        operator, pool = "Bool", BOOL_KEYS[key]
    elif kind == "multivalued":
        key = draw(st.sampled_from(sorted(MULTIVALUED_KEYS)))
        operator = draw(st.sampled_from(STRING_OPERATORS))
        pool = MULTIVALUED_KEYS[key][1]
        qualifier = draw(st.sampled_from(("ForAnyValue:", "ForAllValues:", "")))
    else:
        key = draw(
            st.sampled_from(sorted({*STRING_KEYS, *ARN_KEYS, *BOOL_KEYS, *MULTIVALUED_KEYS}))
        )
        return "Null", key, draw(st.sampled_from(("true", "false")))
    if_exists = "IfExists" if not qualifier and draw(st.booleans()) else ""
    values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    if operator.startswith("Arn"):  # no variables in ARN patterns (see the module docstring)
        values = [v for v in values if "${" not in v] or [pool[0]]
    return f"{qualifier}{operator}{if_exists}", key, values[0] if len(values) == 1 else values


def conditions() -> st.SearchStrategy[dict[str, dict[str, Any]]]:
    def combine(entries: list[tuple[str, str, Any]]) -> dict[str, dict[str, Any]]:
        condition: dict[str, dict[str, Any]] = {}
        for operator, key, value in entries:
            condition.setdefault(operator, {})[key] = value
        return condition

    return st.lists(condition_entries(), min_size=1, max_size=3).map(combine)


@st.composite
def statements(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    setup = KINDS[kind]
    statement: dict[str, Any] = {"Effect": draw(st.sampled_from(("Allow", "Allow", "Deny")))}
    if draw(st.booleans()):
        statement["Sid"] = draw(st.sampled_from(("Grant", "Guard", "Kept1")))
    if setup["principal"]:
        if draw(st.integers(0, 5)) == 0:
            statement["NotPrincipal"] = draw(st.sampled_from(NOT_PRINCIPALS))
        else:
            statement["Principal"] = draw(st.sampled_from(PRINCIPALS))
    actions = ACTION_PATTERNS[setup["resource"]]
    action_key = "NotAction" if draw(st.integers(0, 4)) == 0 else "Action"
    chosen = draw(st.lists(st.sampled_from(actions), min_size=1, max_size=2, unique=True))
    statement[action_key] = chosen[0] if len(chosen) == 1 else chosen
    if setup["resource"] is not None:
        resource_key = "NotResource" if draw(st.integers(0, 4)) == 0 else "Resource"
        # A short pattern under NotResource: the simulator reads its mismatch as no exclusion.
        short = resource_key == "Resource"
        patterns = draw(
            st.lists(
                resource_patterns(setup["resource"], short=short),
                min_size=1,
                max_size=2,
                unique=True,
            )
        )
        statement[resource_key] = patterns[0] if len(patterns) == 1 else patterns
    if draw(st.booleans()):
        statement["Condition"] = draw(conditions())
    return statement


def policies(kind: str) -> st.SearchStrategy[Any]:
    """A policy document (sometimes with one statement as a dict) or a list of statements."""
    listed = st.lists(statements(kind), min_size=1, max_size=3)
    return st.one_of(
        listed,
        listed.map(lambda found: {"Version": "2012-10-17", "Statement": found}),
        statements(kind).map(lambda one: {"Version": "2012-10-17", "Statement": one}),
    )


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    """Each key present or absent; multivalued keys as lists (of none, one or more)."""
    context: dict[str, Any] = {}
    for key, (values, _) in {**STRING_KEYS, **ARN_KEYS}.items():
        if draw(st.booleans()):
            context[key] = draw(st.sampled_from(values))
    for key in BOOL_KEYS:
        if draw(st.booleans()):
            context[key] = draw(st.booleans())
    for key, (values, _) in MULTIVALUED_KEYS.items():
        if draw(st.booleans()):
            context[key] = draw(st.lists(st.sampled_from(values), max_size=3, unique=True))
    return context


# ---------------------------------------------------------------------------------------------
# What the evaluator may leave undecided (its docstring's list, restated independently)


def _statements(policy: Any) -> list[Mapping[str, Any]]:
    if isinstance(policy, Mapping):
        found = policy.get("Statement")
        return [found] if isinstance(found, Mapping) else list(found or [])
    return list(policy)


def _variables_missing(text: str, context: Mapping[str, Any]) -> list[str]:
    lowered = {k.lower(): v for k, v in context.items()}
    missing = []
    for body in VARIABLE.findall(text):
        name, _, default = body.partition(",")
        value = lowered.get(name.strip().lower())
        if (value is None and not default) or isinstance(value, list):
            missing.append(f"${{{body}}}")
    return missing


def undecidable(policy: Any, context: Mapping[str, Any]) -> list[str]:
    """What in ``policy`` the evaluator's docstring says it cannot decide for ``context``."""
    found = []
    lowered = {k.lower(): v for k, v in context.items()}
    for statement in _statements(policy):
        for key in ("Resource", "NotResource"):
            for pattern in iam.as_list(statement.get(key)):
                found += _variables_missing(str(pattern), context)
        for operator, entries in (statement.get("Condition") or {}).items():
            qualifier, _, base = operator.rpartition(":")
            for key, expected in entries.items():
                values = [str(v) for v in iam.as_list(expected)]
                for value in values:
                    found += _variables_missing(value, context)
                present = lowered.get(key.lower())
                if not qualifier and base != "Null" and isinstance(present, list):
                    found.append(f"{operator} on the multivalued {key}")
                if base.startswith("Arn") and (
                    any(v.count(":") < 5 for v in values)
                    or (isinstance(present, str) and present.count(":") < 5)
                ):
                    found.append(f"{operator}: not a six-part ARN")
    return found


# ---------------------------------------------------------------------------------------------
# The comparison


def disagreements(
    simulator: IamSimulator, kind: str, policy: Any, context: Mapping[str, Any]
) -> list[str]:
    """Every question of this kind of policy the evaluator answers differently (or leaves
    undecided where it should not)."""
    setup = KINDS[kind]
    questions = [
        (caller, action, resource)
        for caller in setup["callers"]
        for action in setup["actions"]
        for resource in setup["resources"]
    ]
    answers = simulator.run(
        [
            simulation(policy, caller=caller, action=action, resource=resource, context=context)
            for caller, action, resource in questions
        ]
    )
    found = []
    for (caller, action, resource), expected in zip(questions, answers, strict=True):
        ours = iam.evaluate(
            policy, caller=caller, action=action, resource=resource, context=context
        ).decision
        who = "identity" if caller is None else caller.service or caller.arn or caller.account
        event(f"{kind}: {ours.value}")
        if ours is iam.Decision.CONDITIONAL or (
            # Not allowed either way; whether a Deny reaches it is what cannot be decided.
            ours is iam.Decision.NOT_ALLOWED and expected == EXPLICITLY_DENIED
        ):
            if not undecidable(policy, context):
                found.append(f"{who} {action} {resource}: {ours.value}, simulator {expected}")
        elif DECISIONS[ours] != expected:
            found.append(f"{who} {action} {resource}: {ours.value}, simulator {expected}")
    return found


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=settings().max_examples * 4)
@given(data=st.data())
def test_the_evaluator_answers_as_the_simulator_does(
    iam_simulator: IamSimulator, kind: str, data: st.DataObject
) -> None:
    policy = data.draw(policies(kind), label="policy")
    context = data.draw(contexts(), label="context")
    assert disagreements(iam_simulator, kind, policy, context) == []


# ---------------------------------------------------------------------------------------------
# The disagreements Hypothesis found before the fixes, shrunk by hand to one statement each,
# with the IAM user guide page that decides them


GUIDE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
MULTIVALUED = f"{GUIDE}reference_policies_condition-single-vs-multi-valued-context-keys.html"
MULTIPLE_VALUES = f"{GUIDE}reference_policies_condition-logic-multiple-context-keys-or-values.html"
VARIABLES = f"{GUIDE}reference_policies_variables.html"
OPERATORS = f"{GUIDE}reference_policies_elements_condition_operators.html"
RESOURCE = f"{GUIDE}reference_policies_elements_resource.html"
REPOSITORY = REPOSITORIES[0]  # .../repository/prod/api


def grant(**fields: Any) -> dict[str, Any]:
    """An Allow of ``ecr:ReplicateImage`` on every repository to the source account."""
    return {
        "Effect": "Allow",
        "Principal": {"AWS": root(SOURCE)},
        "Action": "ecr:ReplicateImage",
        "Resource": "*",
        **fields,
    }


FOUND = [
    pytest.param(
        grant(Condition={"ForAllValues:StringNotEquals": {"aws:TagKeys": "team"}}),
        {"aws:TagKeys": ["team"]},
        iam.Decision.NOT_ALLOWED,
        MULTIVALUED,
        id="for-all-values-keeps-the-negation",
    ),
    pytest.param(
        grant(Condition={"ForAnyValue:StringNotEquals": {"aws:TagKeys": "team"}}),
        {"aws:TagKeys": ["team", "cost"]},
        iam.Decision.ALLOWED,
        MULTIVALUED,
        id="for-any-value-negated-per-value",
    ),
    pytest.param(
        grant(Condition={"ForAnyValue:StringNotEquals": {"aws:TagKeys": "team"}}),
        {},
        iam.Decision.NOT_ALLOWED,
        MULTIVALUED,
        id="for-any-value-never-holds-on-an-absent-key",
    ),
    pytest.param(
        grant(Condition={"ForAnyValue:StringNotEquals": {"aws:TagKeys": "team"}}),
        {"aws:TagKeys": []},
        iam.Decision.NOT_ALLOWED,
        MULTIVALUED,
        id="for-any-value-never-holds-on-no-values",
    ),
    pytest.param(
        grant(Condition={"StringNotEquals": {"aws:PrincipalOrgID": ["o-abc123", "o-other"]}}),
        {"aws:PrincipalOrgID": "o-abc123"},
        iam.Decision.NOT_ALLOWED,
        MULTIPLE_VALUES,
        id="negated-operator-with-several-values-is-a-nor",
    ),
    pytest.param(
        grant(Condition={"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}),
        {"aws:SourceAccount": SOURCE, "aws:PrincipalAccount": SOURCE},
        iam.Decision.ALLOWED,
        VARIABLES,
        id="policy-variable-in-a-condition",
    ),
    pytest.param(
        grant(
            Condition={
                "StringEquals": {"aws:SourceAccount": f"${{aws:PrincipalTag/team, '{SOURCE}'}}"}
            }
        ),
        {"aws:SourceAccount": SOURCE},
        iam.Decision.ALLOWED,
        VARIABLES,
        id="policy-variable-default",
    ),
    pytest.param(
        grant(
            Resource=f"arn:aws:ecr:{REGION}:{RESOURCE_ACCOUNT}:repository/${{aws:PrincipalTag/team}}/*"
        ),
        {"aws:PrincipalTag/team": "prod"},
        iam.Decision.ALLOWED,
        VARIABLES,
        id="policy-variable-in-a-resource",
    ),
    pytest.param(
        grant(Condition={"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}),
        {"aws:SourceAccount": SOURCE},
        iam.Decision.CONDITIONAL,
        VARIABLES,
        id="policy-variable-the-request-lacks-is-undecided",
    ),
    pytest.param(
        grant(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:*:*:alarm:*"}}),
        {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{SOURCE}:alarm:failures"},
        iam.Decision.NOT_ALLOWED,
        OPERATORS,
        id="arn-operators-match-each-of-the-six-parts",
    ),
    pytest.param(
        grant(Resource="arn:aws:ecr:e*1:repository/prod/api"),
        {},
        iam.Decision.NOT_ALLOWED,
        RESOURCE,
        id="resource-wildcard-stays-in-its-segment",
    ),
    pytest.param(
        grant(Condition={"StringNotEquals": {"aws:TagKeys": "team"}}),
        {"aws:TagKeys": ["team"]},
        iam.Decision.CONDITIONAL,
        MULTIVALUED,
        id="multivalued-key-without-set-qualifier-is-undecided",
    ),
]


@pytest.mark.parametrize(("statement", "context", "expected", "page"), FOUND)
def test_found_disagreements_are_read_as_the_iam_user_guide_says(
    iam_simulator: IamSimulator,
    statement: dict[str, Any],
    context: dict[str, Any],
    expected: iam.Decision,
    page: str,
) -> None:
    caller = iam.Caller(account=SOURCE)
    ours = iam.evaluate(
        [statement],
        caller=caller,
        action="ecr:ReplicateImage",
        resource=REPOSITORY,
        context=context,
    ).decision
    assert ours is expected, page
    simulated = iam_simulator.decide(
        [statement],
        caller=caller,
        action="ecr:ReplicateImage",
        resource=REPOSITORY,
        context=context,
    )
    if expected is iam.Decision.CONDITIONAL:
        assert undecidable([statement], context), page
    else:
        assert simulated == DECISIONS[expected], page
