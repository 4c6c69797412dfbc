"""Backfill: reprocess every object already under a prefix of the ingest bucket.

After a processor fix, or for objects whose events were lost, an operator runs
``make backfill ENV=<env> PREFIX=incoming/`` (``tools/backfill.py``): it starts this domain's
state machine, a Step Functions Distributed Map (``backfill_definition.py``) that lists the
objects itself, hands them to the ingest domain's processor in batches, and writes each
run's results to ``<results_prefix>`` in the ingest bucket. The processor records a listed
object with the same conditional write as ingest, so objects already recorded create nothing
and a backfill can be run again safely.

This domain owns the state machine, its role (list the ingest prefix, write the results
prefix, invoke the processor, start its own child workflows), the processor's extra
permission to read the metadata of listed objects (``HeadObject``: a listing names no
version), alarms and outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
)
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from constructs_lib.aws_limits import SFN_EXPRESS_MAX_DURATION_SECONDS
from constructs_lib.base.python_function import PythonFunction
from constructs_lib.patterns.alarms import state_machine_alarm_specs
from constructs_lib.patterns.dashboard import Graph
from constructs_lib.patterns.state_machine import LoggedStateMachine, StateMachineProps
from constructs_lib.pipeline.backfill_definition import (
    DEFAULT_RESULTS_PREFIX,
    BackfillPlan,
    build_backfill_definition,
)
from constructs_lib.pipeline.foundation import Foundation
from constructs_lib.pipeline.ingest import Ingest
from constructs_lib.pipeline.monitoring import AlarmGroup, AlarmPolicy, add_outputs


@dataclass(frozen=True, kw_only=True)
class BackfillProps:
    foundation: Foundation
    # The bucket and prefix a backfill may list, and the processor each batch invokes.
    ingest: Ingest
    # Objects per processor invocation (ItemBatcher.MaxItemsPerBatch).
    batch_size: int
    # Batches in flight at once (the Distributed Map's MaxConcurrency).
    max_concurrency: int
    # The run fails once more than this share of objects failed (0-100).
    tolerated_failure_percentage: int
    results_prefix: str = DEFAULT_RESULTS_PREFIX

    def __post_init__(self) -> None:
        # The plan checks batch size, concurrency, tolerance and the prefix's shape.
        self.plan(results_bucket="check")
        if self.results_prefix.startswith(self.ingest.object_prefix):
            raise ValueError(
                f"results_prefix {self.results_prefix!r} must lie outside the ingest prefix "
                f"{self.ingest.object_prefix!r}: result files would be ingested and backfilled"
            )
        timeout = self.ingest.processor.timeout_seconds
        if timeout > SFN_EXPRESS_MAX_DURATION_SECONDS:
            raise ValueError(
                f"the processor's timeout ({timeout} s) must be at most "
                f"{SFN_EXPRESS_MAX_DURATION_SECONDS} s: each batch runs in an EXPRESS child "
                "workflow, which Step Functions stops after five minutes"
            )

    def plan(self, *, results_bucket: str) -> BackfillPlan:
        return BackfillPlan(
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
            tolerated_failure_percentage=self.tolerated_failure_percentage,
            results_bucket=results_bucket,
            results_prefix=self.results_prefix,
        )


class Backfill(Construct):
    """The backfill state machine, its scoped role and the processor's read of listed objects."""

    def __init__(self, scope: Construct, construct_id: str, *, props: BackfillProps) -> None:
        super().__init__(scope, construct_id)
        foundation = props.foundation
        base = foundation.props
        ingest = props.ingest
        bucket_arn = ingest.bucket.bucket.arn
        key_arn = foundation.key.key.arn
        listed_objects = f"{bucket_arn}/{ingest.object_prefix}*"
        results = f"{bucket_arn}/{props.results_prefix}*"
        via_s3 = DataAwsIamPolicyDocumentStatementCondition(
            test="StringEquals",
            variable="kms:ViaService",
            values=[f"s3.{base.region}.amazonaws.com"],
        )
        self.state_machine = LoggedStateMachine(
            self,
            "state-machine",
            props=StateMachineProps(
                state_machine_name=f"{base.name_prefix}-backfill",
                definition=build_backfill_definition(
                    processor_function_arn=ingest.processor.alias_arn,
                    plan=props.plan(results_bucket=ingest.bucket_name),
                ),
                invoked_functions=(ingest.processor,),
                region=base.region,
                kms_key_arn=key_arn,
                log_retention_days=base.log_retention_days,
                runs_child_workflows=True,
                extra_statements=[
                    # The ItemReader lists the ingest prefix and nothing else of the bucket.
                    DataAwsIamPolicyDocumentStatement(
                        sid="ListIngestedObjects",
                        actions=["s3:ListBucket"],
                        resources=[bucket_arn],
                        condition=[
                            DataAwsIamPolicyDocumentStatementCondition(
                                test="StringLike",
                                variable="s3:prefix",
                                values=[f"{ingest.object_prefix}*"],
                            )
                        ],
                    ),
                    # The ResultWriter's manifest and result files (multipart for large runs).
                    DataAwsIamPolicyDocumentStatement(
                        sid="WriteRunResults",
                        actions=[
                            "s3:PutObject",
                            "s3:GetObject",
                            "s3:ListMultipartUploadParts",
                            "s3:AbortMultipartUpload",
                        ],
                        resources=[results],
                    ),
                    # The bucket is SSE-KMS with the stack key: writing results needs a data key.
                    DataAwsIamPolicyDocumentStatement(
                        sid="EncryptRunResults",
                        actions=["kms:GenerateDataKey", "kms:Decrypt"],
                        resources=[key_arn],
                        condition=[via_s3],
                    ),
                ],
            ),
        )
        # The processor reads each listed object's metadata (version id, time) to build the
        # same record key as its S3 event did; HeadObject needs s3:GetObject, nothing more.
        self.processor_reads = IamRolePolicy(
            self,
            "processor-reads",
            name=f"{base.name_prefix}-processor-backfill-reads",
            role=ingest.processor.role.id,
            policy=DataAwsIamPolicyDocument(
                self,
                "processor-reads-document",
                statement=[
                    DataAwsIamPolicyDocumentStatement(
                        sid="ReadListedObjectMetadata",
                        actions=["s3:GetObject"],
                        resources=[listed_objects],
                    )
                ],
            ).json,
        )
        machine = self.state_machine.state_machine
        self.results_prefix = props.results_prefix
        self.outputs = add_outputs(
            self,
            {
                "backfill_state_machine_arn": machine.arn,
                "backfill_state_machine_log_group_name": self.state_machine.log_group.name,
                "backfill_results_prefix": props.results_prefix,
            },
        )

    @property
    def functions(self) -> Sequence[PythonFunction]:
        # The processor is the ingest domain's, with its alarms there.
        return ()

    def alarm_groups(self, policy: AlarmPolicy) -> list[AlarmGroup]:
        thresholds = policy.thresholds
        return [
            AlarmGroup(
                title="Backfill",
                specs=state_machine_alarm_specs(
                    label="backfill",
                    state_machine_arn=self.state_machine.state_machine.arn,
                    failed_executions=thresholds.workflow_failed_executions,
                    timed_out_executions=thresholds.workflow_timed_out_executions,
                    window=policy.window,
                ),
            )
        ]

    def traffic_graphs(self) -> list[Graph]:
        return []
