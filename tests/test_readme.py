"""The README's examples run as written: every Python block is a complete program, and every
console block shows the real output and exit code of its commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def run_python_block(code: str, outdir: Path) -> dict[str, Any]:
    """Run one block as a program in a fresh namespace; its templates by stack name."""
    assert code.count("cdk.App()") == 1, "one app per example"
    assert code.rstrip().endswith("app.synth()"), "a complete program synthesizes its app"
    # The jsii kernel is shared by the test session, so the output folder is given explicitly.
    exec(code.replace("cdk.App()", f"cdk.App(outdir={str(outdir)!r})"), {"__name__": "__main__"})
    return {
        p.name.removesuffix(".template.json"): json.loads(p.read_text())
        for p in outdir.glob("*.template.json")
    }


PYTHON_BLOCKS = blocks("python")


def test_the_readme_has_python_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_every_python_block_is_a_complete_program_that_synthesizes(
    index: int, tmp_path: Path
) -> None:
    templates = run_python_block(PYTHON_BLOCKS[index], tmp_path)
    assert templates, "the example wrote its templates"


def test_the_shortest_example_grants_the_build_account_and_deploys_prod_first(
    tmp_path: Path,
) -> None:
    templates = run_python_block(PYTHON_BLOCKS[0], tmp_path)
    assert set(templates) == {"Build", "Prod"}
    (policy,) = templates["Prod"]["Resources"].values()
    (statement,) = policy["Properties"]["PolicyText"]["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::555444333222:root"}
    assert statement["Resource"] == "arn:aws:ecr:eu-west-1:123456789012:repository/prod/*"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["artifacts"]["Build"]["dependencies"][0] == "Prod"


def _one(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def test_the_hook_recipe_changes_what_each_hook_renders(tmp_path: Path) -> None:
    (recipe,) = [b for b in PYTHON_BLOCKS if "class AlsoSharedImages" in b]
    templates = run_python_block(recipe, tmp_path)
    build, prod = templates["Build"], templates["Prod"]
    (configuration,) = _one(build, "AWS::ECR::ReplicationConfiguration")
    filters = configuration["ReplicationConfiguration"]["Rules"][0]["RepositoryFilters"]
    assert {"Filter": "shared/", "FilterType": "PREFIX_MATCH"} in filters
    conditions = [
        s.get("Condition")
        for role in _one(build, "AWS::IAM::Role")
        for p in role.get("Policies", [])
        for s in p["PolicyDocument"]["Statement"]
    ]
    assert {"StringEquals": {"aws:RequestedRegion": "us-east-1"}} in conditions
    (policy,) = _one(prod, "AWS::ECR::RegistryPolicy")
    (statement,) = policy["PolicyText"]["Statement"]
    assert statement["Sid"] == "Replicate555444333222"
    assert statement["Resource"] == [
        "arn:aws:ecr:eu-west-1:123456789012:repository/prod/*",
        "arn:aws:ecr:eu-west-1:123456789012:repository/shared/*",
    ], "allow_replication_from grants what the hook adds"
    roles = {r["RoleName"]: r for r in _one(prod, "AWS::IAM::Role")}
    tooling = roles["ecr-replication-destination-eu-west-1"]
    assert tooling["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::555444333222:role/ci"
    }
    reader = roles["ecr-replication-reader"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert "ReadRegionOptIn" not in {s["Sid"] for s in reader}
    descriptions = {
        t["Prefix"]: t["Description"] for t in _one(prod, "AWS::ECR::RepositoryCreationTemplate")
    }
    assert descriptions == {
        "prod": "Replicated prod images (managed by ecr-replication)",
        "shared": "Replicated shared images (managed by ecr-replication)",
    }
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    prod_metadata = json.dumps(manifest["artifacts"]["Prod"].get("metadata", {}))
    assert "roleTrustsWholeAccount" not in prod_metadata, "TrustedByCi trusts one role"


# ---------------------------------------------------------------------------------------------
# Console blocks: the real output and exit code


def console_sessions() -> list[list[tuple[str, list[str]]]]:
    """Each console block as ``[(command, expected output lines), ...]``."""
    sessions = []
    for block in blocks("console"):
        steps: list[tuple[str, list[str]]] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        sessions.append(steps)
    return sessions


def shell_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    env["PATH"] = os.pathsep.join(
        [str(REPO / ".venv" / "bin"), str(REPO / "node_modules" / ".bin"), env.get("PATH", "")]
    )
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


@pytest.mark.e2e
@pytest.mark.parametrize("session", console_sessions(), ids=lambda s: s[0][0][:40])
def test_every_console_example_prints_what_the_readme_shows(
    session: list[tuple[str, list[str]]], tmp_path: Path
) -> None:
    script = ["rc=0"]
    synth = f"cdk synth --no-notices -o {tmp_path / 'out'}"
    for shown, _expected in session:
        # scripts/synth would first run the installer (already done for this test run); the
        # synth it then runs is this one. Output as a terminal shows it: stderr and stdout.
        command = shown.replace("scripts/synth", synth).replace("$?", "$rc")
        script.append(f"echo '>>> step'; {command} 2>&1; rc=$?")
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=tmp_path if "ecr-replication" in session[0][0] else REPO,
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outputs = result.stdout.split(">>> step\n")[1:]
    assert [o.splitlines() for o in outputs] == [expected for _command, expected in session]
