"""AWS Control Tower's proactive controls over every stack of representative topologies.

Organizations that enable Control Tower's proactive controls run them as CloudFormation hooks:
a stack whose resources break one fails to deploy. The same Guard rules run offline through the
CDK validation plugin AWS publishes with them (``cdklabs-cdk-validator-cfnguard``, switched on
with ``-c ecrReplication:guard=true``). Every stack must pass them all, except the two controls
that need the user's own network and key: CT.LAMBDA.PR.3 (a function in a customer VPC) and
CT.CLOUDWATCH.PR.3 (a log group under a customer key), which the backfill function meets only
when ``sources[].backfillFunction`` gives them.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from ecr_replication.constructs import app as cdk_app
from ecr_replication.constructs.guard import (
    GUARD_CONTEXT_KEY,
    GUARD_DISABLED_RULES_CONTEXT_KEY,
    enable_guard,
)
from ecr_replication.constructs.switches import SwitchError
from ecr_replication.naming import GUARD_METADATA, GUARD_PLUGIN
from ecr_replication.review.assembly import read_assembly
from ecr_replication.review.command import review_assembly
from ecr_replication.review.render import review_json, review_markdown
from tests.topologies import (
    BACKFILL,
    CENTRAL_MONITORING,
    GOVERNED,
    SOURCE,
    default_context,
    synth_topology,
    topologies,
)

BACKFILL_STACK = f"EcrReplicationSource-{SOURCE}-us-east-1"
FUNCTION = f"{BACKFILL_STACK}/Replication/Backfill/Function"
LOG_GROUP = f"{BACKFILL_STACK}/Replication/Backfill/LogGroup/Resource"

REPRESENTATIVE: dict[str, Any] = {
    name: topologies()[name]
    for name in (
        "default",
        "local_monitoring",
        "central_monitoring",
        "operations",
        "backfill",
        "governed",
        "ecr_2026",
    )
}
REPRESENTATIVE["central_monitoring_for_an_organization"] = {
    **CENTRAL_MONITORING,
    "destinationDefaults": {"role": {"principalOrgId": "o-abcdef1234"}},
}

WITHOUT_FUNCTION_SETTINGS = {("CT.LAMBDA.PR.3", FUNCTION), ("CT.CLOUDWATCH.PR.3", LOG_GROUP)}
"""What a backfill function without settings breaks: it needs the user's subnets and key."""


def control_failures(assembly: Path) -> set[tuple[str, str]]:
    """``(control id, construct path)`` of every failure the plugin reported."""
    report_file = assembly / "validation-report.json"
    if not report_file.exists():
        return set()
    report = json.loads(report_file.read_text())
    failures = set()
    for plugin in report["pluginReports"]:
        if plugin["pluginName"] != GUARD_PLUGIN:
            continue
        for violation in plugin["violations"]:
            control = violation["description"].split("]")[0].lstrip("[")
            for construct in violation["violatingConstructs"]:
                failures.add((control, construct["constructPath"]))
    return failures


def synth_guarded(context: Any, outdir: Path) -> set[tuple[str, str]]:
    """Synthesize with the controls on; the failures (synth fails exactly when there are)."""
    try:
        synth_topology(context, outdir, guard=True)
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
        failures = control_failures(outdir)
        assert failures, "synthesis failed without a control failure"
        return failures
    return control_failures(outdir)


@pytest.mark.parametrize("name", sorted(REPRESENTATIVE))
def test_every_stack_passes_control_towers_proactive_controls(name: str, tmp_path: Path) -> None:
    expected = WITHOUT_FUNCTION_SETTINGS if name == "backfill" else set()
    assert synth_guarded(REPRESENTATIVE[name], tmp_path) == expected
    controls = review_assembly(tmp_path).controls
    assert controls is not None
    assert controls.ran
    assert controls.passed is (not expected)


def test_the_representative_topologies_create_what_the_controls_look_at() -> None:
    # A topology without keys, log groups or functions would pass vacuously.
    kinds = json.dumps(REPRESENTATIVE)
    assert "notificationEmails" in kinds  # alert topics and their keys
    assert "centralAccount" in kinds
    assert '"backfillExistingImages": true' in kinds  # functions and log groups
    assert "backfillFunction" in kinds


# ---------------------------------------------------------------------------------------------
# The checks still catch a regression


def test_the_controls_catch_a_key_policy_that_lets_anyone_create_grants(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context={"ecrReplication": REPRESENTATIVE["local_monitoring"]})
    stacks = cdk_app.build_app(app)
    alerts = next(s.alerts for s in stacks.destinations.values() if s.alerts is not None)
    assert alerts is not None and alerts.key is not None
    alerts.key.add_property_override("KeyPolicy.Statement.3", None)  # the grant limit
    enable_guard(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert {control for control, _ in control_failures(tmp_path)} == {"CT.KMS.PR.3"}


def test_the_controls_catch_logs_kept_less_than_a_year(tmp_path: Path) -> None:
    context = copy.deepcopy(GOVERNED)
    context["sources"][0]["backfillFunction"]["logRetentionDays"] = 90
    assert synth_guarded(context, tmp_path) == {("CT.CLOUDWATCH.PR.2", LOG_GROUP)}


def test_rules_an_organization_does_not_enable_can_be_left_out(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context={"ecrReplication": BACKFILL})
    cdk_app.build_app(app)
    enable_guard(app, disabled_rules=["CT.LAMBDA.PR.3", "ct-cloudwatch-pr-3"])
    app.synth()
    assert control_failures(tmp_path) == set()
    marks = [
        entry["data"]
        for stack in read_assembly(tmp_path)
        for entries in stack.metadata.values()
        for entry in entries
        if entry["type"] == GUARD_METADATA
    ]
    assert marks and all(
        m["disabledRules"] == ["ct-cloudwatch-pr-3", "ct-lambda-pr-3"] for m in marks
    )


# ---------------------------------------------------------------------------------------------
# The switch, and what review says


def test_the_controls_are_off_by_default_and_review_says_nothing_of_them(tmp_path: Path) -> None:
    synth_topology(BACKFILL, tmp_path)
    review = review_assembly(tmp_path)
    assert review.controls is None
    assert review_json(review)["controlTower"] is None
    assert "Control Tower" not in review_markdown(review)


def test_review_says_the_assembly_passes_the_controls(tmp_path: Path) -> None:
    synth_topology(GOVERNED, tmp_path, guard=True)
    review = review_assembly(tmp_path)
    assert review_json(review)["controlTower"] == {
        "ran": True,
        "passed": True,
        "disabled": [],
        "failures": [],
    }
    assert (
        "## AWS Control Tower proactive controls\n\nPassed: no stack breaks a bundled control."
        in review_markdown(review)
    )


def test_review_lists_the_controls_switched_off_and_never_says_passed(tmp_path: Path) -> None:
    app = App(
        outdir=str(tmp_path),
        context={
            "ecrReplication": GOVERNED,
            GUARD_CONTEXT_KEY: "true",
            GUARD_DISABLED_RULES_CONTEXT_KEY: "CT.LAMBDA.PR.3,CT.KMS.PR.1",
        },
    )
    cdk_app.build_app(app)
    app.synth()
    review = review_assembly(tmp_path)
    document = review_json(review)["controlTower"]
    assert document == {
        "ran": True,
        "passed": False,
        "disabled": ["CT.KMS.PR.1", "CT.LAMBDA.PR.3"],
        "failures": [],
    }
    markdown = review_markdown(review)
    assert "Passed" not in markdown
    assert (
        "## AWS Control Tower proactive controls\n\nNot checked: 2 control(s) switched off "
        "(`ecrReplication:guardDisabledRules`); where your organization enables one, a stack "
        "that breaks it fails to deploy.\n\n- **CT.KMS.PR.1** switched off\n"
        "- **CT.LAMBDA.PR.3** switched off\n\nNo stack breaks a control that ran.\n"
    ) in markdown


def test_review_names_each_failed_control_and_its_resources(tmp_path: Path) -> None:
    synth_guarded(BACKFILL, tmp_path)
    review = review_assembly(tmp_path)
    document = review_json(review)["controlTower"]
    assert document["ran"] is True
    assert document["passed"] is False
    assert [(f["control"], f["resources"]) for f in document["failures"]] == [
        ("CT.CLOUDWATCH.PR.3", [LOG_GROUP]),
        ("CT.LAMBDA.PR.3", [FUNCTION]),
    ]
    markdown = review_markdown(review)
    assert "Failed: 2 finding(s)" in markdown
    assert (
        "- **CT.LAMBDA.PR.3** Require an AWS Lambda function to be in a customer-managed "
        f"Amazon Virtual Private Cloud (VPC): `{FUNCTION}`" in markdown
    )


def test_the_flag_given_as_a_command_line_string_switches_the_controls_on(tmp_path: Path) -> None:
    app = App(
        outdir=str(tmp_path),
        context={"ecrReplication": BACKFILL, GUARD_CONTEXT_KEY: "true"},
    )
    cdk_app.build_app(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert control_failures(tmp_path) == WITHOUT_FUNCTION_SETTINGS


@pytest.mark.parametrize(
    "disabled", ['["CT.LAMBDA.PR.3", "CT.CLOUDWATCH.PR.3"]', "ct-lambda-pr-3, CT.CLOUDWATCH.PR.3"]
)
def test_the_context_leaves_out_controls_given_as_a_list_or_with_commas(
    disabled: str, tmp_path: Path
) -> None:
    app = App(
        outdir=str(tmp_path),
        context={
            "ecrReplication": BACKFILL,
            GUARD_CONTEXT_KEY: "true",
            GUARD_DISABLED_RULES_CONTEXT_KEY: disabled,
        },
    )
    cdk_app.build_app(app)
    app.synth()
    assert control_failures(tmp_path) == set()


@pytest.mark.parametrize(
    ("disabled", "expected"),
    [
        (
            ["CT.LAMBDA.PR.9", "lambda"],
            "disabled rules: 'CT.LAMBDA.PR.9', 'lambda' are not controls the plugin bundles; "
            "give control ids such as 'CT.LAMBDA.PR.3'",
        ),
        (
            [3],
            "context ecrReplication:guardDisabledRules: [3] must be a list of control ids, e.g. "
            '["CT.LAMBDA.PR.3"]',
        ),
    ],
)
def test_a_control_the_plugin_does_not_bundle_is_refused(disabled: Any, expected: str) -> None:
    app = App(
        context={
            "ecrReplication": default_context(),
            GUARD_CONTEXT_KEY: True,
            GUARD_DISABLED_RULES_CONTEXT_KEY: disabled,
        }
    )
    with pytest.raises(SwitchError) as error:
        cdk_app.build_app(app)
    assert str(error.value) == expected


def test_the_flag_with_a_value_other_than_true_or_false_is_refused() -> None:
    app = App(context={"ecrReplication": default_context(), GUARD_CONTEXT_KEY: "always"})
    with pytest.raises(SwitchError, match=r"ecrReplication:guard: 'always' must be true or false"):
        cdk_app.build_app(app)


def test_app_prints_one_line_when_the_flag_is_on_and_the_plugin_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "cdklabs.cdk_validator_cfnguard", None)
    monkeypatch.setattr(
        cdk_app,
        "App",
        lambda: App(
            outdir=str(tmp_path),
            context={"ecrReplication": default_context(), GUARD_CONTEXT_KEY: True},
        ),
    )
    with pytest.raises(SystemExit) as exit_info:
        cdk_app.main()
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "ecr-replication: ecrReplication:guard is on but the Control Tower validator plugin is "
        "not installed; install it with pip install 'ecr-replication[guard]'"
    ]
