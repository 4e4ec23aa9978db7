"""A library user's app, typed: what tests/e2e/test_wheel.py type-checks with ``mypy --strict``
against the installed wheel, and synthesizes with the CDK CLI from a folder of its own.

It composes the constructs the way the README shows: a hook that sends one more prefix, the
grant wired with ``allow_replication_from``, a role whose hook is overridden (and which warns:
it trusts the whole build account), a topology built from Python values, and an error caught
by its type.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from ecr_replication import (
    DestinationRegistryPolicy,
    Grant,
    Registry,
    ReplicationConfigError,
    ReplicationDestinationRole,
    ReplicationRule,
    SourceRegistryReplication,
)
from ecr_replication.constructs.source import RenderedRule

BUILD = Registry(account="555444333222", region="us-east-1")
PROD = Registry(account="123456789012", region="eu-west-1")


class AlsoSharedImages(SourceRegistryReplication):
    def __init__(
        self, scope: Construct, construct_id: str, *, rules: Sequence[ReplicationRule]
    ) -> None:
        super().__init__(scope, construct_id, rules=rules)
        self.shared_prefix = "shared/"

    def render_rule(self, rule: ReplicationRule) -> RenderedRule:
        rendered = super().render_rule(rule)
        rendered.setdefault("RepositoryFilters", []).append(
            {"Filter": self.shared_prefix, "FilterType": "PREFIX_MATCH"}
        )
        return rendered


class WithoutRegionChecks(ReplicationDestinationRole):
    def permission_statements(self) -> list[dict[str, Any]]:
        return [s for s in super().permission_statements() if s["Sid"] != "ReadRegionOptIn"]


def environment(registry: Registry) -> cdk.Environment:
    return cdk.Environment(account=registry.account, region=registry.region)


def refused(account: str) -> str | None:
    """The library's one-line message for a bad account id, or None when it is valid."""
    try:
        Registry(account=account, region=BUILD.region)
    except ReplicationConfigError as error:
        return str(error.problems[0])
    return None


def main() -> None:
    assert refused("12345") is not None and refused(BUILD.account) is None
    app = cdk.App()
    build = cdk.Stack(app, "Build", env=environment(BUILD))
    replication = AlsoSharedImages(
        build,
        "Replication",
        rules=[ReplicationRule(repository_prefixes=["prod/"], destinations=[PROD])],
    )
    prod = cdk.Stack(app, "Prod", env=environment(PROD))
    policy = DestinationRegistryPolicy(prod, "RegistryPolicy")
    policy.allow_replication_from(replication)
    grants: Sequence[Grant] = policy.grants
    WithoutRegionChecks(prod, "ReaderRole", grants=grants)
    app.synth()


if __name__ == "__main__":
    main()
