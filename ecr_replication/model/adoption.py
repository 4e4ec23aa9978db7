"""What a deploy would replace in a registry that already has settings: the comparisons that
``preflight`` reports and ``import`` relies on.

A registry's replication configuration and registry policy are singletons: deploying the
topology's writes the whole of each. A live statement survives only if the deployed policy
reproduces what it grants; a live replication rule survives only if a deployed rule still sends
the same repositories to the same destination.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import iam
from .limits import REPLICATION_APPLIED_FOR, TEMPLATE_APPLIED_FOR
from .registries import Registry, ReplicationRule, SourceRegistry
from .templates import canonical_applied_for

Statement = Mapping[str, Any]


def _normalized(statement: Statement) -> tuple[Any, ...]:
    """A statement as a comparable value, order and case of actions aside, its Sid ignored."""

    def listed(value: object, *, lower: bool = False) -> tuple[str, ...]:
        items = [str(v) for v in iam.as_list(value)]
        return tuple(sorted(v.lower() if lower else v for v in items))

    principal = statement.get("Principal")
    principals = (
        ("*",)
        if principal == "*"
        else tuple(
            sorted(
                (str(kind), name)
                for kind, names in (principal.items() if isinstance(principal, Mapping) else ())
                for name in listed(names)
            )
        )
    )
    return (
        statement.get("Effect"),
        principals,
        listed(statement.get("Action"), lower=True),
        listed(statement.get("NotAction"), lower=True),
        listed(statement.get("Resource")),
        listed(statement.get("NotResource")),
        repr(sorted((statement.get("Condition") or {}).items())),
    )


def _accounts(statement: Statement) -> list[str] | None:
    """The accounts an account-level principal names; None for anything else."""
    names = iam.principal_names(statement.get("Principal"))
    if not names or "*" in names or isinstance(statement.get("Principal"), str):
        return None
    principal = statement.get("Principal")
    if not isinstance(principal, Mapping) or set(principal) != {"AWS"}:
        return None
    accounts = []
    for name in names:
        if name.isdigit() and len(name) == 12:
            accounts.append(name)
        elif name.startswith("arn:") and name.endswith(":root"):
            accounts.append(name.split(":")[4])
        else:
            return None
    return accounts


def statement_reproduced(live: Statement, deployed: Sequence[Statement]) -> bool:
    """Whether the deployed statements keep what ``live`` grants (or denies).

    Reproduced: an equal statement (Sid aside), or, for an unconditional ``Allow`` to whole
    accounts, every account allowed every listed action on every listed resource by the
    deployed ``Allow`` statements (the model's IAM evaluator decides). Anything else (a
    condition, a ``Deny``, service principals, wildcards in actions) must be deployed as it is.
    A grant is judged by the grants deployed, not by the denies: a live ``Deny`` deployed again
    limits the grant as it did live, so it does not make the grant look removed.
    """
    if any(_normalized(live) == _normalized(s) for s in deployed):
        return True
    if live.get("Effect") != "Allow" or live.get("Condition"):
        return False
    if any(key in live for key in ("NotAction", "NotResource", "NotPrincipal")):
        return False
    accounts = _accounts(live)
    actions = [str(a) for a in iam.as_list(live.get("Action"))]
    resources = [str(r) for r in iam.as_list(live.get("Resource"))]
    if accounts is None or not actions or not resources or any("*" in a for a in actions):
        return False
    partition = _partition_of(resources)
    grants = [s for s in deployed if s.get("Effect") == "Allow"]
    return all(
        iam.evaluate(
            grants,
            caller=iam.Caller(account=account, partition=partition),
            action=action,
            resource=resource,
        ).allowed
        for account in accounts
        for action in actions
        for resource in resources
    )


def _partition_of(resources: Iterable[str]) -> str:
    for resource in resources:
        parts = resource.split(":")
        if len(parts) > 2 and parts[0] == "arn":
            return parts[1]
    return "aws"


def describe_statement(statement: Statement) -> str:
    """A statement named for a reader: its Sid, principals and actions."""
    sid = statement.get("Sid") or "(no Sid)"
    principals = ", ".join(iam.principal_names(statement.get("Principal"))) or "none"
    action_key = "NotAction" if "NotAction" in statement else "Action"
    actions = ", ".join(str(a) for a in iam.as_list(statement.get(action_key)))
    verb = "all but " if action_key == "NotAction" else ""
    return f"{sid} ({statement.get('Effect')}; principals: {principals}; actions: {verb}{actions})"


def removed_statements(live: Sequence[Statement], deployed: Sequence[Statement]) -> list[Statement]:
    """The live statements a deploy of ``deployed`` would remove."""
    return [s for s in live if not statement_reproduced(s, deployed)]


@dataclass(frozen=True, kw_only=True, slots=True)
class Release:
    """What ``release`` does to a live registry policy: the generated statements it removes,
    and every other statement, which it keeps in their order."""

    removed: tuple[Statement, ...]
    kept: tuple[Statement, ...]
    changed: tuple[str, ...]
    """Sids of kept statements that carry a generated statement's Sid with other content (the
    topology changed since they were deployed, or someone edited them): never removed."""


def release_statements(live: Sequence[Statement], generated: Sequence[Statement]) -> Release:
    """Split a live policy into the statements the topology generates (same Sid, same content:
    principal, actions, resources, conditions) and everything else.

    Matching by Sid alone would remove a statement someone changed by hand; by content alone,
    another team's statement that happens to grant the same.
    """
    by_sid = {str(g.get("Sid")): _normalized(g) for g in generated}
    removed, kept, changed = [], [], []
    for statement in live:
        sid = statement.get("Sid")
        if isinstance(sid, str) and sid in by_sid and by_sid[sid] == _normalized(statement):
            removed.append(statement)
            continue
        kept.append(statement)
        if isinstance(sid, str) and sid in by_sid:
            changed.append(sid)
    return Release(removed=tuple(removed), kept=tuple(kept), changed=tuple(changed))


# ---------------------------------------------------------------------------------------------
# Replication rules


class LiveRule(NamedTuple):
    """A deployed rule: its destinations, its prefixes (empty: every repository) and whether it
    replicates deletions (``deleteReplication.enabled``; absent is off)."""

    destinations: tuple[Registry, ...]
    prefixes: tuple[str, ...]
    replicate_deletions: bool = False


def live_rules(configuration: Mapping[str, Any]) -> list[LiveRule]:
    """The rules of a ``DescribeRegistry`` replication configuration, as registries and prefixes.

    Destinations in regions this library does not know are left out (they cannot be compared).
    """
    rules: list[LiveRule] = []
    for rule in configuration.get("rules", ()):
        destinations = []
        for d in rule.get("destinations", ()):
            try:
                destinations.append(Registry(account=str(d["registryId"]), region=str(d["region"])))
            except (KeyError, ValueError):
                continue
        prefixes = tuple(str(f["filter"]) for f in rule.get("repositoryFilters", ()))
        deletions = (rule.get("deleteReplication") or {}).get("enabled") is True
        rules.append(LiveRule(tuple(destinations), prefixes, deletions))
    return rules


def stopped_replications(rules: Sequence[LiveRule], source: SourceRegistry) -> list[str]:
    """What a deploy of ``source``'s rules stops replicating, one sentence per destination:
    repositories, and deletions (a live rule that replicates deletions to a destination whose
    deployed rules for those repositories would not)."""
    lines = []
    for destinations, prefixes, deletions in rules:
        for destination in destinations:
            desired = [r for r in source.rules if destination in r.destinations]
            if not prefixes:
                kept = any(not r.repository_prefixes for r in desired)
                stopped = [] if kept else ["every repository"]
            else:
                stopped = [
                    p
                    for p in prefixes
                    if not any(
                        not r.repository_prefixes
                        or any(p.startswith(q) for q in r.repository_prefixes)
                        for r in desired
                    )
                ]
            if stopped:
                lines.append(
                    f"a deploy stops replication of {', '.join(stopped)} to {destination.key}"
                )
            elif deletions and not _deletions_kept(prefixes, desired):
                lines.append(
                    f"a deploy stops replicating deletions of "
                    f"{', '.join(prefixes) or 'every repository'} to {destination.key} "
                    "(replicateDeletions)"
                )
    return list(dict.fromkeys(lines))


def _deletions_kept(prefixes: Sequence[str], desired: Sequence[ReplicationRule]) -> bool:
    """Whether deployed rules that replicate deletions cover every repository of ``prefixes``."""
    covering = [r for r in desired if r.replicate_deletions]
    if not prefixes:
        return any(not r.repository_prefixes for r in covering)
    return all(
        any(
            not r.repository_prefixes or any(p.startswith(q) for q in r.repository_prefixes)
            for r in covering
        )
        for p in prefixes
    )


# ---------------------------------------------------------------------------------------------
# Repository creation templates

PULL_ACTION_SET = frozenset(
    ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
)


def _pull_access(policy_text: str | None) -> tuple[dict[str, Any], list[str]]:
    """The pull-only access of a repository policy as template settings, and what it holds
    beyond pull-only access for accounts or an organization (which the topology cannot carry).
    """
    if not policy_text:
        return {}, []
    try:
        document = json.loads(policy_text)
    except json.JSONDecodeError:
        return {}, ["its repository policy is not JSON"]
    settings: dict[str, Any] = {}
    leftovers = []
    for statement in iam.statements_of(document):
        actions = {str(a) for a in iam.as_list(statement.get("Action"))}
        condition = statement.get("Condition") or {}
        org = (
            (condition.get("StringEquals") or {}).get("aws:PrincipalOrgID")
            if isinstance(condition, Mapping)
            else None
        )
        accounts = _accounts(statement)
        if statement.get("Effect") != "Allow" or actions != PULL_ACTION_SET:
            leftovers.append(describe_statement(statement))
        elif isinstance(org, str) and iam.principal_names(statement.get("Principal")) in (["*"],):
            settings["pullOrganizationId"] = org
        elif accounts and not condition:
            settings.setdefault("pullAccounts", []).extend(accounts)
        else:
            leftovers.append(describe_statement(statement))
    return settings, [
        f"its repository policy statement {s} is not pull-only access" for s in leftovers
    ]


def template_json(live: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A live repository creation template as a topology's ``repositoryTemplate`` (JSON form),
    and one note per setting of it that the topology cannot carry."""
    notes: list[str] = []
    applied_for = canonical_applied_for(str(a) for a in live.get("appliedFor", ()))
    settings: dict[str, Any] = {"appliedFor": list(applied_for)}
    settings["tagMutability"] = live.get("imageTagMutability", "MUTABLE")
    filters = [
        f.get("filter")
        for f in live.get("imageTagMutabilityExclusionFilters", ())
        if isinstance(f, Mapping)
    ]
    if filters:
        settings["tagMutabilityExclusionFilters"] = filters
    encryption = live.get("encryptionConfiguration") or {}
    settings["encryption"] = encryption.get("encryptionType", "AES256")
    if encryption.get("kmsKey"):
        settings["kmsKeyArn"] = encryption["kmsKey"]
    if live.get("lifecyclePolicy"):
        try:
            settings["lifecyclePolicy"] = json.loads(live["lifecyclePolicy"])
        except json.JSONDecodeError:
            notes.append("its lifecycle policy is not JSON")
    pull, pull_notes = _pull_access(live.get("repositoryPolicy"))
    settings.update(pull)
    notes += pull_notes
    tags = {
        str(t.get("Key")): str(t.get("Value"))
        for t in live.get("resourceTags", ())
        if isinstance(t, Mapping)
    }
    if tags:
        settings["resourceTags"] = tags
    # Without one the topology's default description would be added: keep it empty instead.
    settings["description"] = str(live.get("description") or "")
    if REPLICATION_APPLIED_FOR not in applied_for:
        notes.append(
            f"it is applied for {', '.join(applied_for) or 'nothing'}, not for REPLICATION, "
            "which the topology's templates always are"
        )
    elif set(applied_for) - set(TEMPLATE_APPLIED_FOR):
        notes.append(
            f"it is applied for {', '.join(sorted(set(applied_for) - set(TEMPLATE_APPLIED_FOR)))}, "
            f"which the topology does not know (it knows {', '.join(TEMPLATE_APPLIED_FOR)})"
        )
    return settings, notes


# ---------------------------------------------------------------------------------------------
# Alerts on failed replication, as a destination stack's live resources show them

ALERT_RULE_TYPE = "AWS::Events::Rule"
TOPIC_TYPE = "AWS::SNS::Topic"
SUBSCRIPTION_TYPE = "AWS::SNS::Subscription"
ROLE_TYPE = "AWS::IAM::Role"


@dataclass(frozen=True, kw_only=True, slots=True)
class StackAlerts:
    """The alert resources of one destination stack (``DescribeStackResources``): the resource
    types say the mode, not the settings (e-mail addresses, a given topic's ARN and the central
    account are not in the list)."""

    registry: Registry
    central: bool
    """The rule forwards to a central account's bus (a forwarding role is in the stack)."""
    topic_created: bool
    subscriptions: int


def stack_alerts(
    registry: Registry, resources: Sequence[Mapping[str, Any]], destination_role: str
) -> StackAlerts | None:
    """What a destination stack's resources say of its alerts; None when it has none.

    ``destination_role``: the destination role's name; any other role in the stack is the
    forwarding role of central monitoring.
    """
    types = [str(r.get("ResourceType")) for r in resources]
    roles = {
        str(r.get("PhysicalResourceId")) for r in resources if r.get("ResourceType") == ROLE_TYPE
    }
    if ALERT_RULE_TYPE not in types:
        return None
    return StackAlerts(
        registry=registry,
        central=bool(roles - {destination_role}),
        topic_created=TOPIC_TYPE in types,
        subscriptions=types.count(SUBSCRIPTION_TYPE),
    )


def monitoring_json(alerts: Sequence[StackAlerts]) -> tuple[dict[str, Any] | None, list[str]]:
    """The topology's ``monitoring`` as far as the live alerts show it, and one note per
    setting that could not be read, each saying what a deploy of the file would remove.

    Local alerts through a topic the stack created are written as ``monitoring: {}`` (the
    rule, topic, key and alarm are kept); their e-mail subscriptions cannot be read. A given
    topic's ARN and a central account cannot be read either: then nothing is written, and a
    deploy would remove those alerts.
    """
    if not alerts:
        return None, []
    where = ", ".join(a.registry.key for a in alerts)
    subscribed = sum(a.subscriptions for a in alerts)
    if all(not a.central and a.topic_created for a in alerts):
        notes = []
        if subscribed:
            notes.append(
                f"monitoring: the alerts of {where} are read back as monitoring: {{}}, but "
                f"their {subscribed} e-mail subscription(s) are not (the stack lists them "
                "without addresses): deploying this file as it is would remove them; add "
                "monitoring.notificationEmails as deployed"
            )
        return {}, notes
    kinds = sorted(
        {
            "forwarding to a central account"
            if a.central
            else "alerting a topic the stack did not create"
            for a in alerts
            if a.central or not a.topic_created
        }
    )
    return None, [
        f"monitoring: not read: the destination stacks of {where} hold alerts on failed "
        f"replication ({'; '.join(kinds)}), whose settings (centralAccount, "
        "notificationTopicArn, notificationEmails) are not listed in the stack: deploying this "
        "file as it is would remove those alerts; add monitoring as deployed"
    ]
