"""The deploy-time backfill: a CloudFormation custom resource handler, run by AWS Lambda.

It starts one ECR replication backfill per destination that is new to the deployed
replication configuration: every destination on Create, only the destinations missing from
the old properties on Update, nothing on Delete. A backfill already running (PREPARING or
IN_PROGRESS) to the same destination counts as started.

What it answers (one response per request, always within the function's time):

* **Update: always SUCCESS.** CloudFormation rolls an update back with another Update whose
  ``ResourceProperties`` and ``OldResourceProperties`` are swapped, and nothing in the request
  says which one it is; a FAILED rollback leaves the stack in ``UPDATE_ROLLBACK_FAILED``. A
  backfill that did not start is recoverable by one command, so the reason names every
  destination not started, why, and that command.
* **Create: FAILED unless every destination started.** A failed Create rolls back by deleting
  this resource, which makes no ECR call, so it cannot wedge the stack; and a Create is the
  deploy in which backfill was asked for, where a failure is the answer a user sees.
* **Delete: SUCCESS**, with no ECR call (a running backfill goes on).

Every destination is tried, even after one fails. While ECR answers "not now"
(``LimitExceededException``: ten backfills run in the registry;
``ReplicationBackfillInProgressException``: one runs to the destination's region) the starts
are retried with growing delays until the function's time for ECR calls runs out.

Time: the function's remaining time is split into ECR calls, then the response. The ECR
client's connect and read timeouts and its attempts are sized to that time, and a call is
begun only when its worst case ends before the calls' deadline. The response PUT is retried
within its share and its failure logged; the body is kept within CloudFormation's 4,096 bytes.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

IN_PROGRESS_ERROR = "ReplicationBackfillInProgressException"
LIMIT_EXCEEDED_ERROR = "LimitExceededException"
ACTIVE_STATUSES = ("PREPARING", "IN_PROGRESS")
STOPPING_STATUS = "STOPPING"
LIST_PAGE_SIZE = 50
FIRST_RETRY_DELAY_SECONDS = 5.0
MIN_RETRY_DELAY_SECONDS = 1.0
MAX_RETRY_DELAY_SECONDS = 60.0
MAX_RESPONSE_BYTES = 4096
"""CloudFormation: "The total size of the response body can't exceed 4096 bytes"."""
MAX_COMMAND_CHARS = 2100
"""Past this, the reason names ``ecr-replication backfill`` without ``--destination`` list."""
CLI_COMMAND = "ecr-replication backfill"

# How the function's time is shared (see Budget).
SAFETY_SECONDS = 2.0
RESPONSE_SECONDS = 30.0
RESPONSE_ATTEMPTS = 3
RESPONSE_RETRY_DELAY_SECONDS = 1.0
RESPONSE_ATTEMPT_SECONDS = (
    RESPONSE_SECONDS - (RESPONSE_ATTEMPTS - 1) * RESPONSE_RETRY_DELAY_SECONDS
) / RESPONSE_ATTEMPTS
"""The longest one PUT of the response may take: three of them fit in its 30 seconds."""
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 20.0
MAX_ATTEMPTS = 3

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
    """The request cannot be worked on; the message says why (a field path and the value)."""


# ---------------------------------------------------------------------------------------------
# Time


def standard_backoff_seconds(attempts: int) -> float:
    """The longest total of botocore's ``standard`` retry delays between ``attempts`` tries:
    before try n + 1 at most min(2 ** (n - 1), 20) seconds, plus up to 5 more when the answer
    asks for it (``x-amz-retry-after``; botocore 1.44's ``ExponentialBackoff``)."""
    return float(sum(min(2 ** (n - 1), 20) + 5 for n in range(1, attempts)))


@dataclass(frozen=True, kw_only=True, slots=True)
class Budget:
    """How one invocation's time is shared: ECR calls until ``calls_deadline``, then the
    response until ``answer_deadline`` (a moment before Lambda stops the function).

    The response keeps a quarter of the time, at most :data:`RESPONSE_SECONDS`; a safety
    margin (a tenth, at most :data:`SAFETY_SECONDS`) is left for logging. ECR calls get the
    rest, with connect and read timeouts and attempts sized to it, so that one call's worst
    case (every attempt timing out, with botocore's backoff between) is known.
    """

    calls_deadline: float
    answer_deadline: float
    connect_timeout: float
    read_timeout: float
    max_attempts: int

    @classmethod
    def from_remaining(cls, now: float, remaining_seconds: float) -> Budget:
        remaining = max(0.0, remaining_seconds)
        safety = min(SAFETY_SECONDS, remaining * 0.1)
        response = min(RESPONSE_SECONDS, remaining * 0.25)
        calls = max(0.0, remaining - safety - response)
        attempts = MAX_ATTEMPTS if calls >= 120 else 2 if calls >= 30 else 1
        return cls(
            calls_deadline=now + calls,
            answer_deadline=now + remaining - safety,
            connect_timeout=min(CONNECT_TIMEOUT_SECONDS, max(0.5, calls * 0.05)),
            read_timeout=min(READ_TIMEOUT_SECONDS, max(1.0, calls * 0.1)),
            max_attempts=attempts,
        )

    @property
    def call_seconds(self) -> float:
        """The longest one ECR call can take with these timeouts and attempts."""
        return self.max_attempts * (
            self.connect_timeout + self.read_timeout
        ) + standard_backoff_seconds(self.max_attempts)

    def allows_call(self, now: float) -> bool:
        return now + self.call_seconds <= self.calls_deadline

    def client_config(self) -> Config:
        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "max_attempts": self.max_attempts},
        )


def ecr_client(
    region: str | None = None,
    *,
    model_dir: str | None = None,
    config: Config | None = None,
    endpoint_url: str | None = None,
) -> Any:
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
        "ecr",
        region_name=region,
        config=config or Budget.from_remaining(0.0, 600.0).client_config(),
        endpoint_url=endpoint_url,
    )


# ---------------------------------------------------------------------------------------------
# What to start


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


# ---------------------------------------------------------------------------------------------
# Starting


@dataclass(frozen=True, slots=True)
class Started:
    backfill_id: str
    existing: bool = False


@dataclass(frozen=True, slots=True)
class NotNow:
    """ECR says the backfill cannot start yet; ``why`` in words."""

    why: str


@dataclass(frozen=True, slots=True)
class Refused:
    """An answer that waiting does not change: an error code and its message, or a
    connection failure."""

    why: str


Attempt = Started | NotNow | Refused


def _error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '') or 'no message'}"
    return f"{type(error).__name__}: {error}"


@dataclass(kw_only=True)
class Outcome:
    """What happened to each destination of the request, in the request's order."""

    destinations: list[Destination]
    attempts: dict[Destination, Attempt] = field(default_factory=dict)

    @property
    def started(self) -> list[tuple[Destination, Started]]:
        return [
            (d, attempt)
            for d in self.destinations
            if isinstance(attempt := self.attempts.get(d), Started)
        ]

    @property
    def not_started(self) -> list[Destination]:
        return [d for d in self.destinations if not isinstance(self.attempts.get(d), Started)]

    def why_not(self, destination: Destination) -> str:
        attempt = self.attempts.get(destination)
        if isinstance(attempt, NotNow | Refused):
            return attempt.why
        return "not attempted: the function ran out of time for ECR calls"


class BackfillStarter:
    """Starts backfills, retrying (with growing delays, up to the calls' deadline) while ECR
    says "not now".

    ECR runs one backfill per destination region at a time and at most 10 per registry.
    A backfill running (PREPARING or IN_PROGRESS) to the *same* destination is as good as a
    new one; one STOPPING to it, one running to another account in the same region, or the
    registry limit means wait.
    """

    def __init__(
        self,
        client: Any,
        *,
        budget: Budget,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._budget = budget
        self._clock = clock
        self._sleep = sleep

    def start_all(self, destinations: Sequence[Destination]) -> Outcome:
        """Try every destination; retry those ECR answered "not now" while time allows."""
        outcome = Outcome(destinations=list(destinations))
        pending = list(outcome.destinations)
        delay = FIRST_RETRY_DELAY_SECONDS
        while pending:
            for destination in pending:
                if not self._budget.allows_call(self._clock()):
                    break
                outcome.attempts[destination] = self.start(destination)
                print(f"backfill to {destination.key}: {outcome.attempts[destination]}")
            pending = [d for d in pending if isinstance(outcome.attempts.get(d), NotNow)]
            # Wait before the next round, but never past the last moment a call may begin.
            room = self._budget.calls_deadline - self._budget.call_seconds - self._clock()
            if not pending or room < MIN_RETRY_DELAY_SECONDS:
                break
            self._sleep(min(delay, room))
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)
        return outcome

    def start(self, destination: Destination) -> Attempt:
        """One attempt to start (or find running) the backfill to ``destination``."""
        try:
            response = self._client.start_replication_backfill(
                destination={"region": destination.region, "registryId": destination.registry_id}
            )
            return Started(str(response.get("replicationBackfillId", "")))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == LIMIT_EXCEEDED_ERROR:
                return NotNow("ECR already runs the most backfills a registry may run at once")
            if code != IN_PROGRESS_ERROR:
                return Refused(_error_text(error))
        except BotoCoreError as error:  # timeouts, connection failures: retried by botocore
            return Refused(_error_text(error))
        try:
            return self.blocking_backfill(destination)
        except (ClientError, BotoCoreError) as error:
            return Refused(f"listing the running backfills: {_error_text(error)}")

    def blocking_backfill(self, destination: Destination) -> Attempt:
        """After ``ReplicationBackfillInProgressException``: the backfill to this destination
        if one runs (started), else what blocks it (not now)."""
        kwargs: dict[str, Any] = {"maxResults": LIST_PAGE_SIZE}
        while self._budget.allows_call(self._clock()):
            page = self._client.list_replication_backfills(**kwargs)
            for backfill in page.get("backfills", []):
                target = backfill.get("destination", {})
                if (target.get("region"), target.get("registryId")) != (
                    destination.region,
                    destination.registry_id,
                ):
                    continue
                if backfill.get("status") in ACTIVE_STATUSES:
                    return Started(str(backfill.get("replicationBackfillId", "")), existing=True)
                if backfill.get("status") == STOPPING_STATUS:
                    return NotNow(f"a backfill to {destination.key} is stopping")
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
        return NotNow(f"another backfill to {destination.region} is running")


# ---------------------------------------------------------------------------------------------
# The answer


def start_command(destinations: Sequence[Destination]) -> str:
    """The command that starts the backfills to ``destinations`` (all, when too many)."""
    command = " ".join([CLI_COMMAND, *(f"--destination {d.key}" for d in destinations)])
    return command if len(command) <= MAX_COMMAND_CHARS else CLI_COMMAND


def describe(outcome: Outcome, request_type: str) -> tuple[str, str, dict[str, str]]:
    """The status, reason and ``Data`` of a worked-on request."""
    started, missing = outcome.started, outcome.not_started
    data = {
        "Started": ",".join(d.key for d, _ in started),
        "NotStarted": ",".join(d.key for d in missing),
    }
    if request_type == "Delete":
        return "SUCCESS", "nothing to do on delete: running backfills go on", data
    if not outcome.destinations:
        return "SUCCESS", "no destination is new; no backfill started", data
    started_text = ", ".join(
        f"{d.key} ({attempt.backfill_id}{', already running' if attempt.existing else ''})"
        for d, attempt in started
    )
    if not missing:
        return "SUCCESS", f"backfills running for {started_text}", data
    reasons: dict[str, list[str]] = {}
    for destination in missing:
        reasons.setdefault(outcome.why_not(destination), []).append(destination.key)
    command = start_command(missing)
    every = "" if command != CLI_COMMAND else " (every destination; too many to list here)"
    status = "SUCCESS" if request_type == "Update" else "FAILED"
    reason = (
        f"{len(missing)} of {len(outcome.destinations)} backfills not started"
        + ("; the update goes on" if status == "SUCCESS" else "")
        + f". Start them with: {command}{every}. Why: "
        + "; ".join(f"{', '.join(keys)}: {why}" for why, keys in reasons.items())
        + (f". Started: {started_text}" if started_text else ". None started")
    )
    return status, reason, data


def response_body(
    event: Mapping[str, Any],
    *,
    status: str,
    reason: str,
    physical_id: str,
    data: Mapping[str, str],
) -> bytes:
    """The response as CloudFormation reads it, never over :data:`MAX_RESPONSE_BYTES`.

    The request's identifiers are copied as they came (CloudFormation matches them); when the
    whole does not fit, the ``Data`` values and then the reason are cut, each cut marked.
    """
    body: dict[str, Any] = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "Data": dict(data),
    }

    def encoded() -> bytes:
        return json.dumps(body).encode("utf-8")

    if len(encoded()) > MAX_RESPONSE_BYTES:
        body["Data"] = {key: _cut_list(value, 400) for key, value in data.items()}
    while (excess := len(encoded()) - MAX_RESPONSE_BYTES) > 0 and body["Reason"]:
        marker = " ... (cut; the function's log has it all)"
        keep = max(0, len(body["Reason"]) - excess - len(marker) - 8)
        body["Reason"] = body["Reason"][:keep] + marker if keep else ""
    if len(encoded()) > MAX_RESPONSE_BYTES:
        body["Data"] = {key: "" for key in data}
    return encoded()


def _cut_list(value: str, limit: int) -> str:
    """A comma-separated list cut to about ``limit`` characters, ending ``,+N more``."""
    if len(value) <= limit:
        return value
    items = value.split(",")
    kept: list[str] = []
    for item in items:
        if len(",".join([*kept, item])) > limit:
            break
        kept.append(item)
    return ",".join([*kept, f"+{len(items) - len(kept)} more"])


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


def send_response(url: str, body: bytes, timeout: float) -> None:
    """PUT the result to the pre-signed URL CloudFormation waits on (https only)."""
    if (refusal := response_url_problem(url)) is not None:
        raise ValueError(refusal)
    request = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        # The pre-signed URL is signed with an empty content type.
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def deliver(
    url: str,
    body: bytes,
    *,
    answer_deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    send: Callable[[str, bytes, float], None],
) -> bool:
    """PUT the response, retried up to :data:`RESPONSE_ATTEMPTS` times before
    ``answer_deadline``; every failure is logged. Returns whether it was delivered."""
    for attempt in range(1, RESPONSE_ATTEMPTS + 1):
        left = answer_deadline - clock()
        if left <= 0:
            break
        # Leave room for the attempts still to come and the pauses between them.
        later = RESPONSE_ATTEMPTS - attempt
        share = (left - later * RESPONSE_RETRY_DELAY_SECONDS) / (later + 1)
        timeout = max(0.1, min(RESPONSE_ATTEMPT_SECONDS, share))
        try:
            send(url, body, timeout)
            return True
        except Exception as error:  # any failure: log it and try again
            print(f"response PUT attempt {attempt} failed: {type(error).__name__}: {error}")
        if later and clock() + RESPONSE_RETRY_DELAY_SECONDS < answer_deadline:
            sleep(RESPONSE_RETRY_DELAY_SECONDS)
    print(
        "NO RESPONSE DELIVERED to CloudFormation: it fails this resource when its "
        "ServiceTimeout passes; the log above says what was started"
    )
    return False


def handler(
    event: Mapping[str, Any],
    context: Any,
    *,
    make_client: Callable[[Config], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    send: Callable[[str, bytes, float], None] = send_response,
) -> None:
    """The Lambda entry point; every request gets exactly one response, within its time.

    Never raises: an error inside the function would make Lambda retry the invocation (the
    deployed function's retries are also set to 0).
    """
    began = clock()
    # The response URL is a credential for this request: keep it out of the logs.
    print(json.dumps({k: v for k, v in event.items() if k != "ResponseURL"}, default=str))
    request_type = str(event.get("RequestType"))
    physical_id = str(event.get("PhysicalResourceId") or f"backfill-{event.get('RequestId')}")
    data = {"Started": "", "NotStarted": ""}
    # Without the remaining time (never, in Lambda), answer within a minute.
    budget = Budget.from_remaining(began, 60.0)
    try:
        budget = Budget.from_remaining(began, context.get_remaining_time_in_millis() / 1000.0)
        destinations = destinations_to_backfill(event)
        if destinations:
            client = (make_client or _default_client)(budget.client_config())
            outcome = BackfillStarter(client, budget=budget, clock=clock, sleep=sleep).start_all(
                destinations
            )
        else:
            outcome = Outcome(destinations=[])
        status, reason, data = describe(outcome, request_type)
    except BackfillNotStartedError as error:
        status, reason = _unworkable(request_type, str(error))
    except Exception as error:  # any failure must still answer CloudFormation
        status, reason = _unworkable(request_type, f"unexpected error: {_error_text(error)}")
    print(f"{status}: {reason}")
    url = str(event.get("ResponseURL", ""))
    if (refusal := response_url_problem(url)) is not None:
        # Only CloudFormation's pre-signed https URLs are answered; the URL itself is a
        # credential and stays out of the log.
        print(f"REFUSED to answer: {refusal}")
        return
    body = response_body(event, status=status, reason=reason, physical_id=physical_id, data=data)
    deliver(
        url,
        body,
        answer_deadline=budget.answer_deadline,
        clock=clock,
        sleep=sleep,
        send=send,
    )


def _unworkable(request_type: str, text: str) -> tuple[str, str]:
    """The answer to a request that could not be worked on: an Update still succeeds."""
    if request_type == "Update":
        return "SUCCESS", f"no backfill started ({text}); the update goes on"
    return "FAILED", text


def _default_client(config: Config) -> Any:
    return ecr_client(config=config)
