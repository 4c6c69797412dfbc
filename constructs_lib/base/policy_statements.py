"""IAM policy statements that several constructs attach to their resource policies."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)


def deny_insecure_transport(
    service: str, resources: Sequence[str]
) -> DataAwsIamPolicyDocumentStatement:
    """Refuse every ``<service>:*`` request on ``resources`` that does not arrive over TLS."""
    return DataAwsIamPolicyDocumentStatement(
        sid="DenyInsecureTransport",
        effect="Deny",
        actions=[f"{service}:*"],
        resources=list(resources),
        principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])],
        condition=[
            DataAwsIamPolicyDocumentStatementCondition(
                test="Bool", variable="aws:SecureTransport", values=["false"]
            )
        ],
    )


def service_assume_role(
    service: str,
    conditions: Sequence[DataAwsIamPolicyDocumentStatementCondition] = (),
) -> DataAwsIamPolicyDocumentStatement:
    """A trust-policy statement letting ``service`` assume the role, under ``conditions``."""
    return DataAwsIamPolicyDocumentStatement(
        actions=["sts:AssumeRole"],
        principals=[
            DataAwsIamPolicyDocumentStatementPrincipals(type="Service", identifiers=[service])
        ],
        condition=list(conditions) or None,
    )
