"""Reading a cloud assembly: its stacks, their templates and metadata, and template values.

Templates and manifests may be hand-edited: a value of an unexpected JSON type is read as
absent, never trusted to have the shape the CDK writes (which would end in a traceback).
Intrinsic functions are resolved where the stack's environment makes them plain text (pseudo
parameters from the model's region table, ``Fn::Join``, ``Fn::Sub`` of pseudo parameters, a
role's ``Arn`` in the same template); anything else stays visible as ``${...}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model.iam import as_list
from ..model.limits import is_known_region, pseudo_parameters
from .report import Condition, StackInfo

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"

_ENVIRONMENT = re.compile(r"^aws://(?P<account>[^/]+)/(?P<region>[^/]+)$")


@dataclass(frozen=True, kw_only=True, slots=True)
class AssemblyStack:
    """One stack of an assembly: where it deploys, its template and its metadata."""

    info: StackInfo
    template: Mapping[str, Any]
    metadata: Mapping[str, Any]

    def resources(self, kind: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(logical id, properties)`` of every resource of one type."""
        resources = self.template.get("Resources", {})
        for logical_id, resource in resources.items() if isinstance(resources, dict) else ():
            if isinstance(resource, dict) and resource.get("Type") == kind:
                yield logical_id, as_object(resource.get("Properties"))

    def metadata_of(self, logical_id: str) -> Mapping[str, Any]:
        """A resource's CloudFormation ``Metadata`` (empty when there is none)."""
        resource = as_object(as_object(self.template.get("Resources")).get(logical_id))
        return as_object(resource.get("Metadata"))

    def has(self, kind: str) -> bool:
        return any(True for _ in self.resources(kind))


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not valid JSON"
        raise UsageError(f"{path}: cannot read {what} ({reason})") from None


def as_object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def as_objects(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def read_assembly(folder: Path) -> list[AssemblyStack]:
    """Every stack of a cloud assembly (nested assemblies included), with template and metadata.

    Raises :class:`~ecr_replication.errors.UsageError` (exit 2) when ``folder`` is not a
    readable cloud assembly.
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
    manifest = read_json(manifest_path, "the cloud assembly manifest")
    artifacts = manifest.get("artifacts", {}) if isinstance(manifest, dict) else None
    if not isinstance(artifacts, dict):
        raise UsageError(f"{manifest_path}: not a cloud assembly manifest (no artifacts object)")
    stacks: list[AssemblyStack] = []
    for name, artifact in artifacts.items():
        if not isinstance(artifact, dict):
            continue
        properties = as_object(artifact.get("properties"))
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
        template = read_json(folder / template_file, f"the template of stack {name!r}")
        metadata = dict(as_object(artifact.get("metadata")))
        if isinstance(artifact.get("additionalMetadataFile"), str):
            extra = read_json(
                folder / artifact["additionalMetadataFile"], f"the metadata of stack {name!r}"
            )
            if isinstance(extra, dict):
                metadata.update(extra)
        stacks.append(
            AssemblyStack(
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


VALIDATION_REPORT = "validation-report.json"


def read_plugin_reports(folder: Path) -> list[Mapping[str, Any]]:
    """The plugin reports of the assembly's ``validation-report.json`` (written at synth when
    validation plugins ran: cdk-nag, AWS Control Tower's controls); none when it has none."""
    path = folder / VALIDATION_REPORT
    if not path.is_file():
        return []
    report = read_json(path, "the validation report")
    return as_objects(as_object(report).get("pluginReports"))


# ---------------------------------------------------------------------------------------------
# Template values


def _pseudo(stack: StackInfo) -> dict[str, str]:
    """The stack's pseudo parameters; only its account and region for an unknown region."""
    if is_known_region(stack.region):
        return pseudo_parameters(stack.account, stack.region)
    return {"AWS::AccountId": stack.account, "AWS::Region": stack.region}


def text(value: Any, stack: StackInfo, resources: Mapping[str, Any] | None = None) -> str:
    """A template value as text, with the stack's pseudo parameters filled in.

    ``Fn::GetAtt`` of a role's ``Arn`` becomes the role's name when it is in the same template;
    other references stay visible as ``${...}``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        pseudo = _pseudo(stack)
        if function == "Ref" and isinstance(argument, str):
            return pseudo.get(argument, f"${{{argument}}}")
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            if isinstance(parts, list):
                return str(separator).join(text(part, stack, resources) for part in parts)
        if function == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
            logical_id, attribute = (str(a) for a in argument)
            resource = as_object((resources or {}).get(logical_id))
            if attribute == "Arn" and resource.get("Type") == "AWS::IAM::Role":
                name = as_object(resource.get("Properties")).get("RoleName")
                if name is not None:
                    return text(name, stack, resources)
            return f"${{{logical_id}.{attribute}}}"
        if function == "Fn::Sub" and isinstance(argument, str):
            return re.sub(r"\$\{(AWS::[A-Za-z]+)\}", lambda m: pseudo.get(m[1], m[0]), argument)
    return json.dumps(value, sort_keys=True)


def texts(value: Any, stack: StackInfo) -> tuple[str, ...]:
    return tuple(text(item, stack) for item in as_list(value))


def document(value: Any, stack: StackInfo) -> Mapping[str, Any]:
    """A policy document given as an object or as JSON text (as ECR properties take it)."""
    if isinstance(value, dict) and "Statement" in value:
        return value
    if value is None:
        return {}
    try:
        parsed = json.loads(text(value, stack))
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


_POLICY_ELEMENTS = ("Action", "NotAction", "Resource", "NotResource")


def resolved_statements(value: Any, stack: StackInfo) -> list[Mapping[str, Any]]:
    """A policy document's statements with principals, actions and resources as text.

    What the model's IAM evaluator reads: the same statements, with every value the stack's
    environment resolves written out (``{"Fn::Join": ...}`` becomes the ARN), condition values
    included.
    """
    found: list[Mapping[str, Any]] = []
    for statement in statements(document(value, stack)):
        plain = dict(statement)
        for element in _POLICY_ELEMENTS:
            if element in statement:
                plain[element] = list(texts(statement[element], stack))
        for element in ("Principal", "NotPrincipal"):
            principal = statement.get(element)
            if isinstance(principal, dict):
                plain[element] = {kind: list(texts(v, stack)) for kind, v in principal.items()}
        condition = statement.get("Condition")
        if isinstance(condition, dict):
            plain["Condition"] = {
                operator: {key: list(texts(values, stack)) for key, values in entries.items()}
                if isinstance(entries, dict)
                else entries
                for operator, entries in condition.items()
            }
        found.append(plain)
    return found


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    listed = document.get("Statement", [])
    return as_objects([listed] if isinstance(listed, dict) else listed)


def principals(statement: Mapping[str, Any], stack: StackInfo) -> tuple[str, ...]:
    principal = statement.get("Principal")
    if principal == "*":
        return ("*",)
    if not isinstance(principal, dict):
        return ()
    found: list[str] = []
    for kind in ("AWS", "Service", "Federated", "CanonicalUser"):
        found += texts(principal.get(kind), stack)
    return tuple(found)


def conditions(statement: Mapping[str, Any], stack: StackInfo) -> tuple[Condition, ...]:
    given = statement.get("Condition")
    if not isinstance(given, dict):
        return ()
    return tuple(
        sorted(
            (
                Condition(operator=operator, key=key, values=tuple(sorted(texts(values, stack))))
                for operator, entries in given.items()
                if isinstance(entries, dict)
                for key, values in entries.items()
            ),
            key=str,
        )
    )
