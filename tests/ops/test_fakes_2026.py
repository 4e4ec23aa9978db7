"""The fakes of what moto lacks of the ECR API of 2026 (``tests/ops/test_fakes.py`` checks the
rest of what each fake serves) answer as botocore's model (ECR
service-2.json of botocore 1.44, the oracle here) describes: every field a member of its shape
with its type, every error code one the operation lists, pagination by its token, and the
default filters the model's documentation states.

The fakes: ``opshelp.ecr_2026`` (moto extended: image statuses, ``ListImageReferrers``,
``GetAccountSetting``, scope-aware ``PutRegistryPolicy``), ``live_world`` (the adoption round
trip's ``GetAccountSetting`` and ``deleteReplication``) and ``benchmarks/ecr_world.py``.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.model import ServiceModel, Shape
from botocore.validate import ParamValidator

from benchmarks import ecr_world
from ecr_replication.model import Registry

from .live_world import LiveRegistry, LiveWorld, api_rules
from .opshelp import (
    ARCHIVED,
    SIGNATURE,
    SOURCE,
    ecr_client,
    image_detail,
    push,
    push_referrer,
    referrer_detail,
    set_account_setting,
    set_image_status,
)


@functools.cache
def model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("ecr")


def shape_problems(value: Any, shape: str | Shape) -> str:
    """What botocore's validator finds wrong with ``value`` as the shape (unknown keys, types,
    required members); empty when it fits."""
    report = ParamValidator().validate(
        value, model().shape_for(shape) if isinstance(shape, str) else shape
    )
    return report.generate_report() if report.has_errors() else ""


def output(operation: str) -> Shape:
    shape = model().operation_model(operation).output_shape
    assert shape is not None
    return shape


def errors_of(operation: str) -> set[str]:
    return {e.name for e in model().operation_model(operation).error_shapes}


def moto_image(registry: Registry, repository: str, digest: str) -> Any:
    from moto.ecr.models import ecr_backends

    images = ecr_backends[registry.account][registry.region].repositories[repository].images
    return next(i for i in images if i.get_image_digest() == digest)


# ---------------------------------------------------------------------------------------------
# opshelp.ecr_2026 (moto extended)


def test_image_and_referrer_details_are_the_models_shapes() -> None:
    subject = push(SOURCE, "prod/api", "v1", "api-1")
    referrer = push_referrer(SOURCE, "prod/api", subject, "sig-1")
    set_image_status(SOURCE, "prod/api", subject, ARCHIVED)

    detail = image_detail(moto_image(SOURCE, "prod/api", subject), SOURCE.account, SOURCE.region)
    signature = moto_image(SOURCE, "prod/api", referrer)

    assert shape_problems(detail, "ImageDetail") == ""
    assert detail["imageStatus"] in model().shape_for("ImageStatus").enum
    untagged = image_detail(signature, SOURCE.account, SOURCE.region)
    assert "imageTags" not in untagged and untagged["subjectManifestDigest"] == subject
    found = referrer_detail(signature, SOURCE.account, SOURCE.region)
    assert shape_problems(found, "ImageReferrer") == ""
    assert found["artifactType"] == SIGNATURE


def test_describe_images_lists_only_active_images_unless_a_status_is_asked() -> None:
    # The model: "If not specified, only images with ACTIVE status are returned."
    active = push(SOURCE, "prod/api", "v2", "api-2")
    archived = push(SOURCE, "prod/api", "v1", "api-1")
    set_image_status(SOURCE, "prod/api", archived, ARCHIVED)
    client = ecr_client(SOURCE)

    def listed(**options: Any) -> set[str]:
        details = client.describe_images(repositoryName="prod/api", **options)["imageDetails"]
        return {d["imageDigest"] for d in details}

    assert listed() == {active}
    assert listed(filter={"imageStatus": "ANY"}) == {active, archived}
    assert listed(filter={"imageStatus": "ARCHIVED"}) == {archived}
    assert "imageStatus" in model().shape_for("DescribeImagesFilter").members


def test_list_image_referrers_pages_by_its_token_and_filters_by_status() -> None:
    subject = push(SOURCE, "prod/api", "v1", "api-1")
    referrers = [push_referrer(SOURCE, "prod/api", subject, f"sig-{i}") for i in range(3)]
    set_image_status(SOURCE, "prod/api", referrers[2], ARCHIVED)
    client = ecr_client(SOURCE)
    request = {"repositoryName": "prod/api", "subjectId": {"imageDigest": subject}}

    first = client.list_image_referrers(**request, maxResults=2, filter={"artifactStatus": "ANY"})
    second = client.list_image_referrers(
        **request, maxResults=2, filter={"artifactStatus": "ANY"}, nextToken=first["nextToken"]
    )
    default = client.list_image_referrers(**request)

    paged = [r["digest"] for r in first["referrers"] + second["referrers"]]
    assert sorted(paged) == sorted(referrers) and "nextToken" not in second
    assert {r["digest"] for r in default["referrers"]} == set(referrers[:2])  # ACTIVE only
    for page in (first, second, default):
        body = {k: v for k, v in page.items() if k != "ResponseMetadata"}
        assert shape_problems(body, output("ListImageReferrers")) == ""
    # botocore checks only a minimum on the client; a page larger than the model's 50 is
    # answered with an error the operation lists.
    assert model().shape_for("FiftyMaxResults").metadata["max"] == 50
    with pytest.raises(ParamValidationError):
        client.list_image_referrers(**request, maxResults=0)
    with pytest.raises(ClientError) as error:
        client.list_image_referrers(**request, maxResults=51)
    assert error.value.response["Error"]["Code"] in errors_of("ListImageReferrers")


def test_list_image_referrers_of_a_missing_repository_is_the_models_error() -> None:
    with pytest.raises(ClientError) as error:
        ecr_client(SOURCE).list_image_referrers(
            repositoryName="prod/nothing", subjectId={"imageDigest": "sha256:" + "a" * 64}
        )
    code = error.value.response["Error"]["Code"]
    assert code == "RepositoryNotFoundException"
    assert code in errors_of("ListImageReferrers")


def test_get_account_setting_answers_the_documented_settings_as_the_model_shapes_them() -> None:
    client = ecr_client(SOURCE)
    fresh = client.get_account_setting(name="REGISTRY_POLICY_SCOPE")
    set_account_setting(SOURCE.account, "REGISTRY_POLICY_SCOPE", "V1")
    switched = client.get_account_setting(name="REGISTRY_POLICY_SCOPE")

    assert (fresh["name"], fresh["value"], switched["value"]) == (
        "REGISTRY_POLICY_SCOPE",
        "V2",
        "V1",
    )
    body = {k: v for k, v in fresh.items() if k != "ResponseMetadata"}
    assert shape_problems(body, output("GetAccountSetting")) == ""
    with pytest.raises(ClientError) as error:
        client.get_account_setting(name="SOMETHING_ELSE")
    assert error.value.response["Error"]["Code"] in errors_of("GetAccountSetting")


def test_put_registry_policy_takes_what_the_registry_policy_scope_takes() -> None:
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Sid":"Pulls","Effect":"Allow",'
        '"Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"ecr:BatchGetImage",'
        f'"Resource":"arn:aws:ecr:{SOURCE.region}:{SOURCE.account}:repository/*"}}]}}'
    )
    client = ecr_client(SOURCE)
    client.put_registry_policy(policyText=policy)  # V2: any ECR action
    set_account_setting(SOURCE.account, "REGISTRY_POLICY_SCOPE", "V1")
    with pytest.raises(ClientError) as error:
        client.put_registry_policy(policyText=policy)
    code = error.value.response["Error"]["Code"]
    assert code == "InvalidParameterException" and code in errors_of("PutRegistryPolicy")


# ---------------------------------------------------------------------------------------------
# live_world (the adoption round trip)


def test_the_live_world_answers_the_models_shapes() -> None:
    world = LiveWorld(
        registries={
            SOURCE.key: LiveRegistry(
                rules=[
                    {
                        "destinations": [{"region": "eu-west-1", "registryId": "111111111111"}],
                        "deleteReplication": {"enabled": True},
                    }
                ],
                policy_scope="V1",
            )
        }
    )
    described = world.answer(SOURCE, "DescribeRegistry", {})
    setting = world.answer(SOURCE, "GetAccountSetting", {"name": "REGISTRY_POLICY_SCOPE"})

    assert shape_problems(described, output("DescribeRegistry")) == ""
    assert shape_problems(setting, output("GetAccountSetting")) == ""
    assert setting["value"] == "V1"
    rendered = api_rules(
        {
            "ReplicationConfiguration": {
                "Rules": [
                    {
                        "Destinations": [{"Region": "eu-west-1", "RegistryId": "111111111111"}],
                        "DeleteReplication": {"Enabled": True},
                    }
                ]
            }
        }
    )
    assert shape_problems({"rules": rendered}, "ReplicationConfiguration") == ""
    assert rendered[0]["deleteReplication"] == {"enabled": True}


# ---------------------------------------------------------------------------------------------
# benchmarks/ecr_world.py


def test_the_benchmark_worlds_answers_are_the_models_shapes() -> None:
    digest = ecr_world.digest_of("prod/service-00", "v1.0")
    answer = ecr_world.referrers_answer(digest)
    assert shape_problems(answer, output("ListImageReferrers")) == ""
    assert answer["referrers"][0]["digest"] != digest
    assert (
        shape_problems(
            ecr_world.account_setting_answer("REGISTRY_POLICY_SCOPE"), output("GetAccountSetting")
        )
        == ""
    )
