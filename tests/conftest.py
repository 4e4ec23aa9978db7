"""Shared fixtures: the scenario topologies, stacks with a concrete environment, snapshots.

Every stack a test builds has a concrete account and region, as the library's own stacks do:
the constructs read the registry (account + region) from their stack.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from hypothesis import settings
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.iam_oracle import IamSimulator

REPO = Path(__file__).resolve().parent.parent

BUILD_ACCOUNT = "555444333222"
PROD_ACCOUNT = "123456789012"


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots stored as readable JSON files, one per assertion, under ``__snapshots__``."""
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cdk_json_topology() -> dict[str, Any]:
    """The default topology embedded in ``cdk.json`` (context key ``ecrReplication``)."""
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    return dict(context["ecrReplication"])


@pytest.fixture
def raw_topology() -> dict[str, Any]:
    """A fresh copy of the classic one-source topology in its JSON form, free to mutate."""
    return copy.deepcopy(
        {
            "sources": [
                {
                    "account": BUILD_ACCOUNT,
                    "region": "us-east-1",
                    "rules": [
                        {
                            "repositoryPrefixes": ["prod/"],
                            "destinations": [{"account": PROD_ACCOUNT, "region": "eu-west-1"}],
                        }
                    ],
                }
            ]
        }
    )


@pytest.fixture(scope="session")
def iam_simulator() -> Iterator[IamSimulator]:
    """The independent IAM oracle (``tests/iam_oracle.py``): one Node process per session."""
    simulator = IamSimulator()
    yield simulator
    simulator.close()


StackFactory = Callable[..., Stack]


@pytest.fixture
def new_stack() -> StackFactory:
    """Makes a stack in a concrete account and region; a new app unless ``app`` is given.

    Defaults to the production registry 123456789012/eu-west-1, the destination of the classic
    scenario.
    """

    def make(
        account: str = PROD_ACCOUNT,
        region: str = "eu-west-1",
        *,
        app: App | None = None,
        stack_id: str | None = None,
    ) -> Stack:
        return Stack(
            app or App(),
            stack_id or f"Test-{account}-{region}",
            env=Environment(account=account, region=region),
        )

    return make


# Property-based tests (Hypothesis): deterministic and bounded, so the suite takes the same
# time and finds the same examples on every run and in CI. HYPOTHESIS_PROFILE=explore searches
# more widely (random, more examples), as the scheduled workflow .github/workflows/explore.yml
# does with a fresh seed.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    print_blob=False,
)
settings.register_profile(
    "explore", database=None, deadline=None, max_examples=400, print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
