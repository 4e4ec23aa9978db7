"""No deprecated CDK API in the package: every test topology, and the constructs wired by hand
(``allow_replication_from``, hooks), synthesize under ``JSII_DEPRECATED=fail``, what careful CDK
users and the CDK's own tests run. In a subprocess: jsii reads the variable when its kernel
starts, and this test session's kernel is already running."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.topologies import topologies

REPO = Path(__file__).resolve().parents[2]

SYNTHESIZE_EVERYTHING = """
import sys
from pathlib import Path

import aws_cdk as cdk

from ecr_replication import (
    DestinationRegistryPolicy,
    Registry,
    ReplicationDestinationRole,
    ReplicationRule,
    SourceRegistryReplication,
)
from tests.topologies import synth_topology, topologies

out = Path(sys.argv[1])
for name, context in topologies().items():
    synth_topology(context, out / name)
    print(name)


class WithoutRegionChecks(ReplicationDestinationRole):
    def permission_statements(self):
        return [s for s in super().permission_statements() if s["Sid"] != "ReadRegionOptIn"]


app = cdk.App(outdir=str(out / "wired"))
prod = Registry(account="123456789012", region="eu-west-1")
build = cdk.Stack(app, "Build", env=cdk.Environment(account="555444333222", region="us-east-1"))
target = cdk.Stack(app, "Prod", env=cdk.Environment(account=prod.account, region=prod.region))
replication = SourceRegistryReplication(
    build,
    "Replication",
    rules=[ReplicationRule(repository_prefixes=["prod/"], destinations=[prod])],
    backfill_existing_images=True,
)
policy = DestinationRegistryPolicy(target, "RegistryPolicy")
policy.allow_replication_from(replication)
WithoutRegionChecks(target, "Role", grants=policy.grants)
app.synth()
print("wired")
"""


def synthesize(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "JSII_"))}
    env["PATH"] = os.pathsep.join([str(REPO / ".venv" / "bin"), env.get("PATH", "")])
    env["JSII_DEPRECATED"] = "fail"
    return subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.e2e
def test_every_topology_and_the_wired_constructs_synthesize_with_deprecated_apis_failing(
    tmp_path: Path,
) -> None:
    result = synthesize(SYNTHESIZE_EVERYTHING, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == [*topologies(), "wired"]
    assert "deprecated" not in result.stderr


@pytest.mark.e2e
def test_a_deprecated_call_does_fail_in_that_subprocess(tmp_path: Path) -> None:
    """The check above can fail: the same subprocess refuses ``Stack.add_dependency``."""
    script = (
        "import aws_cdk as cdk\n"
        "app = cdk.App()\n"
        "cdk.Stack(app, 'A').add_dependency(cdk.Stack(app, 'B'))\n"
    )
    result = synthesize(script, tmp_path)
    assert result.returncode != 0
    assert "DeprecationError: aws-cdk-lib.Stack#addDependency is deprecated" in result.stderr
