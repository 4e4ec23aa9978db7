"""``ecr-replication import``: the topology of what is live, to adopt a registry that replicates.

Reads each ``--source`` registry's replication configuration (``DescribeRegistry``) and, for
every destination it replicates to, the registry policy (``GetRegistryPolicy``) and the
repository creation templates (``DescribeRepositoryCreationTemplates``), through the
destination role as the other commands do (or the caller's credentials with
``--no-assume-role``). With ``--operations-account ACCOUNT`` it reads as the other commands do
from that account (sources through their source roles) and writes ``operations: {"account":
ACCOUNT}``. Prints (or writes to ``--output``) a topology JSON that ``--config``, ``cdk.json``
and the app accept:

* the rules, their prefixes, destinations and whether they replicate deletions
  (``deleteReplication``), per source (a note past 25 unique destinations of one source);
* per destination: ``allowCreateRepository`` as the live policy grants it; the settings of the
  live templates for the topology's prefixes, ``appliedFor`` included
  (``repositoryTemplate.enabled: false`` when there is none, so a deploy adds nothing that was not there); every live policy statement that the
  generated grants do not reproduce, under ``additionalPolicyStatements`` (a statement
  equivalent to a generated grant is not duplicated; one without a Sid gets ``Kept<n>``).

Each part of a registry is read on its own: what was read is written whatever else failed
there, and a part that was not read is named (exit 3) and written so that a deploy leaves it
as it is where the topology can say so. Templates not read: ``repositoryTemplate.enabled:
false``. A registry policy not read cannot be left alone by a topology whose sources need it
(a deploy writes the whole policy): the destination is still written, without kept
statements, and ``preflight`` of the file names that policy ``unchecked`` ("what a deploy
would remove there is unknown") until it can be read. A source not read is left out (no stack:
a deploy leaves its configuration); its grants in a destination's policy are kept verbatim.

``preflight`` of the imported topology reports nothing that a deploy would remove. What the
topology cannot carry (a template with a repository policy beyond pull-only access, one not
applied for ``REPLICATION``, templates for one registry that differ from each other) is named on stderr as a problem (exit 1).

Exit codes as the other commands: 0 everything read and carried; 1 something live cannot be
carried by the topology; 2 bad usage; 3 a part of a registry could not be read. Human lines go
to stderr; stdout holds only the topology, or with ``--json`` the ``ecr-replication/import/v1``
document (see :mod:`ecr_replication.ops.report`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ReplicationConfigError, UsageError
from ..model import (
    DestinationRegistry,
    OperationsSettings,
    Registry,
    ReplicationRule,
    ReplicationTopology,
    SourceRegistry,
    iam,
    parse_topology,
)
from ..model.adoption import (
    StackAlerts,
    live_rules,
    monitoring_json,
    removed_statements,
    stack_alerts,
    template_json,
)
from ..model.checks import account_problem, registry_statement_problems
from ..model.policies import CREATE_REPOSITORY_ACTIONS, generated_statements, repository_arns
from ..model.registries import many_destinations_warning
from ..naming import destination_role_name
from . import report
from .aws import (
    AccessError,
    RegistryAccess,
    access_for,
    destination_stack_resources,
    guarded,
    list_repository_creation_templates,
    registry_policy_text,
    run_concurrently,
)
from .config import add_access_arguments, registry_argument

COMMAND = "import"
REPLICATION_CONFIGURATION = "replication-configuration"
REGISTRY_POLICY = "registry-policy"
REPOSITORY_TEMPLATES = "repository-templates"
"""The parts of a registry import reads, named as ``preflight`` names its checks of them."""
LEAVE_TEMPLATES = {"enabled": False}
"""``repositoryTemplate`` when there are none or they are unknown: a deploy creates none."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Unread:
    """A part of a registry that could not be read, why, and what the topology makes of it."""

    registry: Registry
    part: str
    reason: str
    left_as: str

    @property
    def line(self) -> str:
        return f"{self.registry.key}: {self.reason}; {self.left_as}"

    def to_unchecked(self) -> report.Unchecked:
        return report.Unchecked(
            registry=self.registry.key, check=self.part, reason=f"{self.reason}; {self.left_as}"
        )


@dataclass(kw_only=True)
class Findings:
    """What could not be read (exit 3) and what the topology cannot carry (exit 1)."""

    unread: list[Unread] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alerts: list[StackAlerts] = field(default_factory=list)
    """The alerts the destination stacks hold (``monitoring`` is read back from them)."""
    roles: list[Registry] = field(default_factory=list)
    """The destinations whose stacks hold the destination role (its trust is not read)."""

    def add(self, other: Findings) -> None:
        self.unread += other.unread
        self.problems += other.problems
        self.notes += other.notes
        self.alerts += other.alerts
        self.roles += other.roles

    @property
    def outcome(self) -> report.Outcome:
        return report.Outcome(
            problems=len(self.problems),
            unchecked=tuple(u.to_unchecked() for u in self.unread),
        )

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code


# ---------------------------------------------------------------------------------------------
# Sources


def read_source(
    access: RegistryAccess, registry: Registry
) -> tuple[SourceRegistry | None, Findings]:
    """A source registry with its live rules (None when it has none or cannot be read)."""
    findings = Findings()
    try:
        ecr = access.ecr(registry, side="source", own_account=True)
        with guarded():
            configuration = ecr.describe_registry().get("replicationConfiguration") or {}
    except AccessError as failure:
        findings.unread.append(
            Unread(
                registry=registry,
                part=REPLICATION_CONFIGURATION,
                reason=f"replication configuration: {failure.reason}",
                left_as="the source is left out, so a deploy leaves its replication as it is",
            )
        )
        return None, findings
    rules = []
    for index, live in enumerate(live_rules(configuration)):
        if not live.destinations:
            findings.problems.append(
                f"{registry.key}: rule {index} has no destination in a known region; it is left out"
            )
            continue
        rules.append(
            ReplicationRule(
                destinations=live.destinations,
                repository_prefixes=live.prefixes,
                replicate_deletions=live.replicate_deletions,
            )
        )
    if not rules:
        findings.notes.append(f"{registry.key}: no replication rule is deployed; left out")
        return None, findings
    try:
        source = SourceRegistry(account=registry.account, region=registry.region, rules=rules)
    except ReplicationConfigError as error:
        findings.problems += [f"{registry.key}: {p}" for p in error.problems]
        return None, findings
    if (too_many := many_destinations_warning(source.rules)) is not None:
        findings.notes.append(f"{registry.key}: {too_many}")
    return source, findings


def _source_json(source: SourceRegistry) -> dict[str, Any]:
    rules = []
    for rule in source.rules:
        rendered: dict[str, Any] = {}
        if rule.repository_prefixes:
            rendered["repositoryPrefixes"] = list(rule.repository_prefixes)
        rendered["destinations"] = [
            {"account": d.account, "region": d.region} for d in rule.destinations
        ]
        if rule.replicate_deletions:
            rendered["replicateDeletions"] = True
        rules.append(rendered)
    return {"account": source.account, "region": source.region, "rules": rules}


# ---------------------------------------------------------------------------------------------
# Destinations


def _allows_create(
    destination: DestinationRegistry, statements: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether the live policy lets every cross-account source create its repositories; True
    for a registry without a policy (nothing to keep: the library's default grant)."""
    if not statements:
        return True
    registry = destination.registry
    return all(
        iam.evaluate(
            statements,
            caller=iam.Caller(account=grant.source.account, partition=grant.source.partition),
            action=CREATE_REPOSITORY_ACTIONS[0],
            resource=resource,
        ).allowed
        for grant in destination.cross_account_grants
        for resource in repository_arns(
            registry.partition, registry.region, registry.account, grant.repository_prefixes
        )
    )


def kept_statements(
    destination: DestinationRegistry, live: Sequence[Mapping[str, Any]], findings: Findings
) -> list[dict[str, Any]]:
    """The live statements the generated grants do not reproduce, ready to be kept."""
    generated = generated_statements(destination)
    taken = {str(s.get("Sid")) for s in generated}
    kept = []
    for index, statement in enumerate(removed_statements(live, generated), start=1):
        keep = dict(statement)
        sid = keep.get("Sid")
        if not isinstance(sid, str) or not sid:
            sid = f"Kept{index}"
        while sid in taken:
            sid = f"{sid}Kept"
        keep["Sid"] = sid
        taken.add(sid)
        problems = registry_statement_problems(keep)
        if problems:
            field_name, message = problems[0]
            findings.problems.append(
                f"{destination.registry.key}: statement {sid} cannot be kept by the topology "
                f"({field_name}: {message}); a deploy would remove it"
            )
            continue
        kept.append(keep)
    return kept


def _policy_json(
    destination: DestinationRegistry, text: str | None, findings: Findings
) -> dict[str, Any]:
    """``allowCreateRepository`` and ``additionalPolicyStatements`` from the live policy."""
    key = destination.registry.key
    live: list[Mapping[str, Any]] = []
    if text is not None:
        try:
            live = iam.statements_of(json.loads(text))
        except json.JSONDecodeError:
            findings.problems.append(f"{key}: the registry policy is not JSON")
    settings: dict[str, Any] = {}
    if destination.cross_account_grants:
        settings["allowCreateRepository"] = _allows_create(destination, live)
    shaped = DestinationRegistry(
        registry=destination.registry,
        grants=destination.grants,
        settings=type(destination.settings)(
            allow_create_repository=settings.get("allowCreateRepository", True)
        ),
    )
    kept = kept_statements(shaped, live, findings)
    if kept:
        settings["additionalPolicyStatements"] = kept
    return settings


def _templates_json(
    destination: DestinationRegistry, live: Sequence[Mapping[str, Any]], findings: Findings
) -> dict[str, Any]:
    key = destination.registry.key
    by_prefix = {str(t.get("prefix")): t for t in live}
    ours = [by_prefix[p] for p in destination.template_prefixes if p in by_prefix]
    others = sorted(set(by_prefix) - set(destination.template_prefixes))
    if others:
        findings.notes.append(
            f"{key}: templates {', '.join(others)} are for other prefixes; a deploy leaves them"
        )
    if not ours:
        findings.notes.append(
            f"{key}: no repository creation template for {', '.join(destination.template_prefixes)}"
            "; imported as repositoryTemplate.enabled false (set it true to get the library's "
            "immutable, encrypted defaults)"
        )
        return dict(LEAVE_TEMPLATES)
    converted = [template_json(t) for t in ours]
    settings, notes = converted[0]
    findings.problems += [f"{key}: template {ours[0].get('prefix')!r}: {n}" for n in notes]
    for template, (other, _notes) in zip(ours[1:], converted[1:], strict=True):
        if other != settings:
            findings.problems.append(
                f"{key}: template {template.get('prefix')!r} differs from "
                f"{ours[0].get('prefix')!r}; the topology has one template setting per registry "
                f"(imported: {ours[0].get('prefix')!r})"
            )
    return settings


def _unread_policy(destination: DestinationRegistry, reason: str) -> Unread:
    left_as = (
        "a deploy replaces the whole registry policy, so what it would remove there is unknown "
        "(no statement is kept; preflight names the policy unchecked until it can be read)"
        if destination.cross_account_grants
        else "no source in another account needs a registry policy here, so a deploy leaves it"
    )
    return Unread(
        registry=destination.registry, part=REGISTRY_POLICY, reason=reason, left_as=left_as
    )


def _unread_templates(destination: DestinationRegistry, reason: str) -> Unread:
    return Unread(
        registry=destination.registry,
        part=REPOSITORY_TEMPLATES,
        reason=reason,
        left_as="its repository creation templates are written as repositoryTemplate.enabled "
        "false, so a deploy leaves them as they are",
    )


def read_destination(
    access: RegistryAccess, destination: DestinationRegistry
) -> tuple[dict[str, Any], Findings]:
    """A destination's settings as the topology's JSON form: every part that was read, and for
    each part that was not, what leaves it as it is where the topology can say so."""
    registry = destination.registry
    findings = Findings()
    settings: dict[str, Any] = {"account": registry.account, "region": registry.region}
    try:
        ecr = access.ecr(registry, side="destination", own_account=True)
    except AccessError as failure:  # credentials the registry refuses: no part can be read
        findings.unread += [
            _unread_policy(destination, failure.reason),
            _unread_templates(destination, failure.reason),
        ]
        return {**settings, "repositoryTemplate": dict(LEAVE_TEMPLATES)}, findings
    try:
        text = registry_policy_text(ecr)
    except AccessError as failure:
        findings.unread.append(_unread_policy(destination, failure.reason))
    else:
        settings.update(_policy_json(destination, text, findings))
    try:
        templates = list_repository_creation_templates(ecr)
    except AccessError as failure:
        findings.unread.append(_unread_templates(destination, failure.reason))
        settings["repositoryTemplate"] = dict(LEAVE_TEMPLATES)
    else:
        settings["repositoryTemplate"] = _templates_json(destination, templates, findings)
    _read_stack(access, registry, findings)
    return settings, findings


def _read_stack(access: RegistryAccess, registry: Registry, findings: Findings) -> None:
    """What the destination stack holds beyond the registry's settings: its alerts, and the
    destination role (``DescribeStackResources``, which the destination role may call)."""
    try:
        resources = destination_stack_resources(access, registry)
    except AccessError as failure:
        findings.notes.append(
            f"{registry.key}: its destination stack could not be read ({failure.reason}): "
            "monitoring and destinationDefaults.role are not read there; if the stack alerts on "
            "failed replication, deploying this file as it is would remove the alerts"
        )
        return
    role = access.role_name or destination_role_name(registry.region)
    alerts = stack_alerts(registry, resources or (), role)
    if alerts is not None:
        findings.alerts.append(alerts)
    if any(str(r.get("PhysicalResourceId")) == role for r in resources or ()):
        findings.roles.append(registry)


# ---------------------------------------------------------------------------------------------
# The command


def import_topology(
    access: RegistryAccess,
    sources: Sequence[Registry],
    *,
    operations: OperationsSettings | None = None,
) -> tuple[dict[str, Any] | None, Findings]:
    """The topology JSON of what is live, and what was not read or cannot be carried.

    ``operations``: the operations account the commands run from; sources are read through
    their source roles from it, and the topology names it.
    """
    findings = Findings()
    if operations is not None:
        access.use_operations(operations)
    found = []
    for source, read in run_concurrently(sources, lambda r: read_source(access, r)):
        findings.add(read)
        if source is not None:
            found.append(source)
    if not found:
        return None, findings
    topology = ReplicationTopology(sources=found, operations=operations)
    access.use_topology(topology)
    destinations = topology.destination_registries()
    overrides = []
    for settings, read in run_concurrently(destinations, lambda d: read_destination(access, d)):
        findings.add(read)
        overrides.append(settings)
    document: dict[str, Any] = {"sources": [_source_json(s) for s in found]}
    if overrides:
        document["destinationRegistries"] = overrides
    monitoring, notes = monitoring_json(findings.alerts)
    if monitoring is not None:
        document["monitoring"] = monitoring
    findings.notes += notes
    if operations is not None:
        document["operations"] = {"account": operations.account}
        findings.notes.append(
            f"operations: only the account {operations.account} is imported; allowBackfill "
            "(default false) is not read: set it as the live source roles have it before "
            "deploying"
        )
    findings.notes += _unread_settings_notes(found, findings.roles)
    parse_topology(document)  # what is written is what the app and --config accept
    return document, findings


def _unread_settings_notes(
    sources: Sequence[SourceRegistry], roles: Sequence[Registry]
) -> list[str]:
    """The settings no read-only role can see, each named with what a deploy of the file as
    it is would do."""
    notes = [
        "sources[].backfillExistingImages and backfillFunction: not read (the read-only roles "
        "do not see the source stacks): if the stack of "
        f"{', '.join(s.registry.key for s in sources)} runs a backfill on deploy, deploying "
        "this file as it is would remove it"
    ]
    if roles:
        notes.append(
            "destinationDefaults.role: the trust conditions of the destination roles of "
            f"{', '.join(r.key for r in roles)} (externalId, trustedPrincipalArns, "
            "principalOrgId) are not read: deploying this file as it is would trust the "
            "default principals without conditions; set them as the live roles have them"
        )
    return notes


def operations_account_argument(value: str) -> str:
    """An ``--operations-account`` value: checked as the model checks an account id."""
    problem = account_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        dest="sources",
        metavar="ACCOUNT/REGION",
        action="append",
        type=registry_argument,
        required=True,
        help="a source registry to read (repeatable)",
    )
    parser.add_argument("--output", metavar="FILE", help="write the topology here, not to stdout")
    parser.add_argument(
        "--operations-account",
        metavar="ACCOUNT",
        type=operations_account_argument,
        default=None,
        help="the operations account the commands run from: read the registries through the "
        "roles it assumes (run from that account) and write operations: {account} into the "
        "topology",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a machine-readable report (the topology, what could not be read or "
        "carried) on stdout",
    )
    add_access_arguments(parser)


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--output {path}: cannot write it ({error.strerror})") from None


def run(args: argparse.Namespace) -> int:
    sources = list(dict.fromkeys(args.sources))
    access = access_for(None, args)
    operations = (
        OperationsSettings(account=args.operations_account)
        if args.operations_account is not None
        else None
    )
    document, findings = import_topology(access, sources, operations=operations)
    for unread in findings.unread:
        print(f"ecr-replication import: could not read {unread.line}", file=sys.stderr)
    for line in findings.problems:
        print(f"ecr-replication import: cannot carry: {line}", file=sys.stderr)
    for line in findings.notes:
        print(f"ecr-replication import: note: {line}", file=sys.stderr)
    if document is None:
        print("ecr-replication import: nothing to write: no source could be read", file=sys.stderr)
    text = json.dumps(document, indent=2) + "\n"
    if document is not None and args.output is not None:
        _write(args.output, text)
    if args.json:
        body = {
            "topology": document,
            "output": args.output if document is not None else None,
            "cannotCarry": findings.problems,
            "notes": findings.notes,
        }
        sys.stdout.write(
            json.dumps(report.json_document(COMMAND, findings.outcome, body), indent=2) + "\n"
        )
    elif document is not None and args.output is None:
        sys.stdout.write(text)
    return findings.exit_code
