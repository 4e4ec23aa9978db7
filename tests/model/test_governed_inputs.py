"""Inputs an organization under AWS Control Tower needs: the backfill function's settings and
KMS keys given by their ARN, checked the same way from JSON and from Python; and the replication
that ECR does not chain, which the topology points out."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any
from unittest import mock

import botocore
import botocore.session
import pytest

from ecr_replication.errors import ReplicationConfigError, describe_value
from ecr_replication.model import (
    BackfillFunctionSettings,
    Registry,
    ReplicationRule,
    RepositoryTemplateSettings,
    SourceRegistry,
    checks,
    limits,
    parse_topology,
)
from ecr_replication.model.limits import LOG_RETENTION_DAYS, ecr_template_kms_key_pattern

BUILD = "555444333222"
PROD = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{BUILD}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MULTI_REGION_KEY = f"arn:aws:kms:us-east-1:{BUILD}:key/mrk-1234abcd12ab34cd56ef1234567890ab"
PROD_EU = Registry(account=PROD, region="eu-west-1")


def source_json(**fields: Any) -> dict[str, Any]:
    return {
        "account": BUILD,
        "region": "us-east-1",
        "rules": [{"destinations": [{"account": PROD, "region": "eu-west-1"}]}],
        "backfillExistingImages": True,
        **fields,
    }


def problems(raw_source: dict[str, Any]) -> list[str]:
    with pytest.raises(ReplicationConfigError) as error:
        parse_topology({"sources": [raw_source]})
    return [str(p) for p in error.value.problems]


# ---------------------------------------------------------------------------------------------
# backfillFunction


def test_every_field_of_the_backfill_function_is_read_from_json() -> None:
    topology = parse_topology(
        {
            "sources": [
                source_json(
                    backfillFunction={
                        "subnetIds": ["subnet-0abc1234def567890", "subnet-12345678"],
                        "securityGroupIds": ["sg-0abc1234def567890"],
                        "logKmsKeyArn": KEY,
                        "logRetentionDays": 3653,
                    }
                )
            ]
        }
    )
    assert topology.sources[0].backfill_function == BackfillFunctionSettings(
        subnet_ids=("subnet-0abc1234def567890", "subnet-12345678"),
        security_group_ids=("sg-0abc1234def567890",),
        log_kms_key_arn=KEY,
        log_retention_days=3653,
    )


def test_every_field_is_optional_and_logs_are_kept_a_year_by_default() -> None:
    topology = parse_topology({"sources": [source_json(backfillFunction={})]})
    settings = topology.sources[0].backfill_function
    assert settings == BackfillFunctionSettings()
    assert settings is not None
    assert (settings.subnet_ids, settings.log_kms_key_arn, settings.log_retention_days) == (
        (),
        None,
        365,
    )
    assert not settings.in_vpc


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (
            {"subnetIds": ["subnet-0abc1234def567890"]},
            "securityGroupIds: [] must list at least one id when subnetIds are given: a function "
            "in a VPC needs both its subnets and its security groups (give both lists, or neither)",
        ),
        (
            {"securityGroupIds": ["sg-12345678"]},
            "subnetIds: [] must list at least one id when securityGroupIds are given: a function "
            "in a VPC needs both its subnets and its security groups (give both lists, or neither)",
        ),
        (
            {"subnetIds": ["subnet-xyz"], "securityGroupIds": ["sg-12345678"]},
            "subnetIds[0]: 'subnet-xyz' is not an id such as 'subnet-0abc1234def567890'",
        ),
        (
            {"subnetIds": ["subnet-12345678"], "securityGroupIds": ["sg-1", "sg-12345678"]},
            "securityGroupIds[0]: 'sg-1' is not an id such as 'sg-0abc1234def567890'",
        ),
        (
            {"subnetIds": "subnet-12345678", "securityGroupIds": ["sg-12345678"]},
            "subnetIds: 'subnet-12345678' must be a list of strings (write ['subnet-12345678'])",
        ),
        (
            {
                "subnetIds": ["subnet-12345678", "subnet-12345678"],
                "securityGroupIds": ["sg-12345678"],
            },
            "subnetIds[1]: 'subnet-12345678' is listed twice",
        ),
        (
            {
                "subnetIds": ["subnet-12345678"],
                "securityGroupIds": [f"sg-{n:08x}" for n in range(6)],
            },
            "securityGroupIds: has 6 ids; a Lambda function takes at most 5",
        ),
        (
            {"logKmsKeyArn": f"arn:aws:kms:us-east-1:{BUILD}:alias/logs"},
            f"logKmsKeyArn: 'arn:aws:kms:us-east-1:{BUILD}:alias/logs' is an alias ARN; give the "
            "key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID), not an alias",
        ),
        (
            {"logKmsKeyArn": "my-key"},
            "logKmsKeyArn: 'my-key' is not a KMS key ARN: arn:PARTITION:kms:REGION:ACCOUNT:key/ "
            "and the key id (a lower-case UUID, or mrk- and 32 hex digits), e.g. "
            "'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'",
        ),
        (
            {"logKmsKeyArn": KEY.replace("us-east-1", "eu-west-1")},
            f"logKmsKeyArn: {KEY.replace('us-east-1', 'eu-west-1')!r} is in region 'eu-west-1'; "
            f"the key must be in the source registry's account {BUILD}, region us-east-1 "
            "(partition aws)",
        ),
        (
            {"logKmsKeyArn": KEY.replace(BUILD, PROD)},
            f"logKmsKeyArn: {KEY.replace(BUILD, PROD)!r} is in account {PROD!r}; the key must be "
            f"in the source registry's account {BUILD}, region us-east-1 (partition aws)",
        ),
        (
            {"logRetentionDays": 100},
            "logRetentionDays: 100 is not a retention CloudWatch Logs accepts: one of 1, 3, 5, 7, "
            "14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, "
            "3288, 3653",
        ),
        (
            {"logRetentionDays": True},
            "logRetentionDays: true is not a retention CloudWatch Logs accepts: one of 1, 3, 5, "
            "7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
            "2922, 3288, 3653",
        ),
        (
            {"vpc": "vpc-12345678"},
            "vpc: unknown key; allowed keys here are subnetIds, securityGroupIds, logKmsKeyArn, "
            "logRetentionDays",
        ),
    ],
)
def test_each_bad_function_setting_is_one_error_naming_field_value_and_what_is_allowed(
    function: dict[str, Any], expected: str
) -> None:
    assert problems(source_json(backfillFunction=function)) == [
        f"sources[0].backfillFunction.{expected}"
    ]


def test_empty_vpc_lists_are_refused_rather_than_read_as_outside_a_vpc() -> None:
    assert problems(source_json(backfillFunction={"subnetIds": [], "securityGroupIds": []})) == [
        "sources[0].backfillFunction.subnetIds: [] must list 1 to 16 ids; leave both keys out "
        "to run the function outside a VPC",
        "sources[0].backfillFunction.securityGroupIds: [] must list 1 to 5 ids; leave both keys "
        "out to run the function outside a VPC",
    ]


def test_a_bad_subnet_and_a_missing_security_group_list_are_reported_together() -> None:
    assert problems(source_json(backfillFunction={"subnetIds": ["subnet-x"]})) == [
        "sources[0].backfillFunction.subnetIds[0]: 'subnet-x' is not an id such as "
        "'subnet-0abc1234def567890'",
        "sources[0].backfillFunction.securityGroupIds: [] must list at least one id when "
        "subnetIds are given: a function in a VPC needs both its subnets and its security "
        "groups (give both lists, or neither)",
    ]


def test_function_settings_without_backfill_are_refused() -> None:
    assert problems(source_json(backfillExistingImages=False, backfillFunction={})) == [
        "sources[0].backfillFunction: is only used with backfillExistingImages true (it sets up "
        "the backfill function)"
    ]


def test_python_and_json_users_read_the_same_message() -> None:
    with pytest.raises(ReplicationConfigError) as python:
        SourceRegistry(
            account=BUILD,
            region="us-east-1",
            rules=[ReplicationRule(destinations=[PROD_EU])],
            backfill_existing_images=True,
            backfill_function=BackfillFunctionSettings(log_kms_key_arn=KEY.replace(BUILD, PROD)),
        )
    json_form = problems(source_json(backfillFunction={"logKmsKeyArn": KEY.replace(BUILD, PROD)}))
    assert [f"sources[0].{p}" for p in python.value.problems] == json_form
    with pytest.raises(ReplicationConfigError) as settings_error:
        BackfillFunctionSettings(log_retention_days=100)
    assert [f"sources[0].backfillFunction.{p}" for p in settings_error.value.problems] == problems(
        source_json(backfillFunction={"logRetentionDays": 100})
    )


def test_the_retention_periods_are_those_cloudwatch_logs_documents() -> None:
    # botocore carries them only in the documentation of the Days shape.
    days = botocore.session.get_session().get_service_model("logs").shape_for("Days")
    listed = days.documentation.split("Possible values are:")[1].split(".")[0]
    assert tuple(int(d) for d in listed.replace("and", ",").split(",") if d.strip()) == (
        LOG_RETENTION_DAYS
    )


# ---------------------------------------------------------------------------------------------
# KMS keys are given by their ARN


def test_the_template_key_pattern_is_the_installed_ecr_models() -> None:
    model = botocore.session.get_session().get_service_model("ecr")
    shape = model.shape_for("KmsKeyForRepositoryCreationTemplate")
    assert ecr_template_kms_key_pattern().pattern == shape.metadata["pattern"]


def test_the_installed_ecr_model_decides_which_template_keys_are_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a botocore upgrade that changes AWS's contract would do: the model's pattern rules.
    only_multi_region = re.compile(r"arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/mrk-[a-z0-9]+")
    monkeypatch.setattr(checks, "ecr_template_kms_key_pattern", lambda: only_multi_region)
    RepositoryTemplateSettings(encryption="KMS", kms_key_arn=MULTI_REGION_KEY)
    with pytest.raises(ReplicationConfigError, match="is not a key ARN ECR accepts"):
        RepositoryTemplateSettings(encryption="KMS", kms_key_arn=KEY)
    any_case = re.compile(r"arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+")
    monkeypatch.setattr(checks, "ecr_template_kms_key_pattern", lambda: any_case)
    upper = f"arn:aws:kms:us-east-1:{BUILD}:key/1234ABCD-12AB-34CD-56EF-1234567890AB"
    assert RepositoryTemplateSettings(encryption="KMS", kms_key_arn=upper).kms_key_arn == upper


def test_the_model_is_read_whether_botocore_ships_it_compressed_or_not(tmp_path: Path) -> None:
    data = Path(botocore.__file__).parent / "data"
    (version,) = [p for p in (data / "ecr").iterdir() if p.is_dir()]
    unpacked = tmp_path / "ecr" / version.name
    unpacked.mkdir(parents=True)
    with gzip.open(version / "service-2.json.gz", "rt") as service:
        (unpacked / "service-2.json").write_text(service.read())
    limits.ecr_template_kms_key_pattern.cache_clear()
    try:
        with mock.patch.object(limits, "_botocore_data", return_value=tmp_path):
            assert limits.ecr_template_kms_key_pattern().fullmatch(KEY)
    finally:
        limits.ecr_template_kms_key_pattern.cache_clear()


@pytest.mark.parametrize("key", [KEY, MULTI_REGION_KEY])
def test_a_key_arn_and_a_multi_region_key_arn_are_accepted(key: str) -> None:
    settings = RepositoryTemplateSettings(encryption="KMS", kms_key_arn=key)
    assert settings.kms_key_arn == key
    assert ecr_template_kms_key_pattern().fullmatch(key)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            f"arn:aws:kms:us-east-1:{BUILD}:alias/ecr",
            "is an alias ARN; give the key ARN (arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID), "
            "not an alias",
        ),
        (
            f"arn:aws:kms:us-east-1:{BUILD}:key/1234ABCD-12AB-34CD-56EF-1234567890AB",
            "is not a key ARN ECR accepts in a repository creation template",
        ),
        (
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "is not a key ARN ECR accepts in a repository creation template",
        ),
        ("", "is not a key ARN ECR accepts in a repository creation template"),
    ],
)
def test_a_template_key_that_is_not_a_key_arn_is_refused(key: str, expected: str) -> None:
    with pytest.raises(ReplicationConfigError) as error:
        RepositoryTemplateSettings(encryption="KMS", kms_key_arn=key)
    (problem,) = error.value.problems
    assert problem.path == "kmsKeyArn"
    assert problem.message.startswith(f"{describe_value(key)} {expected}")


# ---------------------------------------------------------------------------------------------
# Replication is not chained


def chain(onward_prefixes: list[str] | None, received: list[str] | None) -> dict[str, Any]:
    first_rule: dict[str, Any] = {"destinations": [{"account": PROD, "region": "eu-west-1"}]}
    if received is not None:
        first_rule["repositoryPrefixes"] = received
    onward_rule: dict[str, Any] = {"destinations": [{"account": PROD, "region": "eu-west-2"}]}
    if onward_prefixes is not None:
        onward_rule["repositoryPrefixes"] = onward_prefixes
    return {
        "sources": [
            {"account": BUILD, "region": "us-east-1", "rules": [first_rule]},
            {"account": PROD, "region": "eu-west-1", "rules": [onward_rule]},
        ]
    }


@pytest.mark.parametrize(
    ("onward", "received", "prefixes"),
    [
        (["prod/api"], ["prod/"], ("prod/api",)),
        (["prod/"], ["prod/api"], ("prod/",)),
        (None, ["prod/"], ("",)),
        (["team-a/", "prod/"], None, ("team-a/", "prod/")),
    ],
)
def test_a_destination_that_replicates_onward_what_it_receives_is_pointed_out(
    onward: list[str] | None, received: list[str] | None, prefixes: tuple[str, ...]
) -> None:
    (found,) = parse_topology(chain(onward, received)).unforwarded_replications()
    assert found.registry == PROD_EU
    assert found.source == Registry(account=BUILD, region="us-east-1")
    assert found.prefixes == prefixes
    assert found.onward == (Registry(account=PROD, region="eu-west-2"),)


def test_prefixes_that_cannot_name_the_same_repository_are_not_pointed_out() -> None:
    assert parse_topology(chain(["dev/"], ["prod/"])).unforwarded_replications() == ()


def test_the_message_says_what_does_not_arrive_and_what_to_do() -> None:
    (found,) = parse_topology(chain(["prod/api"], ["prod/"])).unforwarded_replications()
    assert found.message() == (
        f"{PROD}/eu-west-1 receives prod/ from {BUILD}/us-east-1 by replication and replicates "
        f"prod/api onward to {PROD}/eu-west-2: ECR replicates an image once, when it is pushed, "
        "so images that arrive by replication are not sent on, and images pushed to "
        f"{BUILD}/us-east-1 will not reach {PROD}/eu-west-2. Replicate them from "
        f"{BUILD}/us-east-1 directly (add those destinations to its rules)."
    )


def test_two_registries_replicating_to_each_other_lose_nothing() -> None:
    # A common disaster-recovery set-up: each side's images reach the other directly.
    both_ways = chain(["prod/"], ["prod/"])
    both_ways["sources"][1]["rules"][0]["destinations"] = [
        {"account": BUILD, "region": "us-east-1"}
    ]
    assert parse_topology(both_ways).unforwarded_replications() == ()


def test_a_source_that_already_reaches_the_onward_destination_loses_nothing() -> None:
    direct = chain(["prod/"], ["prod/"])
    direct["sources"][0]["rules"][0]["destinations"].append(
        {"account": PROD, "region": "eu-west-2"}
    )
    assert parse_topology(direct).unforwarded_replications() == ()
    narrower = chain(["prod/"], ["prod/"])
    narrower["sources"][0]["rules"].append(
        {
            "repositoryPrefixes": ["prod/api"],
            "destinations": [{"account": PROD, "region": "eu-west-2"}],
        }
    )
    (found,) = parse_topology(narrower).unforwarded_replications()
    assert found.onward == (Registry(account=PROD, region="eu-west-2"),)


def three_registries(
    *, sent_onward: list[str] | None, forwarded: list[str] | None
) -> dict[str, Any]:
    """S replicates every repository to R and ``sent_onward`` straight to D; R forwards
    ``forwarded`` to D."""
    straight: dict[str, Any] = {"destinations": [{"account": PROD, "region": "eu-west-2"}]}
    if sent_onward is not None:
        straight["repositoryPrefixes"] = sent_onward
    onward: dict[str, Any] = {"destinations": [{"account": PROD, "region": "eu-west-2"}]}
    if forwarded is not None:
        onward["repositoryPrefixes"] = forwarded
    return {
        "sources": [
            {
                "account": BUILD,
                "region": "us-east-1",
                "rules": [{"destinations": [{"account": PROD, "region": "eu-west-1"}]}, straight],
            },
            {"account": PROD, "region": "eu-west-1", "rules": [onward]},
        ]
    }


def test_what_the_source_sends_on_directly_is_not_lost_when_it_sends_more_to_the_middle() -> None:
    # S sends everything to R and prod/ straight to D; R forwards prod/ to D: every image R
    # would forward reaches D from S itself, whatever else S sends R.
    topology = parse_topology(three_registries(sent_onward=["prod/"], forwarded=["prod/"]))
    assert topology.unforwarded_replications() == ()
    narrower = parse_topology(three_registries(sent_onward=["prod/"], forwarded=["prod/api"]))
    assert narrower.unforwarded_replications() == ()


@pytest.mark.parametrize(
    ("sent_onward", "forwarded"),
    [(["prod/"], ["team-a/"]), (["prod/api"], ["prod/"]), (["prod/"], None)],
    ids=["other-prefix", "wider-forward", "forwards-everything"],
)
def test_what_the_middle_forwards_beyond_what_the_source_sends_directly_is_pointed_out(
    sent_onward: list[str], forwarded: list[str] | None
) -> None:
    topology = parse_topology(three_registries(sent_onward=sent_onward, forwarded=forwarded))
    (found,) = topology.unforwarded_replications()
    assert found.registry == PROD_EU
    assert found.onward == (Registry(account=PROD, region="eu-west-2"),)
