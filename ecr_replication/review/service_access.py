"""Whether the AWS services a stack relies on may use what they must: the model's IAM evaluator
asked with the condition keys each service is documented to send.

A key policy or trust policy that cfn-lint and cdk-nag accept can still refuse the service
that needs it, silently: a condition on a key the service never sends holds for nobody. A
hook override or a property override can write such a policy; ``review`` reads what was
synthesized, so it sees it. What each service sends (the context of its request):

* **EventBridge** publishing to an alert topic encrypted with a customer managed key calls
  ``kms:GenerateDataKey`` and ``kms:Decrypt`` on the key as ``events.amazonaws.com``, with
  neither ``aws:SourceAccount`` nor ``aws:SourceArn``: the SNS developer guide (key management,
  "Enable compatibility between event sources from AWS services and encrypted topics") says
  they are not supported for EventBridge to encrypted topics. Refused: alerts are dropped.
* **CloudWatch** notifying that topic from an alarm calls the same actions as
  ``cloudwatch.amazonaws.com`` with ``aws:SourceAccount`` (the stack's account) and
  ``aws:SourceArn`` (the alarm) (CloudWatch user guide, "Confused deputy prevention").
* **ECR** assumes a repository creation template's role (``CustomRoleArn``) as
  ``ecr.amazonaws.com``; the ECR user guide's trust policy for that role
  ("Create an IAM role for repository creation templates") names no condition key, and no page
  documents one ECR sends: a condition there may refuse it.

Each refusal is a :class:`~ecr_replication.review.report.ReviewWarning`
(``service-cannot-use-key``, ``service-cannot-assume-role``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..model import iam
from ..model.limits import is_known_region, partition_of
from .assembly import AssemblyStack, as_object, as_objects, resolved_statements
from .report import ReviewWarning

KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
EVENTBRIDGE = "events.amazonaws.com"
CLOUDWATCH = "cloudwatch.amazonaws.com"
ECR = "ecr.amazonaws.com"


def _referenced(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    value = as_object(value)
    if isinstance(value.get("Ref"), str):
        return str(value["Ref"])
    target = value.get("Fn::GetAtt")
    if isinstance(target, list) and target and isinstance(target[0], str):
        return target[0]
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class _Request:
    """What a service asks of one of the stack's keys or roles."""

    what: str
    logical_id: str
    caller: iam.Caller
    actions: tuple[str, ...]
    resource: str
    context: iam.RequestContext
    policy: Any


def _arn(stack: AssemblyStack, service: str, resource: str) -> str:
    info = stack.info
    partition = partition_of(info.region).name if is_known_region(info.region) else "aws"
    region = "" if service == "iam" else info.region
    return f"arn:{partition}:{service}:{region}:{info.account}:{resource}"


def _requests(stack: AssemblyStack) -> Iterator[_Request]:
    """Every documented service request on this stack's alert topic keys and template roles."""
    info = stack.info
    resources = stack.template.get("Resources", {})
    targets = {
        _referenced(target.get("Arn"))
        for _, rule in stack.resources("AWS::Events::Rule")
        for target in as_objects(rule.get("Targets"))
    }
    for topic_id, topic in stack.resources("AWS::SNS::Topic"):
        key_id = _referenced(topic.get("KmsMasterKeyId"))
        key = as_object(resources.get(key_id)) if key_id else {}
        if key_id is None or key.get("Type") != "AWS::KMS::Key":
            continue
        about_key = _Request(
            what="alert topic key",
            logical_id=key_id,
            caller=iam.Caller(account=info.account, service=EVENTBRIDGE),
            actions=KEY_ACTIONS,
            resource=_arn(stack, "kms", f"key/{key_id}"),
            context={},
            policy=as_object(key.get("Properties")).get("KeyPolicy"),
        )
        if topic_id in targets:
            yield about_key
        for alarm_id, alarm in stack.resources("AWS::CloudWatch::Alarm"):
            if topic_id in {_referenced(a) for a in alarm.get("AlarmActions") or ()}:
                context = {
                    "aws:SourceAccount": info.account,
                    "aws:SourceArn": _arn(stack, "cloudwatch", f"alarm:{alarm_id}"),
                }
                caller = iam.Caller(account=info.account, service=CLOUDWATCH)
                yield replace(about_key, caller=caller, context=context)
    for _, template in stack.resources("AWS::ECR::RepositoryCreationTemplate"):
        role_id = _referenced(template.get("CustomRoleArn"))
        role = as_object(resources.get(role_id)) if role_id else {}
        if role_id is None or role.get("Type") != "AWS::IAM::Role":
            continue  # a role made elsewhere: not in this assembly
        properties = as_object(role.get("Properties"))
        name = properties.get("RoleName")
        yield _Request(
            what="template role",
            logical_id=role_id,
            caller=iam.Caller(account=info.account, service=ECR),
            actions=("sts:AssumeRole",),
            resource=_arn(stack, "iam", f"role/{name if isinstance(name, str) else role_id}"),
            context={},
            policy=properties.get("AssumeRolePolicyDocument"),
        )


def service_access_warnings(stack: AssemblyStack) -> list[ReviewWarning]:
    """A warning for each documented service request the stack's own policies refuse."""
    warnings: dict[tuple[str, str, str], ReviewWarning] = {}
    for request in _requests(stack):
        statements = resolved_statements(request.policy, stack.info)
        refused = []
        for action in request.actions:
            evaluation = iam.evaluate(
                statements,
                caller=request.caller,
                action=action,
                resource=request.resource,
                context=request.context,
            )
            if not evaluation.allowed:
                refused.append(f"{action} ({evaluation.reason()})")
        if not refused:
            continue
        sends = (
            ", ".join(f"{key} {value}" for key, value in request.context.items())
            if request.context
            else "neither aws:SourceAccount nor aws:SourceArn"
        )
        role = request.what == "template role"
        code = "service-cannot-assume-role" if role else "service-cannot-use-key"
        consequence = (
            "repositories created with the template's key or tags fail"
            if role
            else "alerts are dropped"
        )
        service = request.caller.service or ""
        warnings[(code, request.logical_id, service)] = ReviewWarning(
            code=code,
            subject=stack.info.name,
            message=f"{service} may not use the {request.what} {request.logical_id!r} with "
            f"what it sends ({sends}): {'; '.join(refused)}; {consequence}",
        )
    return list(warnings.values())
