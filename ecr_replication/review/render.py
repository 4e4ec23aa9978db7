"""Rendering a review: Markdown (for pull requests) and JSON (for tools).

JSON schema ``ecr-replication/review/v1``
-----------------------------------------
Stable: fields are only ever added within v1; a field is never removed or changes meaning.
Registries are written ``"ACCOUNT/REGION"``; lists are sorted, so equal assemblies give equal
documents. A *condition* is ``{"operator": "StringEquals", "key": "sts:ExternalId",
"values": ["..."]}``. A *principal* is the string from the policy (an ARN, ``"*"``, or a service
name such as ``"ecr.amazonaws.com"``)::

    {
      "schema": "ecr-replication/review/v1",
      "stacks": [{"name", "account", "region", "templateFile"}],
      "replication": [            # one per (source registry, destination registry)
        {"source", "destination", "stack",
         "repositoryPrefixes": [...]}          # [] = every repository
      ],
      "destinations": [
        {"registry", "stacks": [...],
         "replicatedFrom": [{"source", "repositoryPrefixes", "sameAccount"}],
         "registryPolicy": null | {"stack", "grants": [
             {"principal", "account": "..." | null, "repositories": ["prod/*", ...],
              "actions": [...], "notActions": [...], "effect": "Allow" | "Deny",
              "mayReplicate": bool, "mayCreateRepositories": bool, "conditions": [...]}],
           "keptStatements": [{"sid", "effect", "principals": [...], "actions": [...],
              "notActions": [...], "resources": [...]}]},
         "roles": [ROLE...],
         "repositoryTemplates": [
             {"prefix", "stack", "appliedFor": [...], "tagMutability",
              "tagMutabilityExclusionFilters": [...],
              "encryption": {"type", "kmsKey": "..." | null},
              "lifecyclePolicy": bool, "pullAccess": [{"principal", "actions": [...],
              "conditions": [...]}], "resourceTags": {"key": "value"},
              "customRole": "..." | null}],
         "alerts": [{"stack", "forwardedTo": "ACCOUNT/REGION" | null, "topic",
                     "emails": [...], "alarm": bool}]}    # [] = nobody is alerted
      ],
      "sources": [{"registry", "stacks": [...], "roles": [ROLE...],
                   "rules": [{"repositoryPrefixes": [...], "destinations": [...],
                              "replicateDeletions": bool}]}],   # in order
      "warnings": [{"code", "subject", "message"}],
      "cdkWarnings": [{"stack", "path", "message", "ack": "..." | null}],
      "baseline": null | {"added": [ACCESS...], "removed": [ACCESS...]},
      "controlTower": null | {"ran": bool, "passed": bool, "disabled": ["CT...", ...],
          "failures": [{"control", "rule", "description", "resources": [...]}]}
    }

``controlTower`` is what the assembly says of AWS Control Tower's proactive controls: null when
they did not run at synth (``-c ecrReplication:guard=true`` or ``enable_guard``); ``ran`` when
the stacks carry the mark ``enable_guard`` writes; ``disabled``: the controls that mark says were
switched off (``ecrReplication:guardDisabledRules``), never checked; ``failures`` as the
validation report lists them (``control``: the id such as ``CT.KMS.PR.3``; ``resources``:
construct paths); ``passed``: every bundled control ran (none disabled) and none failed.

``ROLE`` is ``{"name", "stack", "trustedBy": [{"principal", "conditions": [...]}],
"permissions": [{"effect", "actions": [...], "resources": [...], "conditions": [...]}]}``; a source's roles are
those of the stacks holding its replication configuration (the source role the commands assume
from an operations account, the backfill function's role).

``ACCESS`` is one grant, ``{"kind", "principal", "registry", "scope", "conditions"}``, where
``kind`` is ``replicate`` (scope: a repository pattern), ``create-repository`` (scope: a
repository pattern), ``assume-role`` (scope: the role name), ``pull`` (scope: a repository
template prefix) or ``replication-rule`` (principal: the source registry; scope: a repository
prefix, ``*`` for every repository).

``alerts`` lists who hears of a failed replication into the destination: each EventBridge rule
on its default bus that matches failed "ECR Replication Action" events and alerts an SNS topic
(``topic``: the ARN, or ``STACK/LogicalId`` of a topic the assembly creates), with the topic's
e-mail subscriptions and whether a CloudWatch alarm on the rule's matches notifies it too; a
rule forwarding the events to another account's bus is followed (``forwardedTo``).

``mayReplicate`` and ``mayCreateRepositories`` are read by the model's IAM evaluator (action
wildcards, ``NotAction``), the reading ``preflight`` applies to a deployed policy.

Warning codes: ``unfiltered-cross-account-rule``, ``missing-replication-grant``,
``conditional-replication-grant``, ``grant-without-prefixes``, ``mutable-destination-tags``,
``no-repository-template``, ``role-trusts-whole-account``, ``role-trusts-anyone``,
``registry-policy-allows-anyone``, ``pull-allows-anyone``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .baseline import describe_access
from .report import (
    Access,
    BaselineDiff,
    Condition,
    ControlsCheck,
    DestinationInfo,
    Review,
    RoleInfo,
    SourceInfo,
    describe_principal,
    resource_text,
)

SCHEMA = "ecr-replication/review/v1"


def _conditions_json(conditions: Iterable[Condition]) -> list[dict[str, Any]]:
    return [{"operator": c.operator, "key": c.key, "values": list(c.values)} for c in conditions]


def _access_json(access: Access) -> dict[str, Any]:
    return {
        "kind": access.kind,
        "principal": access.principal,
        "registry": access.registry,
        "scope": access.scope,
        "conditions": list(access.conditions),
    }


def review_json(review: Review) -> dict[str, Any]:
    """The review as a JSON-ready document of schema ``ecr-replication/review/v1``."""
    return {
        "schema": SCHEMA,
        "stacks": [
            {
                "name": s.name,
                "account": s.account,
                "region": s.region,
                "templateFile": s.template_file,
            }
            for s in review.stacks
        ],
        "replication": [
            {
                "source": e.source,
                "destination": e.destination,
                "stack": e.stack,
                "repositoryPrefixes": list(e.repository_prefixes),
            }
            for e in review.replication
        ],
        "destinations": [_destination_json(d) for d in review.destinations],
        "sources": [
            {
                "registry": src.registry,
                "stacks": list(src.stacks),
                "roles": _roles_json(src.roles),
                "rules": [
                    {
                        "repositoryPrefixes": list(r.repository_prefixes),
                        "destinations": list(r.destinations),
                        "replicateDeletions": r.replicate_deletions,
                    }
                    for r in src.rules
                ],
            }
            for src in review.sources
        ],
        "warnings": [
            {"code": w.code, "subject": w.subject, "message": w.message} for w in review.warnings
        ],
        "cdkWarnings": [
            {"stack": w.stack, "path": w.path, "message": w.message, "ack": w.ack}
            for w in review.cdk_warnings
        ],
        "baseline": None
        if review.baseline is None
        else {
            "added": [_access_json(a) for a in review.baseline.added],
            "removed": [_access_json(a) for a in review.baseline.removed],
        },
        "controlTower": None
        if review.controls is None
        else {
            "ran": review.controls.ran,
            "passed": review.controls.passed,
            "disabled": list(review.controls.disabled),
            "failures": [
                {
                    "control": f.control,
                    "rule": f.rule,
                    "description": f.description,
                    "resources": list(f.resources),
                }
                for f in review.controls.failures
            ],
        },
    }


def _roles_json(roles: Iterable[RoleInfo]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "stack": r.stack,
            "trustedBy": [
                {"principal": t.principal, "conditions": _conditions_json(t.conditions)}
                for t in r.trusted_by
            ],
            "permissions": [
                {
                    "effect": p.effect,
                    "actions": list(p.actions),
                    "resources": list(p.resources),
                    "conditions": _conditions_json(p.conditions),
                }
                for p in r.permissions
            ],
        }
        for r in roles
    ]


def _destination_json(d: DestinationInfo) -> dict[str, Any]:
    policy = d.registry_policy
    return {
        "registry": d.registry,
        "stacks": list(d.stacks),
        "replicatedFrom": [
            {
                "source": e.source,
                "repositoryPrefixes": list(e.repository_prefixes),
                "sameAccount": not e.cross_account,
            }
            for e in d.replicated_from
        ],
        "registryPolicy": None
        if policy is None
        else {
            "stack": policy.stack,
            "grants": [
                {
                    "principal": g.principal,
                    "account": g.account,
                    "repositories": list(g.repositories),
                    "actions": list(g.actions),
                    "mayCreateRepositories": g.may_create_repositories,
                    "mayReplicate": g.may_replicate,
                    "effect": g.effect,
                    "notActions": list(g.not_actions),
                    "conditions": _conditions_json(g.conditions),
                }
                for g in policy.grants
            ],
            "keptStatements": [
                {
                    "sid": k.sid,
                    "effect": k.effect,
                    "principals": list(k.principals),
                    "actions": list(k.actions),
                    "notActions": list(k.not_actions),
                    "resources": list(k.resources),
                }
                for k in policy.kept
            ],
        },
        "roles": _roles_json(d.roles),
        "repositoryTemplates": [
            {
                "prefix": t.prefix,
                "stack": t.stack,
                "appliedFor": list(t.applied_for),
                "tagMutability": t.tag_mutability,
                "tagMutabilityExclusionFilters": list(t.tag_mutability_exclusion_filters),
                "encryption": {"type": t.encryption_type, "kmsKey": t.kms_key},
                "lifecyclePolicy": t.lifecycle_policy,
                "pullAccess": [
                    {
                        "principal": p.principal,
                        "actions": list(p.actions),
                        "conditions": _conditions_json(p.conditions),
                    }
                    for p in t.pull_access
                ],
                "resourceTags": dict(t.resource_tags),
                "customRole": t.custom_role,
            }
            for t in d.templates
        ],
        "alerts": [
            {
                "stack": a.stack,
                "forwardedTo": a.forwarded_to,
                "topic": a.topic,
                "emails": list(a.emails),
                "alarm": a.alarm,
            }
            for a in d.alerts
        ],
    }


# ---------------------------------------------------------------------------------------------
# Rendering: Markdown


def _node_id(registry: str) -> str:
    return "r_" + re.sub(r"[^A-Za-z0-9]", "_", registry)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`"


def _conditions_text(conditions: Iterable[Condition]) -> str:
    rendered = [f"`{c.key}` {c.operator} `{'`, `'.join(c.values)}`" for c in conditions]
    return "; ".join(rendered) if rendered else "none"


def _repositories_text(patterns: Iterable[str]) -> str:
    return ", ".join(_code(p) for p in patterns) or "none"


def mermaid_flowchart(review: Review) -> str:
    lines = ["flowchart LR"]
    registries = sorted(
        {e.source for e in review.replication}
        | {e.destination for e in review.replication}
        | {d.registry for d in review.destinations}
    )
    for registry in registries:
        account, _, region = registry.partition("/")
        lines.append(f'  {_node_id(registry)}["{account}<br/>{region}"]')
    for edge in review.replication:
        label = "<br/>".join(edge.repository_prefixes) or "every repository"
        lines.append(f'  {_node_id(edge.source)} -->|"{label}"| {_node_id(edge.destination)}')
    return "\n".join(lines)


def review_markdown(review: Review) -> str:
    out: list[str] = ["# ECR replication review", ""]
    sources = review.source_registries
    out += [
        f"{len(review.stacks)} stacks: {len(sources)} source "
        f"{'registry' if len(sources) == 1 else 'registries'} replicating to "
        f"{len(review.destinations)} destination "
        f"{'registry' if len(review.destinations) == 1 else 'registries'}.",
        "",
    ]
    if review.baseline is not None:
        out += _baseline_markdown(review.baseline)
    out += ["## Replication", "", "```mermaid", mermaid_flowchart(review), "```", ""]
    out += _warnings_markdown(review)
    out += _controls_markdown(review.controls)
    for destination in review.destinations:
        out += _destination_markdown(destination)
    for source in review.sources:
        out += _source_markdown(source)
    return "\n".join(out).rstrip("\n") + "\n"


def _baseline_markdown(diff: BaselineDiff) -> list[str]:
    out = ["## Changes since the baseline", ""]
    if not diff.added and not diff.removed:
        return [*out, "No grant was added or removed.", ""]
    for title, items, added in (("Added", diff.added, True), ("Removed", diff.removed, False)):
        if items:
            out += [f"**{title}**", ""]
            out += [f"- {describe_access(a, added=added)}" for a in items]
            out.append("")
    return out


def _warnings_markdown(review: Review) -> list[str]:
    out = ["## Warnings", ""]
    if not review.warnings and not review.cdk_warnings:
        return [*out, "None.", ""]
    out += [f"- **{w.code}** ({w.subject}): {w.message}" for w in review.warnings]
    if review.cdk_warnings:
        if review.warnings:
            out.append("")
        out += ["Synth warnings recorded in the assembly (`aws:cdk:warning`):", ""]
        out += [
            f"- `{w.path}`: {w.message}" + (f" (acknowledge: `{w.ack}`)" if w.ack else "")
            for w in review.cdk_warnings
        ]
    return [*out, ""]


def _controls_markdown(controls: ControlsCheck | None) -> list[str]:
    if controls is None:
        return []
    out = ["## AWS Control Tower proactive controls", ""]
    if controls.passed:
        return [*out, "Passed: no stack breaks a bundled control.", ""]
    if controls.disabled:
        out += [
            f"Not checked: {len(controls.disabled)} control(s) switched off "
            "(`ecrReplication:guardDisabledRules`); where your organization enables one, a "
            "stack that breaks it fails to deploy.",
            "",
            *(f"- **{control}** switched off" for control in controls.disabled),
            "",
        ]
        if not controls.failures:
            return [*out, "No stack breaks a control that ran.", ""]
    if controls.failures:
        out += [f"Failed: {len(controls.failures)} finding(s); a stack that breaks an enabled "
                "control fails to deploy.", ""]  # fmt: skip
        out += [
            f"- **{f.control}** {f.description}: "
            f"{', '.join(_code(r) for r in f.resources) or 'no resource named'}"
            for f in controls.failures
        ]
    return [*out, ""]


def _destination_markdown(d: DestinationInfo) -> list[str]:
    out = [f"## Destination registry {d.registry}", ""]
    stacks = ", ".join(_code(s) for s in d.stacks) or "none in this assembly"
    out += [f"Stacks: {stacks}", ""]
    if d.replicated_from:
        out += [
            "**Replicated from**",
            "",
            "| Source registry | Repository prefixes | Needs a grant |",
        ]
        out.append("|---|---|---|")
        out += [
            f"| {e.source} | {_cell(_repositories_text(e.repository_prefixes) if e.repository_prefixes else 'every repository')} "
            f"| {'yes (other account)' if e.cross_account else 'no (same account)'} |"
            for e in d.replicated_from
        ]
        out.append("")
    out += ["**Who may replicate into it** (registry policy)", ""]
    policy = d.registry_policy
    if policy is None:
        out += ["No registry policy in this assembly: only same-account replication works.", ""]
    else:
        out += [
            "| Principal | Repositories | May create repositories | Conditions |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {'**Deny** ' if g.effect == 'Deny' else ''}{_cell(describe_principal(g.principal))} "
            f"| {_cell(_repositories_text(g.repositories))} "
            f"| {'yes' if g.may_create_repositories else 'no (they must already exist)'} "
            f"| {_cell(_conditions_text(g.conditions))} |"
            for g in policy.grants
            if g.may_replicate or g.may_create_repositories
        ]
        out.append("")
        if policy.kept:
            out += [
                "**Kept statements** (written by hand in the topology, deployed verbatim)",
                "",
                "| Sid | Effect | Principals | Actions | Resources |",
                "|---|---|---|---|---|",
            ]
            out += [
                f"| {_code(k.sid)} | {k.effect} "
                f"| {_cell(', '.join(describe_principal(p) for p in k.principals))} "
                f"| {_cell(', '.join(_code(a) for a in k.actions) or 'not ' + ', '.join(_code(a) for a in k.not_actions))} "
                f"| {_cell(', '.join(_code(resource_text(r)) for r in k.resources))} |"
                for k in policy.kept
            ]
            out.append("")
    out += _roles_markdown(d.roles)
    out += _alerts_markdown(d)
    out += ["**Repository creation templates**", ""]
    if not d.templates:
        out += ["None: repositories created by replication get ECR defaults.", ""]
        return out
    out += [
        "| Prefix | Applied for | Tag mutability | Encryption | Lifecycle policy | Pull-only access | Resource tags |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in d.templates:
        mutability = t.tag_mutability + (
            f" (except {', '.join(_code(f) for f in t.tag_mutability_exclusion_filters)})"
            if t.tag_mutability_exclusion_filters
            else ""
        )
        encryption = t.encryption_type + (f" with {_code(t.kms_key)}" if t.kms_key else "")
        pull = "; ".join(
            describe_principal(p.principal)
            + (f" when {_conditions_text(p.conditions)}" if p.conditions else "")
            for p in t.pull_access
        )
        tags = ", ".join(f"{_code(k)}={_code(v)}" for k, v in t.resource_tags)
        out.append(
            f"| {_code(t.prefix)} | {', '.join(t.applied_for)} | {_cell(mutability)} "
            f"| {_cell(encryption)} | {'yes' if t.lifecycle_policy else 'none'} "
            f"| {_cell(pull or 'none')} | {_cell(tags or 'none')} |"
        )
    if any(t.custom_role for t in d.templates):
        roles = sorted({t.custom_role for t in d.templates if t.custom_role})
        out += [
            "",
            f"ECR applies KMS encryption and tags through role {', '.join(_code(r) for r in roles)}.",
        ]
    out.append("")
    return out


def _alerts_markdown(d: DestinationInfo) -> list[str]:
    out = ["**Who is alerted when replication into it fails**", ""]
    if not d.alerts:
        return [
            *out,
            "Nobody: no rule in this assembly watches its failed-replication events; only "
            "`ecr-replication verify` finds a missing image.",
            "",
        ]
    for a in d.alerts:
        via = f"forwarded to the bus of {a.forwarded_to}, then " if a.forwarded_to else ""
        emails = ", ".join(_code(e) for e in a.emails) or "no e-mail subscription here"
        alarm = "; an alarm on the rule's matches notifies it too" if a.alarm else ""
        out.append(f"- {via}topic {_code(a.topic)}: {emails}{alarm}")
    return [*out, ""]


def _roles_markdown(roles: Iterable[RoleInfo]) -> list[str]:
    roles = tuple(roles)
    out = ["**Roles**", ""]
    if not roles:
        out += ["None.", ""]
    for role in roles:
        out += [f"Role `{role.name}` may be assumed by:", ""]
        out += ["| Principal | Conditions |", "|---|---|"]
        out += [
            f"| {_cell(describe_principal(t.principal))} | {_cell(_conditions_text(t.conditions))} |"
            for t in role.trusted_by
        ]
        out += ["", "and may:", ""]
        out += [
            f"- {'' if p.effect == 'Allow' else f'{p.effect}: '}"
            f"{', '.join(_code(a) for a in p.actions)} on "
            f"{', '.join(_code(resource_text(r)) for r in p.resources) or 'its own resources'}"
            + (f" when {_conditions_text(p.conditions)}" if p.conditions else "")
            for p in role.permissions
        ]
        out.append("")
    return out


def _rules_markdown(source: SourceInfo) -> list[str]:
    """The source's rules in order, each saying whether deletions in the source replicate."""
    if not source.rules:
        return []
    out = [
        "**Replication rules**",
        "",
        "| Rule | Repository prefixes | Destinations | Deletions replicate |",
        "|---|---|---|---|",
    ]
    out += [
        f"| {index} "
        f"| {_cell(_repositories_text(r.repository_prefixes) if r.repository_prefixes else 'every repository')} "
        f"| {_cell(', '.join(r.destinations))} "
        f"| {'**yes**: tag removals, deletes and lifecycle expiries here delete in every destination' if r.replicate_deletions else 'no'} |"
        for index, r in enumerate(source.rules)
    ]
    return [*out, ""]


def _source_markdown(source: SourceInfo) -> list[str]:
    stacks = ", ".join(_code(s) for s in source.stacks)
    header = [f"## Source registry {source.registry}", "", f"Stacks: {stacks}", ""]
    return (
        header
        + _rules_markdown(source)
        + (
            _roles_markdown(source.roles)
            if source.roles
            else [
                "**Roles**",
                "",
                "None: the operations commands read it with the caller's credentials.",
                "",
            ]
        )
    )
