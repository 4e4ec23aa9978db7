"""From an assembly's stacks to the review: replication edges, registry policies, roles,
repository creation templates and the synth warnings recorded in the assembly."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..model import iam
from ..model.iam import as_list
from ..naming import GUARD_METADATA, GUARD_PLUGIN
from .assembly import (
    AssemblyStack,
    as_object,
    as_objects,
    conditions,
    document,
    principals,
    resolved_statements,
    statements,
    text,
    texts,
)
from .report import (
    AlertInfo,
    CdkWarning,
    ControlFailure,
    ControlsCheck,
    DestinationInfo,
    KeptStatement,
    Permission,
    RegistryGrant,
    RegistryPolicyInfo,
    ReplicationEdge,
    Review,
    RoleInfo,
    RuleInfo,
    SourceInfo,
    TemplateInfo,
    Trust,
    account_of,
    repository_pattern,
)
from .service_access import service_access_warnings
from .warnings import reviewer_warnings

CDK_WARNING = "aws:cdk:warning"
KEPT_STATEMENTS_METADATA = "ecr-replication:keptStatements"
"""Written by the registry-policy construct (``constructs.registry_policy``)."""
_ACK_SUFFIX = re.compile(r"\s*\[ack: (?P<ack>[^\]]+)\]$")

REPLICATION_EVENT = {"source": "aws.ecr", "detail-type": "ECR Replication Action"}
"""What ECR sends for each replicated image (``detail.result`` SUCCESS or FAILED)."""
_BUS_ARN = re.compile(
    r"^arn:[^:]+:events:(?P<region>[^:]+):(?P<account>[0-9]{12}):event-bus/(?P<name>.+)$"
)
_TOPIC_ARN = re.compile(r"^arn:[^:]+:sns:[^:]+:[0-9]{12}:[^:]+$")
DEFAULT_BUS = "default"

REPLICATE = "ecr:ReplicateImage"
CREATE_REPOSITORY = "ecr:CreateRepository"


def _rules(stack: AssemblyStack) -> list[RuleInfo]:
    """The stack's replication rules in order, each with whether it replicates deletions."""
    found = []
    for _id, properties in stack.resources("AWS::ECR::ReplicationConfiguration"):
        for rule in as_objects(as_object(properties.get("ReplicationConfiguration")).get("Rules")):
            deletions = as_object(rule.get("DeleteReplication")).get("Enabled")
            found.append(
                RuleInfo(
                    repository_prefixes=tuple(
                        text(f.get("Filter"), stack.info)
                        for f in as_objects(rule.get("RepositoryFilters"))
                    ),
                    destinations=tuple(
                        f"{text(d.get('RegistryId'), stack.info)}/{text(d.get('Region'), stack.info)}"
                        for d in as_objects(rule.get("Destinations"))
                    ),
                    # CloudFormation reads a Boolean given as the string "true" too.
                    replicate_deletions=deletions is True or str(deletions).lower() == "true",
                )
            )
    return found


def _replication_edges(stack: AssemblyStack) -> list[ReplicationEdge]:
    merged: dict[str, tuple[str, ...] | None] = {}
    for _id, properties in stack.resources("AWS::ECR::ReplicationConfiguration"):
        rules = as_objects(as_object(properties.get("ReplicationConfiguration")).get("Rules"))
        for rule in rules:
            prefixes = tuple(
                text(f.get("Filter"), stack.info) for f in as_objects(rule.get("RepositoryFilters"))
            )
            for destination in as_objects(rule.get("Destinations")):
                key = (
                    f"{text(destination.get('RegistryId'), stack.info)}/"
                    f"{text(destination.get('Region'), stack.info)}"
                )
                known = merged.get(key)
                # An unfiltered rule replicates everything: it wins over any prefix list.
                if key in merged and (known == () or prefixes == ()):
                    merged[key] = ()
                else:
                    merged[key] = tuple(dict.fromkeys((*(known or ()), *prefixes)))
    return [
        ReplicationEdge(
            source=stack.info.registry,
            destination=destination,
            stack=stack.info.name,
            repository_prefixes=tuple(sorted(prefixes or ())),
        )
        for destination, prefixes in merged.items()
    ]


def _registry_policy(stack: AssemblyStack) -> RegistryPolicyInfo | None:
    grants: list[RegistryGrant] = []
    found: list[Mapping[str, Any]] = []
    kept: list[KeptStatement] = []
    for logical_id, properties in stack.resources("AWS::ECR::RegistryPolicy"):
        resolved = resolved_statements(properties.get("PolicyText"), stack.info)
        found += resolved
        kept_sids = stack.metadata_of(logical_id).get(KEPT_STATEMENTS_METADATA)
        kept += [
            KeptStatement(
                sid=str(statement.get("Sid")),
                effect=str(statement.get("Effect")),
                principals=principals(statement, stack.info),
                actions=tuple(texts(statement.get("Action"), stack.info)),
                not_actions=tuple(texts(statement.get("NotAction"), stack.info)),
                resources=tuple(texts(statement.get("Resource"), stack.info)),
            )
            for statement in resolved
            if isinstance(kept_sids, list) and statement.get("Sid") in kept_sids
        ]
        for statement in resolved:
            effect = str(statement.get("Effect"))
            repositories = tuple(
                sorted(repository_pattern(r) for r in texts(statement.get("Resource"), stack.info))
            )
            grants += [
                RegistryGrant(
                    principal=principal,
                    account=account_of(principal),
                    repositories=repositories,
                    actions=tuple(sorted(texts(statement.get("Action"), stack.info))),
                    not_actions=tuple(sorted(texts(statement.get("NotAction"), stack.info))),
                    conditions=conditions(statement, stack.info),
                    may_replicate=iam.applies_to_action(statement, REPLICATE),
                    may_create_repositories=iam.applies_to_action(statement, CREATE_REPOSITORY),
                    effect=effect,
                )
                for principal in principals(statement, stack.info)
            ]
    if not any(True for _ in stack.resources("AWS::ECR::RegistryPolicy")):
        return None
    return RegistryPolicyInfo(
        stack=stack.info.name,
        grants=tuple(sorted(grants, key=lambda g: (g.effect, g.principal, g.repositories))),
        statements=tuple(found),
        kept=tuple(sorted(kept, key=lambda k: k.sid)),
    )


def _permissions(value: Any, stack: AssemblyStack) -> list[Permission]:
    return [
        Permission(
            effect=str(statement.get("Effect")),
            actions=tuple(sorted(texts(statement.get("Action"), stack.info))),
            resources=tuple(texts(statement.get("Resource"), stack.info)),
            conditions=conditions(statement, stack.info),
        )
        for statement in statements(document(value, stack.info))
    ]


def _roles(stack: AssemblyStack) -> list[RoleInfo]:
    resources = stack.template.get("Resources", {})
    attached: dict[str, list[Permission]] = {}
    for _id, properties in stack.resources("AWS::IAM::Policy"):
        permissions = _permissions(properties.get("PolicyDocument"), stack)
        for role in as_objects(properties.get("Roles")):
            if isinstance(role.get("Ref"), str):
                attached.setdefault(role["Ref"], []).extend(permissions)
    roles = []
    for logical_id, properties in stack.resources("AWS::IAM::Role"):
        trust = [
            Trust(principal=principal, conditions=conditions(statement, stack.info))
            for statement in statements(
                document(properties.get("AssumeRolePolicyDocument"), stack.info)
            )
            if statement.get("Effect") == "Allow"
            for principal in principals(statement, stack.info)
        ]
        permissions = list(attached.get(logical_id, []))
        for inline in as_objects(properties.get("Policies")):
            permissions += _permissions(inline.get("PolicyDocument"), stack)
        for managed in texts(properties.get("ManagedPolicyArns"), stack.info):
            permissions.append(
                Permission(effect="Allow", actions=(f"managed policy {managed}",), resources=())
            )
        name = properties.get("RoleName")
        roles.append(
            RoleInfo(
                name=text(name, stack.info, resources) if name is not None else logical_id,
                stack=stack.info.name,
                trusted_by=tuple(sorted(trust, key=lambda t: (t.principal, str(t.conditions)))),
                permissions=tuple(permissions),
            )
        )
    return roles


def _templates(stack: AssemblyStack) -> list[TemplateInfo]:
    resources = stack.template.get("Resources", {})
    info = stack.info
    templates = []
    for _id, p in stack.resources("AWS::ECR::RepositoryCreationTemplate"):
        encryption = as_object(p.get("EncryptionConfiguration"))
        pull = [
            Trust(
                principal=principal,
                conditions=conditions(statement, info),
                actions=tuple(sorted(texts(statement.get("Action"), info))),
            )
            for statement in statements(document(p.get("RepositoryPolicy"), info))
            if statement.get("Effect") == "Allow"
            for principal in principals(statement, info)
        ]
        templates.append(
            TemplateInfo(
                prefix=text(p.get("Prefix"), info),
                stack=info.name,
                applied_for=tuple(sorted(texts(p.get("AppliedFor"), info))),
                # CloudFormation's default when the property is left out.
                tag_mutability=text(p.get("ImageTagMutability", "MUTABLE"), info),
                tag_mutability_exclusion_filters=tuple(
                    text(f.get("ImageTagMutabilityExclusionFilterValue"), info)
                    for f in as_objects(p.get("ImageTagMutabilityExclusionFilters"))
                ),
                encryption_type=text(encryption.get("EncryptionType", "AES256"), info),
                kms_key=text(encryption["KmsKey"], info) if encryption.get("KmsKey") else None,
                lifecycle_policy=bool(p.get("LifecyclePolicy")),
                pull_access=tuple(sorted(pull, key=lambda t: t.principal)),
                resource_tags=tuple(
                    sorted(
                        (text(t.get("Key"), info), text(t.get("Value"), info))
                        for t in as_objects(p.get("ResourceTags"))
                    )
                ),
                custom_role=text(p["CustomRoleArn"], info, resources)
                if p.get("CustomRoleArn")
                else None,
            )
        )
    return sorted(templates, key=lambda t: t.prefix)


def _matches_failed_replication(pattern: Any) -> bool:
    """Whether an event pattern lets a failed "ECR Replication Action" event through.

    A field the pattern leaves out matches anything; a listed field must list the value.
    """
    if not isinstance(pattern, dict):
        return False
    detail = as_object(pattern.get("detail"))
    wanted = [
        *((pattern, k, v) for k, v in REPLICATION_EVENT.items()),
        (detail, "result", "FAILED"),
    ]
    return all(key not in where or value in as_list(where[key]) for where, key, value in wanted)


def _failure_rule_targets(stack: AssemblyStack) -> Iterable[tuple[str, Any]]:
    """``(rule logical id, target Arn)`` of every rule on the default bus that matches failed
    replication."""
    for logical_id, properties in stack.resources("AWS::Events::Rule"):
        bus = properties.get("EventBusName", DEFAULT_BUS)
        if bus != DEFAULT_BUS or not _matches_failed_replication(properties.get("EventPattern")):
            continue
        for target in as_objects(properties.get("Targets")):
            yield logical_id, target.get("Arn")


def _topic_alert(
    stack: AssemblyStack, rule: str, arn: Any, registry_stacks: list[AssemblyStack]
) -> AlertInfo | None:
    """The alert of one rule target that is an SNS topic (created in the stack, or an ARN):
    its e-mail subscriptions and whether an alarm on the rule's matches notifies it."""
    reference = str(as_object(arn).get("Ref", ""))
    resources = as_object(stack.template.get("Resources"))
    created = as_object(resources.get(reference)).get("Type") == "AWS::SNS::Topic"
    target = text(arn, stack.info)
    if not created and not _TOPIC_ARN.match(target):
        return None

    def is_topic(value: Any, where: AssemblyStack) -> bool:
        # A created topic is named by its Ref in its own stack; a given one by its ARN.
        return value == arn and where is stack if created else text(value, where.info) == target

    emails = sorted(
        text(p.get("Endpoint"), s.info)
        for s in registry_stacks
        for _id, p in s.resources("AWS::SNS::Subscription")
        if p.get("Protocol") == "email" and is_topic(p.get("TopicArn"), s)
    )
    alarm = any(
        any(is_topic(action, stack) for action in as_list(p.get("AlarmActions")))
        and {"Name": "RuleName", "Value": {"Ref": rule}} in as_objects(p.get("Dimensions"))
        for _id, p in stack.resources("AWS::CloudWatch::Alarm")
    )
    return AlertInfo(
        stack=stack.info.name,
        forwarded_to=None,
        topic=f"{stack.info.name}/{reference}" if created else target,
        emails=tuple(emails),
        alarm=alarm,
    )


def _alerts(
    registry: str, by_registry: Mapping[str, list[AssemblyStack]], forwarded: bool = False
) -> list[AlertInfo]:
    """Who a failed replication into ``registry`` reaches: the topics its bus's rules alert
    (with their e-mail subscriptions and alarm), following one forward to another bus."""
    found: list[AlertInfo] = []
    registry_stacks = by_registry.get(registry, [])
    for stack in registry_stacks:
        for rule, arn in _failure_rule_targets(stack):
            bus = _BUS_ARN.match(text(arn, stack.info))
            if bus is None:
                alert = _topic_alert(stack, rule, arn, registry_stacks)
                found += [alert] if alert is not None else []
            elif not forwarded:
                central = f"{bus['account']}/{bus['region']}"
                found += [
                    AlertInfo(
                        stack=a.stack,
                        forwarded_to=central,
                        topic=a.topic,
                        emails=a.emails,
                        alarm=a.alarm,
                    )
                    for a in _alerts(central, by_registry, forwarded=True)
                ]
    return found


def _cdk_warnings(stack: AssemblyStack) -> list[CdkWarning]:
    warnings = []
    for path, entries in stack.metadata.items():
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and entry.get("type") == CDK_WARNING:
                message = str(entry.get("data", ""))
                ack = _ACK_SUFFIX.search(message)
                warnings.append(
                    CdkWarning(
                        stack=stack.info.name,
                        path=str(path),
                        message=_ACK_SUFFIX.sub("", message),
                        ack=ack["ack"] if ack else None,
                    )
                )
    return warnings


_CONTROL_ID = re.compile(r"^\[(?P<control>CT\.[A-Z0-9]+\.PR\.[0-9]+)\]")


def controls_check(
    stacks: Iterable[AssemblyStack], plugin_reports: Iterable[Mapping[str, Any]]
) -> ControlsCheck | None:
    """What the assembly says of AWS Control Tower's proactive controls, or None when they did
    not run (no stack carries the mark of ``enable_guard`` and no report of them is there)."""
    marks = [
        entry.get("data")
        for stack in stacks
        for entries in stack.metadata.values()
        for entry in (entries if isinstance(entries, list) else ())
        if isinstance(entry, dict) and entry.get("type") == GUARD_METADATA
    ]
    ran = bool(marks)
    # The mark names each control left out by its rule file (ct-lambda-pr-3).
    disabled = sorted(
        {
            str(rule).upper().replace("-", ".")
            for mark in marks
            if isinstance(mark, dict)
            for rule in (mark.get("disabledRules") or ())
            if isinstance(rule, str)
        }
    )
    failures = []
    for report in plugin_reports:
        if report.get("pluginName") != GUARD_PLUGIN:
            continue
        for violation in as_objects(report.get("violations")):
            description = str(violation.get("description", ""))
            match = _CONTROL_ID.match(description)
            rule = str(violation.get("ruleName", ""))
            failures.append(
                ControlFailure(
                    control=match["control"] if match else rule,
                    rule=rule,
                    description=_CONTROL_ID.sub("", description).lstrip(": ").strip(),
                    resources=tuple(
                        sorted(
                            str(c.get("constructPath", ""))
                            for c in as_objects(violation.get("violatingConstructs"))
                        )
                    ),
                )
            )
    if not ran and not failures:
        return None
    return ControlsCheck(ran=ran, failures=tuple(sorted(set(failures))), disabled=tuple(disabled))


def build_review(
    stacks: Iterable[AssemblyStack], plugin_reports: Iterable[Mapping[str, Any]] = ()
) -> Review:
    """The review of an assembly's stacks and validation report (without a baseline)."""
    stacks = sorted(stacks, key=lambda s: s.info.name)
    edges = sorted(
        (edge for stack in stacks for edge in _replication_edges(stack)),
        key=lambda e: (e.source, e.destination),
    )
    by_registry: dict[str, list[AssemblyStack]] = {}
    for stack in stacks:
        by_registry.setdefault(stack.info.registry, []).append(stack)
    destination_keys = {edge.destination for edge in edges} | {
        stack.info.registry
        for stack in stacks
        if stack.has("AWS::ECR::RegistryPolicy")
        or stack.has("AWS::ECR::RepositoryCreationTemplate")
    }
    destinations = []
    for key in sorted(destination_keys):
        registry_stacks = by_registry.get(key, [])
        policies = [p for s in registry_stacks if (p := _registry_policy(s))]
        destinations.append(
            DestinationInfo(
                registry=key,
                stacks=tuple(s.info.name for s in registry_stacks),
                replicated_from=tuple(e for e in edges if e.destination == key),
                registry_policy=policies[0] if policies else None,
                roles=tuple(r for s in registry_stacks for r in _roles(s)),
                templates=tuple(t for s in registry_stacks for t in _templates(s)),
                alerts=tuple(
                    sorted(set(_alerts(key, by_registry)), key=lambda a: (a.stack, a.topic))
                ),
            )
        )
    sources = [
        SourceInfo(
            registry=key,
            stacks=tuple(s.info.name for s in source_stacks),
            roles=tuple(r for s in source_stacks for r in _roles(s)),
            rules=tuple(r for s in source_stacks for r in _rules(s)),
        )
        for key in sorted({edge.source for edge in edges})
        if (
            source_stacks := [
                s for s in by_registry.get(key, []) if s.has("AWS::ECR::ReplicationConfiguration")
            ]
        )
    ]
    return Review(
        stacks=tuple(s.info for s in stacks),
        replication=tuple(edges),
        destinations=tuple(destinations),
        sources=tuple(sources),
        warnings=tuple(
            sorted(
                {
                    *reviewer_warnings(edges, destinations, sources),
                    *(w for stack in stacks for w in service_access_warnings(stack)),
                }
            )
        ),
        cdk_warnings=tuple(sorted(w for s in stacks for w in _cdk_warnings(s))),
        controls=controls_check(stacks, plugin_reports),
    )
