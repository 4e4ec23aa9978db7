"""cfn-lint and cdk-nag over every template of the default app and of the test topologies.

Both checkers must report nothing (cfn-lint: no error and no warning; cdk-nag: no finding that
is not acknowledged with a reason), and both must still catch a regression.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack

from ecr_replication.constructs import app as cdk_app
from ecr_replication.constructs.destination_role import ReplicationDestinationRole
from ecr_replication.constructs.nag import NAG_CONTEXT_KEY, NagSwitchError, enable_nag
from ecr_replication.model import Grant, Registry
from ecr_replication.model.policies import Statement
from tests.cfn_lint import REPLICATION_CONFIGURATION, lint
from tests.topologies import (
    CENTRAL_MONITORING,
    CLASSIC,
    DESTINATION,
    EVERY_DESTINATION_OPTION,
    REPO_ROOT,
    SOURCE,
    default_context,
    stack_templates,
    synth_topology,
    topologies,
)


def _kms_without_key() -> dict[str, Any]:
    """KMS encryption with no key given: the template role gets a ``key/*`` resource."""
    context = copy.deepcopy(EVERY_DESTINATION_OPTION)
    del context["destinationDefaults"]["repositoryTemplate"]["kmsKeyArn"]
    return context


def _central_monitoring_for_an_organization() -> dict[str, Any]:
    """The central bus admits an organization: principal ``*`` with ``aws:PrincipalOrgID``."""
    return {
        **CENTRAL_MONITORING,
        "destinationDefaults": {"role": {"principalOrgId": "o-abcdef1234"}},
    }


def _local_monitoring_with_a_given_topic() -> dict[str, Any]:
    """One destination alerting a topic that exists: no topic, key or topic policy created."""
    return {
        **CLASSIC,
        "monitoring": {"notificationTopicArn": f"arn:aws:sns:eu-west-1:{DESTINATION}:alerts"},
    }


CHECKED_TOPOLOGIES = {
    **topologies(),
    "kms_without_key": _kms_without_key(),
    "central_monitoring_for_an_organization": _central_monitoring_for_an_organization(),
    "local_monitoring_with_a_given_topic": _local_monitoring_with_a_given_topic(),
}


def lint_findings(assembly: Path) -> list[str]:
    """cfn-lint errors and warnings (experimental rules included) of every template."""
    findings = []
    for stack, (region, template) in stack_templates(assembly).items():
        matches = lint(template.read_text(), region)
        findings += [f"{stack}: {m.rule.id} {m.message} at {m.path}" for m in matches]
    return findings


def nag_report(assembly: Path) -> dict[str, list[dict[str, Any]]]:
    """The AwsSolutions findings in an assembly's validation report: violations, suppressed."""
    report = json.loads((assembly / "validation-report.json").read_text())
    plugin = next(p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions")
    return {
        "violations": plugin.get("violations", []),
        "suppressed": plugin.get("suppressedViolations", []),
    }


def test_templates_of_every_topology_have_no_cfn_lint_errors_or_warnings(
    tmp_path: Path,
) -> None:
    for name, context in CHECKED_TOPOLOGIES.items():
        assembly = synth_topology(context, tmp_path / name)
        assert lint_findings(assembly) == [], name


@pytest.mark.parametrize("name", sorted(CHECKED_TOPOLOGIES))
def test_cdk_nag_finds_nothing_unacknowledged_in_the_topology(name: str, tmp_path: Path) -> None:
    # With the flag on, an unacknowledged finding would make synth raise here.
    assembly = synth_topology(CHECKED_TOPOLOGIES[name], tmp_path, nag=True)
    report = nag_report(assembly)
    assert report["violations"] == []
    for finding in report["suppressed"]:
        assert finding["ruleName"].startswith("AwsSolutions-IAM5[Resource::")
        assert len(finding["reason"]) > 40, finding


def test_only_the_expected_wildcards_are_acknowledged_in_the_default_app(tmp_path: Path) -> None:
    assembly = synth_topology(default_context(), tmp_path, nag=True)
    acknowledged = sorted(f["ruleName"] for f in nag_report(assembly)["suppressed"])
    assert acknowledged == [
        # The destination role's and the source role's actions without a resource type.
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM5[Resource::arn:aws:cloudformation:eu-west-1:"
        f"{DESTINATION}:stack/EcrReplicationDestination-{DESTINATION}-eu-west-1/*]",
        f"AwsSolutions-IAM5[Resource::arn:aws:ecr:eu-west-1:{DESTINATION}:repository/prod/*]",
        # The source role: a repository listing, and the replicated repositories.
        f"AwsSolutions-IAM5[Resource::arn:aws:ecr:us-east-1:{SOURCE}:repository/*]",
        f"AwsSolutions-IAM5[Resource::arn:aws:ecr:us-east-1:{SOURCE}:repository/prod/*]",
    ]


# ---------------------------------------------------------------------------------------------
# Regressions the checkers must catch


def _role_stack(app: App, role_class: type[ReplicationDestinationRole]) -> Stack:
    stack = Stack(app, "Destination", env=Environment(account=DESTINATION, region="eu-west-1"))
    role_class(
        stack,
        "DestinationRole",
        grants=[
            Grant(
                source=Registry(account=SOURCE, region="us-east-1"),
                repository_prefixes=("prod/",),
            )
        ],
    )
    return stack


def _violations_of_failed_synth(app: App, outdir: Path) -> list[str]:
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    return sorted(v["ruleName"] for v in nag_report(outdir)["violations"])


class EcrEverythingRole(ReplicationDestinationRole):
    def permission_statements(self) -> list[Statement]:
        return [
            *super().permission_statements(),
            {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"},
        ]


def test_cdk_nag_reports_a_role_widened_to_every_ecr_action(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    _role_stack(app, EcrEverythingRole)
    enable_nag(app)
    assert _violations_of_failed_synth(app, tmp_path) == ["AwsSolutions-IAM5[Action::ecr:*]"]


class WidenedResourceRole(ReplicationDestinationRole):
    def permission_statements(self) -> list[Statement]:
        statements = super().permission_statements()
        statements[0] = {
            "Effect": "Allow",
            "Action": "ecr:ReplicateImage",
            "Resource": f"arn:aws:ecr:eu-west-1:{DESTINATION}:repository/*",
        }
        return statements


def test_cdk_nag_reports_a_statement_widened_beyond_the_granted_prefixes(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    _role_stack(app, WidenedResourceRole)
    enable_nag(app)
    assert _violations_of_failed_synth(app, tmp_path) == [
        f"AwsSolutions-IAM5[Resource::arn:aws:ecr:eu-west-1:{DESTINATION}:repository/*]"
    ]


def test_cfn_lint_reports_a_broken_property_and_a_misspelt_action(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context={"ecrReplication": default_context()})
    stacks = cdk_app.build_app(app)
    destination = next(iter(stacks.destinations.values()))
    assert destination.repository_template is not None
    assert destination.role is not None
    template = destination.repository_template.templates["prod"]
    template.add_property_override("ImageTagMutability", "SOMETIMES")
    destination.role.resource.add_property_override(
        "Policies.0.PolicyDocument.Statement.1.Action.1", "ecr:DescribeRepositoryCreationTemplate"
    )
    app.synth()
    rules = sorted(finding.split()[1] for finding in lint_findings(tmp_path))
    assert rules == ["E3030", "W3037"]


def _replication_template(delete_replication: Any) -> str:
    rule = {
        "Destinations": [{"Region": "eu-west-1", "RegistryId": DESTINATION}],
        "DeleteReplication": delete_replication,
    }
    return json.dumps(
        {
            "Resources": {
                "Replication": {
                    "Type": REPLICATION_CONFIGURATION,
                    "Properties": {"ReplicationConfiguration": {"Rules": [rule]}},
                }
            }
        }
    )


def test_cfn_lint_checks_delete_replication_as_the_cloudformation_reference_defines_it() -> None:
    # Taught, not silenced: a rule's DeleteReplication is validated like any other property.
    assert lint(_replication_template({"Enabled": True}), "us-east-1") == []
    assert [m.rule.id for m in lint(_replication_template({"Enabled": "often"}), "us-east-1")] == [
        "E3012"
    ]
    assert sorted(m.rule.id for m in lint(_replication_template({}), "eu-west-1")) == ["E3003"]


def test_the_delete_replication_schema_patch_is_still_needed() -> None:
    # tests/cfn_lint.py teaches cfn-lint DeleteReplication. A fresh schema manager reads the
    # schema as cfn-lint ships it: once it has the property, drop the patch.
    from cfnlint.schema.manager import ProviderSchemaManager

    shipped = ProviderSchemaManager().get_resource_schema("us-east-1", REPLICATION_CONFIGURATION)
    rule = shipped.schema["definitions"]["ReplicationRule"]["properties"]
    assert "Destinations" in rule, "the schema is where this test looks"
    assert "DeleteReplication" not in rule, "cfn-lint knows DeleteReplication: drop the patch"


# ---------------------------------------------------------------------------------------------
# The switch


def test_nag_flag_is_off_by_default(tmp_path: Path) -> None:
    assembly = synth_topology(default_context(), tmp_path)
    report = json.loads((assembly / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def test_nag_flag_given_as_a_command_line_string_switches_the_checks_on(tmp_path: Path) -> None:
    app = App(
        outdir=str(tmp_path),
        context={"ecrReplication": default_context(), NAG_CONTEXT_KEY: "true"},
    )
    cdk_app.build_app(app)
    app.synth()
    assert nag_report(tmp_path)["suppressed"] != []


def test_nag_flag_with_a_value_other_than_true_or_false_is_refused() -> None:
    app = App(context={"ecrReplication": default_context(), NAG_CONTEXT_KEY: "yes please"})
    with pytest.raises(NagSwitchError, match=r"ecrReplication:nag: 'yes please' must be true or"):
        cdk_app.build_app(app)


def _run_main_with_context(
    monkeypatch: pytest.MonkeyPatch, outdir: Path, context: dict[str, Any]
) -> None:
    """Make ``cdk_app.main`` build its App with this context, as ``cdk synth -c`` would.

    (The CDK CLI passes context through CDK_CONTEXT_JSON, but the jsii process of the test
    session has already started and would not see a changed environment.)
    """
    monkeypatch.setattr(
        cdk_app,
        "App",
        lambda: App(outdir=str(outdir), context={"ecrReplication": default_context(), **context}),
    )


def test_app_prints_one_line_when_the_flag_is_on_and_cdk_nag_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "cdk_nag", None)  # makes `import cdk_nag` fail
    _run_main_with_context(monkeypatch, tmp_path, {NAG_CONTEXT_KEY: True})
    with pytest.raises(SystemExit) as exit_info:
        cdk_app.main()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "ecr-replication: ecrReplication:nag is on but cdk-nag is not installed; install it "
        "with pip install 'ecr-replication[nag]'"
    ]


def test_app_exits_1_with_one_line_when_cdk_nag_finds_something(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    granted = ReplicationDestinationRole.permission_statements

    def widened(self: ReplicationDestinationRole) -> list[Statement]:
        return [*granted(self), {"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]

    monkeypatch.setattr(ReplicationDestinationRole, "permission_statements", widened)
    _run_main_with_context(monkeypatch, tmp_path, {NAG_CONTEXT_KEY: "true"})
    with pytest.raises(SystemExit) as exit_info:
        cdk_app.main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    ours = [line for line in err.splitlines() if line.startswith("ecr-replication:")]
    assert len(ours) == 1
    assert ours[0].startswith("ecr-replication: synthesis failed: ")
    assert "Traceback" not in err
    assert [v["ruleName"] for v in nag_report(tmp_path)["violations"]] == [
        "AwsSolutions-IAM5[Action::ecr:*]"
    ]


@pytest.mark.e2e
def test_cdk_cli_flag_switches_nag_on_and_the_review_reads_the_result(tmp_path: Path) -> None:
    # What the CI workflow does: `scripts/synth -c ecrReplication:nag=true`, then review.
    cdk = shutil.which("cdk")
    if cdk is None:
        pytest.skip("the CDK CLI is not on PATH (source scripts/env.sh)")
    outdir = tmp_path / "cdk.out"
    env = {**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"}
    synth = subprocess.run(
        [cdk, "synth", "--no-notices", "-q", "-o", str(outdir), "-c", f"{NAG_CONTEXT_KEY}=true"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert synth.returncode == 0, synth.stderr
    assert nag_report(outdir)["suppressed"] != []
    review = subprocess.run(
        [sys.executable, "-m", "ecr_replication", "review", str(outdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert review.returncode == 0, review.stderr
    assert f"## Destination registry {DESTINATION}/eu-west-1" in review.stdout
