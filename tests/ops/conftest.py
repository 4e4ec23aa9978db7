"""Fixtures for the operations commands: every AWS call served by moto, stubs where it stops."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from ecr_replication import cli
from ecr_replication.ops import aws

from .opshelp import ClientStubs, CliResult, ecr_2026, topology_document


@pytest.fixture(autouse=True)
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, no profile, and every AWS call served by moto (with what moto lacks
    of the ECR API of 2026: image statuses, referrers, account settings; see ``opshelp``)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # AMIs: slow, and never needed
    with mock_aws(), ecr_2026():
        yield


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a topology as a cdk.json (``context.ecrReplication``) and return its path."""

    def write(document: dict[str, Any] | None = None, **options: Any) -> Path:
        path = tmp_path / "cdk.json"
        topology = document if document is not None else topology_document(**options)
        path.write_text(
            json.dumps({"app": "python3 app.py", "context": {"ecrReplication": topology}})
        )
        return path

    return write


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run the console command in-process; any traceback fails the test by itself."""

    def run(*args: str) -> CliResult:
        code = cli.main(list(args))
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err + captured.out
        return CliResult(code=code, out=captured.out, err=captured.err)

    return run


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> ClientStubs:
    """Attach stubs to, and count the calls of, every client the commands create.

    Workers run one at a time so that queued answers meet their calls in a fixed order.
    """
    registry = ClientStubs()
    original = aws.RegistryAccess.new_client

    def new_client(self: aws.RegistryAccess, session: Any, key: aws.ClientKey) -> Any:
        client = original(self, session, key)
        registry.attach(client, key)
        return client

    monkeypatch.setattr(aws.RegistryAccess, "new_client", new_client)
    monkeypatch.setattr(aws, "DEFAULT_MAX_WORKERS", 1)
    return registry
