"""The AWS APIs each function's own code calls at run time: the one list, and its check.

A function in the private VPC reaches an AWS API only through a VPC endpoint, or through the
NAT gateway where ``network.outbound_internet`` adds one. ``FUNCTION_SERVICES`` lists, for
every function in ``lambda_functions/``, the services its code (boto3 clients, the X-Ray SDK)
calls; ``Foundation.function`` refuses at synth time to place a function in a VPC that has no
route to one of them, and ``tests/unit/stacks/test_function_routes.py`` compares the list with
the synthesized IAM policies and endpoint policies, so a new call cannot ship without a route.

Calls the Lambda service (or another service) makes for a function leave from AWS's network,
not from the function's network interfaces, and need no route; their IAM statements are
named in ``SERVICE_SIDE_STATEMENTS`` with the reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from types import MappingProxyType

# Every function sends its trace segments to X-Ray (active tracing, Powertools Tracer).
TRACES = "xray"
FUNCTION_SERVICES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # RecordStore.put (DynamoDB PutItem); on the queue path, NotificationPublisher (SNS);
        # for backfill batches, ObjectMetadata.head (S3 HeadObject on listed objects).
        "processor": frozenset({"dynamodb", "s3", "sns", TRACES}),
        # RecordRepository: GetItem, Query, PutItem (and a Scan without a day).
        "api": frozenset({"dynamodb", TRACES}),
        # A pure check of the event: no AWS client.
        "validate": frozenset({TRACES}),
        # NotificationPublisher (SNS Publish).
        "notify": frozenset({"sns", TRACES}),
        # RecordCounts: one paginated Query.
        "maintenance": frozenset({"dynamodb", TRACES}),
    }
)

# IAM statements (by sid) that other services exercise on the function's behalf.
SERVICE_SIDE_STATEMENTS: Mapping[str, str] = MappingProxyType(
    {
        "WriteOwnLogs": "Lambda writes the function's output to its log group.",
        "DecryptEnvironment": "Lambda decrypts the environment variables before the code runs.",
        "CreateNetworkInterfacesInOwnSubnets": "Lambda creates the function's VPC interfaces.",
        "ManageOwnNetworkInterfaces": "Lambda manages the function's VPC interfaces.",
        "DescribeNetworkInterfaces": "Lambda manages the function's VPC interfaces.",
        "SendFailedEventsToDlq": "Lambda sends failed asynchronous events to the destination.",
        "EncryptFailedEvents": "SQS asks KMS for the failure queue's data key.",
        "ConsumeIngestQueue": "Lambda's event source mapping polls the ingest queue.",
        "DecryptIngestMessages": "SQS decrypts the ingest queue's messages for the poller.",
        "EncryptNotices": "SNS asks KMS for the topic's data key on the publisher's behalf.",
        "EncryptNotifications": "SNS asks KMS for the topic's data key on the publisher's behalf.",
    }
)


def services_of(function_name: str) -> frozenset[str]:
    """The services ``lambda_functions/<function_name>`` calls; ValueError if it is unlisted."""
    if function_name not in FUNCTION_SERVICES:
        raise ValueError(
            f"function {function_name!r} is not in FUNCTION_SERVICES "
            "(constructs_lib/pipeline/runtime_services.py); list the AWS services its code "
            "calls so the VPC can route them"
        )
    return FUNCTION_SERVICES[function_name]


def require_routes(
    function_name: str, *, endpoints: Collection[str], outbound_internet: bool
) -> None:
    """Raise ValueError unless every service the function calls has an endpoint or the NAT."""
    if outbound_internet:
        return
    missing = sorted(services_of(function_name) - set(endpoints))
    if missing:
        raise ValueError(
            f"function {function_name!r} calls {', '.join(missing)} at run time, but its VPC has "
            f"no endpoint for {'it' if len(missing) == 1 else 'them'} and no NAT gateway; add "
            "an endpoint (PrivateNetwork.add_interface_endpoint) or set "
            "network.outbound_internet"
        )
