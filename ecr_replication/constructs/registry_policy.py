"""The destination registry's one registry policy: the grant that makes replication work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import aws_ecr as ecr
from constructs import Construct

from ..model.limits import MAX_REGISTRY_POLICY_CHARS
from ..model.policies import (
    Statement,
    compact_json,
    policy_document,
    replication_grant_statement,
)
from ..model.values import Grant, merge_grants
from .support import SynthValidation, claim_registry, lazy, stack_environment


class DestinationRegistryPolicy(Construct):
    """The destination registry's one ``AWS::ECR::RegistryPolicy``: what makes replication work.

    Allows each source account ``ecr:ReplicateImage`` (and ``ecr:CreateRepository`` unless
    ``allow_create_repository`` is False) on the repositories its prefixes can produce:
    ``repository/<prefix>*``, or ``repository/*`` for a grant without prefixes. Every source
    replicating into the registry must be in this one document (writing a registry policy
    replaces the whole policy), so the construct refuses a second one for the same registry;
    add sources with :meth:`add_grant`. Synthesis fails if the document exceeds ECR's 10,240
    characters.

    :param grants: the sources (account, region) and the prefixes they replicate.
        Default: none (add them with :meth:`add_grant`; at least one by synthesis time).
    :param allow_create_repository: let replication create missing repositories.
        Default: True (without it, each repository must already exist in the destination).

    Extension point: override :meth:`grant_statement` (one statement per grant) or
    :meth:`statements` (the whole list); both run at synthesis and return plain statements.

    :ivar resource: the ``CfnRegistryPolicy`` (escape hatch: its ``PolicyText`` is rendered at
        synthesis from :meth:`statements`; ``add_property_override`` applies on top).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        grants: Sequence[Grant] = (),
        allow_create_repository: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = stack_environment(scope)
        claim_registry(self, "a registry policy")
        self.allow_create_repository = allow_create_repository
        self._grants: tuple[Grant, ...] = merge_grants(grants)
        self._document: dict[str, Any] | None = None
        self.resource = ecr.CfnRegistryPolicy(
            self, "Resource", policy_text=lazy(lambda: self.policy_document)
        )
        self.node.add_validation(SynthValidation(self._synth_problems))

    @property
    def grants(self) -> tuple[Grant, ...]:
        return self._grants

    def add_grant(self, grant: Grant) -> None:
        """Add a source; a second grant for the same source widens that source's statement."""
        self._grants = merge_grants([*self._grants, grant])
        self._document = None

    @property
    def policy_document(self) -> dict[str, Any]:
        """The registry policy as a JSON-ready dictionary (rendered once per set of grants)."""
        if self._document is None:
            self._document = policy_document(self.statements())
        return self._document

    def statements(self) -> list[Statement]:
        """Every statement of the policy. Overridable."""
        return [self.grant_statement(grant) for grant in self._grants]

    def grant_statement(self, grant: Grant) -> Statement:
        """The statement of one source. Overridable."""
        env = self._environment
        return replication_grant_statement(
            grant,
            partition=env.partition,
            region=env.region,
            account=env.account,
            allow_create_repository=self.allow_create_repository,
        )

    def _synth_problems(self) -> list[str]:
        if not self._grants:
            return [f"{self.node.path}: a registry policy needs at least one grant"]
        text = compact_json(self.policy_document)
        # Only measurable when the registry is known: tokens stand in for ARNs otherwise.
        if self._environment.registry is not None and len(text) > MAX_REGISTRY_POLICY_CHARS:
            return [
                f"{self.node.path}: the registry policy is {len(text)} characters; ECR allows "
                f"at most {MAX_REGISTRY_POLICY_CHARS}. Use fewer or shorter repository prefixes"
            ]
        return []
