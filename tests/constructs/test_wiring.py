"""``allow_replication_from``: the registry policy grants what the source's rules send, as
rendered (``render_rule`` hooks included), or synthesis fails with one line naming what is sent
and not granted; and the source stack deploys after the policy's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Environment, Stack
from aws_cdk.assertions import Template

from ecr_replication.constructs.registry_policy import DestinationRegistryPolicy
from ecr_replication.constructs.source import RenderedRule, SourceRegistryReplication
from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import Grant, Registry, ReplicationRule
from ecr_replication.model.policies import Statement

BUILD = Registry(account="555444333222", region="us-east-1")
PROD = Registry(account="123456789012", region="eu-west-1")
STAGING = Registry(account="210987654321", region="eu-west-1")
REPOSITORY = "arn:aws:ecr:eu-west-1:123456789012:repository"


def stacks(app: App | None = None) -> tuple[App, Stack, Stack]:
    app = app or App()
    build = Stack(app, "Build", env=Environment(account=BUILD.account, region=BUILD.region))
    prod = Stack(app, "Prod", env=Environment(account=PROD.account, region=PROD.region))
    return app, build, prod


def rule(*prefixes: str, to: Registry = PROD) -> ReplicationRule:
    return ReplicationRule(repository_prefixes=prefixes, destinations=[to])


def granted_resources(prod: Stack) -> list[str]:
    (policy,) = Template.from_stack(prod).find_resources("AWS::ECR::RegistryPolicy").values()
    (statement,) = policy["Properties"]["PolicyText"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{BUILD.account}:root"}
    resources = statement["Resource"]
    return sorted(resources if isinstance(resources, list) else [resources])


class AlsoSharedImages(SourceRegistryReplication):
    """The README's hook: every rule also sends ``shared/``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_prefix = "shared/"  # set after the base constructor, used at synthesis

    def render_rule(self, rule: ReplicationRule) -> RenderedRule:
        rendered = super().render_rule(rule)
        rendered.setdefault("RepositoryFilters", []).append(
            {"Filter": self.shared_prefix, "FilterType": "PREFIX_MATCH"}
        )
        return rendered


def test_the_policy_grants_the_prefixes_of_the_rules_into_this_registry() -> None:
    _app, build, prod = stacks()
    replication = SourceRegistryReplication(
        build, "Replication", rules=[rule("prod/"), rule("staging/", to=STAGING)]
    )
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    assert granted_resources(prod) == [f"{REPOSITORY}/prod/*"]


def test_the_source_stack_deploys_after_the_policy_stack(tmp_path: Path) -> None:
    app, build, prod = stacks(App(outdir=str(tmp_path)))
    replication = SourceRegistryReplication(build, "Replication", rules=[rule("prod/")])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    app.synth()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "Prod" in manifest["artifacts"]["Build"]["dependencies"]
    assert "Build" not in manifest["artifacts"]["Prod"].get("dependencies", [])


def test_a_rule_added_after_the_wiring_is_granted() -> None:
    _app, build, prod = stacks()
    replication = SourceRegistryReplication(build, "Replication", rules=[rule("prod/")])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    replication.add_rule(rule("team-a/"))
    assert granted_resources(prod) == [f"{REPOSITORY}/prod/*", f"{REPOSITORY}/team-a/*"]


def test_a_prefix_a_render_rule_hook_adds_is_granted() -> None:
    _app, build, prod = stacks()
    replication = AlsoSharedImages(build, "Replication", rules=[rule("prod/")])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    assert granted_resources(prod) == [f"{REPOSITORY}/prod/*", f"{REPOSITORY}/shared/*"]


def test_a_hook_that_drops_the_filters_is_granted_every_repository() -> None:
    class Everything(SourceRegistryReplication):
        def render_rule(self, rule: ReplicationRule) -> RenderedRule:
            rendered = super().render_rule(rule)
            rendered.pop("RepositoryFilters", None)
            return rendered

    _app, build, prod = stacks()
    replication = Everything(build, "Replication", rules=[rule("prod/")])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    assert granted_resources(prod) == [f"{REPOSITORY}/*"]


class ToProdInstead(SourceRegistryReplication):
    """Every rule goes to PROD instead of where the model says."""

    def render_rule(self, rule: ReplicationRule) -> RenderedRule:
        rendered = super().render_rule(rule)
        rendered["Destinations"] = [{"Region": PROD.region, "RegistryId": PROD.account}]
        return rendered


def test_a_destination_a_hook_adds_is_granted() -> None:
    _app, build, prod = stacks()
    replication = ToProdInstead(build, "Replication", rules=[rule("team-a/", to=STAGING)])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    assert granted_resources(prod) == [f"{REPOSITORY}/team-a/*"]


def test_a_destination_a_hook_removes_is_not_granted_and_the_wiring_fails() -> None:
    app, build, _prod = stacks()
    staging = Stack(app, "Staging", env=Environment(account=STAGING.account, region="eu-west-1"))
    replication = ToProdInstead(build, "Replication", rules=[rule("team-a/", to=STAGING)])
    DestinationRegistryPolicy(staging, "RegistryPolicy").allow_replication_from(replication)
    with pytest.raises(
        RuntimeError,
        match=r"Staging/RegistryPolicy: Build/Replication has no rule replicating into "
        r"210987654321/eu-west-1; allow_replication_from needs one",
    ):
        Template.from_stack(staging)


def test_a_filter_that_cannot_be_read_back_fails_synthesis_naming_it_in_one_line() -> None:
    class FromParameter(SourceRegistryReplication):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.prefix = CfnParameter(Stack.of(self), "SharedPrefix", default="shared/")

        def render_rule(self, rule: ReplicationRule) -> RenderedRule:
            rendered = super().render_rule(rule)
            rendered["RepositoryFilters"].append(
                {"Filter": self.prefix.value_as_string, "FilterType": "PREFIX_MATCH"}
            )
            return rendered

    _app, build, prod = stacks()
    replication = FromParameter(build, "Replication", rules=[rule("prod/")])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    with pytest.raises(RuntimeError) as info:
        Template.from_stack(prod)
    (line,) = [line for line in str(info.value).splitlines() if "SharedPrefix" in line]
    assert line.endswith(
        'Prod/RegistryPolicy: Build/Replication rules[0] replicates {"Ref": "SharedPrefix"} '
        "into 123456789012/eu-west-1, which cannot be read back (a PREFIX_MATCH filter with a "
        "plain string) and so is not granted"
    )


def test_a_prefix_that_cannot_be_granted_fails_synthesis_naming_it() -> None:
    class UpperCase(SourceRegistryReplication):
        def render_rule(self, rule: ReplicationRule) -> RenderedRule:
            rendered = super().render_rule(rule)
            rendered["RepositoryFilters"].append(
                {"Filter": "Shared/", "FilterType": "PREFIX_MATCH"}
            )
            return rendered

    _app, build, prod = stacks()
    replication = UpperCase(build, "Replication", rules=[rule("prod/")])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    with pytest.raises(
        RuntimeError,
        match=r"Prod/RegistryPolicy: Build/Replication replicates into 123456789012/eu-west-1 "
        r"what cannot be granted: repositoryPrefixes\[1\]: 'Shared/'",
    ):
        Template.from_stack(prod)


def test_a_policy_hook_that_narrows_the_grant_fails_synthesis_naming_the_prefix() -> None:
    class ProdOnly(DestinationRegistryPolicy):
        def grant_statement(self, grant: Grant) -> Statement:
            return {**super().grant_statement(grant), "Resource": f"{REPOSITORY}/prod/*"}

    _app, build, prod = stacks()
    replication = AlsoSharedImages(build, "Replication", rules=[rule("prod/")])
    ProdOnly(prod, "RegistryPolicy").allow_replication_from(replication)
    with pytest.raises(
        RuntimeError,
        match=r"Prod/RegistryPolicy: Build/Replication replicates shared/\* into "
        r"123456789012/eu-west-1, but this registry policy does not let account 555444333222 "
        r"replicate it \(no statement allows it\): replication of those repositories would fail",
    ):
        Template.from_stack(prod)


def test_a_kept_deny_on_a_sent_prefix_fails_synthesis() -> None:
    deny = {
        "Sid": "NoShared",
        "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{BUILD.account}:root"},
        "Action": "ecr:ReplicateImage",
        "Resource": f"{REPOSITORY}/shared/*",
    }
    _app, build, prod = stacks()
    replication = AlsoSharedImages(build, "Replication", rules=[rule("prod/")])
    policy = DestinationRegistryPolicy(prod, "RegistryPolicy", additional_statements=[deny])
    policy.allow_replication_from(replication)
    with pytest.raises(RuntimeError, match=r"replicates shared/\* .*denied by statement NoShared"):
        Template.from_stack(prod)


def test_what_the_policy_grants_is_what_the_review_reads_as_granted(tmp_path: Path) -> None:
    """The review's missing-grant warning, an oracle apart from the construct, finds nothing."""
    from ecr_replication.review.analysis import build_review
    from ecr_replication.review.assembly import read_assembly

    app, build, prod = stacks(App(outdir=str(tmp_path)))
    replication = AlsoSharedImages(build, "Replication", rules=[rule("prod/")])
    DestinationRegistryPolicy(prod, "RegistryPolicy").allow_replication_from(replication)
    app.synth()
    review = build_review(read_assembly(tmp_path))
    (destination,) = review.destinations
    (granted,) = destination.registry_policy.grants if destination.registry_policy else ()
    assert granted.repositories == ("prod/*", "shared/*")
    assert [w.code for w in review.warnings if "grant" in w.code] == []


def test_wiring_a_replication_in_the_same_account_is_refused() -> None:
    app = App()
    build = Stack(app, "Build", env=Environment(account=BUILD.account, region=BUILD.region))
    west = Stack(app, "West", env=Environment(account=BUILD.account, region="us-west-2"))
    replication = SourceRegistryReplication(
        build,
        "Replication",
        rules=[rule("prod/", to=Registry(account=BUILD.account, region="us-west-2"))],
    )
    with pytest.raises(ReplicationConfigError, match="needs no registry policy"):
        DestinationRegistryPolicy(west, "RegistryPolicy").allow_replication_from(replication)
