"""A regional WAFv2 web ACL for an API stage: a per-IP rate limit, AWS managed rule groups
and logging to an encrypted log group.

The rules are written as Terraform blocks through an override: the provider binding offers
only ``rule_json`` for nested statements, which checkov cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.wafv2_web_acl import (
    Wafv2WebAcl,
    Wafv2WebAclDefaultAction,
    Wafv2WebAclDefaultActionAllow,
    Wafv2WebAclVisibilityConfig,
)
from cdktf_cdktf_provider_aws.wafv2_web_acl_logging_configuration import (
    Wafv2WebAclLoggingConfiguration,
    Wafv2WebAclLoggingConfigurationRedactedFields,
    Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader,
)
from constructs import Construct

from constructs_lib.aws_limits import (
    WAF_RATE_LIMIT_RANGE,
    check_log_retention,
    require_int_range,
)
from constructs_lib.base.log_groups import encrypted_log_group

# AWS managed rule groups every web ACL evaluates, in this order after the rate limit:
# malformed and exploit-shaped inputs (Log4j, Java deserialization), then the OWASP-style set.
DEFAULT_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
# The common set blocks bodies over 8 KB; the API function's own limit (413) is larger, so that
# one rule only counts and the function keeps answering with its own message.
COUNT_ONLY_RULES = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}
# Credentials never reach the WAF log: SigV4 signatures and API keys are redacted.
REDACTED_HEADERS = ("authorization", "x-api-key")
# WAF writes to CloudWatch Logs only into groups whose names start so.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True, kw_only=True)
class WebAclProps:
    name: str
    # Requests one client IP may send in any 5-minute window before WAF blocks it.
    rate_limit_per_5_minutes: int
    log_retention_days: int
    kms_key_arn: str
    managed_rule_groups: Sequence[str] = DEFAULT_MANAGED_RULE_GROUPS

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"name must be 1-128 letters, digits, '-' or '_', got {self.name!r}")
        require_int_range(
            "rate_limit_per_5_minutes", self.rate_limit_per_5_minutes, WAF_RATE_LIMIT_RANGE
        )
        check_log_retention("log_retention_days", self.log_retention_days)
        if isinstance(self.managed_rule_groups, str) or not self.managed_rule_groups:
            raise ValueError("managed_rule_groups must name at least one AWS managed rule group")


def _visibility(metric_name: str) -> dict[str, Any]:
    return {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric_name,
        "sampled_requests_enabled": True,
    }


def waf_rules(props: WebAclProps) -> list[dict[str, Any]]:
    """The web ACL's rules as Terraform blocks: rate limit first, then each managed group."""
    rules: list[dict[str, Any]] = [
        {
            "name": "rate-limit-per-ip",
            "priority": 0,
            "action": {"block": {}},
            "statement": {
                "rate_based_statement": {
                    "limit": props.rate_limit_per_5_minutes,
                    "aggregate_key_type": "IP",
                }
            },
            "visibility_config": _visibility(f"{props.name}-rate-limit"),
        }
    ]
    for priority, group in enumerate(props.managed_rule_groups, start=1):
        statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
        overrides = COUNT_ONLY_RULES.get(group, ())
        if overrides:
            statement["rule_action_override"] = [
                {"name": rule, "action_to_use": {"count": {}}} for rule in overrides
            ]
        rules.append(
            {
                "name": group,
                "priority": priority,
                "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": statement},
                "visibility_config": _visibility(f"{props.name}-{group}"),
            }
        )
    return rules


class WebAcl(Construct):
    """Regional web ACL that allows by default and blocks what its rules match; logged."""

    def __init__(self, scope: Construct, construct_id: str, *, props: WebAclProps) -> None:
        super().__init__(scope, construct_id)
        self.acl = Wafv2WebAcl(
            self,
            "acl",
            name=props.name,
            description=f"{props.name}: per-IP rate limit and AWS managed rules",
            scope="REGIONAL",
            default_action=Wafv2WebAclDefaultAction(allow=Wafv2WebAclDefaultActionAllow()),
            visibility_config=Wafv2WebAclVisibilityConfig(
                cloudwatch_metrics_enabled=True,
                metric_name=props.name,
                sampled_requests_enabled=True,
            ),
        )
        self.rules = waf_rules(props)
        self.acl.add_override("rule", self.rules)
        self.log_group = encrypted_log_group(
            self,
            "logs",
            name=f"{WAF_LOG_GROUP_PREFIX}{props.name}",
            retention_days=props.log_retention_days,
            kms_key_arn=props.kms_key_arn,
            contents="WAF logs",
        )
        self.logging = Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[self.log_group.arn],
            redacted_fields=[
                Wafv2WebAclLoggingConfigurationRedactedFields(
                    single_header=Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(
                        name=header
                    )
                )
                for header in REDACTED_HEADERS
            ],
        )

    @property
    def arn(self) -> str:
        return self.acl.arn
