"""The CI workflow users copy: it runs the commands this repository actually has."""

from __future__ import annotations

import os

import yaml

from tests.topologies import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "synth-review.yml"


def _runs() -> list[str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["synth-review"]["steps"]
    return [step["run"].strip() for step in steps if "run" in step]


def test_workflow_tests_synthesizes_with_nag_and_reviews_into_the_job_summary() -> None:
    assert _runs() == [
        "scripts/test",
        "scripts/synth -c ecrReplication:nag=true",
        ".venv/bin/ecr-replication review cdk.out --output review.md\n"
        'cat review.md >> "$GITHUB_STEP_SUMMARY"',
    ]


def test_workflow_scripts_exist_and_are_executable() -> None:
    for script in ("scripts/test", "scripts/synth"):
        assert os.access(REPO_ROOT / script, os.X_OK), script


def test_workflow_uses_python_3_11() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["synth-review"]["steps"]
    (setup,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup["with"]["python-version"] == "3.11"
