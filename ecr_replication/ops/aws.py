"""The small AWS access layer of the operations commands (boto3 only, never ``aws_cdk``).

Public names, reused by every operations command (``backfill`` builds on them too):

* :class:`RegistryAccess` — clients per registry. ``client(service, registry, side=...)``:
  ``side="source"`` uses the caller's credentials, except when the topology names an
  operations account (``operations``; before a topology is known, ``use_operations``) and
  the caller is in it: then it assumes the source role
  (:func:`ecr_replication.naming.source_role_arn`, name overridable with
  ``--source-role-name``, the ``ExternalId`` of ``destinationDefaults.role``) of every
  source outside that account. ``side="destination"`` assumes the destination role
  (:func:`ecr_replication.naming.destination_role_arn`, session name
  :data:`ecr_replication.naming.SESSION_NAME`, the ``ExternalId`` of the registry's role
  settings when the topology has one). No role is assumed with ``assume_role=False``
  (``--no-assume-role``), when the topology creates no role for that registry (same-account
  destinations without an operations account, ``role.enabled: false``) unless a role name was
  given, or when the caller is already in the registry's account. Assumed credentials are
  cached per role ARN (one ``AssumeRole`` per account and role name; the default names hold the
  region; every role's clients come from one shared session), roles are assumed concurrently
  (one lock per role ARN), and a failed assumption is remembered, so every check of that
  registry reports the same reason quickly.
  ``own_account=True`` is for registry-level calls (``DescribeRegistry``,
  ``GetRegistryPolicy``, ``DescribeRegions``, ...) that act on the credentials' own account:
  it refuses, as an :class:`AccessError`, credentials of another account.
  :meth:`RegistryAccess.new_client` is the one place clients are made (tests wrap it to attach
  botocore Stubbers).
* :func:`client_config` — botocore ``Config`` with the ``adaptive`` retry mode.

boto3 and botocore are imported when first used, not when this module is: ``--help`` of every
command answers without loading them.
* :func:`new_session` — a boto3 session (the caller's, or explicit keys) sharing one botocore
  model loader (:func:`shared_loader`), so the assumed roles' session costs no re-parsing.
* :class:`AccessError` — "this registry could not be checked", with a short ``reason``
  (access denied, throttled past retries, expired credentials, API not offered, ...).
  :func:`guarded` turns botocore errors into it; :func:`describe_failure` gives the reason
  text; :func:`error_code` reads a ``ClientError``'s code for the expected ones
  (``RepositoryNotFoundException``, ...), which callers handle before :func:`guarded` sees them.
* Paging: :func:`list_repositories` and :func:`list_images` (``DescribeImages`` with
  ``maxResults=1000``: one listing per repository per registry; ``image_status="ANY"`` for
  archived images too), :func:`list_image_referrers` (``ListImageReferrers``, which botocore
  cannot page), :func:`paginate` for others.
* :func:`run_concurrently` — a bounded thread pool that keeps input order.
* :func:`home_region` — the region used for account-level calls (STS, EC2 ``DescribeRegions``,
  ``account:GetRegionOptStatus``), which must work even when the registry's region is disabled.
"""

from __future__ import annotations

import argparse
import functools
import html
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, cast

from .. import naming
from ..errors import UsageError
from ..model import (
    DestinationRegistry,
    OperationsSettings,
    Registry,
    ReplicationTopology,
    SourceRegistry,
    region_partitions,
)

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from botocore.loaders import Loader
    from mypy_boto3_account import AccountClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecr.type_defs import (
        ImageDetailTypeDef,
        ImageReferrerTypeDef,
        RepositoryTypeDef,
    )

Side = Literal["source", "destination"]
CALLER = "caller"
"""The identity label of the caller's own credentials (other identities are role ARNs)."""

DEFAULT_MAX_WORKERS = 8
PAGE_SIZE = 1000
"""``maxResults`` for listings: the largest page ``DescribeImages`` allows."""


@functools.cache
def client_config() -> Config:
    """botocore's ``Config`` for every client: adaptive retries, bounded timeouts."""
    from botocore.config import Config

    return Config(
        retries={"mode": "adaptive", "max_attempts": 8},
        user_agent_extra="ecr-replication",
        connect_timeout=10,
        read_timeout=30,
    )


# Account-level calls go to a region every account has enabled: the registry's own region may
# be disabled, which is one of the things preflight reports.
PARTITION_HOME_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
    }
)
EXPIRED_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
)
INVALID_CREDENTIALS_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "AuthFailure",
    }
)
NOT_OFFERED_CODES = frozenset(
    {
        "UnknownOperationException",
        "InvalidAction",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "OperationNotSupportedException",
        "NotImplemented",
    }
)
NOT_OFFERED_STATUSES = frozenset({404, 500, 501})
"""HTTP statuses that, answered without a service error code, mean the endpoint does not know
the operation: an emulator's (or a proxy's) HTML error page, never an AWS API's answer (AWS
answers every error of its APIs with a code). A 502, 503 or 504 without a code is a gateway's
transient failure and keeps botocore's retries."""
MAX_REASON_CHARS = 160

T = TypeVar("T")
R = TypeVar("R")


def home_region(registry: Registry) -> str:
    """The region for account-level calls in the registry's partition."""
    partition = registry.partition
    if partition in PARTITION_HOME_REGIONS:
        return PARTITION_HOME_REGIONS[partition]
    return min(r for r, p in region_partitions().items() if p == partition)


# ---------------------------------------------------------------------------------------------
# Failures


class AccessError(Exception):
    """A registry (or one check of it) could not be checked; ``reason`` says why, in one line.

    ``credentials`` is True when no call can succeed with these credentials (the role could not
    be assumed, the credentials are for another account), so callers skip fallbacks.
    """

    def __init__(self, reason: str, *, credentials: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.credentials = credentials


def error_code(error: BaseException) -> str:
    """The service error code of a ``ClientError`` (``""`` for anything else)."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


_MARKUP = re.compile(r"<[^>]*>")


def first_line(text: str) -> str:
    """The first line of an answer's text that says something: markup (an HTML error page
    from a proxy or a load balancer) removed, entities and blank lines skipped."""
    plain = html.unescape(_MARKUP.sub("\n", text))
    for line in plain.splitlines():
        words = " ".join(line.split())
        if words and words.lower() not in ("html", "<!doctype html>"):
            return words
    return ""


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 3] + "..."


def describe_failure(error: BaseException) -> str:
    """A short, one-line reason for a botocore error, naming the kind of failure."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        OperationNotPageableError,
        ParamValidationError,
        PartialCredentialsError,
        ReadTimeoutError,
        UnknownServiceError,
    )

    if isinstance(error, ClientError):
        code = error_code(error)
        operation = error.operation_name or "the API"
        where = f"({code} calling {operation})"
        if code in ACCESS_DENIED_CODES:
            return f"access denied {where}"
        if code in THROTTLING_CODES:
            return f"throttled past retries {where}"
        if code in EXPIRED_CODES:
            return f"expired credentials {where}; refresh them and run again"
        if code in INVALID_CREDENTIALS_CODES:
            return (
                f"credentials not accepted {where}; check them, and that the region is "
                "enabled in the account"
            )
        if code in NOT_OFFERED_CODES:
            return f"API not offered by this endpoint {where}"
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status in NOT_OFFERED_STATUSES and code in ("", str(status)):
            return f"API not offered by this endpoint (HTTP {status} calling {operation})"
        message = first_line(str(error.response.get("Error", {}).get("Message", "")))
        if status and code in ("", str(status)):
            label = f"HTTP {status}"  # no service error code: the body was not the API's
        else:
            label = f"{code or 'error'}{f' (HTTP {status})' if status else ''}"
        return _one_line(f"{label} calling {operation}: {message or 'no message'}")
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no usable AWS credentials found (set AWS_PROFILE or sign in, then run again)"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return _one_line(f"could not reach the endpoint: {error}")
    if isinstance(error, ParamValidationError):
        return _one_line(f"request rejected by botocore: {error}")
    if isinstance(error, UnknownServiceError | OperationNotPageableError):
        return _one_line(f"API not offered by this botocore version: {error}")
    if isinstance(error, NoRegionError):
        return "no region configured for a client"
    return _one_line(f"{type(error).__name__}: {error}")


def answered_without_service_code(response: Any) -> bool:
    """Whether an HTTP answer is an error page rather than the API's error: a status of
    :data:`NOT_OFFERED_STATUSES` whose parsed error has no service code (botocore then puts
    the status itself, or nothing, where the code goes)."""
    if response is None:
        return False
    http, parsed = response
    status = getattr(http, "status_code", None)
    code = str((parsed or {}).get("Error", {}).get("Code", ""))
    return status in NOT_OFFERED_STATUSES and code in ("", str(status))


def no_retry_of_error_pages(response: Any = None, **_: Any) -> bool | None:
    """A ``needs-retry`` handler that runs before botocore's: an endpoint that does not offer
    an operation answers so every time, so it is asked once (botocore would retry a 500 up to
    the configured attempts, seconds per call). ``False`` stops the retries; ``None`` leaves
    the decision to botocore."""
    return False if answered_without_service_code(response) else None


@contextmanager
def guarded(context: str = "") -> Iterator[None]:
    """Turn botocore errors raised inside the block into an :class:`AccessError`.

    ``context`` (e.g. ``"repository prod/api"``) is put in front of the reason. Nothing else
    is caught: a bug of ours is not reported as an AWS failure.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as error:
        reason = describe_failure(error)
        raise AccessError(f"{context}: {reason}" if context else reason) from error


def require_operation(client: Any, method: str) -> None:
    """Raise :class:`AccessError` when this botocore has no such API (older releases)."""
    if not hasattr(client, method):
        raise AccessError(
            f"API not offered by this botocore version ({method}); upgrade boto3 and botocore"
        )


# ---------------------------------------------------------------------------------------------
# Sessions and clients


@functools.cache
def shared_loader() -> Loader:
    """One botocore data loader for every session this process makes.

    The loader caches parsed service models; without sharing it, each session (the caller's,
    the assumed roles') would parse each model again, most of a second for EC2.
    """
    from botocore.loaders import create_loader

    return create_loader()


def new_session(
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    token: str | None = None,
    profile: str | None = None,
) -> boto3.session.Session:
    """A boto3 session using :func:`shared_loader`: the caller's (the default credential chain,
    or the named ``profile``) or explicit keys.

    Raises :class:`~ecr_replication.errors.UsageError` for a profile the AWS config files do
    not have.
    """
    import boto3
    import botocore.session

    core = botocore.session.Session(profile=profile)
    if profile is not None and profile not in core.available_profiles:
        known = ", ".join(sorted(core.available_profiles)) or "none"
        raise UsageError(
            f"--profile {profile}: no such profile in the AWS config files (profiles: {known})"
        )
    core.register_component("data_loader", shared_loader())
    if access_key is not None and secret_key is not None:
        core.set_credentials(access_key, secret_key, token)
    return boto3.session.Session(botocore_session=core)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientKey:
    """What a client is: service, region, and whose credentials (``"caller"`` or a role ARN)."""

    service: str
    region: str
    identity: str

    @property
    def account(self) -> str | None:
        """The account of an assumed role, None for the caller."""
        return None if self.identity == CALLER else self.identity.split(":")[4]


class RegistryAccess:
    """Clients for the registries of one topology, with the right credentials for each side.

    Thread-safe: commands call it from a pool of workers. boto3 sessions are not thread-safe,
    so the clients of each session are created one at a time (a lock per session); the caches
    are guarded by one lock, never held during an AWS call or while a client is made; clients
    themselves are shared.
    """

    def __init__(
        self,
        topology: ReplicationTopology | None,
        *,
        assume_role: bool = True,
        role_name: str | None = None,
        source_role_name: str | None = None,
        session: boto3.session.Session | None = None,
    ) -> None:
        self._topology = topology
        self.assume_role = assume_role
        self.role_name = role_name
        self.source_role_name = source_role_name
        self._role_locks: dict[str, threading.Lock] = {}
        self._session_locks: dict[int, threading.Lock] = {}
        self._caller_lock = threading.Lock()
        self._session = session or new_session()
        self._lock = threading.RLock()
        self._sessions: dict[str, boto3.session.Session] = {CALLER: self._session}
        # Every assumed role's clients come from one session, each client with the role's
        # credentials: a botocore session costs about as much CPU to make as three clients.
        self._roles_session: boto3.session.Session | None = None
        self._credentials: dict[str, dict[str, str]] = {}
        self._role_failures: dict[str, AccessError] = {}
        self._clients: dict[ClientKey, Any] = {}
        self._caller_account: str | None = None
        self._caller_failure: AccessError | None = None
        self._destinations: dict[Registry, DestinationRegistry] = {}
        self._operations: OperationsSettings | None = None
        if topology is not None:
            self.use_topology(topology)

    @property
    def topology(self) -> ReplicationTopology:
        if self._topology is None:
            raise RuntimeError("no topology: read source registries only, or use_topology()")
        return self._topology

    def use_topology(self, topology: ReplicationTopology) -> None:
        """Read destinations as ``topology`` sets them up (``import`` learns it as it reads)."""
        with self._lock:
            self._topology = topology
            self._destinations = {d.registry: d for d in topology.destination_registries()}

    def use_operations(self, operations: OperationsSettings) -> None:
        """Read as from this operations account before a topology is known (``import``
        learns the topology by reading the sources, through their source roles)."""
        with self._lock:
            self._operations = operations

    # -- identities --------------------------------------------------------------------------

    def caller_account(self, registry: Registry) -> str:
        """The caller's account id (``sts:GetCallerIdentity`` in ``registry``'s partition, once).

        The call is made under its own lock, not the one guarding the caches: workers that
        already have what they need go on while it is in flight.
        """
        with self._caller_lock:
            with self._lock:
                if self._caller_account is not None:
                    return self._caller_account
                if self._caller_failure is not None:
                    raise AccessError(self._caller_failure.reason, credentials=True)
            sts = self._client(
                ClientKey(service="sts", region=home_region(registry), identity=CALLER)
            )
            try:
                with guarded("could not identify the caller"):
                    account = str(sts.get_caller_identity()["Account"])
            except AccessError as failure:
                with self._lock:
                    self._caller_failure = failure
                raise AccessError(failure.reason, credentials=True) from None
            with self._lock:
                self._caller_account = account
            return account

    def role_arn(self, registry: Registry) -> str:
        return naming.destination_role_arn(registry, self.role_name)

    def operations_account(self) -> str | None:
        """The topology's operations account (or the one given to :meth:`use_operations`)."""
        operations = self._topology.operations if self._topology is not None else None
        operations = operations or self._operations
        return operations.account if operations is not None else None

    def from_operations_account(self, registry: Registry) -> bool:
        """Whether the caller runs from the topology's operations account."""
        account = self.operations_account()
        return account is not None and self.caller_account(registry) == account

    def identity(self, registry: Registry, side: Side) -> str:
        """``"caller"``, or the ARN of the role to assume for this registry on this side."""
        if not self.assume_role:
            return CALLER
        if side == "source":
            if not self.from_operations_account(registry):
                return CALLER
            if self.caller_account(registry) == registry.account:
                return CALLER
            return naming.source_role_arn(registry, self.source_role_name)
        destination = self._destinations.get(registry)
        creates_role = destination is not None and destination.needs_role
        if not (creates_role or self.role_name):
            return CALLER
        if self.caller_account(registry) == registry.account:
            return CALLER
        return self.role_arn(registry)

    def _external_id(self, registry: Registry, side: Side) -> str | None:
        if self._topology is None:
            return None
        if side == "source":
            return self._topology.source_role_settings.external_id
        return self._topology.settings_for(registry).role.external_id

    def _assume(self, registry: Registry, role_arn: str, side: Side) -> None:
        """Assume the role once (credentials per role ARN, failures remembered); different roles
        are assumed concurrently."""
        with self._lock:
            if role_arn in self._sessions:
                return
            lock = self._role_locks.setdefault(role_arn, threading.Lock())
        with lock:
            with self._lock:
                if role_arn in self._sessions:
                    return
                if role_arn in self._role_failures:
                    raise AccessError(self._role_failures[role_arn].reason, credentials=True)
            sts = self._client(
                ClientKey(service="sts", region=home_region(registry), identity=CALLER)
            )
            params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": naming.SESSION_NAME}
            if external_id := self._external_id(registry, side):
                params["ExternalId"] = external_id
            try:
                with guarded(f"could not assume {role_arn}"):
                    credentials = sts.assume_role(**params)["Credentials"]
            except AccessError as failure:
                failure = AccessError(failure.reason + self._assume_hint(registry))
                with self._lock:
                    self._role_failures[role_arn] = failure
                raise AccessError(failure.reason, credentials=True) from None
            with self._lock:
                if self._roles_session is None:
                    self._roles_session = new_session()
                self._credentials[role_arn] = {
                    "aws_access_key_id": credentials["AccessKeyId"],
                    "aws_secret_access_key": credentials["SecretAccessKey"],
                    "aws_session_token": credentials["SessionToken"],
                }
                self._sessions[role_arn] = self._roles_session

    def _assume_hint(self, registry: Registry) -> str:
        """Why an assumption may have failed, when the topology says more than the error."""
        account = self.operations_account()
        if account is not None and self.caller_account(registry) != account:
            return f"; the roles trust the operations account {account}: run from it"
        return ""

    # -- clients -----------------------------------------------------------------------------

    def new_client(self, session: boto3.session.Session, key: ClientKey) -> Any:
        """Create one client from ``key.identity``'s session (an assumed role's: the shared
        session of the roles, with the role's credentials).

        The single place clients are made; override or wrap it to instrument clients.
        """
        with self._lock:
            credentials = self._credentials.get(key.identity, {})
        # The service is a runtime value: the stubs' per-service overloads cannot apply.
        factory: Any = session.client
        client = factory(key.service, region_name=key.region, config=client_config(), **credentials)
        service_id = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"needs-retry.{service_id}", no_retry_of_error_pages)
        return client

    def _client(self, key: ClientKey) -> Any:
        """The cached client for ``key``, created on first use.

        A boto3 session is not thread-safe, so the clients of one session are created one at
        a time (a lock per session); creating one takes milliseconds of CPU, and the lock
        guarding the caches is not held meanwhile, so other workers go on with their calls.
        """
        with self._lock:
            if key in self._clients:
                return self._clients[key]
            session = self._sessions[key.identity]
            lock = self._session_locks.setdefault(id(session), threading.Lock())
        with lock:
            with self._lock:
                if key in self._clients:
                    return self._clients[key]
            client = self.new_client(session, key)
            with self._lock:
                self._clients[key] = client
            return client

    def client(
        self,
        service: str,
        registry: Registry,
        *,
        side: Side,
        region: str | None = None,
        own_account: bool = False,
    ) -> Any:
        """A client for ``registry`` on ``side``, in ``region`` (default: the registry's region).

        ``own_account=True``: the call acts on the credentials' own account, so credentials of
        another account raise :class:`AccessError` instead of silently reading the wrong
        registry.
        """
        identity = self.identity(registry, side)
        if identity != CALLER:
            self._assume(registry, identity, side)
        elif own_account:
            account = self.caller_account(registry)
            if account != registry.account:
                raise AccessError(
                    f"the credentials in use are for account {account}, not {registry.account}; "
                    + self._wrong_account_hint(registry, side),
                    credentials=True,
                )
        return self._client(
            ClientKey(service=service, region=region or registry.region, identity=identity)
        )

    def _wrong_account_hint(self, registry: Registry, side: Side) -> str:
        if side == "source":
            account = self.operations_account()
            via = (
                f", or from the operations account {account} (it reads sources through their "
                "source roles)"
                if account is not None and self.assume_role
                else ""
            )
            return f"run with credentials of {registry.account}{via}"
        if not self.assume_role:
            return "drop --no-assume-role to assume the destination role"
        return (
            "the topology creates no destination role for this registry; pass --role-name with "
            "a role to assume there"
        )

    def ecr(self, registry: Registry, *, side: Side, own_account: bool = False) -> ECRClient:
        """The ECR client of a registry."""
        client: ECRClient = self.client("ecr", registry, side=side, own_account=own_account)
        return client

    def ec2(self, registry: Registry, *, side: Side, region: str) -> EC2Client:
        """An EC2 client acting on the registry's account (for ``DescribeRegions``)."""
        client: EC2Client = self.client("ec2", registry, side=side, region=region, own_account=True)
        return client

    def cloudformation(self, registry: Registry, *, side: Side) -> CloudFormationClient:
        """A CloudFormation client acting on the registry's account, in its region."""
        client: CloudFormationClient = self.client(
            "cloudformation", registry, side=side, own_account=True
        )
        return client

    def account(self, registry: Registry, *, side: Side, region: str) -> AccountClient:
        """An Account Management client acting on the registry's account."""
        client: AccountClient = self.client(
            "account", registry, side=side, region=region, own_account=True
        )
        return client


def access_for(topology: ReplicationTopology | None, args: argparse.Namespace) -> RegistryAccess:
    """The access layer for a command's common arguments (``ops.config.add_common_arguments``)."""
    return RegistryAccess(
        topology,
        assume_role=args.assume_role,
        role_name=args.role_name,
        source_role_name=args.source_role_name,
        session=new_session(profile=args.profile),
    )


# ---------------------------------------------------------------------------------------------
# Paging


def paginate(client: Any, method: str, result_key: str, **params: Any) -> list[Any]:
    """Every item of ``result_key`` across all pages, asking for the largest page size."""
    paginator = client.get_paginator(method)
    items: list[Any] = []
    for page in paginator.paginate(**params, PaginationConfig={"PageSize": PAGE_SIZE}):
        items.extend(page.get(result_key, ()))
    return items


def list_repositories(client: ECRClient, registry: Registry) -> list[RepositoryTypeDef]:
    """Every repository of a registry (``DescribeRepositories``, 1000 per page)."""
    return cast(
        "list[RepositoryTypeDef]",
        paginate(client, "describe_repositories", "repositories", registryId=registry.account),
    )


def matching_repositories(access: RegistryAccess, source: SourceRegistry) -> list[str]:
    """Names of a source's repositories that its rules replicate, sorted: one listing.

    Raises :class:`AccessError` when the source registry cannot be read.
    """
    client = access.ecr(source.registry, side="source")
    with guarded():
        repositories = list_repositories(client, source.registry)
    return sorted(r["repositoryName"] for r in repositories if source.matches(r["repositoryName"]))


def registry_policy_text(client: ECRClient) -> str | None:
    """The registry's policy document as ECR stores it, or None when it has none.

    Raises :class:`AccessError` when it cannot be read.
    """
    with guarded():
        try:
            return client.get_registry_policy()["policyText"]
        except Exception as error:  # a ClientError's code decides; anything else re-raises
            if error_code(error) != "RegistryPolicyNotFoundException":
                raise
            return None


def list_repository_creation_templates(client: ECRClient) -> list[Any]:
    """Every repository creation template of the registry (all pages).

    Raises :class:`AccessError` when they cannot be read, or the endpoint lacks the API.
    """
    require_operation(client, "describe_repository_creation_templates")
    with guarded():
        return paginate(
            client, "describe_repository_creation_templates", "repositoryCreationTemplates"
        )


def destination_stack_resources(
    access: RegistryAccess, registry: Registry
) -> list[dict[str, Any]] | None:
    """The live resources of the registry's destination stack
    (``EcrReplicationDestination-<account>-<region>``), or None when there is no such stack.

    ``cloudformation:DescribeStackResources``, which the destination role may call on that
    stack: ``preflight`` (the templates the stack owns), ``import`` (the alerts it holds) and
    ``release`` (whether the stack still exists) read it. Raises :class:`AccessError` when it
    cannot be read.
    """
    client = access.cloudformation(registry, side="destination")
    with guarded():
        try:
            answer = client.describe_stack_resources(
                StackName=naming.destination_stack_name(registry)
            )
        except Exception as error:  # a ClientError's code decides; anything else re-raises
            # CloudFormation answers ValidationError "Stack with id NAME does not exist".
            if error_code(error) != "ValidationError":
                raise
            return None
    return [dict(r) for r in answer["StackResources"]]


ACTIVE = "ACTIVE"
"""An image's ``imageStatus`` when it can be pulled (what ECR lists without a status filter)."""
ANY_STATUS: Final = "ANY"
"""The ``imageStatus`` / ``artifactStatus`` filter that lists images in every status:
``ACTIVE``, ``ARCHIVED`` (archive storage class) and ``ACTIVATING`` (being restored)."""
REFERRERS_PAGE_SIZE = 50
"""``maxResults`` for ``ListImageReferrers``: the largest page its model allows."""


def list_images(
    client: ECRClient, registry: Registry, repository: str, *, image_status: str | None = None
) -> list[ImageDetailTypeDef]:
    """Every image of a repository: one ``DescribeImages`` listing, 1000 images per page.

    ``image_status``: the ``filter.imageStatus`` to ask for; None leaves it out, and ECR then
    lists only ``ACTIVE`` images (an archived image is invisible); :data:`ANY_STATUS` lists all.
    Raises ``RepositoryNotFoundException`` (a ``ClientError``) when the repository is missing.
    """
    status_filter = {} if image_status is None else {"filter": {"imageStatus": image_status}}
    return cast(
        "list[ImageDetailTypeDef]",
        paginate(
            client,
            "describe_images",
            "imageDetails",
            registryId=registry.account,
            repositoryName=repository,
            **status_filter,
        ),
    )


def image_status(image: ImageDetailTypeDef | ImageReferrerTypeDef | Mapping[str, Any]) -> str:
    """An image's status (``imageStatus``, or a referrer's ``artifactStatus``): ``ACTIVE``
    when the answer leaves it out, as ECR did before the archive storage class."""
    status = image.get("imageStatus", image.get("artifactStatus"))
    return str(status) if status else ACTIVE


def list_image_referrers(
    client: ECRClient, registry: Registry, repository: str, digest: str
) -> list[ImageReferrerTypeDef]:
    """Every referrer (signature, SBOM, attestation) of one image, in every status.

    ``ListImageReferrers`` has no botocore paginator: ``nextToken`` is followed here, 50 a page
    (its model's maximum). Raises ``RepositoryNotFoundException`` (a ``ClientError``) when the
    repository is missing, :class:`AccessError` when this botocore lacks the API.
    """
    require_operation(client, "list_image_referrers")
    referrers: list[ImageReferrerTypeDef] = []
    token: str | None = None
    while True:
        page = client.list_image_referrers(
            registryId=registry.account,
            repositoryName=repository,
            subjectId={"imageDigest": digest},
            filter={"artifactStatus": ANY_STATUS},
            maxResults=REFERRERS_PAGE_SIZE,
            **({"nextToken": token} if token else {}),
        )
        referrers.extend(page.get("referrers", ()))
        token = page.get("nextToken")
        if not token:
            return referrers


# ---------------------------------------------------------------------------------------------
# Concurrency


def run_concurrently(
    items: Sequence[T],
    work: Callable[[T], R],
    *,
    max_workers: int | None = None,
    on_done: Callable[[], None] | None = None,
) -> list[R]:
    """``[work(item) for item in items]`` on at most ``max_workers`` threads, in input order.

    ``max_workers`` defaults to :data:`DEFAULT_MAX_WORKERS`, read at call time.

    ``on_done`` is called after each item (e.g. to advance a progress bar). ``work`` should
    turn expected AWS failures into results; anything else it raises is re-raised here.
    """
    if not items:
        return []
    workers = max(1, min(max_workers or DEFAULT_MAX_WORKERS, len(items)))
    results: list[R | None] = [None] * len(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecr-replication") as pool:
        futures = {pool.submit(work, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if on_done is not None:
                on_done()
    return cast("list[R]", results)
