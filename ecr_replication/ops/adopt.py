"""``ecr-replication import``: the topology of what is live, to adopt a registry that replicates.

Reads each ``--source`` registry's replication configuration (``DescribeRegistry``) and, for
every destination it replicates to, the registry policy (``GetRegistryPolicy``) and the
repository creation templates (``DescribeRepositoryCreationTemplates``), through the
destination role as the other commands do (or the caller's credentials with
``--no-assume-role``). Prints (or writes to ``--output``) a topology JSON that ``--config``,
``cdk.json`` and the app accept:

* the rules, their prefixes and destinations, per source;
* per destination: ``allowCreateRepository`` as the live policy grants it; the settings of the
  live templates for the topology's prefixes (``repositoryTemplate.enabled: false`` when there
  is none, so a deploy adds nothing that was not there); every live policy statement that the
  generated grants do not reproduce, under ``additionalPolicyStatements`` (a statement
  equivalent to a generated grant is not duplicated; one without a Sid gets ``Kept<n>``).

``preflight`` of the imported topology reports nothing that a deploy would remove. What the
topology cannot carry (a template with a repository policy beyond pull-only access, templates
for one registry that differ from each other) is named on stderr as a problem (exit 1).

Exit codes as the other commands: 0 everything read and carried; 1 something live cannot be
carried by the topology; 2 bad usage; 3 a registry could not be read: what was read is still
written, and what was not is named.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ReplicationConfigError, UsageError, exit_code
from ..model import (
    DestinationRegistry,
    Registry,
    ReplicationRule,
    ReplicationTopology,
    SourceRegistry,
    iam,
    parse_topology,
)
from ..model.adoption import (
    live_rules,
    removed_statements,
    template_json,
)
from ..model.checks import registry_statement_problems
from ..model.policies import CREATE_REPOSITORY_ACTIONS, generated_statements, repository_arns
from .aws import (
    AccessError,
    RegistryAccess,
    access_for,
    guarded,
    list_repository_creation_templates,
    registry_policy_text,
    run_concurrently,
)
from .config import add_access_arguments, registry_argument

COMMAND = "import"


@dataclass(kw_only=True)
class Findings:
    """What could not be read (exit 3) and what the topology cannot carry (exit 1)."""

    unread: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code(problems=bool(self.problems), unchecked=bool(self.unread))


# ---------------------------------------------------------------------------------------------
# Sources


def read_source(
    access: RegistryAccess, registry: Registry, findings: Findings
) -> SourceRegistry | None:
    """A source registry with its live rules, or None when it has none or cannot be read."""
    try:
        ecr = access.ecr(registry, side="source", own_account=True)
        with guarded():
            configuration = ecr.describe_registry().get("replicationConfiguration") or {}
    except AccessError as failure:
        findings.unread.append(f"{registry.key}: replication configuration: {failure.reason}")
        return None
    rules = []
    for index, (destinations, prefixes) in enumerate(live_rules(configuration)):
        if not destinations:
            findings.problems.append(
                f"{registry.key}: rule {index} has no destination in a known region; it is left out"
            )
            continue
        rules.append(ReplicationRule(destinations=destinations, repository_prefixes=prefixes))
    if not rules:
        findings.notes.append(f"{registry.key}: no replication rule is deployed; left out")
        return None
    try:
        return SourceRegistry(account=registry.account, region=registry.region, rules=rules)
    except ReplicationConfigError as error:
        findings.problems += [f"{registry.key}: {p}" for p in error.problems]
        return None


def _source_json(source: SourceRegistry) -> dict[str, Any]:
    rules = []
    for rule in source.rules:
        rendered: dict[str, Any] = {}
        if rule.repository_prefixes:
            rendered["repositoryPrefixes"] = list(rule.repository_prefixes)
        rendered["destinations"] = [
            {"account": d.account, "region": d.region} for d in rule.destinations
        ]
        rules.append(rendered)
    return {"account": source.account, "region": source.region, "rules": rules}


# ---------------------------------------------------------------------------------------------
# Destinations


def _allows_create(
    destination: DestinationRegistry, statements: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether the live policy lets every cross-account source create its repositories."""
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
        return {"enabled": False}
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


def read_destination(
    access: RegistryAccess, destination: DestinationRegistry, findings: Findings
) -> dict[str, Any] | None:
    """A destination's settings as the topology's JSON form, or None when it cannot be read."""
    registry = destination.registry
    try:
        ecr = access.ecr(registry, side="destination", own_account=True)
        text = registry_policy_text(ecr)
        templates = list_repository_creation_templates(ecr)
    except AccessError as failure:
        findings.unread.append(f"{registry.key}: {failure.reason}")
        return None
    settings: dict[str, Any] = {"account": registry.account, "region": registry.region}
    live: list[Mapping[str, Any]] = []
    if text is not None:
        try:
            live = iam.statements_of(json.loads(text))
        except json.JSONDecodeError:
            findings.problems.append(f"{registry.key}: the registry policy is not JSON")
    if destination.cross_account_grants and live:
        settings["allowCreateRepository"] = _allows_create(destination, live)
    shaped = DestinationRegistry(
        registry=registry,
        grants=destination.grants,
        settings=type(destination.settings)(
            allow_create_repository=settings.get("allowCreateRepository", True)
        ),
    )
    kept = kept_statements(shaped, live, findings)
    if kept:
        settings["additionalPolicyStatements"] = kept
    settings["repositoryTemplate"] = _templates_json(destination, templates, findings)
    return settings


# ---------------------------------------------------------------------------------------------
# The command


def import_topology(
    access: RegistryAccess, sources: Sequence[Registry]
) -> tuple[dict[str, Any] | None, Findings]:
    """The topology JSON of what is live, and what was not read or cannot be carried."""
    findings = Findings()
    read = run_concurrently(sources, lambda r: read_source(access, r, findings))
    found = [s for s in read if s is not None]
    if not found:
        return None, findings
    topology = ReplicationTopology(sources=found)
    access.use_topology(topology)
    destinations = topology.destination_registries()
    settings = run_concurrently(destinations, lambda d: read_destination(access, d, findings))
    document: dict[str, Any] = {"sources": [_source_json(s) for s in found]}
    overrides = [s for s in settings if s is not None]
    if overrides:
        document["destinationRegistries"] = overrides
    parse_topology(document)  # what is written is what the app and --config accept
    return document, findings


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
    add_access_arguments(parser)


def run(args: argparse.Namespace) -> int:
    sources = list(dict.fromkeys(args.sources))
    access = access_for(None, args)
    document, findings = import_topology(access, sources)
    for line in findings.unread:
        print(f"ecr-replication import: could not read {line}", file=sys.stderr)
    for line in findings.problems:
        print(f"ecr-replication import: cannot carry: {line}", file=sys.stderr)
    for line in findings.notes:
        print(f"ecr-replication import: note: {line}", file=sys.stderr)
    if document is None:
        print("ecr-replication import: nothing to write: no source could be read", file=sys.stderr)
        return findings.exit_code
    text = json.dumps(document, indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(
                f"--output {args.output}: cannot write it ({error.strerror})"
            ) from None
    return findings.exit_code
