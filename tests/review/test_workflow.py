"""The CI workflow users copy: it runs the commands this repository actually has."""

from __future__ import annotations

import os

import yaml

from tests.topologies import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "synth-review.yml"


def _runs(job: str) -> list[str]:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"][job]["steps"]
    return [step["run"].strip() for step in steps if "run" in step]


def test_workflow_tests_then_synthesizes_with_nag_and_guard_and_reviews_into_the_summary() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert _runs("test") == [".ci/run"]
    assert jobs["synth-review"]["needs"] == "test"
    assert _runs("synth-review") == [
        "scripts/synth -c ecrReplication:nag=true -c ecrReplication:guard=true",
        ".venv/bin/ecr-replication review cdk.out --output review.md\n"
        'cat review.md >> "$GITHUB_STEP_SUMMARY"',
    ]


def test_workflow_scripts_exist_and_are_executable() -> None:
    for script in (".ci/run", "scripts/test", "scripts/synth"):
        assert os.access(REPO_ROOT / script, os.X_OK), script


def test_the_review_job_uses_the_oldest_python_claimed() -> None:
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["synth-review"]["steps"]
    (setup,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup["with"]["python-version"] == "3.11"
