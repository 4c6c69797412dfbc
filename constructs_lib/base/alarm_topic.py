"""The encrypted SNS topic CloudWatch alarms publish to, with its e-mail and HTTPS subscribers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformLocal
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from constructs_lib.base.policy_statements import deny_insecure_transport

# The service that publishes alarm state changes; the KMS key policy must admit it too.
CLOUDWATCH_ALARMS_PRINCIPAL = "cloudwatch.amazonaws.com"
_TOPIC_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    topic_name: str
    # Customer-managed key; its policy must let cloudwatch.amazonaws.com use it.
    kms_key_arn: str
    region: str
    # Only alarms whose names start with this may publish, e.g. "evpipe-prod-".
    alarm_name_prefix: str
    email_subscribers: Sequence[str] = ()
    https_subscribers: Sequence[str] = ()
    # Set when a plan must fail while nobody hears the alarms: the line Terraform prints.
    refuse_without_subscribers: str | None = None

    def __post_init__(self) -> None:
        if not _TOPIC_NAME_PATTERN.fullmatch(self.topic_name):
            raise ValueError(
                "topic_name must be 1-256 letters, digits, hyphens or underscores, "
                f"got {self.topic_name!r}"
            )
        if not self.alarm_name_prefix:
            raise ValueError("alarm_name_prefix must not be empty: it scopes who may publish")
        bad = [
            address for address in self.email_subscribers if not _EMAIL_PATTERN.fullmatch(address)
        ]
        if bad:
            raise ValueError(f"email_subscribers has invalid address(es) {bad}")
        if len(set(self.email_subscribers)) != len(self.email_subscribers):
            raise ValueError("email_subscribers lists an address more than once")
        bad = [url for url in self.https_subscribers if not url.startswith("https://")]
        if bad:
            raise ValueError(f"https_subscribers must be https:// URLs, got {bad}")
        if len(set(self.https_subscribers)) != len(self.https_subscribers):
            raise ValueError("https_subscribers lists a URL more than once")


class AlarmTopic(Construct):
    """SSE-KMS topic that only this account's matching alarms may publish to, over TLS."""

    def __init__(self, scope: Construct, construct_id: str, *, props: AlarmTopicProps) -> None:
        super().__init__(scope, construct_id)
        self.topic = SnsTopic(
            self, "topic", name=props.topic_name, kms_master_key_id=props.kms_key_arn
        )
        if props.refuse_without_subscribers is not None:
            # Known at synth time, so `terraform plan` stops before it changes anything. The
            # condition reads a local (Terraform refuses a condition that refers to nothing),
            # an object because checkov's JSON parser stops on a top-level list.
            subscribers = TerraformLocal(self, "subscribers", {"email": [], "https": []})
            name = subscribers.friendly_unique_id
            self.topic.add_override(
                "lifecycle.precondition",
                [
                    {
                        "condition": f"${{length(flatten(values(local.{name}))) > 0}}",
                        "error_message": props.refuse_without_subscribers,
                    }
                ],
            )
        account_id = DataAwsCallerIdentity(self, "caller").account_id
        partition = DataAwsPartition(self, "partition").partition
        alarm_arns = (
            f"arn:{partition}:cloudwatch:{props.region}:{account_id}"
            f":alarm:{props.alarm_name_prefix}*"
        )
        self.policy_document = DataAwsIamPolicyDocument(
            self,
            "policy-document",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="AllowPipelineAlarms",
                    actions=["sns:Publish"],
                    resources=[self.topic.arn],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(
                            type="Service", identifiers=[CLOUDWATCH_ALARMS_PRINCIPAL]
                        )
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="ArnLike", variable="aws:SourceArn", values=[alarm_arns]
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable="aws:SourceAccount", values=[account_id]
                        ),
                    ],
                ),
                deny_insecure_transport("sns", [self.topic.arn]),
            ],
        )
        self.policy = SnsTopicPolicy(
            self, "policy", arn=self.topic.arn, policy=self.policy_document.json
        )
        self.subscriptions = [
            SnsTopicSubscription(
                self,
                # Keyed by address, so reordering the list replaces nothing.
                f"email-{hashlib.sha256(address.encode()).hexdigest()[:12]}",
                topic_arn=self.topic.arn,
                protocol="email",
                endpoint=address,
            )
            for address in props.email_subscribers
        ]
        self.subscriptions += [
            SnsTopicSubscription(
                self,
                f"https-{hashlib.sha256(url.encode()).hexdigest()[:12]}",
                topic_arn=self.topic.arn,
                protocol="https",
                endpoint=url,
                # The endpoint confirms by fetching the SubscribeURL SNS posts to it.
                endpoint_auto_confirms=False,
            )
            for url in props.https_subscribers
        ]
