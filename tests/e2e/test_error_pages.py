"""The operations commands against an endpoint that lacks an API: asked once, reported as "not
offered", while a real service error keeps botocore's retries.

A tiny HTTP server on 127.0.0.1 answers every request the same way and counts them; the client
is the one the commands use (:meth:`ecr_replication.ops.aws.RegistryAccess.new_client`, retry
mode ``adaptive``), with fewer attempts so the retried cases stay quick.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from ecr_replication.ops import aws

pytestmark = pytest.mark.e2e

ERROR_PAGE = (
    b"<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>"
)
SERVICE_ERROR = b'{"__type": "ServerException", "message": "try again"}'
RETRIES = 2
"""``retries.max_attempts`` in botocore's ``Config``: retries after the first request."""


class Answer:
    """What the server answers, and how many requests it got."""

    def __init__(self) -> None:
        self.status = 500
        self.body = ERROR_PAGE
        self.content_type = "text/html"
        self.requests = 0


@pytest.fixture
def answer() -> Iterator[tuple[Answer, str]]:
    state = Answer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests += 1
            self.send_response(state.status)
            self.send_header("Content-Type", state.content_type)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ecr_client(monkeypatch: pytest.MonkeyPatch, answer: tuple[Answer, str]) -> Any:
    """An ECR client made as the commands make theirs, pointed at the test server."""
    _state, url = answer
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    fewer = Config(
        retries={"mode": "adaptive", "max_attempts": RETRIES},
        connect_timeout=5,
        read_timeout=5,
    )
    monkeypatch.setattr(aws, "client_config", lambda: fewer)
    access = aws.RegistryAccess(None)
    key = aws.ClientKey(service="ecr", region="us-east-1", identity=aws.CALLER)
    return access.new_client(access._sessions[aws.CALLER], key)


def describe_images(client: Any) -> str:
    with pytest.raises(aws.AccessError) as raised, aws.guarded():
        client.describe_images(repositoryName="prod/api")
    return raised.value.reason


def test_an_error_page_without_a_service_code_is_asked_once_and_named_not_offered(
    answer: tuple[Answer, str], ecr_client: Any
) -> None:
    state, _url = answer

    reason = describe_images(ecr_client)

    assert reason == "API not offered by this endpoint (HTTP 500 calling DescribeImages)"
    assert state.requests == 1


def test_a_service_error_with_its_code_keeps_botocores_retries(
    answer: tuple[Answer, str], ecr_client: Any
) -> None:
    state, _url = answer
    state.body, state.content_type = SERVICE_ERROR, "application/x-amz-json-1.1"

    reason = describe_images(ecr_client)

    assert reason == "ServerException (HTTP 500) calling DescribeImages: try again"
    assert state.requests == 1 + RETRIES


def test_a_gateways_error_page_is_transient_and_retried(
    answer: tuple[Answer, str], ecr_client: Any
) -> None:
    state, _url = answer
    state.status = 503

    reason = describe_images(ecr_client)

    assert reason.startswith("HTTP 503 calling DescribeImages")
    assert state.requests == 1 + RETRIES
