"""How the backfill-on-deploy function runs: :class:`BackfillFunctionSettings` (VPC, log key,
log retention) and the check of its log key against the source registry it runs in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import Problem, describe_value
from .checks import (
    FieldChecks,
    is_list_like,
    key_location_problem,
    kms_key_arn_problem,
    set_field,
)
from .limits import (
    LOG_RETENTION_DAYS,
    MAX_FUNCTION_SECURITY_GROUPS,
    MAX_FUNCTION_SUBNETS,
    MIN_GOVERNED_LOG_RETENTION_DAYS,
    SECURITY_GROUP_ID_PATTERN,
    SUBNET_ID_PATTERN,
)


def _ids(
    checks: FieldChecks,
    path: str,
    value: object,
    *,
    pattern: re.Pattern[str],
    example: str,
    limit: int,
) -> tuple[str, ...]:
    ids = checks.strings(path, value)
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if not pattern.match(item):
            checks.add(f"{path}[{index}]", f"{item!r} is not an id such as {example!r}")
        elif item in seen:
            checks.add(f"{path}[{index}]", f"{item!r} is listed twice")
        seen.add(item)
    if len(ids) > limit:
        checks.add(path, f"has {len(ids)} ids; a Lambda function takes at most {limit}")
    return ids


def _listed(value: object) -> bool:
    """Whether a value was given as something: a non-empty list, or anything that is not a
    list (its own problem is reported where it is checked)."""
    if value is None:
        return False
    return not is_list_like(value) or len(value) > 0  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillFunctionSettings:
    """How the backfill-on-deploy function runs, for organizations whose controls govern every
    function and log group (AWS Control Tower CT.LAMBDA.PR.3, CT.CLOUDWATCH.PR.2 and .PR.3).

    :param subnet_ids: run the function in these subnets of your VPC (with
        ``security_group_ids``; 1 to 16). The function then reaches ECR and CloudFormation's
        response URL (S3) only through VPC endpoints or a NAT gateway. Default: outside a VPC.
    :param security_group_ids: its security groups (with ``subnet_ids``; 1 to 5). Default:
        none.
    :param log_kms_key_arn: encrypt the function's log group with this key: a key ARN in the
        source registry's account and region, whose key policy lets
        ``logs.<region>.amazonaws.com`` use it. Default: CloudWatch Logs' own encryption.
    :param log_retention_days: how long the log group keeps the function's logs: a value
        CloudWatch Logs accepts. Default: 365 (one year, what CT.CLOUDWATCH.PR.2 asks).
    """

    subnet_ids: Sequence[str] = ()
    security_group_ids: Sequence[str] = ()
    log_kms_key_arn: str | None = None
    log_retention_days: int = MIN_GOVERNED_LOG_RETENTION_DAYS

    def __post_init__(self) -> None:
        checks = FieldChecks()
        subnets_given = _listed(self.subnet_ids)
        groups_given = _listed(self.security_group_ids)
        subnets = _ids(
            checks,
            "subnetIds",
            self.subnet_ids,
            pattern=SUBNET_ID_PATTERN,
            example="subnet-0abc1234def567890",
            limit=MAX_FUNCTION_SUBNETS,
        )
        groups = _ids(
            checks,
            "securityGroupIds",
            self.security_group_ids,
            pattern=SECURITY_GROUP_ID_PATTERN,
            example="sg-0abc1234def567890",
            limit=MAX_FUNCTION_SECURITY_GROUPS,
        )
        set_field(self, "subnet_ids", subnets)
        set_field(self, "security_group_ids", groups)
        if subnets_given != groups_given:
            given, missing = (
                ("subnetIds", "securityGroupIds")
                if subnets_given
                else ("securityGroupIds", "subnetIds")
            )
            checks.add(
                missing,
                f"[] must list at least one id when {given} are given: a function in a VPC "
                "needs both its subnets and its security groups (give both lists, or neither)",
            )
        if self.log_kms_key_arn is not None:
            checks.check("logKmsKeyArn", self.log_kms_key_arn, kms_key_arn_problem)
        days = self.log_retention_days
        if isinstance(days, bool) or days not in LOG_RETENTION_DAYS:
            checks.add(
                "logRetentionDays",
                f"{describe_value(days)} is not a retention CloudWatch Logs accepts: one of "
                f"{', '.join(str(d) for d in LOG_RETENTION_DAYS)}",
            )
        checks.raise_if_any()

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids)


def backfill_function_problems(
    settings: BackfillFunctionSettings, account: str, region: str
) -> list[Problem]:
    """Problems of backfill function settings for a function in this account and region (the
    log key must be there), each under its field path."""
    checks = FieldChecks()
    if settings.log_kms_key_arn is not None:
        checks.check(
            "logKmsKeyArn",
            settings.log_kms_key_arn,
            lambda arn: key_location_problem(str(arn), account, region),
        )
    return checks.problems
