"""The trust of the roles the operations commands assume: :class:`RoleSettings`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import describe_value
from .checks import (
    FieldChecks,
    org_id_problem,
    set_field,
)
from .limits import (
    EXTERNAL_ID_PATTERN,
    IAM_PRINCIPAL_ARN_PATTERN,
)


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleSettings:
    """The destination role: read-only access for the operations commands (not used by ECR).

    Trusted by the source accounts replicating into the registry, or only by
    ``trusted_principal_arns`` when given; ``external_id`` and ``principal_org_id`` add
    conditions to the trust.

    :param enabled: create the role (read by the topology's stacks). Default: True.
    :param external_id: require this ``sts:ExternalId``. Default: none.
    :param trusted_principal_arns: trust only these role, user or account-root ARNs.
        Default: the source accounts.
    :param principal_org_id: require ``aws:PrincipalOrgID``. Default: none.
    """

    enabled: bool = True
    external_id: str | None = None
    trusted_principal_arns: Sequence[str] = ()
    principal_org_id: str | None = None

    def __post_init__(self) -> None:
        checks = FieldChecks()
        checks.boolean("enabled", self.enabled)
        arns = checks.strings("trustedPrincipalArns", self.trusted_principal_arns)
        set_field(self, "trusted_principal_arns", arns)
        if self.external_id is not None and not (
            isinstance(self.external_id, str) and EXTERNAL_ID_PATTERN.match(self.external_id)
        ):
            checks.add(
                "externalId",
                f"{describe_value(self.external_id)} is not a valid external id: 2 to 1224 "
                "characters of letters, digits and + = , . @ : / -",
            )
        for index, arn in enumerate(arns):
            if not IAM_PRINCIPAL_ARN_PATTERN.match(arn):
                checks.add(
                    f"trustedPrincipalArns[{index}]",
                    f"{arn!r} is not an IAM role, user or account-root ARN, e.g. "
                    "'arn:aws:iam::555444333222:role/ci-deployer'",
                )
        if self.principal_org_id is not None:
            checks.check("principalOrgId", self.principal_org_id, org_id_problem)
        checks.raise_if_any()
