"""cfn-lint as the tests run it, with the one schema patch it needs: the only place the tests
call ``cfnlint.api.lint`` or change what it knows.

cfn-lint 1.58's resource schema for ``AWS::ECR::ReplicationConfiguration`` lacks the rule
property ``DeleteReplication`` (``{"Enabled": Boolean}``, required ``Enabled``), which the
CloudFormation template reference documents:
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecr-replicationconfiguration-deletereplication.html
(and ``ReplicationRule``: aws-properties-ecr-replicationconfiguration-replicationrule.html).
Without it, E3002 calls a rule that replicates deletions "additional properties". The tests
call ``cfnlint.api.lint``, which does not apply ``--override-spec``, so the same JSON patch is
applied to the schema cfn-lint's schema manager has loaded, for each region linted. Nothing is
silenced: the property is validated like any other (a non-boolean ``Enabled`` is E3012).

Drop the patch when cfn-lint knows the property: ``tests/constructs/test_nag_lint.py`` fails
then, saying so.
"""

from __future__ import annotations

import threading
from typing import Any

import cfnlint.api
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, SchemaPatch

REPLICATION_CONFIGURATION = "AWS::ECR::ReplicationConfiguration"
DELETE_REPLICATION_SCHEMA: dict[str, Any] = {
    "description": "The delete replication configuration for a replication rule.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "Enabled": {
            "description": "Specifies whether delete replication is enabled.",
            "type": "boolean",
        }
    },
    "required": ["Enabled"],
}
DELETE_REPLICATION_PATCH = SchemaPatch(
    included_resource_types=[],
    excluded_resource_types=[],
    patches={
        REPLICATION_CONFIGURATION: [
            {
                "op": "add",
                "path": "/definitions/DeleteReplication",
                "value": DELETE_REPLICATION_SCHEMA,
            },
            {
                "op": "add",
                "path": "/definitions/ReplicationRule/properties/DeleteReplication",
                "value": {"$ref": "#/definitions/DeleteReplication"},
            },
        ]
    },
)

_patched: set[str] = set()
_lock = threading.Lock()


def _patch_schema(region: str) -> None:
    with _lock:
        if region not in _patched:
            PROVIDER_SCHEMA_MANAGER.patch(DELETE_REPLICATION_PATCH, region)
            _patched.add(region)


def lint(template: str, region: str) -> list[Any]:
    """cfn-lint's matches (errors and warnings, experimental rules included) for a template."""
    _patch_schema(region)
    return list(
        cfnlint.api.lint(
            template, config=cfnlint.api.ManualArgs(regions=[region], include_experimental=True)
        )
    )
