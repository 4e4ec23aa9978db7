"""Fixtures of the end-to-end tests: a local AWS endpoint (moto's server with this project's
plug-in, :mod:`tests.e2e.emulator`) standing in for several accounts, and a way to run the
pinned CDK CLI and ``ecr-replication`` against it as a user would.

The endpoint runs in its own process on 127.0.0.1 (a free port), started once per test session
and stopped at its end. Each account gets an IAM user and an access key made through the
endpoint's IAM with the ``x-moto-account-id`` header: moto then acts in that account for every
call signed with the key, including ``sts:AssumeRole`` into other accounts' roles.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CDK = REPO / "node_modules" / ".bin" / "cdk"


@dataclass(frozen=True)
class Credentials:
    account: str
    access_key: str
    secret_key: str


class Endpoint:
    """The local endpoint: its URL, and credentials and clients per account."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self._credentials: dict[str, Credentials] = {}

    def _admin_client(self, service: str, account: str) -> Any:
        import boto3

        client = boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="admin",
            aws_secret_access_key="admin",
        )

        def in_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-send", in_account)
        return client

    def credentials(self, account: str) -> Credentials:
        """An access key of the account (an IAM user ``e2e`` made on first use)."""
        if account not in self._credentials:
            iam = self._admin_client("iam", account)
            iam.create_user(UserName="e2e")
            key = iam.create_access_key(UserName="e2e")["AccessKey"]
            self._credentials[account] = Credentials(
                account, key["AccessKeyId"], key["SecretAccessKey"]
            )
        return self._credentials[account]

    def client(self, service: str, account: str, region: str) -> Any:
        """A boto3 client acting in ``account`` (with its own key) in ``region``."""
        import boto3

        credentials = self.credentials(account)
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
        )

    def environment(self, account: str, home: Path) -> dict[str, str]:
        """The process environment of a user of ``account`` whose AWS calls reach this endpoint.

        Nothing of the caller's AWS set-up leaks in (profiles, tokens, config files). The CDK
        CLI builds its template URLs from ``AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION``; moto reads
        path-style S3 URLs only on ``localhost`` (nothing connects to that name).
        """
        credentials = self.credentials(account)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "JSII_"))}
        env.update(
            {
                "PATH": os.pathsep.join(
                    [str(REPO / ".venv" / "bin"), str(CDK.parent), env.get("PATH", "")]
                ),
                "HOME": str(home),
                "AWS_ENDPOINT_URL": self.url,
                "AWS_ENDPOINT_URL_S3_FOR_CLOUDFORMATION": f"http://localhost:{self.port}",
                "AWS_ACCESS_KEY_ID": credentials.access_key,
                "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(home / "aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
                "CDK_DISABLE_CLI_TELEMETRY": "true",
                "PYTHONPATH": str(REPO),
            }
        )
        return env


@dataclass(frozen=True)
class Ran:
    """A finished command: what it printed and how it ended."""

    command: Sequence[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.command)}\nexit {self.returncode} after {self.seconds:.1f}s\n"
            f"--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-6000:]}"
        )


def run(command: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float = 180) -> Ran:
    start = time.monotonic()
    done = subprocess.run(
        list(command),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Ran(command, done.returncode, done.stdout, done.stderr, time.monotonic() - start)


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """The local AWS endpoint, for the whole session; stopped at its end. What it logs goes to
    ``emulator.log`` in the session's temporary folder."""
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with open(log, "w", encoding="utf-8") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.emulator", "--port", "0"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("listening on "):
            pytest.fail(f"the local AWS endpoint did not start (it printed {line!r}; see {log})")
        yield Endpoint(line.removeprefix("listening on "))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
