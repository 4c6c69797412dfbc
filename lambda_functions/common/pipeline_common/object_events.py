"""The workflow's input, cut from S3's EventBridge "Object Created" event: defined once.

The EventBridge rule that starts the workflow turns each event into validate's input with an
InputTransformer built from these paths; validate (and the processor's workflow call) read
the same field names (``object_schema.OBJECT_FIELDS``). A test applies the transformer to
the sample event and feeds the result to validate, so the two sides cannot drift.

S3 sends keys to EventBridge as they are (not URL-encoded, unlike its direct notifications),
and our bucket is versioned, so ``version-id`` is always present.

Standard library only: imported by the synth as well as by the functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# What S3 puts in "source" and "detail-type" for a new object (PUT, POST, copy, multipart).
S3_EVENT_SOURCE = "aws.s3"
OBJECT_CREATED_DETAIL_TYPE = "Object Created"

# validate's input field -> where EventBridge finds it in the event (InputPathsMap).
OBJECT_CREATED_INPUT_PATHS: Mapping[str, str] = MappingProxyType(
    {
        "bucket": "$.detail.bucket.name",
        "key": "$.detail.object.key",
        "size": "$.detail.object.size",
        "etag": "$.detail.object.etag",
        "version_id": "$.detail.object.version-id",
    }
)


def object_created_input_template() -> str:
    """The InputTemplate: each placeholder unquoted, so EventBridge inserts the JSON value
    (strings quoted and escaped, the size a number)."""
    fields = ", ".join(f'"{name}": <{name}>' for name in OBJECT_CREATED_INPUT_PATHS)
    return "{" + fields + "}"


def object_created_pattern(*, bucket_name: str, key_prefix: str) -> dict[str, object]:
    """The event pattern matching new objects under ``key_prefix`` in one bucket."""
    return {
        "source": [S3_EVENT_SOURCE],
        "detail-type": [OBJECT_CREATED_DETAIL_TYPE],
        "detail": {
            "bucket": {"name": [bucket_name]},
            "object": {"key": [{"prefix": key_prefix}]},
        },
    }


# The backfill workflow's batches (its ItemBatcher): each hands the processor
# {"Items": [listed objects], "BatchInput": {...}}; BatchInput's fields -> where the state
# machine finds them in its execution input.
BACKFILL_BATCH_INPUT_PATHS: Mapping[str, str] = MappingProxyType(
    {"bucket": "$.bucket", "prefix": "$.prefix"}
)
# What the processor returns for one batch; the workflow keeps exactly these of its answer,
# and `make backfill` adds them up from the run's result files.
BACKFILL_RESULT_FIELDS = ("records_created", "records_already_recorded", "objects_gone")
