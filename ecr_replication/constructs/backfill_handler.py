"""The deploy-time backfill: a CloudFormation custom resource handler, run by AWS Lambda.

It starts one ECR replication backfill per destination that is new to the deployed
replication configuration: every destination on Create, only the destinations missing from
the old properties on Update, nothing on Delete. A backfill already running for the same
destination counts as started.

This file is deployed as the function's inline code (``index.py``), so it is self-contained:
standard library and botocore only, never ``aws_cdk`` and nothing else from this package.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

IN_PROGRESS_ERROR = "ReplicationBackfillInProgressException"
LIMIT_EXCEEDED_ERROR = "LimitExceededException"
RUNNING_STATUSES = ("PREPARING", "IN_PROGRESS")
# Stop retrying this long before the Lambda timeout, so that a response is always sent:
# a custom resource that never answers blocks the stack until the service timeout.
DEADLINE_MARGIN_SECONDS = 30.0
FIRST_RETRY_DELAY_SECONDS = 5.0
MAX_RETRY_DELAY_SECONDS = 60.0
MAX_REASON_CHARS = 3000

# The botocore model of the two ECR operations this handler calls, copied from botocore 1.44
# without documentation (tests/test_backfill_handler.py keeps it equal to the installed one).
# The Lambda runtime's bundled botocore can be older than these operations; loading this
# model first makes the function independent of that version.
ECR_BACKFILL_MODEL: dict[str, Any] = json.loads(
    r"""{"metadata":{"apiVersion":"2015-09-21","auth":["aws.auth#sigv4"],"endpointPrefix":"api.ecr","jsonVersion":"1.1","protocol":"json","protocols":["json"],"serviceAbbreviation":"Amazon ECR","serviceFullName":"Amazon Elastic Container Registry","serviceId":"ECR","signatureVersion":"v4","signingName":"ecr","targetPrefix":"AmazonEC2ContainerRegistry_V20150921","uid":"ecr-2015-09-21"},"operations":{"ListReplicationBackfills":{"errors":[{"shape":"ServerException"},{"shape":"InvalidParameterException"},{"shape":"ValidationException"}],"http":{"method":"POST","requestUri":"/"},"input":{"shape":"ListReplicationBackfillsRequest"},"name":"ListReplicationBackfills","output":{"shape":"ListReplicationBackfillsResponse"}},"StartReplicationBackfill":{"errors":[{"shape":"ServerException"},{"shape":"InvalidParameterException"},{"shape":"ValidationException"},{"shape":"LimitExceededException"},{"shape":"ReplicationBackfillInProgressException"}],"http":{"method":"POST","requestUri":"/"},"input":{"shape":"StartReplicationBackfillRequest"},"name":"StartReplicationBackfill","output":{"shape":"StartReplicationBackfillResponse"}}},"shapes":{"Date":{"type":"timestamp"},"ExceptionMessage":{"type":"string"},"FiftyMaxResults":{"max":50,"min":1,"type":"integer"},"InvalidParameterException":{"exception":true,"members":{"message":{"shape":"ExceptionMessage"}},"type":"structure"},"LimitExceededException":{"exception":true,"members":{"message":{"shape":"ExceptionMessage"}},"type":"structure"},"ListReplicationBackfillsRequest":{"members":{"maxResults":{"shape":"FiftyMaxResults"},"nextToken":{"shape":"NextToken"},"registryId":{"shape":"RegistryId"}},"type":"structure"},"ListReplicationBackfillsResponse":{"members":{"backfills":{"shape":"ReplicationBackfillSummaryList"},"nextToken":{"shape":"NextToken"},"registryId":{"shape":"RegistryId"}},"type":"structure"},"NextToken":{"type":"string"},"NonNegativeInteger":{"min":0,"type":"integer"},"Region":{"max":25,"min":2,"pattern":"[0-9a-z-]{2,25}","type":"string"},"RegistryId":{"pattern":"[0-9]{12}","type":"string"},"ReplicationBackfillError":{"type":"string"},"ReplicationBackfillId":{"pattern":"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}","type":"string"},"ReplicationBackfillInProgressException":{"exception":true,"members":{"message":{"shape":"ExceptionMessage"}},"type":"structure"},"ReplicationBackfillProgress":{"members":{"completedReplicationCount":{"shape":"NonNegativeInteger"},"failedReplicationCount":{"shape":"NonNegativeInteger"},"failureCodes":{"shape":"ReplicationErrorList"},"totalReplicationCount":{"shape":"NonNegativeInteger"}},"required":["totalReplicationCount","completedReplicationCount","failedReplicationCount","failureCodes"],"type":"structure"},"ReplicationBackfillStatus":{"enum":["PREPARING","IN_PROGRESS","COMPLETE","FAILED","STOPPING","STOPPED"],"type":"string"},"ReplicationBackfillSummary":{"members":{"destination":{"shape":"ReplicationDestination"},"endedAt":{"shape":"Date"},"failureCode":{"shape":"ReplicationBackfillError"},"progress":{"shape":"ReplicationBackfillProgress"},"replicationBackfillId":{"shape":"ReplicationBackfillId"},"startedAt":{"shape":"Date"},"status":{"shape":"ReplicationBackfillStatus"}},"required":["replicationBackfillId","destination","status","startedAt"],"type":"structure"},"ReplicationBackfillSummaryList":{"member":{"shape":"ReplicationBackfillSummary"},"type":"list"},"ReplicationDestination":{"members":{"region":{"shape":"Region"},"registryId":{"shape":"RegistryId"}},"required":["region","registryId"],"type":"structure"},"ReplicationError":{"type":"string"},"ReplicationErrorList":{"member":{"shape":"ReplicationError"},"type":"list"},"ServerException":{"exception":true,"fault":true,"members":{"message":{"shape":"ExceptionMessage"}},"type":"structure"},"StartReplicationBackfillRequest":{"members":{"destination":{"shape":"ReplicationDestination"},"registryId":{"shape":"RegistryId"}},"required":["destination"],"type":"structure"},"StartReplicationBackfillResponse":{"members":{"destination":{"shape":"ReplicationDestination"},"registryId":{"shape":"RegistryId"},"replicationBackfillId":{"shape":"ReplicationBackfillId"},"startedAt":{"shape":"Date"},"status":{"shape":"ReplicationBackfillStatus"}},"type":"structure"},"ValidationException":{"exception":true,"members":{"message":{"shape":"ExceptionMessage"}},"type":"structure"}},"version":"2.0"}"""
)
MODEL_API_VERSION = "2015-09-21"


@dataclass(frozen=True, kw_only=True, slots=True)
class Destination:
    """A replication destination as the custom resource's properties list it."""

    registry_id: str
    region: str

    @property
    def key(self) -> str:
        return f"{self.registry_id}/{self.region}"


class BackfillNotStartedError(Exception):
    """A backfill could not be started; the message is the custom resource's failure reason."""


def ecr_client(region: str | None = None, *, model_dir: str | None = None) -> Any:
    """An ECR client built from :data:`ECR_BACKFILL_MODEL`, whatever botocore is installed."""
    directory = model_dir or os.path.join(tempfile.gettempdir(), "ecr-replication-models")
    path = os.path.join(directory, "ecr", MODEL_API_VERSION, "service-2.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as model_file:
        json.dump(ECR_BACKFILL_MODEL, model_file)
    session = botocore.session.Session()
    # Extra data paths are searched before botocore's own, so this model wins; the endpoint
    # rules, which it does not carry, still come from botocore.
    session.set_config_variable("data_path", directory)
    return session.create_client(
        "ecr", region_name=region, config=Config(retries={"mode": "standard", "max_attempts": 5})
    )


def parse_destinations(properties: Mapping[str, Any] | None, field: str) -> list[Destination]:
    """The ``Destinations`` property: a list of ``{"Region": ..., "RegistryId": ...}``."""
    raw = (properties or {}).get("Destinations", [])
    if not isinstance(raw, list):
        raise BackfillNotStartedError(
            f"{field}.Destinations: {raw!r} is not a list of destinations"
        )
    destinations = []
    for index, item in enumerate(raw):
        if not (
            isinstance(item, Mapping)
            and isinstance(item.get("RegistryId"), str)
            and isinstance(item.get("Region"), str)
        ):
            raise BackfillNotStartedError(
                f"{field}.Destinations[{index}]: {item!r} is not "
                '{"Region": "<region>", "RegistryId": "<12-digit account id>"}'
            )
        destinations.append(Destination(registry_id=item["RegistryId"], region=item["Region"]))
    return destinations


def destinations_to_backfill(event: Mapping[str, Any]) -> list[Destination]:
    """The destinations that are new in this request: all on Create, added ones on Update."""
    request_type = event.get("RequestType")
    if request_type == "Delete":
        return []
    current = parse_destinations(event.get("ResourceProperties"), "ResourceProperties")
    if request_type == "Create":
        return list(dict.fromkeys(current))
    if request_type == "Update":
        old = set(parse_destinations(event.get("OldResourceProperties"), "OldResourceProperties"))
        return [d for d in dict.fromkeys(current) if d not in old]
    raise BackfillNotStartedError(f"RequestType: {request_type!r} is not Create, Update or Delete")


class BackfillStarter:
    """Starts backfills, waiting (with backoff, up to a deadline) while ECR says "not now".

    ECR runs one backfill per destination region at a time and at most 10 per registry.
    A backfill already running for the *same* destination is as good as a new one; one
    running for another account in the same region, or the registry limit, means wait.
    """

    def __init__(
        self,
        client: Any,
        *,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._deadline = deadline
        self._clock = clock
        self._sleep = sleep

    def start(self, destination: Destination) -> str:
        """Start (or find running) the backfill to ``destination``; returns its id."""
        delay = FIRST_RETRY_DELAY_SECONDS
        while True:
            try:
                response = self._client.start_replication_backfill(
                    destination={
                        "region": destination.region,
                        "registryId": destination.registry_id,
                    }
                )
                return str(response.get("replicationBackfillId", ""))
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                message = error.response.get("Error", {}).get("Message", "")
                if code == IN_PROGRESS_ERROR:
                    running = self.running_backfill(destination)
                    if running is not None:
                        return running
                    blocker = "another backfill to the same region is running"
                elif code == LIMIT_EXCEEDED_ERROR:
                    blocker = "the registry already runs the maximum number of backfills"
                else:
                    raise BackfillNotStartedError(
                        f"could not start the backfill to {destination.key}: {code}: {message}"
                    ) from error
            if self._clock() + delay > self._deadline:
                raise BackfillNotStartedError(
                    f"could not start the backfill to {destination.key} in time: {blocker}. "
                    "Run `ecr-replication backfill --destination "
                    f"{destination.key}` once it has finished"
                )
            self._sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)

    def running_backfill(self, destination: Destination) -> str | None:
        """The id of a running backfill to exactly this destination, if there is one."""
        kwargs: dict[str, Any] = {"maxResults": 50}
        while True:
            page = self._client.list_replication_backfills(**kwargs)
            for backfill in page.get("backfills", []):
                target = backfill.get("destination", {})
                if (
                    backfill.get("status") in RUNNING_STATUSES
                    and target.get("region") == destination.region
                    and target.get("registryId") == destination.registry_id
                ):
                    return str(backfill.get("replicationBackfillId", ""))
            if not page.get("nextToken"):
                return None
            kwargs["nextToken"] = page["nextToken"]


def handle(event: Mapping[str, Any], starter: BackfillStarter) -> tuple[str, dict[str, str]]:
    """Start what this request needs; returns the reason text and the response data."""
    started: dict[str, str] = {}
    for destination in destinations_to_backfill(event):
        started[destination.key] = starter.start(destination)
        print(f"backfill to {destination.key}: {started[destination.key]}")
    if not started:
        return "no destination is new; no backfill started", {}
    summary = ", ".join(f"{key} ({backfill_id})" for key, backfill_id in started.items())
    return f"backfills running for {summary}", {"Destinations": ",".join(started)}


def response_url_problem(url: str) -> str | None:
    """Why a ResponseURL is not answered, or None: only an https URL with a host is.

    CloudFormation's response URLs always are; a request to anything else (``file:``, plain
    ``http:`` inside the function's network) is not this function's to make.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.netloc:
        scheme = parts.scheme or "none"
        return f"the ResponseURL is not an https URL (scheme {scheme!r})"
    return None


def send_response(url: str, body: Mapping[str, Any]) -> None:
    """PUT the result to the pre-signed URL CloudFormation waits on (https only)."""
    if (refusal := response_url_problem(url)) is not None:
        raise ValueError(refusal)
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=data,
        method="PUT",
        # The pre-signed URL is signed with an empty content type.
        headers={"Content-Type": "", "Content-Length": str(len(data))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    client: Any = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    send: Callable[[str, Mapping[str, Any]], None] = send_response,
) -> None:
    """The Lambda entry point; every request gets exactly one response, success or failure."""
    # The response URL is a credential for this request: keep it out of the logs.
    print(json.dumps({k: v for k, v in event.items() if k != "ResponseURL"}, default=str))
    physical_id = str(event.get("PhysicalResourceId") or f"backfill-{event.get('RequestId')}")
    status, data = "SUCCESS", dict[str, str]()
    try:
        remaining = context.get_remaining_time_in_millis() / 1000.0
        starter = BackfillStarter(
            client if client is not None else ecr_client(),
            deadline=clock() + remaining - DEADLINE_MARGIN_SECONDS,
            clock=clock,
            sleep=sleep,
        )
        reason, data = handle(event, starter)
    except BackfillNotStartedError as error:
        status, reason = "FAILED", str(error)
    except (ClientError, BotoCoreError) as error:
        status, reason = "FAILED", f"ECR call failed: {error}"
    except Exception as error:  # any failure must still answer CloudFormation
        status, reason = "FAILED", f"unexpected error: {type(error).__name__}: {error}"
    print(f"{status}: {reason}")
    url = str(event.get("ResponseURL", ""))
    if (refusal := response_url_problem(url)) is not None:
        # Only CloudFormation's pre-signed https URLs are answered; the URL itself is a
        # credential and stays out of the log.
        print(f"REFUSED to answer: {refusal}")
        return
    send(
        url,
        {
            "Status": status,
            "Reason": reason[:MAX_REASON_CHARS],
            "PhysicalResourceId": physical_id,
            "StackId": event.get("StackId"),
            "RequestId": event.get("RequestId"),
            "LogicalResourceId": event.get("LogicalResourceId"),
            "Data": data,
        },
    )
