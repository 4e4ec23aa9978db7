"""The test fakes answer as botocore's model of each call says AWS answers.

A fake that invents a field, leaves out a required one, answers an error the call never
returns or pages differently makes a test pass that AWS would fail. Each fake is checked here
against the service model of the installed botocore: every operation it serves exists; every
answer validates against the operation's output shape (botocore's own validator: member names,
required members, types); every error code it answers is one the operation declares or one of
the errors every call of the service may return (the API references' "Common Errors", and the
JSON protocol's ``UnknownOperationException`` for a call the endpoint does not offer). And the
behaviour the model describes holds: ``DescribeRepositoryCreationTemplates`` pages with
``nextToken`` / ``maxResults`` and filters by ``prefixes``; a ``ThrottlingException`` or
``ServerException`` is retried by botocore and then reported.

The fakes: the live world of the adoption round trip (``tests/ops/live_world.py``), the stubs
of the operations tests (``tests/ops/opshelp.py``), and the benchmarks' answers for what moto
lacks (``benchmarks/ecr_world.py``, ``benchmarks/scale_bench.py``).
"""

from __future__ import annotations

import datetime
import json
import random
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from benchmarks.ecr_world import CallCounter, World
from benchmarks.scale_bench import Instrument
from ecr_replication.model import Registry, parse_topology
from ecr_replication.ops import aws

from . import opshelp
from .live_world import TEMPLATE_TIMES, LiveRegistry, LiveWorld, attach, skip_retry_waits
from .test_import_round_trip import INJECTED

MODELS = botocore.session.get_session()

COMMON = {
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationError",
}
COMMON_ERRORS = {
    # The API references' "Common Errors" (Amazon ECR, AWS CloudFormation); for ECR, also the
    # JSON protocol's UnknownOperationException for an operation the endpoint does not offer.
    "ecr": COMMON | {"AccessDeniedException", "UnknownOperationException"},
    "cloudformation": COMMON | {"AccessDenied"},
}

REGISTRY = Registry(account=opshelp.DEST_A_ACCOUNT, region="eu-west-1")


def operation(service: str, name: str) -> Any:
    return MODELS.get_service_model(service).operation_model(name)


def output_problems(service: str, name: str, answer: dict[str, Any]) -> str:
    """What botocore's validator finds wrong with an answer (empty: nothing)."""
    members = {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    return (
        ParamValidator().validate(members, operation(service, name).output_shape).generate_report()
    )


def declared_errors(service: str, name: str) -> set[str]:
    errors = {shape.error_code or shape.name for shape in operation(service, name).error_shapes}
    return errors | COMMON_ERRORS[service]


def sample_world() -> LiveWorld:
    template = {
        "appliedFor": ["REPLICATION"],
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfiguration": {"encryptionType": "AES256"},
        **TEMPLATE_TIMES,
    }
    return LiveWorld(
        registries={
            opshelp.SOURCE.key: LiveRegistry(
                rules=[{"destinations": [{"region": "eu-west-1", "registryId": REGISTRY.account}]}]
            ),
            REGISTRY.key: LiveRegistry(
                policy=[{"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": "*"}],
                templates={p: {"prefix": p, **template} for p in ("ml", "prod", "ROOT", "team-a")},
                stack_templates={"prod"},
            ),
        },
        page_size=3,
    )


def ecr_client(world: LiveWorld, registry: Registry = REGISTRY) -> Any:
    client = aws.new_session().client(
        "ecr", region_name=registry.region, config=aws.client_config()
    )
    return attach(world, client, registry)


@pytest.fixture
def no_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    skip_retry_waits(monkeypatch)


# ---------------------------------------------------------------------------------------------
# The live world


def test_every_call_the_live_world_serves_is_in_botocores_model() -> None:
    for service, names in LiveWorld.SERVED.items():
        known = set(MODELS.get_service_model(service).operation_names)
        assert set(names) <= known, service


@pytest.mark.parametrize(
    ("service", "name", "params"),
    [
        ("ecr", "DescribeRegistry", {}),
        ("ecr", "GetRegistryPolicy", {}),
        ("ecr", "DescribeRepositoryCreationTemplates", {}),
        ("ecr", "DescribeRepositoryCreationTemplates", {"maxResults": 1, "prefixes": ["prod"]}),
        (
            "cloudformation",
            "DescribeStackResources",
            {"StackName": f"EcrReplicationDestination-{REGISTRY.account}-{REGISTRY.region}"},
        ),
    ],
)
def test_the_live_world_answers_with_the_fields_of_the_model(
    service: str, name: str, params: dict[str, Any]
) -> None:
    answer = sample_world().answer(REGISTRY, name, params)
    assert isinstance(answer, dict), answer
    assert output_problems(service, name, answer) == ""


def test_templates_carry_when_they_were_created_and_changed() -> None:
    answer = sample_world().answer(REGISTRY, "DescribeRepositoryCreationTemplates", {})
    for template in answer["repositoryCreationTemplates"]:
        assert isinstance(template["createdAt"], datetime.datetime)
        assert template["updatedAt"] >= template["createdAt"]


def test_the_live_world_answers_only_errors_the_model_knows() -> None:
    for name, codes in LiveWorld.ERRORS.items():
        service = next(s for s, names in LiveWorld.SERVED.items() if name in names)
        assert set(codes) <= declared_errors(service, name), name
    for name, codes in INJECTED.items():
        assert set(codes) <= declared_errors("ecr", name), name


def test_templates_page_and_filter_as_botocores_paginator_reads_them() -> None:
    world = sample_world()
    client = ecr_client(world)
    paginator = client.get_paginator("describe_repository_creation_templates")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 1000}))
    assert [len(p["repositoryCreationTemplates"]) for p in pages] == [3, 1]  # page_size 3
    found = [t["prefix"] for p in pages for t in p["repositoryCreationTemplates"]]
    assert found == ["ROOT", "ml", "prod", "team-a"]
    assert all(
        isinstance(t["createdAt"], datetime.datetime)
        for p in pages
        for t in p["repositoryCreationTemplates"]
    )
    one_a_page = list(paginator.paginate(PaginationConfig={"PageSize": 1}))
    assert len(one_a_page) == 4
    chosen = paginator.paginate(prefixes=["prod", "team-a", "none"]).build_full_result()
    assert [t["prefix"] for t in chosen["repositoryCreationTemplates"]] == ["prod", "team-a"]


def test_a_token_the_world_did_not_give_is_refused() -> None:
    client = ecr_client(sample_world())
    with pytest.raises(ClientError) as error:
        client.describe_repository_creation_templates(nextToken="forged")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


@pytest.mark.usefixtures("no_waits")
@pytest.mark.parametrize("code", ["ThrottlingException", "ServerException"])
def test_a_call_that_fails_a_few_attempts_is_retried_and_answers(code: str) -> None:
    world = sample_world()
    world.at(REGISTRY).flaky["GetRegistryPolicy"] = (code, 3)
    answer = ecr_client(world).get_registry_policy()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 3
    assert json.loads(answer["policyText"])["Statement"][0]["Action"] == "ecr:*"


@pytest.mark.usefixtures("no_waits")
@pytest.mark.parametrize("code", ["ThrottlingException", "ServerException"])
def test_a_call_that_keeps_failing_is_reported_after_the_configured_attempts(code: str) -> None:
    world = sample_world()
    world.at(REGISTRY).faults["DescribeRegistry"] = code
    with pytest.raises(ClientError) as error:
        ecr_client(world).describe_registry()
    response = error.value.response
    assert response["Error"]["Code"] == code
    # botocore reads max_attempts (retries after the first) into total_max_attempts.
    retries = aws.client_config().retries
    attempts = retries.get("total_max_attempts", retries.get("max_attempts", 0) + 1)
    assert response["ResponseMetadata"]["RetryAttempts"] == attempts - 1 > 0
    described = aws.describe_failure(error.value)
    assert ("throttled past retries" in described) is (code == "ThrottlingException")


def test_answers_do_not_depend_on_the_order_of_calls() -> None:
    calls = [
        ("DescribeRegistry", {}),
        ("GetRegistryPolicy", {}),
        ("DescribeRepositoryCreationTemplates", {}),
        ("DescribeRepositoryCreationTemplates", {"nextToken": "page-3"}),
    ]
    world = sample_world()
    world.at(REGISTRY).flaky["GetRegistryPolicy"] = ("ThrottlingException", 1)
    in_order = [world.answer(REGISTRY, n, p, attempt=2) for n, p in calls]
    shuffled = calls[:]
    random.Random(7).shuffle(shuffled)
    again = {n + json.dumps(p): world.answer(REGISTRY, n, p, attempt=2) for n, p in shuffled}
    assert [again[n + json.dumps(p)] for n, p in calls] == in_order


# ---------------------------------------------------------------------------------------------
# The stubs of the operations tests, and the benchmarks' answers


def test_the_stubbed_template_listing_follows_the_model() -> None:
    answer = opshelp.template_response("prod", "ROOT")
    assert output_problems("ecr", "DescribeRepositoryCreationTemplates", answer) == ""
    assert all("createdAt" in t for t in answer["repositoryCreationTemplates"])
    params = ParamValidator().validate(
        opshelp.TEMPLATES_PARAMS,
        operation("ecr", "DescribeRepositoryCreationTemplates").input_shape,
    )
    assert params.generate_report() == ""


def test_the_benchmarks_answer_what_moto_lacks_as_the_model_says() -> None:
    instrument = Instrument()
    topology = parse_topology(opshelp.topology_document())
    instrument.learn(topology)
    registry = next(d.registry for d in topology.destination_registries() if d.needs_template)
    for name, service in (
        ("DescribeRepositoryCreationTemplates", "ecr"),
        ("DescribeStackResources", "cloudformation"),
    ):
        answer = instrument._answer(name, registry.account, registry.region)
        assert answer is not None
        assert output_problems(service, name, answer) == "", name
    filtered = instrument._answer(
        "DescribeRepositoryCreationTemplates",
        registry.account,
        registry.region,
        {"prefixes": ["none"]},
    )
    assert filtered is not None and filtered["repositoryCreationTemplates"] == []

    world = World(repositories=1, images_per_repository=2)
    (repository, tag) = next(world.images())
    request = {"repositoryName": repository, "imageId": {"imageTag": tag}}
    status_call = operation("ecr", "DescribeImageReplicationStatus")
    _, answer = CallCounter(world)._before_call(
        model=status_call, params={"body": json.dumps(request).encode()}
    )
    assert output_problems("ecr", "DescribeImageReplicationStatus", answer) == ""
