"""An encrypted SNS topic our own functions publish pipeline notifications to, over TLS only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from constructs import Construct

from constructs_lib.base.policy_statements import deny_insecure_transport

_TOPIC_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True, kw_only=True)
class NotificationTopicProps:
    topic_name: str
    # SSE-KMS key; publishers need kms:GenerateDataKey* and kms:Decrypt on it.
    kms_key_arn: str

    def __post_init__(self) -> None:
        if not _TOPIC_NAME_PATTERN.fullmatch(self.topic_name):
            raise ValueError(
                "topic_name must be 1-256 letters, digits, hyphens or underscores, "
                f"got {self.topic_name!r}"
            )


class NotificationTopic(Construct):
    """SSE-KMS topic; publishers are granted through their own IAM roles, never the topic."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: NotificationTopicProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = SnsTopic(
            self, "topic", name=props.topic_name, kms_master_key_id=props.kms_key_arn
        )
        # Replaces the default policy (which lets the whole account subscribe and publish):
        # same-account roles still publish through IAM, and nobody does so over plain HTTP.
        self.policy_document = DataAwsIamPolicyDocument(
            self,
            "policy-document",
            statement=[deny_insecure_transport("sns", [self.topic.arn])],
        )
        self.policy = SnsTopicPolicy(
            self, "policy", arn=self.topic.arn, policy=self.policy_document.json
        )
