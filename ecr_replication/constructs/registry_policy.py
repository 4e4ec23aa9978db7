"""The destination registry's one registry policy: the grant that makes replication work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from ..errors import Problem, ReplicationConfigError
from ..model import iam
from ..model.checks import FieldChecks
from ..model.limits import MAX_REGISTRY_POLICY_CHARS
from ..model.policies import (
    Statement,
    compact_json,
    policy_document,
    replication_evaluations,
    replication_grant_statement,
)
from ..model.registries import Grant, merge_grants
from .support import at_synthesis, claim_registry, lazy, overrides, stack_environment

if TYPE_CHECKING:
    from .source import SourceRegistryReplication

KEPT_STATEMENTS_METADATA = "ecr-replication:keptStatements"
"""Resource metadata: the Sids of the statements kept verbatim (read by the review)."""


class DestinationRegistryPolicy(Construct):
    """The destination registry's one ``AWS::ECR::RegistryPolicy``: what makes replication work.

    Allows each source account ``ecr:ReplicateImage`` (and ``ecr:CreateRepository`` unless
    ``allow_create_repository`` is False) on the repositories its prefixes can produce:
    ``repository/<prefix>*``, or ``repository/*`` for a grant without prefixes. Every source
    replicating into the registry must be in this one document (writing a registry policy
    replaces the whole policy), so the construct refuses a second one for the same registry;
    add sources with :meth:`add_grant` or :meth:`allow_replication_from`. Synthesis fails if the
    document exceeds ECR's 10,240 characters.

    :param grants: the sources (account, region) and the prefixes they replicate.
        Default: none (add them later; at least one by synthesis time).
    :param allow_create_repository: let replication create missing repositories.
        Default: True (without it, each repository must already exist in the destination).
    :param additional_statements: IAM statements kept verbatim beside the generated grants
        (a deploy replaces the whole registry policy: what is neither generated nor kept is
        removed). Each needs a Sid, distinct from the generated ones; only the registry-policy
        actions ``ecr:ReplicateImage``, ``ecr:CreateRepository`` and
        ``ecr:BatchImportUpstreamImage``. With any, the policy is retained when the stack or
        this construct is deleted (CloudFormation deletes a registry policy whole);
        ``ecr-replication release`` then removes the generated grants. Default: none.

    Extension point: override :meth:`grant_statement` (one statement per grant) or
    :meth:`statements` (the whole list); both run at synthesis and return plain statements.

    :ivar resource: the ``CfnRegistryPolicy`` (escape hatch).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        grants: Sequence[Grant] = (),
        allow_create_repository: bool = True,
        additional_statements: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self._environment = stack_environment(scope)
        checks = FieldChecks()
        given = checks.sequence("grants", grants, Grant, "a list of Grant", item_name="a Grant")
        checks.boolean("allow_create_repository", allow_create_repository)
        self._kept = checks.statements("additional_statements", additional_statements)
        if checks.problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in checks.problems)
        claim_registry(self, "a registry policy")
        self.allow_create_repository = allow_create_repository
        self._grants: tuple[Grant, ...] = merge_grants(given)
        self._replications: list[SourceRegistryReplication] = []
        self._checked_at_synthesis = False
        # Overridden hooks, and grants read from linked replications, are rendered at
        # synthesis. Otherwise the document depends only on the grants, which change only
        # through add_grant: it is written now and again on each add_grant, checked each time.
        self._rendered_later = overrides(
            self, DestinationRegistryPolicy, "statements", "grant_statement"
        )
        self.resource = ecr.CfnRegistryPolicy(
            self,
            "Resource",
            policy_text=lazy(lambda: self.policy_document)
            if self._rendered_later
            else self._checked_document(),
        )
        if self._rendered_later or not (self._grants or self._kept):
            self._check_at_synthesis()
        if self._kept:
            # Read by `ecr-replication review`, which lists these apart from the grants.
            self.resource.add_metadata(KEPT_STATEMENTS_METADATA, [s["Sid"] for s in self._kept])
            # CloudFormation deletes a registry policy whole: a policy that holds statements
            # the stack did not create stays when the stack (or this resource) goes, and
            # `ecr-replication release` then removes only the generated grants.
            self.resource.apply_removal_policy(RemovalPolicy.RETAIN)

    @property
    def grants(self) -> tuple[Grant, ...]:
        """Every grant: those given or added, and those of the linked replications' rules."""
        return merge_grants([*self._grants, *self._replication_grants()])

    def add_grant(self, grant: Grant) -> None:
        """Add a source; a second grant for the same source widens that source's statement."""
        if not isinstance(grant, Grant):
            raise ReplicationConfigError(
                [Problem(f"{self.node.path}.add_grant", f"{grant!r} must be a Grant")]
            )
        self._grants = merge_grants([*self._grants, grant])
        if not self._rendered_later:
            self.resource.policy_text = self._checked_document()

    def _checked_document(self) -> dict[str, Any]:
        """The document now, refused at once if it is over ECR's size limit."""
        document = self.policy_document
        problem = self._size_problem(document) or self._sid_problem(document)
        if problem is not None:
            raise ReplicationConfigError([Problem(self.node.path, problem)])
        return document

    @staticmethod
    def _sid_problem(document: dict[str, Any]) -> str | None:
        sids = [s.get("Sid") for s in document["Statement"] if s.get("Sid")]
        twice = sorted({str(sid) for sid in sids if sids.count(sid) > 1})
        if twice:
            return (
                f"Sid {', '.join(map(repr, twice))} is used twice in the registry policy; a kept "
                "statement needs a Sid of its own"
            )
        return None

    def _check_at_synthesis(self) -> None:
        if not self._checked_at_synthesis:
            self._checked_at_synthesis = True
            at_synthesis(self, self._synth_problems)

    def allow_replication_from(self, replication: SourceRegistryReplication) -> None:
        """Grant what ``replication`` sends here, and deploy this policy before it.

        Adds a grant for what the source registry's replication configuration sends into this
        registry, read at synthesis from its rules as rendered: rules added to it later, and
        what a ``render_rule`` hook adds or removes, included. Makes the replication's stack
        depend on this policy's stack, so that ``cdk deploy --all`` creates the grant before
        the rule. One call instead of restating the grant and wiring the dependency by hand.

        Synthesis fails, one line each, naming what is sent here and not granted: a rendered
        filter or destination that cannot be read back (a token, a filter type other than
        ``PREFIX_MATCH``), or a pattern that this policy's statements, as the
        ``grant_statement`` / ``statements`` hooks return them, do not let the source account
        replicate.
        """
        from .source import SourceRegistryReplication

        path = f"{self.node.path}.allow_replication_from"
        if not isinstance(replication, SourceRegistryReplication):
            raise ReplicationConfigError(
                [Problem(path, f"{replication!r} must be a SourceRegistryReplication")]
            )
        source, here = replication.registry, self._environment.registry
        if source is None or here is None:
            raise ReplicationConfigError(
                [
                    Problem(
                        path,
                        "both stacks need a concrete account and region (env=...) to know "
                        "which rules replicate into this registry",
                    )
                ]
            )
        if source.account == here.account:
            raise ReplicationConfigError(
                [
                    Problem(
                        path,
                        f"{source.key} is in this registry's account; replication within one "
                        "account needs no registry policy",
                    )
                ]
            )
        self._replications.append(replication)
        if not self._rendered_later:
            # The replication's rules may still grow: read them at synthesis from now on.
            self._rendered_later = True
            self.resource.policy_text = lazy(lambda: self.policy_document)
        self._check_at_synthesis()
        source_stack, this_stack = Stack.of(replication), Stack.of(self)
        if source_stack is not this_stack:
            source_stack.add_stack_dependency(
                this_stack,
                f"the registry policy of {here.key} must grant {source.key} before it replicates",
            )

    def _replication_grants(self) -> list[Grant]:
        return [grant for _replication, grant in self._read_replications()[0]]

    def _read_replications(
        self,
    ) -> tuple[list[tuple[SourceRegistryReplication, Grant]], list[str]]:
        """A grant for what each linked replication sends here (its rules as rendered), and
        one line per thing sent here that cannot be granted."""
        here = self._environment.registry
        grants: list[tuple[SourceRegistryReplication, Grant]] = []
        problems: list[str] = []
        for replication in self._replications:
            source = replication.registry
            sent = replication.sent_to(here) if here is not None else None
            if sent is None or source is None:
                continue
            problems += sent.unreadable
            if sent.prefixes == ():
                continue  # nothing readable is sent: nothing to grant
            try:
                grant = Grant(source=source, repository_prefixes=sent.prefixes or ())
            except ReplicationConfigError as error:
                problems += [
                    f"{replication.node.path} replicates into {here} what cannot be granted: "
                    f"{problem}"
                    for problem in error.problems
                ]
            else:
                grants.append((replication, grant))
        return grants, problems

    def _hooks_and_grants_disagree(self) -> list[str]:
        """One line per repository pattern a linked replication sends here (as its rules
        render) that this policy, as its hooks render it, does not let the source replicate,
        or that cannot be read back to be granted."""
        here = self._environment.registry
        if here is None:
            return []
        read, problems = self._read_replications()
        statements = self.statements()
        for replication, grant in read:
            for pattern, evaluation in replication_evaluations(statements, grant, destination=here):
                if evaluation.decision in (iam.Decision.NOT_ALLOWED, iam.Decision.DENIED):
                    problems.append(
                        f"{replication.node.path} replicates {pattern} into {here}, but this "
                        f"registry policy does not let account {grant.source.account} replicate "
                        f"it ({evaluation.reason()}): replication of those repositories would fail"
                    )
        return problems

    @property
    def policy_document(self) -> dict[str, Any]:
        """The registry policy as a JSON-ready dictionary."""
        return policy_document(self.statements())

    @property
    def additional_statements(self) -> tuple[dict[str, Any], ...]:
        return self._kept

    def statements(self) -> list[Statement]:
        """Every statement of the policy: a grant per source, then the kept statements.

        Overridable; runs at synthesis.
        """
        return [*(self.grant_statement(grant) for grant in self.grants), *map(dict, self._kept)]

    def grant_statement(self, grant: Grant) -> Statement:
        """The statement of one source. Overridable; runs at synthesis."""
        env = self._environment
        return replication_grant_statement(
            grant,
            partition=env.partition,
            region=env.region,
            account=env.account,
            allow_create_repository=self.allow_create_repository,
        )

    def _synth_problems(self) -> list[str]:
        here = self._environment.registry
        problems = [
            f"{self.node.path}: {r.node.path} has no rule replicating into {here}; "
            "allow_replication_from needs one"
            for r in self._replications
            if here is not None and r.sent_to(here) is None
        ]
        problems += [f"{self.node.path}: {line}" for line in self._hooks_and_grants_disagree()]
        if not (self.grants or self._kept):
            return [*problems, f"{self.node.path}: a registry policy needs at least one grant"]
        document = self.policy_document
        if (problem := self._size_problem(document) or self._sid_problem(document)) is not None:
            problems.append(f"{self.node.path}: {problem}")
        return problems

    def _size_problem(self, document: dict[str, Any]) -> str | None:
        # Only measurable when the registry is known: tokens stand in for ARNs otherwise.
        if self._environment.registry is None:
            return None
        size = len(compact_json(document))
        if size <= MAX_REGISTRY_POLICY_CHARS:
            return None
        return (
            f"the registry policy is {size} characters; ECR allows at most "
            f"{MAX_REGISTRY_POLICY_CHARS}. Use fewer or shorter repository prefixes"
        )
