"""Where each part of a pipeline stack sat in earlier layouts, so deployed resources never move.

Before the domain constructs (foundation, ingest, api, workflow, operations), every part was
a direct child of the stack. Environments deployed from that layout get a ``moved`` block
for each resource (``constructs_lib.addresses.keep_addresses``): their next plan reports the
moves and nothing to destroy or replace. Keep an entry for as long as an environment
deployed before the change may still exist; deleting it turns those moves into replacements.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from constructs_lib.addresses import logical_id

# Construct path now -> construct path before the domain redesign.
DOMAIN_REDESIGN_MOVES: Mapping[str, str] = MappingProxyType(
    {
        "foundation/key": "key",
        "foundation/access-logs": "access-logs",
        "foundation/records": "records",
        "foundation/dependencies": "dependencies",
        "foundation/dlq": "dlq",
        "foundation/network": "network",
        "ingest/bucket": "ingest",
        "ingest/processor": "processor",
        "ingest/trigger": "ingest-trigger",
        "ingest/processor-async": "processor-async",
        "api/api": "api",
        "api/rest-api": "rest-api",
        "api/http-api": "http-api",
        "ingest/notifications": "notifications",
        "workflow/validate": "validate",
        "workflow/notify": "notify",
        "workflow/state-machine": "workflow",
        "operations/alarm-topic": "alarm-topic",
        "operations/maintenance": "maintenance",
        "operations/maintenance-async": "maintenance-async",
        "operations/schedule": "schedule",
        "operations/alarms": "alarms",
        "operations/dashboard": "dashboard",
    }
)

# Construct path now -> the path whose Terraform addresses it keeps (``AddressPinningStack``):
# for moves within this layout, where a resource already carries a redesign ``moved`` block
# and cdktf allows only one. The notifications topic moved from the workflow to ingest when
# the queue path (which has no workflow) started publishing notices.
PINNED_ADDRESSES: Mapping[str, str] = MappingProxyType(
    {"ingest/notifications": "workflow/notifications"}
)


# What the REST API created for the account-wide API Gateway CloudWatch setting before the
# bootstrap stack took it over (construct id -> resource type), at the addresses of both layouts
# (under "api/rest-api" now, "rest-api" before the domain redesign). Environment stacks forget
# them with ``removed`` blocks: 0 destroy; the operator deletes the old roles once the bootstrap
# has set its own (README: Accounts).
_ACCOUNT_SETTING_RESOURCES = {
    "cloudwatch-role": "aws_iam_role",
    "cloudwatch-policy": "aws_iam_role_policy",
    "account": "aws_api_gateway_account",
}
ACCOUNT_SETTINGS_MOVED_TO_BOOTSTRAP: tuple[str, ...] = tuple(
    f"{resource_type}.{logical_id([*layout, construct_id])}"
    for layout in (["api", "rest-api"], ["rest-api"])
    for construct_id, resource_type in _ACCOUNT_SETTING_RESOURCES.items()
)
