"""A local AWS endpoint for the end-to-end tests: moto's server, with what this project's stacks
need and moto 5.2 lacks, modelled as AWS documents it. Test infrastructure, never in the package.

Run it as ``python -m tests.e2e.emulator`` (``--port 0`` picks a free port); it prints
``listening on http://127.0.0.1:PORT`` once it answers, and serves until it is stopped.

What it adds to moto (each has a test in ``tests/e2e/test_emulator.py``):

* CloudFormation models of the three ECR registry resources moto skips (a stack with them says
  CREATE_COMPLETE and creates nothing):

  - ``AWS::ECR::RegistryPolicy``: ``PolicyText`` (an object or JSON text) is written with
    ``PutRegistryPolicy``; deleting the resource is ``DeleteRegistryPolicy``, the whole policy,
    as CloudFormation's handler does (https://docs.aws.amazon.com/AWSCloudFormation/latest/
    UserGuide/aws-resource-ecr-registrypolicy.html: one policy per registry, its primary
    identifier is the RegistryId).
  - ``AWS::ECR::ReplicationConfiguration``: ``ReplicationConfiguration.Rules`` written with
    ``PutReplicationConfiguration`` (property names mapped to the API's: ``Destinations`` ->
    ``destinations``, ``RepositoryFilters`` -> ``repositoryFilters``, ``DeleteReplication`` ->
    ``deleteReplication``); deleting it leaves a configuration without rules.
  - ``AWS::ECR::RepositoryCreationTemplate``: every property mapped to
    ``CreateRepositoryCreationTemplate``'s, where the names differ:
    ``ImageTagMutabilityExclusionFilters[].ImageTagMutabilityExclusionFilterType/Value`` ->
    ``imageTagMutabilityExclusionFilters[].filterType/filter``, ``ResourceTags`` ->
    ``resourceTags``; deleting it is ``DeleteRepositoryCreationTemplate``.

* ECR as botocore 1.44's model and the ECR API reference describe it:

  - ``PutReplicationConfiguration`` takes up to 25 rules (moto: one), 1-100 destinations and
    up to 100 repository filters per rule, and refuses the source registry as a destination;
  - the repository creation template API (Create, Describe with ``prefixes``, ``maxResults``
    and ``nextToken``, Update, Delete) with ``createdAt``/``updatedAt``;
  - ``PutRegistryPolicy`` under the account setting ``REGISTRY_POLICY_SCOPE``: ``V2`` (the
    default) takes any ``ecr:`` action, ``V1`` only ``ecr:ReplicateImage``,
    ``ecr:CreateRepository`` and ``ecr:BatchImportUpstreamImage``; ``GetAccountSetting`` /
    ``PutAccountSetting`` read and write it.

* CloudFormation's change-set life cycle as the CDK CLI relies on it: describing a change set
  that does not exist answers ``ChangeSetNotFound`` (moto: a ``ValidationError`` that the CLI
  cannot tell from a real failure), deleting one succeeds whether or not it exists (the API
  lists no "not found" error for it), an executed change set is removed with the stack's other
  change sets, a parameter passed with ``UsePreviousValue`` keeps the value given before (for
  an SSM-typed parameter the parameter's name, which is resolved again, not the value it
  resolved to), and a resource with ``DeletionPolicy: Retain`` is left in place when an update
  removes it from the template, as on stack deletion.

* ``AWS::KMS::Key``: its ``KeyPolicy`` stored as the JSON text KMS keeps (moto keeps the
  template's object, and then fails every call that checks the key policy).
* CloudFormation models of the alert resources moto skips: ``AWS::SNS::Subscription``
  (``Subscribe``; delete is ``Unsubscribe``), ``AWS::SNS::TopicPolicy`` (the topic's ``Policy``
  attribute; delete restores SNS's default policy) and ``AWS::CloudWatch::Alarm``
  (``PutMetricAlarm``; delete is ``DeleteAlarms``).

What it does not model: replication itself (no image is copied), replication status, the
replication backfill API, ``account:GetRegionOptStatus``, and ``AWS::CDK::Metadata`` (skipped;
the stacks still complete).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

ECR_ACTION = re.compile(r"^ecr:[A-Za-z*]+$")
V1_REGISTRY_POLICY_ACTIONS = frozenset(
    {"ecr:replicateimage", "ecr:createrepository", "ecr:batchimportupstreamimage"}
)
MAX_RULES = 25
MAX_DESTINATIONS_PER_RULE = 100
MAX_FILTERS_PER_RULE = 100
MAX_TEMPLATE_RESULTS = 1000
DEFAULT_TEMPLATE_RESULTS = 100
ACCOUNT_SETTINGS = {"REGISTRY_POLICY_SCOPE": ("V2", ("V1", "V2"))}
"""Account settings this endpoint knows: name -> (default, allowed values)."""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# ---------------------------------------------------------------------------------------------
# ECR: what the API reference describes and moto lacks


def _ecr_errors() -> Any:
    from moto.ecr import exceptions

    return exceptions


def _state(backend: Any) -> dict[str, Any]:
    """This plug-in's state of one ECR backend (one account and region)."""
    state: dict[str, Any] | None = getattr(backend, "_e2e_state", None)
    if state is None:
        state = {"templates": {}, "settings": {}}
        backend._e2e_state = state
    return state


def account_setting(backend: Any, name: str) -> str:
    errors = _ecr_errors()
    if name not in ACCOUNT_SETTINGS:
        raise errors.InvalidParameterException(
            f"Invalid parameter at 'name' failed to satisfy constraint: '{name}' is not one of "
            f"{', '.join(ACCOUNT_SETTINGS)}"
        )
    default, _allowed = ACCOUNT_SETTINGS[name]
    return str(_state(backend)["settings"].get(name, default))


def put_account_setting(backend: Any, name: str, value: str) -> None:
    errors = _ecr_errors()
    account_setting(backend, name)  # the name is known
    _default, allowed = ACCOUNT_SETTINGS[name]
    if value not in allowed:
        raise errors.InvalidParameterException(
            f"Invalid parameter at 'value' failed to satisfy constraint: '{value}' is not one of "
            f"{', '.join(allowed)}"
        )
    _state(backend)["settings"][name] = value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def check_registry_policy(backend: Any, policy_text: str) -> None:
    """Refuse what ECR refuses in a registry policy: actions outside ECR, and under scope V1
    anything but the three replication and pull-through-cache actions."""
    errors = _ecr_errors()
    invalid = errors.InvalidParameterException(
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
        "'Invalid registry policy provided'"
    )
    try:
        document = json.loads(policy_text)
    except json.JSONDecodeError:
        raise invalid from None
    v1 = account_setting(backend, "REGISTRY_POLICY_SCOPE") == "V1"
    for statement in _as_list(document.get("Statement", [])):
        for action in _as_list(statement.get("Action", statement.get("NotAction", []))):
            if not isinstance(action, str) or not ECR_ACTION.match(action):
                raise invalid
            if v1 and action.lower() not in V1_REGISTRY_POLICY_ACTIONS:
                raise invalid


def put_registry_policy(backend: Any, policy_text: str) -> dict[str, Any]:
    from moto.iam.policy_validation import IAMPolicyDocumentValidator

    errors = _ecr_errors()
    check_registry_policy(backend, policy_text)
    try:
        IAMPolicyDocumentValidator(policy_text).validate()
    except Exception:
        raise errors.InvalidParameterException(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: "
            "'Invalid registry policy provided'"
        ) from None
    backend.registry_policy = policy_text
    return {"registryId": backend.account_id, "policyText": policy_text}


def put_replication_configuration(
    backend: Any, replication_config: Mapping[str, Any]
) -> dict[str, Any]:
    errors = _ecr_errors()
    rules = list(replication_config.get("rules") or [])
    if len(rules) > MAX_RULES:
        raise errors.ValidationException(
            "1 validation error detected: Value at 'replicationConfiguration.rules' failed to "
            f"satisfy constraint: Member must have length less than or equal to {MAX_RULES}"
        )
    for index, rule in enumerate(rules):
        destinations = list(rule.get("destinations") or [])
        filters = list(rule.get("repositoryFilters") or [])
        if not 1 <= len(destinations) <= MAX_DESTINATIONS_PER_RULE:
            raise errors.ValidationException(
                f"1 validation error detected: Value at 'replicationConfiguration.rules.{index + 1}"
                ".member.destinations' failed to satisfy constraint: Member must have length "
                f"between 1 and {MAX_DESTINATIONS_PER_RULE}"
            )
        if len(filters) > MAX_FILTERS_PER_RULE:
            raise errors.ValidationException(
                f"1 validation error detected: Value at 'replicationConfiguration.rules.{index + 1}"
                ".member.repositoryFilters' failed to satisfy constraint: Member must have length "
                f"less than or equal to {MAX_FILTERS_PER_RULE}"
            )
        for destination in destinations:
            if (
                destination.get("region") == backend.region_name
                and destination.get("registryId") == backend.account_id
            ):
                raise errors.InvalidParameterException(
                    "Invalid parameter at 'replicationConfiguration' failed to satisfy "
                    "constraint: 'Replication destination cannot be the same as the source "
                    "registry'"
                )
    backend.replication_config = {"rules": rules}
    return {"replicationConfiguration": backend.replication_config}


def service_error(code: str, message: str) -> Exception:
    """An error of the API being called, with the code of its service model.

    Defined here, not in a ``moto.<service>`` module: moto serializes an error of a class from
    ``moto.core`` against a service named ``core``, and fails.
    """
    from moto.core.exceptions import ServiceException

    class EmulatedServiceError(ServiceException):
        pass

    return EmulatedServiceError(code, message)


TEMPLATE_FIELDS = (
    "prefix",
    "description",
    "encryptionConfiguration",
    "resourceTags",
    "imageTagMutability",
    "imageTagMutabilityExclusionFilters",
    "repositoryPolicy",
    "lifecyclePolicy",
    "appliedFor",
    "customRoleArn",
)


def create_template(backend: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    templates = _state(backend)["templates"]
    prefix = fields.get("prefix")
    if not prefix or not fields.get("appliedFor"):
        raise _ecr_errors().InvalidParameterException(
            "Invalid parameter: prefix and appliedFor are required"
        )
    if prefix in templates:
        raise service_error(
            "TemplateAlreadyExistsException",
            f"The repository creation template with prefix '{prefix}' already exists in the "
            f"registry with id '{backend.account_id}'",
        )
    now = _now()
    template = {k: fields[k] for k in TEMPLATE_FIELDS if fields.get(k) is not None}
    template.setdefault("imageTagMutability", "MUTABLE")
    template.setdefault("encryptionConfiguration", {"encryptionType": "AES256"})
    template["createdAt"] = now
    template["updatedAt"] = now
    templates[prefix] = template
    return {"registryId": backend.account_id, "repositoryCreationTemplate": dict(template)}


def _existing_template(backend: Any, prefix: str) -> dict[str, Any]:
    templates = _state(backend)["templates"]
    if prefix not in templates:
        raise service_error(
            "TemplateNotFoundException",
            f"The repository creation template with prefix '{prefix}' does not exist in the "
            f"registry with id '{backend.account_id}'",
        )
    template: dict[str, Any] = templates[prefix]
    return template


def update_template(backend: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    template = _existing_template(backend, str(fields.get("prefix")))
    for key in TEMPLATE_FIELDS:
        if key != "prefix" and fields.get(key) is not None:
            template[key] = fields[key]
    template["updatedAt"] = _now()
    return {"registryId": backend.account_id, "repositoryCreationTemplate": dict(template)}


def delete_template(backend: Any, prefix: str) -> dict[str, Any]:
    template = _existing_template(backend, prefix)
    del _state(backend)["templates"][prefix]
    return {"registryId": backend.account_id, "repositoryCreationTemplate": template}


def describe_templates(
    backend: Any, prefixes: list[str] | None, max_results: int | None, next_token: str | None
) -> dict[str, Any]:
    errors = _ecr_errors()
    templates = _state(backend)["templates"]
    if max_results is not None and not 1 <= max_results <= MAX_TEMPLATE_RESULTS:
        raise errors.InvalidParameterException(
            f"Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have "
            f"value between 1 and {MAX_TEMPLATE_RESULTS}'"
        )
    if prefixes:  # the templates of these prefixes that exist (the API lists no error for
        # a prefix without one)
        names = [p for p in dict.fromkeys(prefixes) if p in templates]
    else:
        names = sorted(templates)
    start = 0
    if next_token:
        if not next_token.isdigit() or int(next_token) > len(names):
            raise errors.InvalidParameterException("Invalid parameter at 'nextToken'")
        start = int(next_token)
    size = max_results or DEFAULT_TEMPLATE_RESULTS
    page = names[start : start + size]
    answer: dict[str, Any] = {
        "registryId": backend.account_id,
        "repositoryCreationTemplates": [dict(templates[n]) for n in page],
    }
    if start + size < len(names):
        answer["nextToken"] = str(start + size)
    return answer


def _patch_ecr() -> None:
    from moto.core.responses import ActionResult
    from moto.ecr.models import ECRBackend
    from moto.ecr.responses import ECRResponse

    ECRBackend.put_registry_policy = put_registry_policy  # type: ignore[method-assign]
    ECRBackend.put_replication_configuration = put_replication_configuration  # type: ignore[method-assign]

    def template_fields(response: ECRResponse) -> dict[str, Any]:
        return {key: response._get_param(key) for key in TEMPLATE_FIELDS}

    def answer(build: Callable[[ECRResponse], dict[str, Any]]) -> Callable[[ECRResponse], Any]:
        return lambda self: ActionResult(build(self))

    methods: dict[str, Callable[[ECRResponse], dict[str, Any]]] = {
        "create_repository_creation_template": lambda r: create_template(
            r.ecr_backend, template_fields(r)
        ),
        "update_repository_creation_template": lambda r: update_template(
            r.ecr_backend, template_fields(r)
        ),
        "delete_repository_creation_template": lambda r: delete_template(
            r.ecr_backend, str(r._get_param("prefix"))
        ),
        "describe_repository_creation_templates": lambda r: describe_templates(
            r.ecr_backend,
            r._get_param("prefixes"),
            r._get_int_param("maxResults"),
            r._get_param("nextToken"),
        ),
        "get_account_setting": lambda r: {
            "name": r._get_param("name"),
            "value": account_setting(r.ecr_backend, str(r._get_param("name"))),
        },
        "put_account_setting": _put_setting,
    }
    for name, build in methods.items():
        setattr(ECRResponse, name, answer(build))


def _put_setting(response: Any) -> dict[str, Any]:
    name, value = str(response._get_param("name")), str(response._get_param("value"))
    put_account_setting(response.ecr_backend, name, value)
    return {"name": name, "value": value}


# ---------------------------------------------------------------------------------------------
# CloudFormation models of the ECR registry resources


def replication_rules(properties: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``AWS::ECR::ReplicationConfiguration``'s rules in the API's form."""
    rules = []
    for rule in (properties.get("ReplicationConfiguration") or {}).get("Rules") or []:
        api_rule: dict[str, Any] = {
            "destinations": [
                {"region": d["Region"], "registryId": d["RegistryId"]}
                for d in rule.get("Destinations") or []
            ]
        }
        filters = rule.get("RepositoryFilters") or []
        if filters:
            api_rule["repositoryFilters"] = [
                {"filter": f["Filter"], "filterType": f["FilterType"]} for f in filters
            ]
        deletion = rule.get("DeleteReplication")
        if deletion is not None:
            api_rule["deleteReplication"] = {"enabled": bool(deletion.get("Enabled"))}
        rules.append(api_rule)
    return rules


def template_api_fields(properties: Mapping[str, Any]) -> dict[str, Any]:
    """``AWS::ECR::RepositoryCreationTemplate``'s properties as the API's fields."""
    fields: dict[str, Any] = {
        "prefix": properties.get("Prefix"),
        "description": properties.get("Description"),
        "imageTagMutability": properties.get("ImageTagMutability"),
        "repositoryPolicy": properties.get("RepositoryPolicy"),
        "lifecyclePolicy": properties.get("LifecyclePolicy"),
        "appliedFor": properties.get("AppliedFor"),
        "customRoleArn": properties.get("CustomRoleArn"),
    }
    encryption = properties.get("EncryptionConfiguration")
    if encryption:
        fields["encryptionConfiguration"] = {
            "encryptionType": encryption.get("EncryptionType"),
            **({"kmsKey": encryption["KmsKey"]} if encryption.get("KmsKey") else {}),
        }
    filters = properties.get("ImageTagMutabilityExclusionFilters")
    if filters:
        fields["imageTagMutabilityExclusionFilters"] = [
            {
                "filterType": f["ImageTagMutabilityExclusionFilterType"],
                "filter": f["ImageTagMutabilityExclusionFilterValue"],
            }
            for f in filters
        ]
    tags = properties.get("ResourceTags")
    if tags:
        fields["resourceTags"] = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
    return fields


def _policy_text(properties: Mapping[str, Any]) -> str:
    text = properties.get("PolicyText")
    return text if isinstance(text, str) else json.dumps(text)


Create = Callable[[Mapping[str, Any], str, str, str], str]
"""``(properties, logical id, account, region) -> physical id``."""
Delete = Callable[[str, str, str], None]
"""``(physical id, account, region)``."""


Attributes = Callable[[str, str, str], dict[str, str]]
"""``(physical id, account, region) -> {attribute: value}`` for ``Fn::GetAtt``."""


def define_model(
    cloudformation_type: str,
    create: Create,
    delete: Delete,
    *,
    update: Create | None = None,
    attributes: Attributes = lambda _physical, _account, _region: {},
) -> type:
    """A moto ``CloudFormationModel`` of one resource type: ``create`` makes it and returns its
    physical id, ``delete`` removes it; an update is ``update`` (default: ``create``, for a
    resource written whole by a put call), which returns the (possibly new) physical id;
    ``attributes`` gives what ``Fn::GetAtt`` reads."""
    from moto.core.common_models import CloudFormationModel

    class Model(CloudFormationModel):
        def __init__(self, physical_id: str, account_id: str, region_name: str) -> None:
            self.physical_id = physical_id
            self.account_id = account_id
            self.region_name = region_name

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return cloudformation_type

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True  # checked when read: get_cfn_attribute names what exists

        def get_cfn_attribute(self, attribute_name: str) -> str:
            known = attributes(self.physical_id, self.account_id, self.region_name)
            if attribute_name not in known:
                raise KeyError(f"{cloudformation_type} has no attribute {attribute_name}")
            return known[attribute_name]

        @classmethod
        def create_from_cloudformation_json(  # type: ignore[override]
            cls,
            resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            properties = cloudformation_json.get("Properties") or {}
            return cls(
                create(properties, resource_name, account_id, region_name), account_id, region_name
            )

        @classmethod
        def update_from_cloudformation_json(  # type: ignore[override]
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: dict[str, Any],
            account_id: str,
            region_name: str,
        ) -> Any:
            properties = cloudformation_json.get("Properties") or {}
            if update is None:
                physical = create(
                    properties, original_resource.physical_id, account_id, region_name
                )
            else:
                physical = update(
                    properties, original_resource.physical_id, account_id, region_name
                )
            return cls(physical, account_id, region_name)

        def delete(self, account_id: str, region_name: str) -> None:
            delete(self.physical_id, account_id, region_name)

    Model.__name__ = Model.__qualname__ = cloudformation_type.replace("::", "")
    return Model


def _ecr(account: str, region: str) -> Any:
    from moto.ecr.models import ecr_backends

    return ecr_backends[account][region]


def _create_registry_policy(props: Mapping[str, Any], _id: str, account: str, region: str) -> str:
    put_registry_policy(_ecr(account, region), _policy_text(props))
    return account


def _create_replication(props: Mapping[str, Any], _id: str, account: str, region: str) -> str:
    put_replication_configuration(_ecr(account, region), {"rules": replication_rules(props)})
    return account


def _create_template(props: Mapping[str, Any], _id: str, account: str, region: str) -> str:
    fields = template_api_fields(props)
    create_template(_ecr(account, region), fields)
    return str(fields["prefix"])


def _update_template(props: Mapping[str, Any], prefix: str, account: str, region: str) -> str:
    """An update writes every property (what the template no longer sets goes); a new
    ``Prefix`` (create-only) replaces the template."""
    fields = template_api_fields(props)
    registry = _ecr(account, region)
    if fields["prefix"] != prefix:
        create_template(registry, fields)
        delete_template(registry, prefix)
        return str(fields["prefix"])
    template = _existing_template(registry, prefix)
    for key in [k for k in template if k not in ("prefix", "createdAt")]:
        del template[key]
    template.update({k: v for k, v in fields.items() if v is not None})
    template.setdefault("imageTagMutability", "MUTABLE")
    template.setdefault("encryptionConfiguration", {"encryptionType": "AES256"})
    template["updatedAt"] = _now()
    return prefix


def _template_attributes(prefix: str, account: str, region: str) -> dict[str, str]:
    template = _existing_template(_ecr(account, region), prefix)
    return {"CreatedAt": str(template["createdAt"]), "UpdatedAt": str(template["updatedAt"])}


def _sns(account: str, region: str) -> Any:
    from moto.sns.models import sns_backends

    return sns_backends[account][region]


def _create_subscription(props: Mapping[str, Any], _id: str, account: str, region: str) -> str:
    backend = _sns(account, region)
    subscription = backend.subscribe(props["TopicArn"], props["Endpoint"], props["Protocol"])
    return str(subscription.arn)


def _update_subscription(props: Mapping[str, Any], arn: str, account: str, region: str) -> str:
    _sns(account, region).unsubscribe(arn)
    return _create_subscription(props, arn, account, region)


def _create_topic_policy(
    props: Mapping[str, Any], logical_id: str, account: str, region: str
) -> str:
    document = props.get("PolicyDocument")
    text = document if isinstance(document, str) else json.dumps(document)
    for topic in props.get("Topics") or []:
        _sns(account, region).set_topic_attribute(topic, "policy", text)
    return f"{logical_id}|{','.join(props.get('Topics') or [])}"


def _delete_topic_policy(physical: str, account: str, region: str) -> None:
    """Deleting a topic policy puts back SNS's default (the owner's account only)."""
    backend = _sns(account, region)
    for arn in filter(None, physical.split("|", 1)[1].split(",")):
        topic = backend.topics.get(arn)
        if topic is not None:  # the topic may already be gone with the stack
            topic._policy_json = topic._create_default_topic_policy(region, account, topic.name)


def _create_alarm(props: Mapping[str, Any], logical_id: str, account: str, region: str) -> str:
    from moto.cloudwatch.models import cloudwatch_backends

    name = props.get("AlarmName") or f"{logical_id}-e2e"
    cloudwatch_backends[account][region].put_metric_alarm(
        name=name,
        namespace=props.get("Namespace"),
        metric_name=props.get("MetricName"),
        comparison_operator=props["ComparisonOperator"],
        evaluation_periods=int(props["EvaluationPeriods"]),
        period=int(props.get("Period", 60)),
        threshold=float(props["Threshold"]),
        statistic=props.get("Statistic"),
        description=props.get("AlarmDescription"),
        dimensions=[
            {"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions") or []
        ],
        alarm_actions=list(props.get("AlarmActions") or []),
        treat_missing_data=props.get("TreatMissingData"),
    )
    return str(name)


def _delete_alarm(name: str, account: str, region: str) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    cloudwatch_backends[account][region].delete_alarms([name])


def _define_models() -> None:
    from moto.cloudformation import parsing

    models = [
        define_model(
            "AWS::ECR::RegistryPolicy",
            _create_registry_policy,
            lambda _registry, account, region: _ecr(account, region).delete_registry_policy(),
            attributes=lambda registry, _account, _region: {"RegistryId": registry},
        ),
        define_model(
            "AWS::ECR::ReplicationConfiguration",
            _create_replication,
            lambda _registry, account, region: put_replication_configuration(
                _ecr(account, region), {"rules": []}
            ),
            attributes=lambda registry, _account, _region: {"RegistryId": registry},
        ),
        define_model(
            "AWS::ECR::RepositoryCreationTemplate",
            _create_template,
            lambda prefix, account, region: delete_template(_ecr(account, region), prefix),
            update=_update_template,
            attributes=_template_attributes,
        ),
        define_model(
            "AWS::SNS::Subscription",
            _create_subscription,
            lambda arn, account, region: _sns(account, region).unsubscribe(arn),
            update=_update_subscription,
        ),
        define_model("AWS::SNS::TopicPolicy", _create_topic_policy, _delete_topic_policy),
        define_model(
            "AWS::CloudWatch::Alarm",
            _create_alarm,
            _delete_alarm,
            attributes=lambda name, account, region: {
                "Arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
            },
        ),
    ]
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    known = parsing.get_model_map()
    for model in models:
        if known.get(model.cloudformation_type()) is not model:  # pragma: no cover - moto changed
            raise RuntimeError(f"moto did not register {model.cloudformation_type()}")


# ---------------------------------------------------------------------------------------------
# CloudFormation: the change-set life cycle the CDK CLI relies on


def _patch_cloudformation() -> None:
    from moto.cloudformation import models, parsing

    backend_class = models.CloudFormationBackend

    def find(backend: Any, name: str) -> Any:
        if name in backend.change_sets:
            return backend.change_sets[name]
        for change_set in backend.change_sets.values():
            if change_set.change_set_name == name:
                return change_set
        raise service_error("ChangeSetNotFoundException", f"ChangeSet [{name}] does not exist")

    def describe_change_set(self: Any, change_set_name: str) -> Any:
        return find(self, change_set_name)

    def delete_change_set(self: Any, change_set_name: str) -> None:
        # DeleteChangeSet lists no "not found" error: deleting one that is gone succeeds.
        with contextlib.suppress(Exception):
            change_set = find(self, change_set_name)
            del self.change_sets[change_set.change_set_id]

    original_execute = backend_class.execute_change_set

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = find(self, change_set_name)
        try:
            original_execute(self, change_set.change_set_id, stack_name)
        except Exception as error:
            # moto answers a failed execution with an HTTP 500 (which a client retries) and
            # leaves the stack as if it had worked. Say it failed, as CloudFormation does; the
            # resources are not rolled back here, hence *_ROLLBACK_FAILED.
            stack = self.stacks[change_set.stack_id]
            status = (
                "ROLLBACK_FAILED"
                if change_set.change_set_type == "CREATE"
                else "UPDATE_ROLLBACK_FAILED"
            )
            stack.status = status
            stack._add_stack_event(status, resource_status_reason=f"emulator: {error!r}")
            change_set.execution_status = "EXECUTE_FAILED"
            return
        # CloudFormation deletes every change set of a stack once one of them has run.
        for key, other in list(self.change_sets.items()):
            if other.stack_id == change_set.stack_id:
                del self.change_sets[key]

    backend_class.describe_change_set = describe_change_set  # type: ignore[method-assign]
    backend_class.delete_change_set = delete_change_set  # type: ignore[method-assign]
    backend_class.execute_change_set = execute_change_set  # type: ignore[method-assign]

    def previous_parameters(self: Any) -> dict[str, Any]:
        """The parameter values as given (UsePreviousValue reuses them): an SSM-typed
        parameter keeps its parameter name, to be resolved again."""
        resource_map = self.resource_map
        declared = (resource_map._template or {}).get("Parameters", {})
        values = dict(resource_map.resolved_parameters)
        for key, declaration in declared.items():
            if str(declaration.get("Type", "")).startswith("AWS::SSM::Parameter::"):
                values[key] = declaration.get("Default")
        values.update(resource_map.input_parameters or {})
        return values

    models.Stack.stack_parameters = property(previous_parameters)  # type: ignore[assignment,method-assign]

    original_delete_resource = parsing.ResourceMap._delete_resource

    def delete_resource(self: Any, parsed_resource: Any, resource_json: dict[str, Any]) -> None:
        if resource_json.get("DeletionPolicy") == "Retain":
            return
        original_delete_resource(self, parsed_resource, resource_json)

    parsing.ResourceMap._delete_resource = delete_resource  # type: ignore[method-assign]


def _patch_kms() -> None:
    """``AWS::KMS::Key``'s ``KeyPolicy`` is a JSON object in a template; KMS stores the policy
    as text (``GetKeyPolicy`` answers a string). moto keeps the object, and every later call
    that checks the key policy fails."""
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: Any, resource_name: str, cloudformation_json: Any, *args: Any, **kw: Any
    ) -> Any:
        properties = dict(cloudformation_json["Properties"])
        if not isinstance(properties.get("KeyPolicy"), str):
            properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
        return original(
            cls, resource_name, {**cloudformation_json, "Properties": properties}, *args, **kw
        )

    Key.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign,assignment]


def install() -> None:
    """Apply every addition to moto in this process (before the server answers)."""
    _patch_ecr()
    _define_models()
    _patch_cloudformation()
    _patch_kms()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    args = parser.parse_args(argv)
    install()
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"listening on http://{host}:{port}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    # Run from the module's importable name: moto files every model class under the service
    # named by its module path (``tests.e2e.emulator`` -> ``e2e``), which ``__main__`` lacks.
    from tests.e2e.emulator import main as run

    run()
