"""``ecr-replication preflight``: will replication work?

Checks every registry of the topology, registries concurrently, each check one or two API
calls (no per-repository or per-image calls):

* ``region-enabled`` (every source and destination registry): the region is enabled in the
  registry's account — EC2 ``DescribeRegions(AllRegions=True)`` ``OptInStatus``, asked once
  per account (:class:`RegionStatuses`), or ``account:GetRegionOptStatus`` when EC2 does not
  answer. Both are asked in the partition's home region (``us-east-1`` for ``aws``), since a
  disabled region's endpoints refuse calls.
  When the region is not enabled the registry's other checks are ``skipped``.
* ``replication-configuration`` (sources): ``DescribeRegistry`` gives the deployed rules; they
  must equal the topology's rules (as a set: the order of rules does not change what ECR
  replicates), whether each replicates deletions (``deleteReplication.enabled``) included. The
  difference lists ``- missing`` (desired, not deployed) rules, and what a deploy would stop
  (repositories, or deletions, that live rules replicate and the topology does not). A source
  with more than 25 unique destinations gets a note (a cap no current AWS page states).
* ``registry-policy`` (destinations with sources in other accounts): ``GetRegistryPolicy``,
  read by the model's IAM evaluator (:mod:`ecr_replication.model.iam`, the reading ``review``
  applies too) against the grants the topology derives
  (:meth:`~ecr_replication.model.ReplicationTopology.destination_registries`): each source
  account must be allowed ``ecr:ReplicateImage``, and ``ecr:CreateRepository`` unless
  ``allowCreateRepository`` is false, on ``repository/<prefix>*`` for each of its prefixes.
  A grant that holds only under a ``Condition`` does not count.
* ``registry-policy-scope`` (destinations whose policy, as the topology writes it, holds actions
  registry policy scope ``V1`` refuses: kept statements with e.g. ``ecr:BatchGetImage``):
  ``GetAccountSetting(REGISTRY_POLICY_SCOPE)``; a registry still on ``V1`` is a problem (the
  deploy would fail there).
* ``repository-templates`` (destinations with templates enabled):
  ``DescribeRepositoryCreationTemplates`` must list a template, applied for what the topology
  says (``appliedFor``, always ``REPLICATION``) with the topology's tag mutability, for each
  template prefix of the registry. An endpoint
  that does not offer the API makes this check (and so the registry) ``unchecked``.

Statuses: ``ok``, ``problem`` (exit 1), ``unchecked`` (exit 3 unless there are problems; the
registry is named either way), ``skipped``.

IAM permissions. Source accounts (the caller): ``sts:GetCallerIdentity``,
``ec2:DescribeRegions`` (or ``account:GetRegionOptStatus``), ``ecr:DescribeRegistry``, and
``sts:AssumeRole`` on the destination roles. Destination accounts (the destination role the
constructs create already has these): ``ec2:DescribeRegions`` (or
``account:GetRegionOptStatus``), ``ecr:GetRegistryPolicy``,
``ecr:DescribeRepositoryCreationTemplates``, ``ecr:GetAccountSetting`` (only the setting
``REGISTRY_POLICY_SCOPE``, only when the policy needs scope V2),
``cloudformation:DescribeStackResources``.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

from ..model import DestinationRegistry, Registry, SourceRegistry, iam
from ..model.adoption import (
    describe_statement,
    live_rules,
    removed_statements,
    stopped_replications,
)
from ..model.limits import REGISTRY_POLICY_SCOPE_SETTING, REGISTRY_POLICY_V1_ACTIONS
from ..model.policies import (
    CREATE_REPOSITORY_ACTIONS,
    REPLICATION_ACTIONS,
    actions_scope_v1_refuses,
    registry_policy_statements,
    repository_arns,
)
from ..model.registries import many_destinations_warning
from ..model.templates import canonical_applied_for
from ..naming import destination_stack_name
from . import report
from .aws import (
    AccessError,
    RegistryAccess,
    Side,
    access_for,
    destination_stack_resources,
    guarded,
    home_region,
    list_repository_creation_templates,
    registry_policy_text,
    require_operation,
    run_concurrently,
)
from .config import add_common_arguments, load_topology

COMMAND = "preflight"
REGION_ENABLED = "region-enabled"
REPLICATION_CONFIGURATION = "replication-configuration"
REGISTRY_POLICY = "registry-policy"
REGISTRY_POLICY_SCOPE = "registry-policy-scope"
REPOSITORY_TEMPLATES = "repository-templates"
ENABLED_REGION_STATUSES = frozenset(
    {"opt-in-not-required", "opted-in", "ENABLED", "ENABLED_BY_DEFAULT"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckResult:
    """The result of one check of one registry."""

    registry: Registry
    side: Side
    check: str
    status: report.Status
    message: str
    details: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "registry": self.registry.key,
            "side": self.side,
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "details": list(self.details),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class _Verdict:
    status: report.Status
    message: str
    details: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Region opt-in


class RegionStatuses:
    """Region opt-in statuses, asked once per account.

    Whether a region is enabled is a fact about an account, not about one of its registries:
    the first registry of an account to ask gets every region's status with one
    ``DescribeRegions(AllRegions=True)``, with its own credentials, and the account's other
    registries read that answer (an account of four registries costs one EC2 call and one EC2
    client, not four). A failed ask is not shared: the next registry of the account asks with
    its own credentials (the roles of one account may differ in what they may call), and
    ``account:GetRegionOptStatus`` stays a per-registry fallback. Thread-safe: registries of one
    account wait for the ask in flight instead of repeating it.
    """

    def __init__(self, access: RegistryAccess) -> None:
        self._access = access
        self._lock = threading.Lock()
        self._account_locks: dict[tuple[str, str], threading.Lock] = {}
        self._known: dict[tuple[str, str], dict[str, str]] = {}

    def status(self, registry: Registry, side: Side) -> tuple[str, str]:
        """The region's opt-in status in the registry's account, and the API that said so."""
        where = home_region(registry)
        account = (where, registry.account)
        with self._lock:
            lock = self._account_locks.setdefault(account, threading.Lock())
        try:
            with lock:
                known = self._known.get(account)
                if known is None:
                    known = self._describe_regions(registry, side, where)
                    self._known[account] = known
            if registry.region not in known:
                raise AccessError(f"ec2:DescribeRegions does not list {registry.region}")
            return known[registry.region], "ec2:DescribeRegions"
        except AccessError as ec2_failure:
            if ec2_failure.credentials:
                raise
            try:
                client = self._access.account(registry, side=side, region=where)
                require_operation(client, "get_region_opt_status")
                with guarded():
                    response = client.get_region_opt_status(RegionName=registry.region)
                return str(response["RegionOptStatus"]), "account:GetRegionOptStatus"
            except AccessError as account_failure:
                raise AccessError(
                    f"{ec2_failure.reason}; account:GetRegionOptStatus: {account_failure.reason}"
                ) from None

    def _describe_regions(self, registry: Registry, side: Side, where: str) -> dict[str, str]:
        ec2 = self._access.ec2(registry, side=side, region=where)
        with guarded():
            regions = ec2.describe_regions(AllRegions=True)
        return {
            str(region["RegionName"]): str(region.get("OptInStatus", "opt-in-not-required"))
            for region in regions.get("Regions", ())
            if "RegionName" in region
        }


def check_region(regions: RegionStatuses, registry: Registry, side: Side) -> _Verdict:
    status, api = regions.status(registry, side)
    if status in ENABLED_REGION_STATUSES:
        return _Verdict(status="ok", message=f"{registry.region} is enabled ({status})")
    return _Verdict(
        status="problem",
        message=f"{registry.region} is not enabled in account {registry.account} ({api}: "
        f"{status}); enable it in the account's settings before replicating there",
    )


# ---------------------------------------------------------------------------------------------
# Replication configuration

RuleSignature = tuple[tuple[str, ...], tuple[str, ...], bool]
"""A rule as a comparable value: (sorted destination keys, sorted prefixes, whether it
replicates deletions)."""


def desired_rules(source: SourceRegistry) -> list[RuleSignature]:
    return [
        (
            tuple(sorted(d.key for d in rule.destinations)),
            tuple(sorted(rule.repository_prefixes)),
            rule.replicate_deletions,
        )
        for rule in source.rules
    ]


def deployed_rules(configuration: Mapping[str, Any]) -> list[RuleSignature]:
    return [
        (
            tuple(sorted(f"{d.get('registryId')}/{d.get('region')}" for d in rule["destinations"])),
            tuple(sorted(f["filter"] for f in rule.get("repositoryFilters", ()))),
            (rule.get("deleteReplication") or {}).get("enabled") is True,
        )
        for rule in configuration.get("rules", ())
    ]


def describe_rule(rule: RuleSignature) -> str:
    destinations, prefixes, deletions = rule
    what = ", ".join(prefixes) if prefixes else "(every repository)"
    return f"{what} -> {', '.join(destinations)}" + (", deletions too" if deletions else "")


def replication_difference(
    desired: Sequence[RuleSignature], deployed: Sequence[RuleSignature]
) -> list[str]:
    """``- missing: ...`` for desired rules that are not deployed."""
    missing = Counter(desired) - Counter(deployed)
    return [f"- missing: {describe_rule(r)}" for r in missing.elements()]


def check_replication_configuration(access: RegistryAccess, source: SourceRegistry) -> _Verdict:
    verdict = _replication_configuration_verdict(access, source)
    if (too_many := many_destinations_warning(source.rules)) is None:
        return verdict
    return replace(verdict, details=(*verdict.details, f"note: {too_many}"))


def _replication_configuration_verdict(access: RegistryAccess, source: SourceRegistry) -> _Verdict:
    ecr = access.ecr(source.registry, side="source", own_account=True)
    with guarded():
        response = ecr.describe_registry()
    configuration = response.get("replicationConfiguration") or {}
    deployed = deployed_rules(configuration)
    desired = desired_rules(source)
    # What deploying the topology would stop: the live rules it does not reproduce.
    stopped = stopped_replications(live_rules(configuration), source)
    difference = [*replication_difference(desired, deployed), *stopped]
    if stopped:
        return _Verdict(
            status="problem",
            message="a deploy replaces the live replication configuration and stops "
            "replication the topology lacks; add those rules to the topology first "
            "(ecr-replication import writes them)",
            details=tuple(difference),
        )
    if not difference:
        count = len(desired)
        return _Verdict(
            status="ok",
            message=f"deployed configuration matches the topology ({count} "
            f"{'rule' if count == 1 else 'rules'})",
        )
    if not deployed:
        return _Verdict(
            status="problem",
            message="no replication configuration is deployed; deploy the source stack",
            details=tuple(difference),
        )
    return _Verdict(
        status="problem",
        message="the deployed replication configuration differs from the topology",
        details=tuple(difference),
    )


# ---------------------------------------------------------------------------------------------
# Registry policy


def missing_grants(destination: DestinationRegistry, document: Mapping[str, Any]) -> list[str]:
    """One line per (source, action, repository pattern) the policy does not allow."""
    registry = destination.registry
    actions = [
        *REPLICATION_ACTIONS,
        *(CREATE_REPOSITORY_ACTIONS if destination.settings.allow_create_repository else ()),
    ]
    lines = []
    for grant in destination.cross_account_grants:
        caller = iam.Caller(account=grant.source.account, partition=grant.source.partition)
        resources = repository_arns(
            registry.partition, registry.region, registry.account, grant.repository_prefixes
        )
        for action in actions:
            for resource in resources:
                evaluation = iam.evaluate(document, caller=caller, action=action, resource=resource)
                if not evaluation.allowed:
                    pattern = resource.split(":", 5)[5]
                    lines.append(
                        f"{grant.source.key} may not {action} on {pattern}: {evaluation.reason()}"
                    )
    return lines


def check_registry_policy(access: RegistryAccess, destination: DestinationRegistry) -> _Verdict:
    if not destination.needs_registry_policy:
        return _Verdict(status="ok", message="no sources in other accounts: no policy needed")
    ecr = access.ecr(destination.registry, side="destination", own_account=True)
    text = registry_policy_text(ecr)
    if text is None:
        if not destination.cross_account_grants:
            return _Verdict(status="ok", message="no registry policy yet: the deploy adds it")
        return _Verdict(
            status="problem",
            message="no registry policy: no source account may replicate into this registry; "
            "deploy the destination stack",
            details=tuple(missing_grants(destination, {})),
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return _Verdict(status="problem", message="the registry policy is not valid JSON")
    if not isinstance(document, Mapping):
        return _Verdict(status="problem", message="the registry policy is not a JSON object")
    removed = [
        f"a deploy removes {describe_statement(st)}"
        for st in removed_statements(
            iam.statements_of(document), registry_policy_statements(destination)
        )
    ]
    missing = missing_grants(destination, document)
    if removed or missing:
        messages = []
        if missing:
            messages.append("the registry policy does not let every source replicate its prefixes")
        if removed:
            messages.append(
                "a deploy replaces the whole registry policy and removes statements the topology "
                "neither generates nor keeps: keep them under "
                "destinationRegistries[].additionalPolicyStatements (ecr-replication import "
                "writes them)"
            )
        return _Verdict(status="problem", message="; ".join(messages), details=(*missing, *removed))
    sources = len(destination.cross_account_grants)
    return _Verdict(
        status="ok",
        message=f"allows every source ({sources}) to replicate its prefixes",
    )


# ---------------------------------------------------------------------------------------------
# Registry policy scope


def needs_scope_v2(destination: DestinationRegistry) -> dict[str, list[str]]:
    """The actions of the policy a deploy writes here that scope V1 refuses, by Sid (none when
    the topology writes no policy)."""
    if not destination.needs_registry_policy:
        return {}
    return actions_scope_v1_refuses(registry_policy_statements(destination))


def check_registry_policy_scope(
    access: RegistryAccess, destination: DestinationRegistry
) -> _Verdict:
    """``GetAccountSetting(REGISTRY_POLICY_SCOPE)``: a registry on V1 refuses the policy."""
    refused = needs_scope_v2(destination)
    what = "; ".join(f"{sid}: {', '.join(actions)}" for sid, actions in refused.items())
    ecr = access.ecr(destination.registry, side="destination", own_account=True)
    require_operation(ecr, "get_account_setting")
    with guarded():
        value = ecr.get_account_setting(name=REGISTRY_POLICY_SCOPE_SETTING).get("value")
    registry = destination.registry
    if value == "V2":
        return _Verdict(
            status="ok",
            message=f"registry policy scope V2: the policy may hold every ECR action ({what})",
        )
    if value == "V1":
        return _Verdict(
            status="problem",
            message="the registry is on registry policy scope V1, which refuses the actions of "
            f"the policy a deploy writes ({what}): the deploy fails here. Switch it to V2 "
            f"first (aws ecr put-account-setting --name {REGISTRY_POLICY_SCOPE_SETTING} --value "
            f"V2 --region {registry.region}, in account {registry.account}), or keep only "
            f"{', '.join(REGISTRY_POLICY_V1_ACTIONS)}",
        )
    raise AccessError(
        f"GetAccountSetting answered {value!r} for {REGISTRY_POLICY_SCOPE_SETTING}, neither V1 "
        "nor V2"
    )


# ---------------------------------------------------------------------------------------------
# Repository creation templates


TEMPLATE_RESOURCE_TYPE = "AWS::ECR::RepositoryCreationTemplate"


def stack_templates(access: RegistryAccess, registry: Registry) -> set[str] | None:
    """The template prefixes the registry's destination stack owns; None without the stack
    (a template's physical id is its prefix)."""
    resources = destination_stack_resources(access, registry)
    if resources is None:
        return None
    return {
        str(r.get("PhysicalResourceId"))
        for r in resources
        if r.get("ResourceType") == TEMPLATE_RESOURCE_TYPE
    }


def check_repository_templates(
    access: RegistryAccess, destination: DestinationRegistry
) -> _Verdict:
    ecr = access.ecr(destination.registry, side="destination", own_account=True)
    templates = list_repository_creation_templates(ecr)
    by_prefix = {t.get("prefix"): t for t in templates}
    wanted_mutability = destination.settings.repository_template.tag_mutability
    wanted_applied = destination.settings.repository_template.applied_for
    owned = (
        stack_templates(access, destination.registry)
        if any(prefix in by_prefix for prefix in destination.template_prefixes)
        else set()
    )
    stack = destination_stack_name(destination.registry)
    conflicts = [
        f"template {prefix!r} exists outside {stack}: the deploy fails (template already exists)"
        for prefix in destination.template_prefixes
        if prefix in by_prefix and prefix not in (owned or set())
    ]
    if conflicts:
        return _Verdict(
            status="problem",
            message="repository creation templates for the topology's prefixes already exist "
            "and the destination stack does not own them. Way out: put their settings in the "
            "topology (ecr-replication import writes them), delete the templates, then deploy; "
            "or adopt them into the stack with cdk import where CloudFormation can import "
            "AWS::ECR::RepositoryCreationTemplate (identifier: the prefix)",
            details=tuple(conflicts),
        )
    lines = []
    for prefix in destination.template_prefixes:
        template = by_prefix.get(prefix)
        if template is None:
            lines.append(
                f"missing template {prefix!r}: repositories that replication creates get ECR "
                "defaults (mutable tags, AES256, no policies)"
            )
            continue
        applied_for = canonical_applied_for(template.get("appliedFor", ()))
        if "REPLICATION" not in applied_for:
            lines.append(
                f"template {prefix!r} is not applied for REPLICATION (appliedFor: "
                f"{', '.join(applied_for) or 'none'})"
            )
        elif applied_for != wanted_applied:
            lines.append(
                f"template {prefix!r} is applied for {', '.join(applied_for)}; the topology "
                f"wants {', '.join(wanted_applied)}"
            )
        mutability = template.get("imageTagMutability")
        if mutability and mutability != wanted_mutability:
            lines.append(
                f"template {prefix!r} has imageTagMutability {mutability}; the topology wants "
                f"{wanted_mutability}"
            )
    if lines:
        return _Verdict(
            status="problem",
            message="repository creation templates are missing or differ",
            details=tuple(lines),
        )
    return _Verdict(
        status="ok",
        message=f"templates in place for {', '.join(destination.template_prefixes)}",
    )


# ---------------------------------------------------------------------------------------------
# The command


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """One registry on one side: what one worker checks."""

    registry: Registry
    side: Side


UNKNOWN_WHEN_UNCHECKED = {
    REGISTRY_POLICY: "a deploy replaces the whole registry policy: what it would remove here is "
    "unknown until the policy can be read",
}
"""What an unchecked check leaves unknown about a deploy (one detail line)."""


def _run_check(target: Target, check: str, verdict: Callable[[], _Verdict]) -> CheckResult:
    try:
        result = verdict()
    except AccessError as failure:
        unknown = UNKNOWN_WHEN_UNCHECKED.get(check)
        result = _Verdict(
            status="unchecked", message=failure.reason, details=(unknown,) if unknown else ()
        )
    return CheckResult(
        registry=target.registry,
        side=target.side,
        check=check,
        status=result.status,
        message=result.message,
        details=result.details,
    )


def check_target(
    access: RegistryAccess, target: Target, regions: RegionStatuses
) -> list[CheckResult]:
    """Every check of one registry on one side, in a fixed order.

    ``regions`` shares region opt-in statuses between the registries of one account.
    """
    topology = access.topology
    registry = target.registry
    checks: list[tuple[str, Callable[[], _Verdict]]] = []
    if target.side == "source":
        source = topology.source(registry)
        assert source is not None  # targets come from the topology's sources
        checks.append(
            (REPLICATION_CONFIGURATION, lambda: check_replication_configuration(access, source))
        )
    else:
        destination = topology.destination_registry(registry)
        assert destination is not None  # targets come from the topology's destinations
        checks.append((REGISTRY_POLICY, lambda: check_registry_policy(access, destination)))
        if needs_scope_v2(destination):
            checks.append(
                (REGISTRY_POLICY_SCOPE, lambda: check_registry_policy_scope(access, destination))
            )
        if destination.needs_template:
            checks.append(
                (REPOSITORY_TEMPLATES, lambda: check_repository_templates(access, destination))
            )
    region = _run_check(
        target, REGION_ENABLED, lambda: check_region(regions, registry, target.side)
    )
    results = [region]
    for check, verdict in checks:
        if region.status == "problem":
            results.append(
                CheckResult(
                    registry=registry,
                    side=target.side,
                    check=check,
                    status="skipped",
                    message="the region is not enabled",
                )
            )
        else:
            results.append(_run_check(target, check, verdict))
    return results


def targets(access: RegistryAccess) -> list[Target]:
    topology = access.topology
    return [Target(registry=s.registry, side="source") for s in topology.sources] + [
        Target(registry=d.registry, side="destination") for d in topology.destination_registries()
    ]


def preflight(
    access: RegistryAccess, *, tracker: report.ProgressTracker | None = None
) -> list[CheckResult]:
    """Every check of every registry of ``access.topology``, registries concurrently."""
    work = targets(access)
    if tracker is not None:
        tracker.add(len(work))
    regions = RegionStatuses(access)
    per_target = run_concurrently(
        work,
        lambda target: check_target(access, target, regions),
        on_done=tracker.advance if tracker is not None else None,
    )
    return [result for results in per_target for result in results]


def outcome_of(results: Sequence[CheckResult]) -> report.Outcome:
    return report.Outcome(
        problems=sum(1 for r in results if r.status == "problem"),
        unchecked=tuple(
            report.Unchecked(registry=r.registry.key, check=r.check, reason=r.message)
            for r in results
            if r.status == "unchecked"
        ),
    )


def render(console: Console, results: Sequence[CheckResult]) -> None:
    table = report.new_table(
        "Preflight: will replication work?", ["Registry", "Side", "Check", "Status", "Details"]
    )
    # A reason every unchecked row shares (no credentials) is said once, below the table.
    shared = report.shared_reason(outcome_of(results).unchecked)
    for r in results:
        if shared is not None and r.status == "unchecked":
            details = "\n".join(r.details)
        else:
            details = "\n".join((r.message, *(f"  {line}" for line in r.details)))
        table.add_row(
            report.cell(r.registry.key),
            report.cell(r.side),
            report.cell(r.check),
            report.status_cell(r.status),
            report.cell(details),
        )
    console.print(table)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)


def run(args: argparse.Namespace) -> int:
    topology = load_topology(args.config)
    access = access_for(topology, args)
    console = report.make_console()
    with report.progress(console, "Checking registries", enabled=not args.json) as tracker:
        results = preflight(access, tracker=tracker)
    return report.finish(
        command=COMMAND,
        as_json=args.json,
        outcome=outcome_of(results),
        body={"checks": [r.to_json() for r in results]},
        render=lambda c: render(c, results),
        ok_message="Replication will work: every check passed.",
        console=console,
    )
