"""What the roles the operations commands assume share: validated trust settings, a fixed
name claimed once per account, one ``CfnRole`` with plain policy documents, hooks evaluated at
synthesis, the whole-account warning and the cdk-nag acknowledgements of its own wildcards.

:class:`~.destination_role.ReplicationDestinationRole` (a destination registry) and
:class:`~.source_role.ReplicationSourceRole` (a source registry, with an operations account)
are the two kinds; each says whom it trusts by default and what it may do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from aws_cdk import aws_iam as iam
from constructs import Construct

from ..errors import Problem, ReplicationConfigError
from ..model.checks import FieldChecks, account_problem
from ..model.iam import applies_to_action, as_list, principal_names
from ..model.limits import ACCOUNT_PATTERN, IAM_ROLE_NAME_PATTERN
from ..model.policies import (
    ASSUME_ROLE_ACTION,
    BACKFILL_ACTIONS,
    Statement,
    policy_document,
    trust_statement,
)
from ..model.registries import Registry
from ..model.roles import RoleSettings
from ..naming import account_root_arn
from .nag import acknowledge_wildcard_resources
from .support import at_synthesis, claim_role_name, lazy, overrides, stack_environment
from .warnings import WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT, quiet_stack_traces, warn


class ToolingRole(Construct):
    """The base of the roles the operations commands assume (not used alone).

    A subclass sets :attr:`KIND`, :attr:`POLICY_NAME`, :attr:`DESCRIPTION` and
    :attr:`WILDCARD_REASONS`, validates its own inputs into a ``FieldChecks``, then calls
    :meth:`_build`. Its hooks are :meth:`trust_statements` and :meth:`permission_statements`.
    """

    KIND: ClassVar[str]
    """``destination`` or ``source``: how messages name the role."""
    POLICY_NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str]
    WILDCARD_REASONS: ClassVar[dict[str, str]]
    """Why each of the role's own statements needs a wildcard resource, by statement id."""
    TRUST_FIELD: ClassVar[str] = "trusted_accounts"
    """The option a "trusts nobody" error names."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._environment = stack_environment(scope)
        self._imported_role: iam.IRole | None = None
        self._settings = RoleSettings()
        self._trusted_accounts: tuple[str, ...] = ()

    def _check_common(
        self,
        checks: FieldChecks,
        *,
        settings: RoleSettings | None,
        role_name: str | None,
        trusted_accounts: Sequence[str] | None,
    ) -> None:
        """Check the options every kind takes, then raise every problem found (the
        subclass's too), each under this construct's path."""
        settings = RoleSettings() if settings is None else settings
        if checks.instance("settings", settings, RoleSettings, "a RoleSettings") and (
            settings.enabled is False
        ):
            checks.add(
                "settings.enabled",
                "False is not allowed here: this construct always creates the role; leave it "
                "out instead (the topology's stacks read role.enabled)",
            )
        if role_name is not None and not (
            isinstance(role_name, str) and IAM_ROLE_NAME_PATTERN.match(role_name)
        ):
            checks.add(
                "role_name",
                f"{role_name!r} is not an IAM role name: 1 to 64 letters, digits and + = , . @ _ -",
            )
        if trusted_accounts is not None:
            accounts = checks.strings("trusted_accounts", trusted_accounts)
            for index, account in enumerate(accounts):
                checks.check(f"trusted_accounts[{index}]", account, account_problem)
            self._trusted_accounts = tuple(dict.fromkeys(accounts))
        if checks.problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in checks.problems)
        self._settings = settings

    def _build(self, name: str, library_class: type[ToolingRole]) -> None:
        """Claim the name, write the role, and warn or acknowledge (now, or at synthesis when
        a subclass of ``library_class`` overrides a hook)."""
        claim_role_name(self, name)
        trust: Any
        permissions: Any
        # The hooks run at synthesis when a subclass overrides them. The library's own
        # statements depend only on the inputs and the stack, which cannot change after
        # construction, so they are written now: the same documents, no round trip at synth.
        rendered_later = overrides(self, library_class, "trust_statements", "permission_statements")
        if rendered_later:
            # Whether it warns is known only at synthesis, from what the hooks return.
            quiet_stack_traces(self)  # before any child
            trust = lazy(lambda: policy_document(self.trust_statements()))
            permissions = lazy(lambda: policy_document(self.permission_statements()))
        else:
            if problem := self._check(self.trust_statements()):
                raise ReplicationConfigError(
                    [Problem(f"{self.node.path}.{self.TRUST_FIELD}", problem)]
                )
            if whole_accounts_trusted(self.trust_statements()):
                quiet_stack_traces(self)  # before any child: this construct warns below
            trust = policy_document(self.trust_statements())
            permissions = policy_document(self.permission_statements())
        # The L1 with plain policy documents (typed properties, so that tools reading the
        # construct tree, such as cdk-nag, see them too).
        self.resource = iam.CfnRole(
            self,
            "Resource",
            role_name=name,
            description=self.DESCRIPTION,
            assume_role_policy_document=trust,
            policies=[
                iam.CfnRole.PolicyProperty(
                    policy_name=self.POLICY_NAME, policy_document=permissions
                )
            ],
        )
        if rendered_later:
            at_synthesis(self, self._at_synthesis)
        else:
            self._warn_and_acknowledge(self.trust_statements(), self.permission_statements())

    @staticmethod
    def role_arn_of(registry: Registry, role_name: str | None = None) -> str:
        """The role's ARN in a registry, by its deterministic name (``naming``)."""
        raise NotImplementedError

    @classmethod
    def from_registry(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        account: str,
        region: str,
        role_name: str | None = None,
    ) -> iam.IRole:
        """The role of a registry, by its deterministic name, as an immutable ``IRole``.

        For tooling stacks that need to ``grant_assume_role`` it: grants never widen a role
        that tooling assumes.
        """
        registry = Registry(account=account, region=region)
        return iam.Role.from_role_arn(
            scope, construct_id, cls.role_arn_of(registry, role_name), mutable=False
        )

    @property
    def settings(self) -> RoleSettings:
        return self._settings

    @property
    def trusted_accounts(self) -> tuple[str, ...]:
        """The accounts trusted when ``settings.trusted_principal_arns`` is empty."""
        return self._trusted_accounts

    @property
    def role(self) -> iam.IRole:
        """The role as an ``aws_iam.IRole`` (immutable: grants never widen it)."""
        if self._imported_role is None:
            self._imported_role = iam.Role.from_role_arn(
                self, "Role", self.resource.attr_arn, mutable=False
            )
        return self._imported_role

    @property
    def role_arn(self) -> str:
        """The role's ARN (a token: ``Fn::GetAtt``)."""
        return self.resource.attr_arn

    @property
    def role_name(self) -> str:
        """The role's name (a token: ``Ref``)."""
        return self.resource.ref

    def trust_statements(self) -> list[Statement]:
        """Who may assume the role (``sts:AssumeRole``): ``settings.trusted_principal_arns``,
        or the roots of :attr:`trusted_accounts`, with the configured conditions.

        Overridable; runs at synthesis.
        """
        s = self.settings
        principals = list(
            dict.fromkeys(
                s.trusted_principal_arns
                or [
                    account_root_arn(self._environment.partition, account)
                    for account in self.trusted_accounts
                ]
            )
        )
        if not principals:
            return []
        return [
            trust_statement(
                principals, external_id=s.external_id, principal_org_id=s.principal_org_id
            )
        ]

    def permission_statements(self) -> list[Statement]:
        """The role's permissions as plain IAM statements. Overridable; runs at synthesis."""
        raise NotImplementedError

    def _at_synthesis(self) -> list[str]:
        trust = self.trust_statements()
        if problem := self._check(trust):
            return [f"{self.node.path}: {problem}"]
        self._warn_and_acknowledge(trust, self.permission_statements())
        return []

    def _nobody_trusted(self) -> str:
        return "the role trusts nobody; pass trusted_accounts or settings.trusted_principal_arns"

    def _check(self, trust: Sequence[Statement]) -> str | None:
        if any(principal_names(s.get("Principal")) for s in trust):
            return None
        return self._nobody_trusted()

    def _warn_and_acknowledge(
        self, trust: Sequence[Statement], permissions: Sequence[Statement]
    ) -> None:
        groups = [
            (as_list(s.get("Resource")), self.WILDCARD_REASONS[str(s.get("Sid"))])
            for s in permissions
            if s.get("Effect") == "Allow" and str(s.get("Sid")) in self.WILDCARD_REASONS
        ]
        # cdk-nag's wildcard finding, acknowledged for the library's own statements with the
        # reason of each; a wildcard in any other statement stays a finding.
        acknowledge_wildcard_resources(self.resource, *groups)
        granted = {a for s in permissions for a in as_list(s.get("Action"))}
        if granted & set(BACKFILL_ACTIONS):
            # cfn-lint's IAM action list predates the backfill API (as for the backfill-on-deploy
            # function's role), so W3037 would call these actions unknown.
            self.resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3037"]}})
        if whole := whole_accounts_trusted(trust):
            warn(
                self,
                WARNING_ROLE_TRUSTS_WHOLE_ACCOUNT,
                f"the {self.KIND} role may be assumed by any principal of {', '.join(whole)} "
                "that is allowed sts:AssumeRole: the trust names whole accounts without a "
                "condition. Narrow it: in the topology set role.externalId, "
                "role.trustedPrincipalArns or role.principalOrgId (in Python "
                "RoleSettings(external_id=..., trusted_principal_arns=..., "
                "principal_org_id=...)), or override trust_statements().",
            )


def whole_accounts_trusted(statements: Sequence[Statement]) -> list[str]:
    """The accounts (or ``anyone``) that an unconditional ``sts:AssumeRole`` trust admits whole.

    Read from the statements as deployed: an account root, a bare account id or ``*`` in an
    ``Allow`` without a ``Condition``.
    """
    found: list[str] = []
    for statement in statements:
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        if not applies_to_action(statement, ASSUME_ROLE_ACTION):
            continue
        for name in principal_names(statement.get("Principal")):
            if name == "*":
                found.append("anyone (*)")
            elif ACCOUNT_PATTERN.match(name) or name.endswith(":root"):
                account = name if ACCOUNT_PATTERN.match(name) else name.split(":")[4]
                found.append(f"account {account}")
    return list(dict.fromkeys(found))
