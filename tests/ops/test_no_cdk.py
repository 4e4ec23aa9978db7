"""The operations commands start without aws_cdk (no Node.js, fast start)."""

from __future__ import annotations

import subprocess
import sys


def test_the_operations_commands_never_import_aws_cdk_or_jsii() -> None:
    script = """
import sys
from ecr_replication.cli import main
for command in ("preflight", "verify", "cost"):
    assert main([command, "--help"]) == 0
import ecr_replication.ops.aws, ecr_replication.ops.config, ecr_replication.ops.report
import ecr_replication.ops.preflight, ecr_replication.ops.verify, ecr_replication.ops.cost
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("aws_cdk", "jsii", "constructs"))
print("LOADED", loaded)
"""

    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )

    assert "--storage-price" in result.stdout and "--repository" in result.stdout
    assert result.stdout.splitlines()[-1] == "LOADED []"
