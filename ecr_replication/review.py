"""``ecr-replication review``: what a synthesized cloud assembly would deploy, on one page.

Reads the cloud assembly folder that ``cdk synth`` writes (default ``cdk.out``): its
``manifest.json``, every stack template it names and the stacks' metadata. It reads the
templates, not the topology, so the report shows what would really be deployed, including
hand edits, escape hatches and subclassed constructs. The account and region of each stack
come from the manifest artifact's ``environment`` (``aws://ACCOUNT/REGION``). Never imports
``aws_cdk``.

The report (Markdown by default, or JSON) has:

* a Mermaid flowchart of source registries to destination registries, edges labelled with the
  repository prefixes of the replication rules;
* per destination registry: who may replicate which repositories into it (its registry
  policy) and whether they may create repositories; the IAM roles in it, exactly who may
  assume each (principals and conditions) and what each may do; the repository creation
  templates (tag mutability, encryption, lifecycle policy, pull-only access, tags);
* warnings for a reviewer, plus every ``aws:cdk:warning`` recorded in the assembly;
* with ``--baseline OTHER_CDK_OUT``: the grants added and removed compared with that earlier
  synth.

Exit codes: 0 when the report was made; 2 with a one-line error when a folder is not a cloud
assembly (missing, no ``manifest.json``, unreadable) or the output file cannot be written.

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
              "actions": [...], "mayCreateRepositories": bool, "conditions": [...]}]},
         "roles": [{"name", "stack", "trustedBy": [{"principal", "conditions": [...]}],
                    "permissions": [{"effect", "actions": [...], "resources": [...]}]}],
         "repositoryTemplates": [
             {"prefix", "stack", "appliedFor": [...], "tagMutability",
              "tagMutabilityExclusionFilters": [...],
              "encryption": {"type", "kmsKey": "..." | null},
              "lifecyclePolicy": bool, "pullAccess": [{"principal", "actions": [...],
              "conditions": [...]}], "resourceTags": {"key": "value"},
              "customRole": "..." | null}]}
      ],
      "warnings": [{"code", "subject", "message"}],
      "cdkWarnings": [{"stack", "path", "message", "ack": "..." | null}],
      "baseline": null | {"added": [ACCESS...], "removed": [ACCESS...]}
    }

``ACCESS`` is one grant, ``{"kind", "principal", "registry", "scope", "conditions"}``, where
``kind`` is ``replicate`` (scope: a repository pattern), ``create-repository`` (scope: a
repository pattern), ``assume-role`` (scope: the role name), ``pull`` (scope: a repository
template prefix) or ``replication-rule`` (principal: the source registry; scope: a repository
prefix, ``*`` for every repository).

Warning codes: ``unfiltered-cross-account-rule``, ``missing-replication-grant``,
``grant-without-prefixes``, ``mutable-destination-tags``, ``no-repository-template``,
``role-trusts-whole-account``, ``role-trusts-anyone``, ``registry-policy-allows-anyone``,
``pull-allows-anyone``, ``uninterpreted-deny``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cli import EXIT_OK, UsageError

SCHEMA = "ecr-replication/review/v1"
STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"
CDK_WARNING = "aws:cdk:warning"

_ENVIRONMENT = re.compile(r"^aws://(?P<account>[^/]+)/(?P<region>[^/]+)$")
_ACCOUNT_PRINCIPAL = re.compile(r"^(?:arn:[^:]+:iam::(?P<arn>[0-9]{12}):.*|(?P<bare>[0-9]{12}))$")
_ACCOUNT_ROOT = re.compile(r"^(?:arn:[^:]+:iam::[0-9]{12}:root|[0-9]{12})$")
_REPOSITORY_ARN = re.compile(r"^arn:[^:]+:ecr:[^:]*:[^:]*:repository/(?P<pattern>.+)$")
_ACK_SUFFIX = re.compile(r"\s*\[ack: (?P<ack>[^\]]+)\]$")


# ---------------------------------------------------------------------------------------------
# The report's values


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    operator: str
    key: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.key} {self.operator} {', '.join(self.values)}"


@dataclass(frozen=True, kw_only=True, slots=True)
class StackInfo:
    name: str
    account: str
    region: str
    template_file: str

    @property
    def registry(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(frozen=True, kw_only=True, slots=True)
class ReplicationEdge:
    """A source registry's rules towards one destination registry (prefixes merged)."""

    source: str
    destination: str
    stack: str
    repository_prefixes: tuple[str, ...]  # () = every repository

    @property
    def cross_account(self) -> bool:
        return self.source.split("/")[0] != self.destination.split("/")[0]


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryGrant:
    principal: str
    account: str | None
    repositories: tuple[str, ...]
    actions: tuple[str, ...]
    conditions: tuple[Condition, ...]

    @property
    def may_replicate(self) -> bool:
        return _allows(self.actions, "ecr:ReplicateImage")

    @property
    def may_create_repositories(self) -> bool:
        return _allows(self.actions, "ecr:CreateRepository")


@dataclass(frozen=True, kw_only=True, slots=True)
class RegistryPolicyInfo:
    stack: str
    grants: tuple[RegistryGrant, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Trust:
    principal: str
    conditions: tuple[Condition, ...]
    actions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Permission:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleInfo:
    name: str
    stack: str
    trusted_by: tuple[Trust, ...]
    permissions: tuple[Permission, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class TemplateInfo:
    prefix: str
    stack: str
    applied_for: tuple[str, ...]
    tag_mutability: str
    tag_mutability_exclusion_filters: tuple[str, ...]
    encryption_type: str
    kms_key: str | None
    lifecycle_policy: bool
    pull_access: tuple[Trust, ...]
    resource_tags: tuple[tuple[str, str], ...]
    custom_role: str | None

    @property
    def is_mutable(self) -> bool:
        return self.tag_mutability.startswith("MUTABLE")


@dataclass(frozen=True, kw_only=True, slots=True)
class DestinationInfo:
    registry: str
    stacks: tuple[str, ...]
    replicated_from: tuple[ReplicationEdge, ...]
    registry_policy: RegistryPolicyInfo | None
    roles: tuple[RoleInfo, ...]
    templates: tuple[TemplateInfo, ...]


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class ReviewWarning:
    code: str
    subject: str
    message: str


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class CdkWarning:
    stack: str
    path: str
    message: str
    ack: str | None


@dataclass(frozen=True, kw_only=True, slots=True, order=True)
class Access:
    """One grant, as compared between two synths."""

    kind: str
    principal: str
    registry: str
    scope: str
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class BaselineDiff:
    added: tuple[Access, ...]
    removed: tuple[Access, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Review:
    stacks: tuple[StackInfo, ...]
    replication: tuple[ReplicationEdge, ...]
    destinations: tuple[DestinationInfo, ...]
    warnings: tuple[ReviewWarning, ...]
    cdk_warnings: tuple[CdkWarning, ...]
    baseline: BaselineDiff | None = None

    @property
    def source_registries(self) -> tuple[str, ...]:
        return tuple(sorted({edge.source for edge in self.replication}))


# ---------------------------------------------------------------------------------------------
# Reading the assembly


@dataclass(frozen=True, kw_only=True, slots=True)
class _Stack:
    info: StackInfo
    template: Mapping[str, Any]
    metadata: Mapping[str, Any]


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not valid JSON"
        raise UsageError(f"{path}: cannot read {what} ({reason})") from None


# Templates and manifests may be hand-edited: a value of an unexpected JSON type is read as
# absent, never trusted to have the shape the CDK writes (which would end in a traceback).
def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def read_assembly(folder: Path) -> list[_Stack]:
    """Every stack of a cloud assembly (nested assemblies included), with template and metadata.

    Raises :class:`UsageError` (exit 2) when ``folder`` is not a readable cloud assembly.
    """
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "no such folder"
        raise UsageError(
            f"{folder}: {what}; give the cloud assembly folder that cdk synth writes "
            "(default cdk.out)"
        )
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise UsageError(
            f"{folder}: not a cloud assembly (it has no manifest.json); run cdk synth first"
        )
    manifest = _read_json(manifest_path, "the cloud assembly manifest")
    artifacts = manifest.get("artifacts", {}) if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise UsageError(f"{manifest_path}: not a cloud assembly manifest (no artifacts object)")
    stacks: list[_Stack] = []
    for name, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        properties = _object(artifact.get("properties"))
        if artifact.get("type") == NESTED_ASSEMBLY_ARTIFACT and properties.get("directoryName"):
            stacks += read_assembly(folder / str(properties["directoryName"]))
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        match = _ENVIRONMENT.match(str(artifact.get("environment", "")))
        template_file = properties.get("templateFile")
        if match is None or not isinstance(template_file, str):
            raise UsageError(
                f"{manifest_path}: stack {name!r} has no aws://ACCOUNT/REGION environment or "
                "no templateFile"
            )
        template = _read_json(folder / template_file, f"the template of stack {name!r}")
        metadata = dict(_object(artifact.get("metadata")))
        if isinstance(artifact.get("additionalMetadataFile"), str):
            extra = _read_json(
                folder / artifact["additionalMetadataFile"], f"the metadata of stack {name!r}"
            )
            if isinstance(extra, dict):
                metadata.update(extra)
        stacks.append(
            _Stack(
                info=StackInfo(
                    name=str(artifact.get("displayName") or name),
                    account=match["account"],
                    region=match["region"],
                    template_file=template_file,
                ),
                template=template if isinstance(template, dict) else {},
                metadata=metadata,
            )
        )
    return stacks


# ---------------------------------------------------------------------------------------------
# Reading templates: intrinsic functions, policy documents


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _text(value: Any, stack: StackInfo, resources: Mapping[str, Any] | None = None) -> str:
    """A template value as text, with the stack's pseudo parameters filled in.

    ``Fn::GetAtt`` of a role's ``Arn`` becomes the role's name when it is in the same template;
    other references stay visible as ``${...}``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        pseudo = {
            "AWS::Partition": _partition(stack.region),
            "AWS::Region": stack.region,
            "AWS::AccountId": stack.account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if function == "Ref" and isinstance(argument, str):
            return pseudo.get(argument, f"${{{argument}}}")
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            if isinstance(parts, list):
                return str(separator).join(_text(part, stack, resources) for part in parts)
        if function == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
            logical_id, attribute = (str(a) for a in argument)
            resource = _object((resources or {}).get(logical_id))
            if attribute == "Arn" and resource.get("Type") == "AWS::IAM::Role":
                name = _object(resource.get("Properties")).get("RoleName")
                if name is not None:
                    return _text(name, stack, resources)
            return f"${{{logical_id}.{attribute}}}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{(AWS::[A-Za-z]+)\}", lambda m: pseudo.get(m[1], m[0]), argument)
    return json.dumps(value, sort_keys=True)


def _texts(value: Any, stack: StackInfo) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [] if value is None else [value]
    return tuple(_text(item, stack) for item in items)


def _document(value: Any, stack: StackInfo) -> Mapping[str, Any]:
    """A policy document given as an object or as JSON text (as ECR properties take it)."""
    if isinstance(value, dict) and "Statement" in value:
        return value
    if value is None:
        return {}
    try:
        document = json.loads(_text(value, stack))
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return _objects([statements] if isinstance(statements, dict) else statements)


def _principals(statement: Mapping[str, Any], stack: StackInfo) -> tuple[str, ...]:
    principal = statement.get("Principal")
    if principal == "*":
        return ("*",)
    if not isinstance(principal, dict):
        return ()
    found: list[str] = []
    for kind in ("AWS", "Service", "Federated", "CanonicalUser"):
        found += _texts(principal.get(kind), stack)
    return tuple(found)


def _conditions(statement: Mapping[str, Any], stack: StackInfo) -> tuple[Condition, ...]:
    conditions = statement.get("Condition")
    if not isinstance(conditions, dict):
        return ()
    return tuple(
        sorted(
            (
                Condition(operator=operator, key=key, values=tuple(sorted(_texts(values, stack))))
                for operator, entries in conditions.items()
                if isinstance(entries, dict)
                for key, values in entries.items()
            ),
            key=str,
        )
    )


def _allows(actions: Iterable[str], action: str) -> bool:
    service = action.split(":", maxsplit=1)[0]
    return any(a in (action, "*", f"{service}:*") for a in actions)


def _account_of(principal: str) -> str | None:
    match = _ACCOUNT_PRINCIPAL.match(principal)
    return (match["arn"] or match["bare"]) if match else None


def _repository_pattern(resource: str) -> str:
    match = _REPOSITORY_ARN.match(resource)
    return match["pattern"] if match else resource


def _resource_text(resource: str) -> str:
    """A repository ARN as ``repository/PATTERN`` (the registry is the section's); else as is."""
    match = _REPOSITORY_ARN.match(resource)
    return f"repository/{match['pattern']}" if match else resource


def describe_principal(principal: str) -> str:
    """A principal as a reviewer reads it: ``account N`` for a whole account."""
    if principal == "*":
        return "anyone (*)"
    if _ACCOUNT_ROOT.match(principal):
        return f"account {_account_of(principal)}"
    return principal


# ---------------------------------------------------------------------------------------------
# From stacks to the review


def _resources(stack: _Stack, kind: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    resources = stack.template.get("Resources", {})
    for logical_id, resource in resources.items() if isinstance(resources, dict) else ():
        if isinstance(resource, dict) and resource.get("Type") == kind:
            yield logical_id, _object(resource.get("Properties"))


def _replication_edges(stack: _Stack) -> list[ReplicationEdge]:
    merged: dict[str, tuple[str, ...] | None] = {}
    for _id, properties in _resources(stack, "AWS::ECR::ReplicationConfiguration"):
        rules = _objects(_object(properties.get("ReplicationConfiguration")).get("Rules"))
        for rule in rules:
            prefixes = tuple(
                _text(f.get("Filter"), stack.info) for f in _objects(rule.get("RepositoryFilters"))
            )
            for destination in _objects(rule.get("Destinations")):
                key = (
                    f"{_text(destination.get('RegistryId'), stack.info)}/"
                    f"{_text(destination.get('Region'), stack.info)}"
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


def _registry_policy(stack: _Stack, warnings: list[ReviewWarning]) -> RegistryPolicyInfo | None:
    grants: list[RegistryGrant] = []
    found = False
    for _id, properties in _resources(stack, "AWS::ECR::RegistryPolicy"):
        found = True
        for statement in _statements(_document(properties.get("PolicyText"), stack.info)):
            if statement.get("Effect") != "Allow":
                warnings.append(
                    ReviewWarning(
                        code="uninterpreted-deny",
                        subject=stack.info.registry,
                        message="the registry policy has a statement that is not an Allow; "
                        "this report does not interpret it, read the template",
                    )
                )
                continue
            actions = tuple(sorted(_texts(statement.get("Action"), stack.info)))
            repositories = tuple(
                sorted(
                    _repository_pattern(r) for r in _texts(statement.get("Resource"), stack.info)
                )
            )
            conditions = _conditions(statement, stack.info)
            grants += [
                RegistryGrant(
                    principal=principal,
                    account=_account_of(principal),
                    repositories=repositories,
                    actions=actions,
                    conditions=conditions,
                )
                for principal in _principals(statement, stack.info)
            ]
    if not found:
        return None
    return RegistryPolicyInfo(
        stack=stack.info.name,
        grants=tuple(sorted(grants, key=lambda g: (g.principal, g.repositories))),
    )


def _roles(stack: _Stack) -> list[RoleInfo]:
    resources = stack.template.get("Resources", {})
    attached: dict[str, list[Permission]] = {}
    for _id, properties in _resources(stack, "AWS::IAM::Policy"):
        permissions = _permissions(properties.get("PolicyDocument"), stack.info)
        for role in _objects(properties.get("Roles")):
            if isinstance(role.get("Ref"), str):
                attached.setdefault(role["Ref"], []).extend(permissions)
    roles = []
    for logical_id, properties in _resources(stack, "AWS::IAM::Role"):
        trust = [
            Trust(principal=principal, conditions=_conditions(statement, stack.info))
            for statement in _statements(
                _document(properties.get("AssumeRolePolicyDocument"), stack.info)
            )
            if statement.get("Effect") == "Allow"
            for principal in _principals(statement, stack.info)
        ]
        permissions = list(attached.get(logical_id, []))
        for inline in _objects(properties.get("Policies")):
            permissions += _permissions(inline.get("PolicyDocument"), stack.info)
        for managed in _texts(properties.get("ManagedPolicyArns"), stack.info):
            permissions.append(
                Permission(effect="Allow", actions=(f"managed policy {managed}",), resources=())
            )
        name = properties.get("RoleName")
        roles.append(
            RoleInfo(
                name=_text(name, stack.info, resources) if name is not None else logical_id,
                stack=stack.info.name,
                trusted_by=tuple(sorted(trust, key=lambda t: (t.principal, str(t.conditions)))),
                permissions=tuple(permissions),
            )
        )
    return roles


def _permissions(document: Any, stack: StackInfo) -> list[Permission]:
    return [
        Permission(
            effect=str(statement.get("Effect")),
            actions=tuple(sorted(_texts(statement.get("Action"), stack))),
            resources=tuple(_texts(statement.get("Resource"), stack)),
        )
        for statement in _statements(_document(document, stack))
    ]


def _templates(stack: _Stack) -> list[TemplateInfo]:
    resources = stack.template.get("Resources", {})
    templates = []
    for _id, p in _resources(stack, "AWS::ECR::RepositoryCreationTemplate"):
        encryption = _object(p.get("EncryptionConfiguration"))
        pull = [
            Trust(
                principal=principal,
                conditions=_conditions(statement, stack.info),
                actions=tuple(sorted(_texts(statement.get("Action"), stack.info))),
            )
            for statement in _statements(_document(p.get("RepositoryPolicy"), stack.info))
            if statement.get("Effect") == "Allow"
            for principal in _principals(statement, stack.info)
        ]
        templates.append(
            TemplateInfo(
                prefix=_text(p.get("Prefix"), stack.info),
                stack=stack.info.name,
                applied_for=tuple(sorted(_texts(p.get("AppliedFor"), stack.info))),
                # CloudFormation's default when the property is left out.
                tag_mutability=_text(p.get("ImageTagMutability", "MUTABLE"), stack.info),
                tag_mutability_exclusion_filters=tuple(
                    _text(f.get("ImageTagMutabilityExclusionFilterValue"), stack.info)
                    for f in _objects(p.get("ImageTagMutabilityExclusionFilters"))
                ),
                encryption_type=_text(encryption.get("EncryptionType", "AES256"), stack.info),
                kms_key=_text(encryption["KmsKey"], stack.info)
                if encryption.get("KmsKey")
                else None,
                lifecycle_policy=bool(p.get("LifecyclePolicy")),
                pull_access=tuple(sorted(pull, key=lambda t: t.principal)),
                resource_tags=tuple(
                    sorted(
                        (_text(t.get("Key"), stack.info), _text(t.get("Value"), stack.info))
                        for t in _objects(p.get("ResourceTags"))
                    )
                ),
                custom_role=_text(p["CustomRoleArn"], stack.info, resources)
                if p.get("CustomRoleArn")
                else None,
            )
        )
    return sorted(templates, key=lambda t: t.prefix)


def _cdk_warnings(stack: _Stack) -> list[CdkWarning]:
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


def build_review(stacks: Iterable[_Stack]) -> Review:
    """The review of an assembly's stacks (without a baseline)."""
    stacks = sorted(stacks, key=lambda s: s.info.name)
    warnings: list[ReviewWarning] = []
    edges = sorted(
        (edge for stack in stacks for edge in _replication_edges(stack)),
        key=lambda e: (e.source, e.destination),
    )
    by_registry: dict[str, list[_Stack]] = {}
    for stack in stacks:
        by_registry.setdefault(stack.info.registry, []).append(stack)
    destination_keys = {edge.destination for edge in edges} | {
        stack.info.registry
        for stack in stacks
        if any(
            True
            for kind in ("AWS::ECR::RegistryPolicy", "AWS::ECR::RepositoryCreationTemplate")
            for _ in _resources(stack, kind)
        )
    }
    destinations = []
    for key in sorted(destination_keys):
        registry_stacks = by_registry.get(key, [])
        policies = [p for s in registry_stacks if (p := _registry_policy(s, warnings))]
        destinations.append(
            DestinationInfo(
                registry=key,
                stacks=tuple(s.info.name for s in registry_stacks),
                replicated_from=tuple(e for e in edges if e.destination == key),
                registry_policy=policies[0] if policies else None,
                roles=tuple(r for s in registry_stacks for r in _roles(s)),
                templates=tuple(t for s in registry_stacks for t in _templates(s)),
            )
        )
    warnings += _reviewer_warnings(edges, destinations)
    return Review(
        stacks=tuple(s.info for s in stacks),
        replication=tuple(edges),
        destinations=tuple(destinations),
        warnings=tuple(sorted(set(warnings))),
        cdk_warnings=tuple(sorted(w for s in stacks for w in _cdk_warnings(s))),
    )


def _covers(patterns: Iterable[str], prefixes: tuple[str, ...]) -> bool:
    """Whether repository patterns (``prod/*``, ``*``) cover every repository of the prefixes."""
    bases = [p[:-1] if p.endswith("*") else None for p in patterns]
    if not prefixes:
        return "" in bases
    return all(any(b is not None and prefix.startswith(b) for b in bases) for prefix in prefixes)


def _reviewer_warnings(
    edges: Iterable[ReplicationEdge], destinations: Iterable[DestinationInfo]
) -> list[ReviewWarning]:
    warnings = []
    for edge in edges:
        if edge.cross_account and not edge.repository_prefixes:
            warnings.append(
                ReviewWarning(
                    code="unfiltered-cross-account-rule",
                    subject=edge.source,
                    message=f"every repository of {edge.source} replicates to {edge.destination} "
                    "in another account: the rule has no repository prefixes",
                )
            )
    for destination in destinations:
        key = destination.registry
        policy = destination.registry_policy
        for edge in destination.replicated_from:
            if not edge.cross_account:
                continue
            account = edge.source.split("/")[0]
            granted = [
                pattern
                for grant in (policy.grants if policy else ())
                if grant.account == account and grant.may_replicate and not grant.conditions
                for pattern in grant.repositories
            ]
            if not _covers(granted, edge.repository_prefixes):
                where = "its registry policy" if policy else "no registry policy in this assembly"
                warnings.append(
                    ReviewWarning(
                        code="missing-replication-grant",
                        subject=key,
                        message=f"{edge.source} replicates "
                        f"{_prefix_list(edge.repository_prefixes)} here, but {where} lets "
                        f"account {account} replicate all of them; replication of the rest "
                        "fails unless the grant is deployed elsewhere",
                    )
                )
        for grant in policy.grants if policy else ():
            if grant.principal == "*" and not grant.conditions:
                warnings.append(
                    ReviewWarning(
                        code="registry-policy-allows-anyone",
                        subject=key,
                        message="the registry policy has Principal '*' without conditions: any "
                        f"AWS account may {', '.join(grant.actions)} in this registry",
                    )
                )
            if "*" in grant.repositories:
                warnings.append(
                    ReviewWarning(
                        code="grant-without-prefixes",
                        subject=key,
                        message=f"{describe_principal(grant.principal)} may replicate into "
                        "every repository of this registry",
                    )
                )
        for template in destination.templates:
            if any(t.principal == "*" and not t.conditions for t in template.pull_access):
                warnings.append(
                    ReviewWarning(
                        code="pull-allows-anyone",
                        subject=key,
                        message=f"repositories created under template {template.prefix!r} get "
                        "a repository policy with Principal '*' and no conditions: any AWS "
                        "account may pull from them",
                    )
                )
            if template.is_mutable:
                warnings.append(
                    ReviewWarning(
                        code="mutable-destination-tags",
                        subject=key,
                        message=f"repositories created under template {template.prefix!r} get "
                        f"{template.tag_mutability} tags: a tag can be moved in the "
                        "destination, so it may stop meaning the source's digest",
                    )
                )
        if destination.replicated_from and not any(
            "REPLICATION" in t.applied_for for t in destination.templates
        ):
            warnings.append(
                ReviewWarning(
                    code="no-repository-template",
                    subject=key,
                    message="no repository creation template for replication: repositories "
                    "that replication creates get ECR defaults (mutable tags, AES256, no "
                    "repository or lifecycle policy)",
                )
            )
        for role in destination.roles:
            for trust in role.trusted_by:
                if trust.conditions:
                    continue
                if trust.principal == "*":
                    warnings.append(
                        ReviewWarning(
                            code="role-trusts-anyone",
                            subject=key,
                            message=f"role {role.name!r} may be assumed by any AWS principal: "
                            "its trust policy has Principal '*' and no conditions",
                        )
                    )
                elif _ACCOUNT_ROOT.match(trust.principal):
                    warnings.append(
                        ReviewWarning(
                            code="role-trusts-whole-account",
                            subject=key,
                            message=f"role {role.name!r} may be assumed by any principal of "
                            f"account {_account_of(trust.principal)} that is allowed "
                            "sts:AssumeRole: the trust has no conditions",
                        )
                    )
    return warnings


def _prefix_list(prefixes: tuple[str, ...]) -> str:
    return ", ".join(prefixes) if prefixes else "every repository"


# ---------------------------------------------------------------------------------------------
# Baseline: grants added and removed


def accesses(review: Review) -> set[Access]:
    """Every grant of a review, one per (kind, principal, registry, scope, conditions)."""
    found: set[Access] = set()
    for edge in review.replication:
        for prefix in edge.repository_prefixes or ("*",):
            found.add(
                Access(
                    kind="replication-rule",
                    principal=edge.source,
                    registry=edge.destination,
                    scope=prefix,
                )
            )
    for destination in review.destinations:
        key = destination.registry
        policy = destination.registry_policy
        for grant in policy.grants if policy else ():
            conditions = tuple(str(c) for c in grant.conditions)
            for kind, allowed in (
                ("replicate", grant.may_replicate),
                ("create-repository", grant.may_create_repositories),
            ):
                if allowed:
                    found.update(
                        Access(
                            kind=kind,
                            principal=grant.principal,
                            registry=key,
                            scope=r,
                            conditions=conditions,
                        )
                        for r in grant.repositories
                    )
        for role in destination.roles:
            found.update(
                Access(
                    kind="assume-role",
                    principal=t.principal,
                    registry=key,
                    scope=role.name,
                    conditions=tuple(str(c) for c in t.conditions),
                )
                for t in role.trusted_by
            )
        for template in destination.templates:
            found.update(
                Access(
                    kind="pull",
                    principal=t.principal,
                    registry=key,
                    scope=template.prefix,
                    conditions=tuple(str(c) for c in t.conditions),
                )
                for t in template.pull_access
            )
    return found


def compare(review: Review, baseline: Review) -> BaselineDiff:
    now, before = accesses(review), accesses(baseline)
    return BaselineDiff(added=tuple(sorted(now - before)), removed=tuple(sorted(before - now)))


def describe_access(access: Access, *, added: bool) -> str:
    """One grant change as a sentence: "account X may now replicate prod/* into Y"."""
    now = "now" if added else "no longer"
    who = describe_principal(access.principal)
    when = f" (when {'; '.join(access.conditions)})" if access.conditions else ""
    if access.kind == "replication-rule":
        verb = "now replicates" if added else "no longer replicates"
        what = "every repository" if access.scope == "*" else f"`{access.scope}`"
        return f"registry {access.principal} {verb} {what} to registry {access.registry}"
    if access.kind == "replicate":
        return f"{who} may {now} replicate `{access.scope}` into registry {access.registry}{when}"
    if access.kind == "create-repository":
        return (
            f"{who} may {now} create repositories `{access.scope}` in registry "
            f"{access.registry}{when}"
        )
    if access.kind == "assume-role":
        return f"{who} may {now} assume role `{access.scope}` in registry {access.registry}{when}"
    return (
        f"{who} may {now} pull from repositories created under template `{access.scope}` "
        f"in registry {access.registry}{when}"
    )


# ---------------------------------------------------------------------------------------------
# Rendering: JSON


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
    }


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
                    "conditions": _conditions_json(g.conditions),
                }
                for g in policy.grants
            ],
        },
        "roles": [
            {
                "name": r.name,
                "stack": r.stack,
                "trustedBy": [
                    {"principal": t.principal, "conditions": _conditions_json(t.conditions)}
                    for t in r.trusted_by
                ],
                "permissions": [
                    {"effect": p.effect, "actions": list(p.actions), "resources": list(p.resources)}
                    for p in r.permissions
                ],
            }
            for r in d.roles
        ],
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
    for destination in review.destinations:
        out += _destination_markdown(destination)
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
            f"| {_cell(describe_principal(g.principal))} | {_cell(_repositories_text(g.repositories))} "
            f"| {'yes' if g.may_create_repositories else 'no (they must already exist)'} "
            f"| {_cell(_conditions_text(g.conditions))} |"
            for g in policy.grants
            if g.may_replicate or g.may_create_repositories
        ]
        out.append("")
    out += ["**Roles**", ""]
    if not d.roles:
        out += ["None.", ""]
    for role in d.roles:
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
            f"{', '.join(_code(_resource_text(r)) for r in p.resources) or 'its own resources'}"
            for p in role.permissions
        ]
        out.append("")
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


# ---------------------------------------------------------------------------------------------
# The command


def review_assembly(folder: Path, baseline: Path | None = None) -> Review:
    """Read an assembly (and optionally a baseline assembly) and build its review."""
    review = build_review(read_assembly(folder))
    if baseline is None:
        return review
    earlier = build_review(read_assembly(baseline))
    return Review(
        stacks=review.stacks,
        replication=review.replication,
        destinations=review.destinations,
        warnings=review.warnings,
        cdk_warnings=review.cdk_warnings,
        baseline=compare(review, earlier),
    )


def render(review: Review, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(review_json(review), indent=2) + "\n"
    return review_markdown(review)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "assembly",
        nargs="?",
        default="cdk.out",
        metavar="CDK_OUT",
        help="the cloud assembly folder written by cdk synth (default: cdk.out)",
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help=f"markdown (default; renders in pull requests) or json (schema {SCHEMA})",
    )
    parser.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")
    parser.add_argument(
        "--baseline",
        metavar="OTHER_CDK_OUT",
        help="an earlier cloud assembly: also report the grants added and removed since",
    )


def run(args: argparse.Namespace) -> int:
    review = review_assembly(
        Path(args.assembly), Path(args.baseline) if args.baseline is not None else None
    )
    text = render(review, args.format)
    if args.output is None:
        print(text, end="")
        return EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--output {args.output}: cannot write it ({error.strerror})") from None
    return EXIT_OK
