"""Backfill on deploy: a custom resource that starts a replication backfill for each
destination the first time it appears in the deployed replication configuration.

The handler (``backfill_handler.py``) is deployed as inline code, so the whole mechanism is
readable in the template: one role, one log group, one function, its asynchronous-invocation
settings (no retries), one custom resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

from aws_cdk import (
    CustomResource,
    Duration,
    RemovalPolicy,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..errors import ReplicationConfigError
from ..model.backfill_function import BackfillFunctionSettings, backfill_function_problems
from ..model.checks import FieldChecks
from ..model.limits import MAX_CONCURRENT_BACKFILLS
from ..model.policies import Statement, policy_document
from ..model.registries import Registry
from .nag import acknowledge_wildcard_resources
from .support import at_synthesis, lazy, stack_environment
from .warnings import WARNING_BACKFILLS_QUEUE, quiet_stack_traces, warn

if TYPE_CHECKING:
    from .source import SourceRegistryReplication

BACKFILL_RESOURCE_TYPE = "Custom::EcrReplicationBackfill"
BACKFILL_ACTIONS = ("ecr:StartReplicationBackfill", "ecr:ListReplicationBackfills")
WILDCARD_REASON = (
    "ecr:StartReplicationBackfill and ecr:ListReplicationBackfills act on the registry, which "
    "has no ARN in IAM: like ecr:PutReplicationConfiguration they take no resource scope. The "
    "function's own log group is the only other resource."
)
"""Why the function's role holds the backfill actions on ``*`` (cdk-nag acknowledgement)."""
VPC_WILDCARD_REASON = (
    " In a VPC, ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets take no resource either."
)
NETWORK_INTERFACE_REASON = (
    "Lambda creates and deletes the function's network interfaces, whose ids are not known "
    "before they exist: network-interface/* of this account and region. The subnets and "
    "security groups are named by id; their account is '*' because a shared VPC's subnets "
    "belong to the VPC owner's account."
)
"""Why the ENI permissions of a function in a VPC hold wildcards (cdk-nag acknowledgement)."""
VPC_ACTIONS = {
    # What AWS Lambda documents for a function in a VPC (the managed policy
    # AWSLambdaVPCAccessExecutionRole grants the same, on "*").
    "create": ("ec2:CreateNetworkInterface",),
    "manage": (
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ),
    "describe": ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"),
}
"""The permissions Lambda uses, through the function's role, to attach it to a VPC."""
FUNCTION_TIMEOUT = Duration.minutes(10)
# Longer than the function may run, so CloudFormation never gives up on an answer that is
# still coming, but far below the one-hour default when the function cannot answer at all.
SERVICE_TIMEOUT = Duration.minutes(12)
ASYNC_RETRY_ATTEMPTS = 0
"""Lambda's retries of an asynchronous invocation that failed (its default is 2). The handler
never raises, so only a crash or the function's timeout could trigger one; a retry would start
the same backfills again and answer the same request twice."""


def handler_source() -> str:
    """The handler module's source, deployed as the function's ``index.py``."""
    return resources.files(__package__ or "").joinpath("backfill_handler.py").read_text("utf-8")


def destination_properties(destinations: Sequence[Registry]) -> list[dict[str, str]]:
    """The custom resource's ``Destinations`` property, the shape the handler parses."""
    return [{"Region": d.region, "RegistryId": d.account} for d in destinations]


class ReplicationBackfillOnDeploy(Construct):
    """Backfills images that existed before replication, once per newly added destination.

    ECR replicates only what is pushed after a destination is configured. This construct
    starts ``StartReplicationBackfill`` for every destination when it is created (so turning
    the option on later backfills then), and on every update for the destinations that were
    not in the previous deployment. A backfill already running for a destination counts as
    started; deleting the construct stops nothing. It runs after the replication
    configuration, because ECR backfills only to configured destinations.

    An update never fails because a backfill did not start (a rollback is an update too, and
    a failed rollback wedges the stack): it succeeds, naming the destinations not started and
    the ``ecr-replication backfill`` command that starts them. The create fails instead (its
    rollback deletes this resource and calls no ECR API). A widened repository filter for a
    destination that was already there is not a new destination: nothing is backfilled.

    Usually created through ``SourceRegistryReplication(backfill_existing_images=True)``.

    :param replication: the source registry's replication configuration; its destinations
        (including rules added later) are the ones backfilled.
    :param settings: how the function runs: in your VPC (its subnets and security groups; the
        role then gets the network-interface permissions Lambda uses), its log group's KMS key
        and retention. Default: ``BackfillFunctionSettings()``: outside a VPC, logs encrypted
        by CloudWatch Logs and kept one year.

    :ivar resource: the ``CustomResource``.
    :ivar function: the handler ``CfnFunction`` (inline Python, ``index.handler``).
    :ivar invoke_config: the function's ``CfnEventInvokeConfig``: CloudFormation invokes the
        function asynchronously, and Lambda does not retry it (``MaximumRetryAttempts: 0``).
    :ivar role: the function's role: ``ecr:StartReplicationBackfill`` and
        ``ecr:ListReplicationBackfills``, and writing to its own log group.
    :ivar log_group: the function's log group.
    :ivar settings: the ``BackfillFunctionSettings``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        replication: SourceRegistryReplication,
        settings: BackfillFunctionSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = BackfillFunctionSettings() if settings is None else settings
        self._environment = stack_environment(scope)
        self._check(settings)
        self.settings = settings
        quiet_stack_traces(self)  # before any child: this construct may warn at synthesis
        self._replication = replication
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            # Only deploy-time logs, recreated with the function.
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_group_resource = self.log_group.node.default_child
        if isinstance(log_group_resource, logs.CfnLogGroup):
            # Plain values (the L2 takes retention as an enum of names).
            log_group_resource.retention_in_days = settings.log_retention_days
            if settings.log_kms_key_arn is not None:
                log_group_resource.kms_key_id = settings.log_kms_key_arn
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Starts ECR replication backfills for newly added destinations "
            "(ecr-replication)",
        )
        role_resource = self.role.node.default_child
        if isinstance(role_resource, iam.CfnRole):
            # The hook's plain statements, produced at synthesis, as the role's inline policy
            # (a typed property: cdk-nag reads it from the construct tree).
            role_resource.policies = [
                iam.CfnRole.PolicyProperty(
                    policy_name="Backfill",
                    policy_document=lazy(lambda: policy_document(self.policy_statements())),
                )
            ]
            # cfn-lint 1.58's IAM action list predates the backfill API (added to ECR with
            # botocore 1.44), so W3037 would call both actions unknown.
            role_resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3037"]}})
        acknowledge_wildcard_resources(
            self.role,
            (["*"], WILDCARD_REASON + (VPC_WILDCARD_REASON if settings.in_vpc else "")),
            (self._network_resources(), NETWORK_INTERFACE_REASON),
        )
        # The L1 function: the L2 would add a DependsOn on the role that its ``Role``
        # reference already implies (cfn-lint W3005), and nothing else this needs.
        self.function = lambda_.CfnFunction(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14.name,
            handler="index.handler",
            code=lambda_.CfnFunction.CodeProperty(zip_file=handler_source()),
            timeout=int(FUNCTION_TIMEOUT.to_seconds()),
            role=self.role.role_arn,
            logging_config=lambda_.CfnFunction.LoggingConfigProperty(
                log_group=self.log_group.log_group_name
            ),
            vpc_config=lambda_.CfnFunction.VpcConfigProperty(
                subnet_ids=list(settings.subnet_ids),
                security_group_ids=list(settings.security_group_ids),
            )
            if settings.in_vpc
            else None,
            description="Starts ECR replication backfills for newly added destinations "
            "(ecr-replication)",
        )
        # CloudFormation invokes the function asynchronously; Lambda's automatic retries of a
        # failed asynchronous invocation would run the starts again.
        self.invoke_config = lambda_.CfnEventInvokeConfig(
            self,
            "InvokeConfig",
            function_name=self.function.ref,
            qualifier="$LATEST",
            maximum_retry_attempts=ASYNC_RETRY_ATTEMPTS,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.function.attr_arn,
            resource_type=BACKFILL_RESOURCE_TYPE,
            service_timeout=SERVICE_TIMEOUT,
            properties={
                # A changed list is an Update; the handler backfills only the added entries.
                "Destinations": lazy(lambda: destination_properties(replication.destinations))
            },
        )
        self.resource.node.add_dependency(replication.resource)
        # The first request must already find the retries switched off.
        self.resource.node.add_dependency(self.invoke_config)
        # Rules (and so destinations) can still be added after this construct exists: check
        # the final list when the app is synthesized.
        at_synthesis(self, self.warn_if_backfills_queue)

    def policy_statements(self) -> list[Statement]:
        """The role's permissions as plain IAM statements. Overridable; runs at synthesis,
        e.g. to add a condition::

            class RegionLocked(ReplicationBackfillOnDeploy):
                def policy_statements(self):
                    statements = super().policy_statements()
                    statements[0]["Condition"] = {
                        "StringEquals": {"aws:RequestedRegion": Stack.of(self).region}}
                    return statements
        """
        statements: list[Statement] = [
            {"Effect": "Allow", "Action": list(BACKFILL_ACTIONS), "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": self.log_group.log_group_arn,
            },
        ]
        if self.settings.in_vpc:
            interfaces, *attached = self._network_resources()
            statements += [
                {
                    "Sid": "CreateFunctionNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": list(VPC_ACTIONS["create"]),
                    "Resource": [interfaces, *attached],
                },
                {
                    "Sid": "ManageFunctionNetworkInterfaces",
                    "Effect": "Allow",
                    "Action": list(VPC_ACTIONS["manage"]),
                    "Resource": interfaces,
                },
                {
                    "Sid": "DescribeFunctionNetwork",
                    "Effect": "Allow",
                    "Action": list(VPC_ACTIONS["describe"]),
                    "Resource": "*",
                },
            ]
        return statements

    def _network_resources(self) -> list[str]:
        """The network interfaces of this account and region, then the given subnets and
        security groups (any account: a shared VPC's belong to its owner); none outside a VPC."""
        if not self.settings.in_vpc:
            return []
        env = self._environment
        ec2 = f"arn:{env.partition}:ec2:{env.region}"
        return [
            f"{ec2}:{env.account}:network-interface/*",
            *(f"{ec2}:*:subnet/{subnet}" for subnet in self.settings.subnet_ids),
            *(f"{ec2}:*:security-group/{group}" for group in self.settings.security_group_ids),
        ]

    def _check(self, settings: object) -> None:
        """The settings are a BackfillFunctionSettings whose log key is in this stack's account
        and region (when the stack's environment is known)."""
        checks = FieldChecks()
        registry = self._environment.registry
        if not isinstance(settings, BackfillFunctionSettings):
            checks.instance(
                "settings", settings, BackfillFunctionSettings, "a BackfillFunctionSettings"
            )
        elif registry is not None:
            problems = backfill_function_problems(settings, registry.account, registry.region)
            checks.problems.extend(p.under("settings") for p in problems)
        if checks.problems:
            raise ReplicationConfigError(p.under(self.node.path) for p in checks.problems)

    def warn_if_backfills_queue(self) -> list[str]:
        """Warn when ECR cannot run every backfill at once (called at synthesis; no errors)."""
        destinations = self._replication.destinations
        regions = [d.region for d in destinations]
        shared = sorted({r for r in regions if regions.count(r) > 1})
        problems: list[str] = []
        if len(destinations) > MAX_CONCURRENT_BACKFILLS:
            problems.append(
                f"{len(destinations)} destinations, but ECR runs at most "
                f"{MAX_CONCURRENT_BACKFILLS} backfills per registry at once"
            )
        if shared:
            problems.append(
                f"several destinations in {', '.join(shared)}, but ECR runs one backfill per "
                "destination region at a time"
            )
        if problems:
            warn(
                self,
                WARNING_BACKFILLS_QUEUE,
                f"backfill on deploy: {'; '.join(problems)}. A deployment waits up to "
                f"{FUNCTION_TIMEOUT.to_minutes()} minutes for a free slot; if none frees up, "
                "the first deploy with backfill fails and later deploys go on, each naming the "
                "destinations not started; backfill from the command line instead "
                "(ecr-replication backfill) if the first backfills are large.",
            )
        return []
