"""ECR's quotas and formats, and the one table of regions and partitions.

Everything here is a fact about AWS that the value objects, the policies, the review and the
operations commands share; none of it is configurable.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# ---------------------------------------------------------------------------------------------
# Quotas

MAX_RULES_PER_REGISTRY = 25
"""Rules in a registry's replication configuration: ECR API reference
(``ReplicationConfiguration``), botocore 1.44's shape ``ReplicationRuleList`` (max 25) and
CloudFormation's ``ReplicationConfiguration.Rules`` (maxItems 25). It was 10 until 2026."""
MAX_DESTINATIONS_PER_RULE = 100
"""Destinations in one rule: botocore 1.44's shape ``ReplicationDestinationList`` (max 100)."""
MAX_PREFIXES_PER_RULE = 100
"""Repository filters in one rule: the ECR service quotas page (not adjustable) and botocore
1.44's shape ``RepositoryFilterList`` (1-100)."""
UNCONFIRMED_MAX_DESTINATIONS_PER_REGISTRY = 25
"""Unique destinations across all rules of one registry: a cap confirmed in 2023
(awsdocs/amazon-ecr-user-guide PR#45) that no current AWS page states. Unverified, so the
library warns past it and never refuses."""
MAX_REGISTRY_POLICY_CHARS = 10_240
MAX_TAG_MUTABILITY_EXCLUSION_FILTERS = 5
MIN_LIFECYCLE_POLICY_CHARS = 100
MAX_DESCRIPTION_CHARS = 256
MAX_CONCURRENT_BACKFILLS = 10
"""Replication backfills ECR runs at once per registry (one per destination region)."""
MAX_FUNCTION_SUBNETS = 16
MAX_FUNCTION_SECURITY_GROUPS = 5
"""A Lambda function's ``VpcConfig`` limits (botocore's ``SubnetIds`` / ``SecurityGroupIds``)."""
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The retention periods CloudWatch Logs accepts (``PutRetentionPolicy``), in days."""
MIN_GOVERNED_LOG_RETENTION_DAYS = 365
"""What AWS Control Tower's CT.CLOUDWATCH.PR.2 requires of a log group: at least one year."""

# ---------------------------------------------------------------------------------------------
# Formats

ECR_FILTER_PATTERN = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]*)*/)*[a-z0-9]*(?:[._-][a-z0-9]*)*$")
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")
ORG_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
EXTERNAL_ID_PATTERN = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
IAM_PRINCIPAL_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):(?:iam::(?P<account>[0-9]{12}):(?:root|(?:role|user)/[\w+=,.@/-]+)"
    r"|sts::(?P<sts_account>[0-9]{12}):assumed-role/[\w+=,.@/-]+)$"
)
IAM_ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{1,64}$")
KMS_KEY_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"key/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
)
"""The ARN of a KMS key: a key id (a UUID, or ``mrk-`` and 32 hex digits for a multi-Region
key) in lower case, as KMS writes it; never an alias (the services this library configures
take the key)."""
KMS_ALIAS_ARN_PATTERN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:alias/")
KMS_KEY_ARN_PARTS = re.compile(
    r"^arn:(?P<partition>[^:]+):kms:(?P<region>[^:]+):(?P<account>[0-9]{12}):key/"
)
"""Where a key ARN points (partition, region, account), whatever its key id looks like."""
SUBNET_ID_PATTERN = re.compile(r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
SECURITY_GROUP_ID_PATTERN = re.compile(r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
TAG_FILTER_PATTERN = re.compile(r"^[0-9a-zA-Z._*-]{1,128}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
SNS_TOPIC_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sns:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,256})$"
)
TEMPLATE_SEGMENT_PATTERN = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")
ROOT_TEMPLATE_PREFIX = "ROOT"
"""The repository creation template for every repository without a more specific one."""

TagMutability = Literal[
    "MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"
]
TAG_MUTABILITIES: tuple[str, ...] = (
    "IMMUTABLE",
    "MUTABLE",
    "IMMUTABLE_WITH_EXCLUSION",
    "MUTABLE_WITH_EXCLUSION",
)
EncryptionType = Literal["AES256", "KMS", "KMS_DSSE"]
ENCRYPTION_TYPES: tuple[str, ...] = ("AES256", "KMS", "KMS_DSSE")
TEMPLATE_APPLIED_FOR: tuple[str, ...] = ("REPLICATION", "CREATE_ON_PUSH", "PULL_THROUGH_CACHE")
"""What a repository creation template may be applied for (botocore's ``RCTAppliedFor``), in
the order the library writes them. The library's templates are always for ``REPLICATION``."""
REPLICATION_APPLIED_FOR = "REPLICATION"

REGISTRY_POLICY_SCOPE_SETTING = "REGISTRY_POLICY_SCOPE"
"""The ECR account setting (``GetAccountSetting`` / ``PutAccountSetting``) that decides which
actions a registry policy may hold: ``V1`` or ``V2``."""
REGISTRY_POLICY_V1_ACTIONS: tuple[str, ...] = (
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
    "ecr:ReplicateImage",
)
"""The only actions a registry policy may hold under scope ``V1``; under ``V2`` (the default
for registries set up since the setting exists) it may hold any ECR action (ECR user guide:
registry-permissions-create, registry-permissions-account-settings)."""
REGISTRY_POLICY_ACTION_PATTERN = re.compile(r"^ecr:[A-Za-z0-9*?]+$", re.IGNORECASE)
"""An ECR action as a registry policy names it (the service prefix, then a name that may hold
IAM's wildcards)."""


@functools.cache
def ecr_template_kms_key_pattern() -> re.Pattern[str]:
    """What ECR accepts as a repository creation template's ``KmsKey``, from the installed
    botocore model (shape ``KmsKeyForRepositoryCreationTemplate``): the full ARN of a key.

    Read from the model file rather than written here, so a botocore upgrade carries AWS's
    contract forward. Match it with ``fullmatch`` (model patterns are not anchored).
    """
    service = _botocore_data() / "ecr"
    folder = service / max(p.name for p in service.iterdir() if p.is_dir())
    # botocore ships its models compressed; some distributions unpack them.
    compressed = folder / "service-2.json.gz"
    if compressed.is_file():
        with gzip.open(compressed, "rt", encoding="utf-8") as model:
            shapes = json.load(model)["shapes"]
    else:
        with open(folder / "service-2.json", encoding="utf-8") as model:
            shapes = json.load(model)["shapes"]
    return re.compile(shapes["KmsKeyForRepositoryCreationTemplate"]["pattern"])


# ---------------------------------------------------------------------------------------------
# Regions and partitions

ECR_ENDPOINT_PREFIX = "api.ecr"


@dataclass(frozen=True, slots=True)
class Partition:
    """An AWS partition: its name in ARNs (``aws``, ``aws-cn``, ...) and its DNS suffix."""

    name: str
    dns_suffix: str


@dataclass(frozen=True, slots=True)
class _RegionTable:
    partitions: Mapping[str, Partition]
    regions: Mapping[str, str]


def _botocore_data() -> Path:
    """botocore's bundled data folder, found without importing botocore."""
    spec = importlib.util.find_spec("botocore")
    locations = list(spec.submodule_search_locations or ()) if spec else []
    if not locations:  # pragma: no cover - botocore is a dependency
        raise RuntimeError("botocore is not installed; it is a dependency of ecr-replication")
    return Path(locations[0], "data")


@functools.cache
def _region_table() -> _RegionTable:
    """Every region ECR is known in, with its partition, from botocore's bundled data.

    The same 46 names as ``aws_cdk.region_info`` (a test keeps the two in step), read offline
    in milliseconds without importing ``aws_cdk`` or ``botocore.session`` (which alone takes a
    quarter of a second): the regional ECR endpoints of each partition in
    ``botocore/data/endpoints.json``, exactly what ``Session.get_available_regions("ecr")``
    lists.
    """
    with open(_botocore_data() / "endpoints.json", encoding="utf-8") as endpoints:
        data = json.load(endpoints)
    partitions = {
        p["partition"]: Partition(name=p["partition"], dns_suffix=p["dnsSuffix"])
        for p in data["partitions"]
    }
    regions = {
        region: partition["partition"]
        for partition in data["partitions"]
        for region in partition["services"].get(ECR_ENDPOINT_PREFIX, {}).get("endpoints", {})
        if region in partition["regions"]
    }
    return _RegionTable(partitions=partitions, regions=regions)


def region_partitions() -> Mapping[str, str]:
    """Every known region, mapped to the name of its partition."""
    return _region_table().regions


def partition_of(region: str) -> Partition:
    """The partition of a known region. Raises ``KeyError`` for an unknown one."""
    table = _region_table()
    return table.partitions[table.regions[region]]


def is_known_region(region: object) -> bool:
    return isinstance(region, str) and region in _region_table().regions


def pseudo_parameters(account: str, region: str) -> dict[str, str]:
    """CloudFormation's pseudo parameters of a stack in a known region, as plain values."""
    partition = partition_of(region)
    return {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": partition.name,
        "AWS::URLSuffix": partition.dns_suffix,
    }
