"""The topology model: parsing, one failing input per validation rule, and derived views."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from ecr_replication.errors import ReplicationConfigError
from ecr_replication.model import (
    Grant,
    Registry,
    ReplicationRule,
    ReplicationTopology,
    RepositoryTemplateSettings,
    RoleSettings,
    SourceRegistry,
    parse_topology,
    region_partitions,
    template_prefix_for,
    topology_from_context,
)
from ecr_replication.model.limits import (
    MAX_DESTINATIONS_PER_RULE,
    MAX_PREFIXES_PER_RULE,
    MAX_RULES_PER_REGISTRY,
    TEMPLATE_APPLIED_FOR,
)
from ecr_replication.model.values import many_destinations_warning

from ..topologies import LIFECYCLE_POLICY

BUILD = "555444333222"
PROD = "123456789012"
OTHER = "210987654321"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


def field_error(path: str, *words: str) -> str:
    """A ``match`` pattern: a line that starts with the field path and holds the words in order."""
    return "(?m)^" + re.escape(f"{path}: ") + ".*" + ".*".join(re.escape(w) for w in words)


def dest(account: str = PROD, region: str = "eu-west-1") -> dict[str, str]:
    return {"account": account, "region": region}


def problems_of(raw: object) -> list[str]:
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(raw)
    return [str(p) for p in info.value.problems]


# ---------------------------------------------------------------------------------------------
# Accounts and regions


def test_a_source_account_that_is_not_12_digits_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["account"] = "12345"
    with pytest.raises(
        ReplicationConfigError, match=field_error("sources[0].account", "'12345'", "12-digit")
    ):
        parse_topology(raw_topology)


def test_a_destination_account_error_names_its_full_field_path(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"][0]["account"] = "12345"
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(raw_topology)
    assert str(info.value) == (
        "sources[0].rules[0].destinations[0].account: '12345' is not a 12-digit AWS account id "
        "(give it as a string, e.g. '123456789012')"
    )


def test_an_unknown_region_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"][0]["region"] = "eu-middle-7"
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[0].rules[0].destinations[0].region", "'eu-middle-7'", "not a known AWS region"
        ),
    ):
        parse_topology(raw_topology)


def test_botocore_regions_used_by_the_topology_are_the_regions_aws_cdk_knows() -> None:
    from aws_cdk.region_info import RegionInfo

    assert set(region_partitions()) == {region.name for region in RegionInfo.regions}


def test_region_partitions_read_from_endpoint_data_match_botocores_own_region_listing() -> None:
    import botocore.session

    session = botocore.session.Session()
    expected = {
        region: partition
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ecr", partition_name=partition)
    }
    assert dict(region_partitions()) == expected


def test_region_partitions_know_the_partition_of_each_region() -> None:
    partitions = region_partitions()
    assert partitions["us-east-1"] == "aws"
    assert partitions["cn-north-1"] == "aws-cn"
    assert partitions["us-gov-west-1"] == "aws-us-gov"


def test_the_topology_module_does_not_import_aws_cdk() -> None:
    code = (
        "import sys, ecr_replication.model, ecr_replication.naming, ecr_replication.model.policies; "
        "sys.exit('aws_cdk' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# ---------------------------------------------------------------------------------------------
# Limits


def test_more_than_25_rules_in_one_source_are_rejected_naming_25(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"] = [
        {"repositoryPrefixes": [f"team-{i}/"], "destinations": [dest()]} for i in range(26)
    ]
    assert problems_of(raw_topology) == [
        "sources[0].rules: has 26 rules; a registry's replication configuration allows at most 25"
    ]


def test_12_and_25_rules_in_one_source_are_accepted(raw_topology: dict[str, Any]) -> None:
    for count in (12, 25):
        raw_topology["sources"][0]["rules"] = [
            {"repositoryPrefixes": [f"team-{i}/"], "destinations": [dest()]} for i in range(count)
        ]
        assert len(parse_topology(raw_topology).sources[0].rules) == count


def test_more_than_100_destinations_in_one_rule_are_rejected(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = [
        dest(f"10000000{i:04d}") for i in range(101)
    ]
    assert problems_of(raw_topology) == [
        "sources[0].rules[0].destinations: has 101 destinations; a rule takes at most 100"
    ]


def test_26_unique_destinations_are_accepted_with_a_warning_not_an_error(
    raw_topology: dict[str, Any],
) -> None:
    # The cap of 25 was confirmed in 2023 and is on no current AWS page: warn, do not refuse.
    raw_topology["sources"][0]["rules"] = [
        {
            "repositoryPrefixes": ["a/"],
            "destinations": [dest(f"10000000{i:04d}") for i in range(13)],
        },
        {
            "repositoryPrefixes": ["b/"],
            "destinations": [dest(f"20000000{i:04d}") for i in range(13)],
        },
    ]
    source = parse_topology(raw_topology).sources[0]
    assert len(source.destinations) == 26
    warning = many_destinations_warning(source.rules)
    assert warning is not None
    assert warning.startswith("the rules replicate to 26 unique destinations; a cap of 25 per")


def test_a_destination_repeated_across_rules_counts_once_towards_the_25(
    raw_topology: dict[str, Any],
) -> None:
    destinations = [dest(f"10000000{i:04d}") for i in range(25)]
    raw_topology["sources"][0]["rules"] = [
        {"repositoryPrefixes": ["a/"], "destinations": destinations},
        {"repositoryPrefixes": ["b/"], "destinations": destinations},
    ]
    source = parse_topology(raw_topology).sources[0]
    assert len(source.destinations) == 25
    assert many_destinations_warning(source.rules) is None


def test_the_limits_are_those_of_the_installed_botocore_model() -> None:
    # The oracle is AWS's published API model (botocore 1.44), not the code under test.
    import botocore.session

    shapes = botocore.session.get_session().get_service_model("ecr")
    assert shapes.shape_for("ReplicationRuleList").metadata["max"] == MAX_RULES_PER_REGISTRY == 25
    assert shapes.shape_for("ReplicationDestinationList").metadata["max"] == 100
    assert MAX_DESTINATIONS_PER_RULE == 100
    filters = shapes.shape_for("RepositoryFilterList").metadata
    assert (filters["min"], filters["max"]) == (1, MAX_PREFIXES_PER_RULE) == (1, 100)
    assert set(shapes.shape_for("RCTAppliedFor").enum) == set(TEMPLATE_APPLIED_FOR)


def test_an_empty_prefix_list_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"] = []
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[0].rules[0].repositoryPrefixes", "[]", "1 to 100", "leave the key out"
        ),
    ):
        parse_topology(raw_topology)


def test_more_than_100_prefixes_in_one_rule_are_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"] = [f"p{i}/" for i in range(101)]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error("sources[0].rules[0].repositoryPrefixes", "101 prefixes", "at most 100"),
    ):
        parse_topology(raw_topology)


@pytest.mark.parametrize("length", [1, 257])
def test_a_prefix_shorter_than_2_or_longer_than_256_characters_is_rejected(
    raw_topology: dict[str, Any], length: int
) -> None:
    raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"] = ["p" * length]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[0].rules[0].repositoryPrefixes[0]", "2 to 256 characters", f"has {length}"
        ),
    ):
        parse_topology(raw_topology)


@pytest.mark.parametrize("length", [2, 256])
def test_prefixes_of_2_and_256_characters_are_accepted(
    raw_topology: dict[str, Any], length: int
) -> None:
    raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"] = ["p" * length]
    rule = parse_topology(raw_topology).sources[0].rules[0]
    assert rule.repository_prefixes == ("p" * length,)


def test_a_prefix_with_upper_case_letters_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"] = ["Prod/"]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[0].rules[0].repositoryPrefixes[0]", "'Prod/'", "valid ECR repository filter"
        ),
    ):
        parse_topology(raw_topology)


def test_a_prefix_listed_twice_in_one_rule_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"] = ["prod/", "prod/"]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error("sources[0].rules[0].repositoryPrefixes[1]", "'prod/'", "twice"),
    ):
        parse_topology(raw_topology)


# ---------------------------------------------------------------------------------------------
# Destinations


def test_a_destination_equal_to_its_source_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = [dest(BUILD, "us-east-1")]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[0].rules[0].destinations[0]",
            "555444333222/us-east-1",
            "source registry itself",
        ),
    ):
        parse_topology(raw_topology)


def test_a_destination_in_another_partition_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = [dest(PROD, "cn-north-1")]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[0].rules[0].destinations[0]", "'aws-cn'", "'aws'", "does not cross partitions"
        ),
    ):
        parse_topology(raw_topology)


def test_a_destination_listed_twice_in_one_rule_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = [dest(), dest()]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[0].rules[0].destinations[1]", "123456789012/eu-west-1", "listed twice"
        ),
    ):
        parse_topology(raw_topology)


def test_a_same_account_destination_in_another_region_is_accepted(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = [dest(BUILD, "us-west-2")]
    topology = parse_topology(raw_topology)
    assert topology.sources[0].destinations == (Registry(account=BUILD, region="us-west-2"),)


# ---------------------------------------------------------------------------------------------
# Empty lists, duplicates, missing keys


def test_an_empty_source_list_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"] = []
    with pytest.raises(ReplicationConfigError, match=field_error("sources", "[]", "at least one")):
        parse_topology(raw_topology)


def test_an_empty_rule_list_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"] = []
    with pytest.raises(
        ReplicationConfigError, match=field_error("sources[0].rules", "[]", "at least one rule")
    ):
        parse_topology(raw_topology)


def test_an_empty_destination_list_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = []
    with pytest.raises(
        ReplicationConfigError,
        match=field_error("sources[0].rules[0].destinations", "[]", "at least one destination"),
    ):
        parse_topology(raw_topology)


def test_a_source_registry_listed_twice_is_rejected(raw_topology: dict[str, Any]) -> None:
    second = json.loads(json.dumps(raw_topology["sources"][0]))
    second["rules"][0]["repositoryPrefixes"] = ["other/"]
    raw_topology["sources"].append(second)
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources[1]", "555444333222/us-east-1", "already listed at sources[0]", "list it once"
        ),
    ):
        parse_topology(raw_topology)


@pytest.mark.parametrize(
    ("remove", "path"),
    [
        (lambda raw: raw.pop("sources"), "sources"),
        (lambda raw: raw["sources"][0].pop("region"), "sources[0].region"),
        (lambda raw: raw["sources"][0].pop("rules"), "sources[0].rules"),
        (
            lambda raw: raw["sources"][0]["rules"][0].pop("destinations"),
            "sources[0].rules[0].destinations",
        ),
    ],
    ids=["sources", "region", "rules", "destinations"],
)
def test_a_missing_required_key_is_reported_as_required(
    raw_topology: dict[str, Any], remove: Any, path: str
) -> None:
    remove(raw_topology)
    with pytest.raises(ReplicationConfigError, match=field_error(path, "is required")):
        parse_topology(raw_topology)


# ---------------------------------------------------------------------------------------------
# Unknown keys, wrong types, invalid JSON


def _set(path: list[Any], key: str | int, value: Any) -> Any:
    def mutate(raw: dict[str, Any]) -> None:
        target: Any = raw
        for step in path:
            target = target[step]
        target[key] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "path", "allowed"),
    [
        (_set([], "source", []), "source", "sources, destinationDefaults"),
        (_set(["sources", 0], "rule", []), "sources[0].rule", "account, region, rules"),
        (
            _set(["sources", 0, "rules", 0], "prefixes", []),
            "sources[0].rules[0].prefixes",
            "repositoryPrefixes, destinations",
        ),
        (
            _set(["sources", 0, "rules", 0, "destinations", 0], "acount", PROD),
            "sources[0].rules[0].destinations[0].acount",
            "account, region",
        ),
        (
            _set([], "destinationDefaults", {"allowCreateRepositories": False}),
            "destinationDefaults.allowCreateRepositories",
            "allowCreateRepository, role, repositoryTemplate",
        ),
        (
            _set([], "destinationDefaults", {"role": {"externalID": "abc"}}),
            "destinationDefaults.role.externalID",
            "externalId",
        ),
        (
            _set([], "destinationDefaults", {"repositoryTemplate": {"mutability": "MUTABLE"}}),
            "destinationDefaults.repositoryTemplate.mutability",
            "tagMutability",
        ),
        (
            _set([], "destinationRegistries", [{**dest(), "repositoryTemplates": {}}]),
            "destinationRegistries[0].repositoryTemplates",
            "account, region, allowCreateRepository",
        ),
        (
            _set([], "destinationRegistries", [{**dest(), "role": {"enable": False}}]),
            "destinationRegistries[0].role.enable",
            "enabled",
        ),
    ],
    ids=[
        "top",
        "source",
        "rule",
        "destination",
        "destinationDefaults",
        "role",
        "repositoryTemplate",
        "destinationRegistries-item",
        "destinationRegistries-role",
    ],
)
def test_an_unknown_key_is_rejected_with_the_allowed_keys(
    raw_topology: dict[str, Any], mutate: Any, path: str, allowed: str
) -> None:
    mutate(raw_topology)
    with pytest.raises(
        ReplicationConfigError, match=field_error(path, "unknown key", "allowed keys", allowed)
    ):
        parse_topology(raw_topology)


@pytest.mark.parametrize(
    ("mutate", "path", "expected"),
    [
        (_set([], "sources", {"account": BUILD}), "sources", "must be a list"),
        (_set(["sources", 0], "account", 555444333222), "sources[0].account", "12-digit"),
        (_set(["sources", 0], "rules", "prod/"), "sources[0].rules", "must be a list of rules"),
        (
            _set(["sources", 0, "rules", 0], "repositoryPrefixes", "prod/"),
            "sources[0].rules[0].repositoryPrefixes",
            "must be a list of strings",
        ),
        (
            _set(["sources", 0, "rules", 0], "repositoryPrefixes", [7]),
            "sources[0].rules[0].repositoryPrefixes[0]",
            "must be a string",
        ),
        (
            _set(["sources", 0, "rules", 0], "destinations", ["123456789012/eu-west-1"]),
            "sources[0].rules[0].destinations[0]",
            "must be a JSON object",
        ),
        (_set(["sources"], 0, None), "sources[0]", "must be a JSON object"),
        (
            _set([], "destinationDefaults", {"allowCreateRepository": "yes"}),
            "destinationDefaults.allowCreateRepository",
            "must be true or false",
        ),
        (
            _set([], "destinationDefaults", {"role": ["externalId"]}),
            "destinationDefaults.role",
            "must be a JSON object",
        ),
        (
            _set([], "destinationDefaults", {"repositoryTemplate": {"resourceTags": {"team": 1}}}),
            "destinationDefaults.repositoryTemplate.resourceTags.team",
            "must be a string",
        ),
        (
            _set(["sources", 0], "backfillExistingImages", 1),
            "sources[0].backfillExistingImages",
            "must be true or false",
        ),
    ],
    ids=[
        "sources-object",
        "account-number",
        "rules-string",
        "prefixes-string",
        "prefix-number",
        "destination-string",
        "source-null",
        "bool-string",
        "role-list",
        "tag-value-number",
        "bool-number",
    ],
)
def test_a_value_of_the_wrong_json_type_is_rejected(
    raw_topology: dict[str, Any], mutate: Any, path: str, expected: str
) -> None:
    mutate(raw_topology)
    with pytest.raises(ReplicationConfigError, match=field_error(path, expected)):
        parse_topology(raw_topology)


def test_a_string_that_is_not_valid_json_is_rejected_with_its_position() -> None:
    with pytest.raises(
        ReplicationConfigError, match=r"^is not valid JSON: .* at line 1 column \d+$"
    ):
        parse_topology('{"sources": [')


def test_json_that_is_not_an_object_is_rejected() -> None:
    with pytest.raises(ReplicationConfigError, match=r"must be a JSON object"):
        parse_topology("[1, 2]")


def test_a_missing_context_value_says_where_to_set_it() -> None:
    with pytest.raises(
        ReplicationConfigError, match=field_error("ecrReplication", "is not set", "cdk.json")
    ):
        topology_from_context(None)


def test_the_library_error_is_a_value_error() -> None:
    assert issubclass(ReplicationConfigError, ValueError)


# ---------------------------------------------------------------------------------------------
# Several problems at once


def test_every_problem_of_the_input_is_collected_into_one_error(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["typo"] = True
    raw_topology["sources"][0]["account"] = "1"
    raw_topology["sources"][0]["region"] = "nowhere-1"
    raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"] = ["UPPER/"]
    raw_topology["destinationDefaults"] = {"repositoryTemplate": {"tagMutability": "SOMETIMES"}}
    with pytest.raises(ReplicationConfigError) as info:
        parse_topology(raw_topology)
    assert [p.path for p in info.value.problems] == [
        "typo",
        "sources[0].account",
        "sources[0].region",
        "sources[0].rules[0].repositoryPrefixes[0]",
        "destinationDefaults.repositoryTemplate.tagMutability",
    ]
    assert len(str(info.value).splitlines()) == 5


def test_rule_limits_are_reported_even_when_the_source_registry_is_invalid(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["account"] = "12345"
    raw_topology["sources"][0]["rules"] = []
    assert problems_of(raw_topology) == [
        "sources[0].account: '12345' is not a 12-digit AWS account id (give it as a string, "
        "e.g. '123456789012')",
        "sources[0].rules: [] must list at least one rule",
    ]


# ---------------------------------------------------------------------------------------------
# Registry policy size, destination overrides, KMS, tag mutability, lifecycle


def test_a_registry_policy_over_10240_characters_is_rejected(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"] = [
        {
            "repositoryPrefixes": [f"team-{team}/service-{i:03d}/" for i in range(100)],
            "destinations": [dest()],
        }
        for team in range(2)
    ]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "sources", "registry policy for destination 123456789012/eu-west-1", "at most 10240"
        ),
    ):
        parse_topology(raw_topology)


def test_an_override_for_a_registry_that_is_not_a_destination_is_rejected(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["destinationRegistries"] = [dest(PROD, "eu-west-2")]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "destinationRegistries[0]",
            "123456789012/eu-west-2",
            "not a destination of any source",
            "123456789012/eu-west-1",
        ),
    ):
        parse_topology(raw_topology)


def test_a_registry_overridden_twice_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["destinationRegistries"] = [dest(), dest()]
    with pytest.raises(
        ReplicationConfigError,
        match=field_error("destinationRegistries[1]", "already listed at destinationRegistries[0]"),
    ):
        parse_topology(raw_topology)


def test_a_kms_key_in_another_region_than_the_destination_is_rejected(
    raw_topology: dict[str, Any],
) -> None:
    key = f"arn:aws:kms:us-east-1:{PROD}:key/{KEY_ID}"
    raw_topology["destinationDefaults"] = {
        "repositoryTemplate": {"encryption": "KMS", "kmsKeyArn": key}
    }
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "destinationDefaults.repositoryTemplate.kmsKeyArn",
            "is in us-east-1",
            "destination 123456789012/eu-west-1",
        ),
    ):
        parse_topology(raw_topology)


def test_a_kms_key_with_aes256_encryption_is_rejected(raw_topology: dict[str, Any]) -> None:
    key = f"arn:aws:kms:eu-west-1:{PROD}:key/{KEY_ID}"
    raw_topology["destinationDefaults"] = {"repositoryTemplate": {"kmsKeyArn": key}}
    with pytest.raises(
        ReplicationConfigError,
        match=field_error("destinationDefaults.repositoryTemplate.kmsKeyArn", "'AES256'"),
    ):
        parse_topology(raw_topology)


def test_a_kms_key_that_is_not_an_arn_is_rejected(raw_topology: dict[str, Any]) -> None:
    raw_topology["destinationDefaults"] = {
        "repositoryTemplate": {"encryption": "KMS", "kmsKeyArn": "my-key"}
    }
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            "destinationDefaults.repositoryTemplate.kmsKeyArn", "'my-key'", "not a key ARN"
        ),
    ):
        parse_topology(raw_topology)


def _template(raw: dict[str, Any], **settings: Any) -> None:
    raw["destinationDefaults"] = {"repositoryTemplate": settings}


TEMPLATE_PATH = "destinationDefaults.repositoryTemplate"


def test_an_unknown_tag_mutability_is_rejected(raw_topology: dict[str, Any]) -> None:
    _template(raw_topology, tagMutability="immutable")
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(f"{TEMPLATE_PATH}.tagMutability", "'immutable'", "IMMUTABLE, MUTABLE"),
    ):
        parse_topology(raw_topology)


@pytest.mark.parametrize("mode", ["IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"])
def test_an_exclusion_mode_without_filters_is_rejected(
    raw_topology: dict[str, Any], mode: str
) -> None:
    _template(raw_topology, tagMutability=mode)
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            f"{TEMPLATE_PATH}.tagMutabilityExclusionFilters", mode, "1 to 5", "got 0"
        ),
    ):
        parse_topology(raw_topology)


def test_more_than_5_exclusion_filters_are_rejected(raw_topology: dict[str, Any]) -> None:
    _template(
        raw_topology,
        tagMutability="IMMUTABLE_WITH_EXCLUSION",
        tagMutabilityExclusionFilters=[f"dev-{i}*" for i in range(6)],
    )
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(f"{TEMPLATE_PATH}.tagMutabilityExclusionFilters", "got 6"),
    ):
        parse_topology(raw_topology)


def test_exclusion_filters_without_an_exclusion_mode_are_rejected(
    raw_topology: dict[str, Any],
) -> None:
    _template(raw_topology, tagMutability="IMMUTABLE", tagMutabilityExclusionFilters=["latest"])
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            f"{TEMPLATE_PATH}.tagMutabilityExclusionFilters", "['latest']", "only allowed with"
        ),
    ):
        parse_topology(raw_topology)


def test_an_exclusion_filter_with_invalid_characters_is_rejected(
    raw_topology: dict[str, Any],
) -> None:
    _template(
        raw_topology, tagMutability="MUTABLE_WITH_EXCLUSION", tagMutabilityExclusionFilters=["a b"]
    )
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(
            f"{TEMPLATE_PATH}.tagMutabilityExclusionFilters[0]", "'a b'", "not a tag filter"
        ),
    ):
        parse_topology(raw_topology)


def test_a_lifecycle_policy_that_is_not_an_object_is_rejected(
    raw_topology: dict[str, Any],
) -> None:
    _template(raw_topology, lifecyclePolicy="expire everything")
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(f"{TEMPLATE_PATH}.lifecyclePolicy", "lifecycle policy object or null"),
    ):
        parse_topology(raw_topology)


def test_a_lifecycle_policy_without_a_rules_list_is_rejected(
    raw_topology: dict[str, Any],
) -> None:
    _template(raw_topology, lifecyclePolicy={"rule": LIFECYCLE_POLICY["rules"]})
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(f"{TEMPLATE_PATH}.lifecyclePolicy", '"rules" list'),
    ):
        parse_topology(raw_topology)


def test_a_lifecycle_policy_shorter_than_ecr_accepts_is_rejected(
    raw_topology: dict[str, Any],
) -> None:
    _template(raw_topology, lifecyclePolicy={"rules": []})
    with pytest.raises(
        ReplicationConfigError,
        match=field_error(f"{TEMPLATE_PATH}.lifecyclePolicy", "12 characters", "at least 100"),
    ):
        parse_topology(raw_topology)


def test_a_lifecycle_policy_object_is_stored_as_compact_json(
    raw_topology: dict[str, Any],
) -> None:
    _template(raw_topology, lifecyclePolicy=LIFECYCLE_POLICY)
    template = parse_topology(raw_topology).destination_defaults.repository_template
    assert template.lifecycle_policy == json.dumps(LIFECYCLE_POLICY, separators=(",", ":"))


@pytest.mark.parametrize(
    ("settings", "path", "expected"),
    [
        ({"pullAccounts": ["1234"]}, "repositoryTemplate.pullAccounts[0]", "12-digit"),
        ({"pullOrganizationId": "org-1"}, "repositoryTemplate.pullOrganizationId", "o- followed"),
        ({"encryption": "RSA"}, "repositoryTemplate.encryption", "AES256, KMS, KMS_DSSE"),
        ({"description": "d" * 257}, "repositoryTemplate.description", "at most 256"),
    ],
    ids=["pull-account", "org-id", "encryption", "description"],
)
def test_invalid_repository_template_settings_are_rejected(
    raw_topology: dict[str, Any], settings: dict[str, Any], path: str, expected: str
) -> None:
    raw_topology["destinationDefaults"] = {"repositoryTemplate": settings}
    with pytest.raises(
        ReplicationConfigError, match=field_error(f"destinationDefaults.{path}", expected)
    ):
        parse_topology(raw_topology)


@pytest.mark.parametrize(
    ("settings", "path", "expected"),
    [
        ({"externalId": "x"}, "role.externalId", "not a valid external id"),
        (
            {"trustedPrincipalArns": ["ci-deployer"]},
            "role.trustedPrincipalArns[0]",
            "not an IAM role, user or account-root ARN",
        ),
        ({"principalOrgId": "o-1"}, "role.principalOrgId", "not an AWS Organizations id"),
    ],
    ids=["external-id", "principal-arn", "org-id"],
)
def test_invalid_role_settings_are_rejected(
    raw_topology: dict[str, Any], settings: dict[str, Any], path: str, expected: str
) -> None:
    raw_topology["destinationDefaults"] = {"role": settings}
    with pytest.raises(
        ReplicationConfigError, match=field_error(f"destinationDefaults.{path}", expected)
    ):
        parse_topology(raw_topology)


# ---------------------------------------------------------------------------------------------
# The two JSON forms, defaults and overrides


def test_the_json_string_and_the_object_form_give_the_same_topology(
    raw_topology: dict[str, Any],
) -> None:
    assert parse_topology(json.dumps(raw_topology)) == parse_topology(raw_topology)


def test_the_parsed_topology_holds_the_sources_rules_and_destinations(
    raw_topology: dict[str, Any],
) -> None:
    assert parse_topology(raw_topology) == ReplicationTopology(
        sources=[
            SourceRegistry(
                account=BUILD,
                region="us-east-1",
                rules=[
                    ReplicationRule(
                        destinations=[Registry(account=PROD, region="eu-west-1")],
                        repository_prefixes=["prod/"],
                    )
                ],
            )
        ]
    )


def test_a_rule_without_prefixes_replicates_every_repository(raw_topology: dict[str, Any]) -> None:
    del raw_topology["sources"][0]["rules"][0]["repositoryPrefixes"]
    rule = parse_topology(raw_topology).sources[0].rules[0]
    assert rule.repository_prefixes == ()
    assert rule.matches("anything/at-all")


def test_destination_defaults_are_secure_when_nothing_is_given(
    raw_topology: dict[str, Any],
) -> None:
    settings = parse_topology(raw_topology).destination_defaults
    assert settings.allow_create_repository is True
    assert settings.role == RoleSettings()
    assert settings.repository_template.tag_mutability == "IMMUTABLE"
    assert settings.repository_template.encryption == "AES256"
    assert settings.repository_template.enabled is True


def test_a_destination_override_merges_field_by_field_over_the_defaults(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"].append(dest(OTHER, "eu-west-1"))
    raw_topology["destinationDefaults"] = {
        "allowCreateRepository": False,
        "role": {"externalId": "shared-secret"},
        "repositoryTemplate": {"pullAccounts": [OTHER], "lifecyclePolicy": LIFECYCLE_POLICY},
    }
    raw_topology["destinationRegistries"] = [
        {
            **dest(OTHER, "eu-west-1"),
            "role": {"principalOrgId": "o-abcdefghij"},
            "repositoryTemplate": {"tagMutability": "MUTABLE"},
        }
    ]
    topology = parse_topology(raw_topology)
    defaults = topology.settings_for(Registry(account=PROD, region="eu-west-1"))
    overridden = topology.settings_for(Registry(account=OTHER, region="eu-west-1"))

    assert defaults == topology.destination_defaults
    assert overridden.allow_create_repository is False
    assert overridden.role.external_id == "shared-secret"
    assert overridden.role.principal_org_id == "o-abcdefghij"
    assert overridden.repository_template.tag_mutability == "MUTABLE"
    assert overridden.repository_template.pull_accounts == (OTHER,)
    assert overridden.repository_template.lifecycle_policy == (
        defaults.repository_template.lifecycle_policy
    )
    assert defaults.repository_template.tag_mutability == "IMMUTABLE"
    assert defaults.role.principal_org_id is None


def test_an_override_that_leaves_an_exclusion_mode_drops_the_inherited_filters(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["destinationDefaults"] = {
        "repositoryTemplate": {
            "tagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "tagMutabilityExclusionFilters": ["latest"],
        }
    }
    raw_topology["destinationRegistries"] = [
        {**dest(), "repositoryTemplate": {"tagMutability": "MUTABLE"}}
    ]
    template = parse_topology(raw_topology).destination_overrides[0].settings.repository_template
    assert template.tag_mutability == "MUTABLE"
    assert template.tag_mutability_exclusion_filters == ()


def test_an_override_to_another_exclusion_mode_keeps_the_inherited_filters(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["destinationDefaults"] = {
        "repositoryTemplate": {
            "tagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "tagMutabilityExclusionFilters": ["latest"],
        }
    }
    raw_topology["destinationRegistries"] = [
        {**dest(), "repositoryTemplate": {"tagMutability": "MUTABLE_WITH_EXCLUSION"}}
    ]
    template = parse_topology(raw_topology).destination_overrides[0].settings.repository_template
    assert template.tag_mutability_exclusion_filters == ("latest",)


def test_an_override_to_aes256_drops_the_inherited_kms_key(raw_topology: dict[str, Any]) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"].append(dest(PROD, "eu-west-2"))
    raw_topology["destinationDefaults"] = {
        "repositoryTemplate": {
            "encryption": "KMS",
            "kmsKeyArn": f"arn:aws:kms:eu-west-1:{PROD}:key/{KEY_ID}",
        }
    }
    raw_topology["destinationRegistries"] = [
        {**dest(PROD, "eu-west-2"), "repositoryTemplate": {"encryption": "AES256"}}
    ]
    template = parse_topology(raw_topology).destination_overrides[0].settings.repository_template
    assert (template.encryption, template.kms_key_arn) == ("AES256", None)


def test_null_clears_an_inherited_optional_setting(raw_topology: dict[str, Any]) -> None:
    raw_topology["destinationDefaults"] = {
        "role": {"externalId": "shared-secret"},
        "repositoryTemplate": {"pullOrganizationId": "o-abcdefghij"},
    }
    raw_topology["destinationRegistries"] = [
        {
            **dest(),
            "role": {"externalId": None},
            "repositoryTemplate": {"pullOrganizationId": None},
        }
    ]
    settings = parse_topology(raw_topology).destination_overrides[0].settings
    assert settings.role.external_id is None
    assert settings.repository_template.pull_organization_id is None


# ---------------------------------------------------------------------------------------------
# Value objects used directly (the constructs' inputs)


def test_a_registry_validates_itself_with_field_names() -> None:
    with pytest.raises(ReplicationConfigError) as info:
        Registry(account="1", region="nowhere")
    assert [p.path for p in info.value.problems] == ["account", "region"]


def test_a_rule_built_in_python_validates_its_prefixes() -> None:
    with pytest.raises(
        ReplicationConfigError, match=field_error("repositoryPrefixes[0]", "'Prod/'")
    ):
        ReplicationRule(
            destinations=[Registry(account=PROD, region="eu-west-1")],
            repository_prefixes=["Prod/"],
        )


def test_repository_template_settings_accept_tags_as_a_mapping_and_sort_them() -> None:
    # The JSON form hands the tags over as an object; the value object takes either shape.
    tags: Any = {"team": "a", "cost-center": "42"}
    settings = RepositoryTemplateSettings(resource_tags=tags)
    assert settings.resource_tags == (("cost-center", "42"), ("team", "a"))
    assert settings.needs_custom_role


def test_source_matches_repositories_per_destination() -> None:
    prod = Registry(account=PROD, region="eu-west-1")
    dr = Registry(account=BUILD, region="us-west-2")
    source = SourceRegistry(
        account=BUILD,
        region="us-east-1",
        rules=[
            ReplicationRule(destinations=[prod], repository_prefixes=["prod/"]),
            ReplicationRule(destinations=[dr]),
        ],
    )
    assert source.matches("prod/api", prod)
    assert not source.matches("dev/api", prod)
    assert source.matches("dev/api", dr)


# ---------------------------------------------------------------------------------------------
# Template prefixes


@pytest.mark.parametrize(
    ("repository_prefix", "template_prefix"),
    [
        (None, "ROOT"),
        ("", "ROOT"),
        ("prod-api", "ROOT"),
        ("prod/", "prod"),
        ("prod/api", "prod"),
        ("team-a/svc/", "team-a/svc"),
        ("team-a/svc/x", "team-a/svc"),
        ("a/b-/c", "a"),
        ("-x/y", "ROOT"),
    ],
)
def test_template_prefix_for_maps_a_rule_prefix_to_its_longest_valid_namespace(
    repository_prefix: str | None, template_prefix: str
) -> None:
    assert template_prefix_for(repository_prefix) == template_prefix


# ---------------------------------------------------------------------------------------------
# Derived view: destination registries and their grants


def test_rules_of_one_source_into_one_destination_merge_into_one_grant(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"].append(
        {"repositoryPrefixes": ["shared/", "prod/"], "destinations": [dest()]}
    )
    (destination,) = parse_topology(raw_topology).destination_registries()
    assert destination.grants == (
        Grant(
            source=Registry(account=BUILD, region="us-east-1"),
            repository_prefixes=("prod/", "shared/"),
        ),
    )


def test_an_unfiltered_rule_makes_the_merged_grant_cover_every_repository(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"].append({"destinations": [dest()]})
    (destination,) = parse_topology(raw_topology).destination_registries()
    assert destination.grants[0].repository_prefixes == ()
    assert destination.grants[0].repository_patterns == ("*",)


def test_several_sources_into_one_destination_keep_separate_grants(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"].append(
        {
            "account": OTHER,
            "region": "us-west-2",
            "rules": [{"repositoryPrefixes": ["team-b/"], "destinations": [dest()]}],
        }
    )
    (destination,) = parse_topology(raw_topology).destination_registries()
    assert destination.registry == Registry(account=PROD, region="eu-west-1")
    assert destination.grants == (
        Grant(source=Registry(account=BUILD, region="us-east-1"), repository_prefixes=("prod/",)),
        Grant(source=Registry(account=OTHER, region="us-west-2"), repository_prefixes=("team-b/",)),
    )
    assert destination.template_prefixes == ("prod", "team-b")


def test_a_same_account_destination_has_no_cross_account_grants(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = [dest(BUILD, "us-west-2")]
    (destination,) = parse_topology(raw_topology).destination_registries()
    assert len(destination.grants) == 1
    assert destination.cross_account_grants == ()
    assert not destination.needs_registry_policy
    assert not destination.needs_role
    assert destination.needs_template
    assert destination.needs_stack


def test_a_same_account_destination_without_templates_needs_no_stack(
    raw_topology: dict[str, Any],
) -> None:
    raw_topology["sources"][0]["rules"][0]["destinations"] = [dest(BUILD, "us-west-2")]
    raw_topology["destinationDefaults"] = {"repositoryTemplate": {"enabled": False}}
    (destination,) = parse_topology(raw_topology).destination_registries()
    assert not destination.needs_stack


def test_a_disabled_role_is_not_needed_even_cross_account(raw_topology: dict[str, Any]) -> None:
    raw_topology["destinationDefaults"] = {"role": {"enabled": False}}
    (destination,) = parse_topology(raw_topology).destination_registries()
    assert destination.needs_registry_policy
    assert not destination.needs_role
