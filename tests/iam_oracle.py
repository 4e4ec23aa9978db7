"""The independent oracle for IAM questions: an IAM simulator, asked like for like.

``model/iam.py`` is the one reading of IAM behind review, preflight, import and the contract
tests, so it cannot be its own judge. The tests judge it, and the properties built on it,
against `@cloud-copilot/iam-simulate <https://github.com/cloud-copilot/iam-simulate>`_ (npm,
pinned beside the CDK CLI in ``package-lock.json``; AGPL-3.0, a test tool only, never imported
by the package): one long-lived Node process (``tests/iam_simulator.cjs``), batches of
simulations as JSON lines over a pipe.

:func:`simulation` translates one question the way ``model.iam.evaluate`` asks it into the
simulator's terms, so that both answer the same question:

* ``caller`` None: ``statements`` are an identity policy of a principal in the resource's
  account; there is no resource policy.
* a caller in another account than the resource (``Caller(account=...)``: a principal of that
  account no statement names, ECR's replication service-linked role; with ``arn``: that
  principal): ``statements`` are the resource's policy, and the caller's identity policy
  allows everything, so that the resource policy alone decides, as the evaluator assumes.
* a service caller (``Caller(service=...)``): the service principal, the resource's policy.
* a caller in the resource's own account: that principal, no identity policy (the simulator
  then applies IAM's same-account rules; the evaluator does not model them, so the differential
  test never asks this; the round trip compares the simulator with itself).

The resource is always one literal ARN; the context always given (booleans as ``"true"`` /
``"false"``).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ecr_replication.model import iam

REPO = Path(__file__).resolve().parent.parent
NODE = REPO / ".venv" / "bin" / "node"
DRIVER = Path(__file__).resolve().parent / "iam_simulator.cjs"

ALLOWED = "Allowed"
EXPLICITLY_DENIED = "ExplicitlyDenied"
IMPLICITLY_DENIED = "ImplicitlyDenied"

DECISIONS = {
    iam.Decision.ALLOWED: ALLOWED,
    iam.Decision.DENIED: EXPLICITLY_DENIED,
    iam.Decision.NOT_ALLOWED: IMPLICITLY_DENIED,
}
"""The evaluator's decisions as the simulator names them (CONDITIONAL has no counterpart)."""

SERVICE_LINKED_ROLE = (
    "role/aws-service-role/replication.ecr.amazonaws.com/AWSServiceRoleForECRReplication"
)
"""Who calls when an evaluator's caller is an account as a whole: ECR's replication role."""

ALLOW_EVERYTHING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class SimulatorError(RuntimeError):
    """The simulator refused a simulation (the question was not like for like, or malformed)."""


def _document(statements: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> Any:
    if isinstance(statements, Mapping):
        return dict(statements)
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _context(context: iam.RequestContext) -> dict[str, str | list[str]]:
    def text(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return {
        key: [text(v) for v in value] if isinstance(value, list | tuple) else text(value)
        for key, value in context.items()
    }


def account_of(arn: str) -> str:
    return arn.split(":")[4]


def principal_of(caller: iam.Caller) -> str:
    """The principal the simulator sees for an evaluator's caller."""
    if caller.service is not None:
        return caller.service
    if caller.arn is not None:
        return caller.arn
    return f"arn:{caller.partition}:iam::{caller.account}:{SERVICE_LINKED_ROLE}"


def simulation(
    statements: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    caller: iam.Caller | None,
    action: str,
    resource: str,
    context: iam.RequestContext,
) -> dict[str, Any]:
    """The simulator's form of ``iam.evaluate(statements, caller=..., action=..., resource=...,
    context=...)`` (see the module's docstring for how each caller is translated)."""
    account = account_of(resource)
    document = _document(statements)
    if not iam.statements_of(document):
        document = None  # no policy at all (the simulator refuses an empty one)
    identity: list[dict[str, Any]] = []
    resource_policy: Any = None
    if caller is None:
        principal = f"arn:aws:iam::{account}:role/holder"
        identity = [{"name": "evaluated", "policy": document}] if document else []
    else:
        principal = principal_of(caller)
        resource_policy = document
        if caller.service is None and caller.account != account:
            identity = [{"name": "allow-everything", "policy": ALLOW_EVERYTHING}]
    return {
        "request": {
            "principal": principal,
            "action": action,
            "resource": {"resource": resource, "accountId": account},
            "contextVariables": _context(context),
        },
        "identityPolicies": identity,
        "serviceControlPolicies": [],
        "resourceControlPolicies": [],
        **({"resourcePolicy": resource_policy} if resource_policy is not None else {}),
    }


class IamSimulator:
    """The Node process running ``tests/iam_simulator.cjs``; one per test session."""

    def __init__(self) -> None:
        if not (REPO / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
            raise SimulatorError("the IAM simulator is not installed: run scripts/setup")
        self._process = subprocess.Popen(
            [str(NODE), str(DRIVER)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}

    def run(self, simulations: Sequence[Mapping[str, Any]]) -> list[str]:
        """Each simulation's overall result (``Allowed``, ``ExplicitlyDenied``,
        ``ImplicitlyDenied``), in order; raises :class:`SimulatorError` for one it refuses."""
        keys = [json.dumps(s, sort_keys=True) for s in simulations]
        with self._lock:
            asked = list(dict.fromkeys(k for k in keys if k not in self._cache))
            if asked:
                answers = self._ask([json.loads(k) for k in asked])
                for key, answer in zip(asked, answers, strict=True):
                    if "error" in answer:
                        raise SimulatorError(f"{answer['error']}\nsimulation: {key}")
                    self._cache[key] = str(answer["result"])
            return [self._cache[k] for k in keys]

    def _ask(self, simulations: list[Any]) -> list[dict[str, Any]]:
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(simulations) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        if not line:
            raise SimulatorError(f"the simulator stopped (exit code {process.poll()})")
        answers: list[dict[str, Any]] = json.loads(line)
        return answers

    def decide(
        self,
        statements: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        caller: iam.Caller | None,
        action: str,
        resource: str,
        context: iam.RequestContext,
    ) -> str:
        """One question, asked as ``iam.evaluate`` would be."""
        (answer,) = self.run(
            [
                simulation(
                    statements, caller=caller, action=action, resource=resource, context=context
                )
            ]
        )
        return answer

    def close(self) -> None:
        process = self._process
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
