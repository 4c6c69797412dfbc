"""Stand-ins for the workflow's three functions, honouring the definition's data contract."""

from typing import Any


def validate(event: Any, context: Any) -> Any:
    obj = event.get("detail", {}).get("object", event)
    valid = not str(obj.get("key", "")).startswith("reject/")
    return {"valid": valid, "errors": [] if valid else ["rejected by name"], "object": obj}


def process(event: Any, context: Any) -> Any:
    if str(event["object"].get("key", "")).startswith("crash/"):
        raise RuntimeError("processor crashed")
    return {"record_id": f"rec-{event['object']['key']}", "created": True}


def notify(event: Any, context: Any) -> Any:
    print(f"notify {event['status']} {event['record_id']}")
    return {"message_id": f"msg-{event['status']}"}


def record_batch(event: Any, context: Any) -> Any:
    """Stand-in for the processor's backfill call: counts the batch's listed objects.

    Its answer has every field of BACKFILL_RESULT_FIELDS, which the definition selects.
    """
    return {
        "records_created": len(event["Items"]),
        "records_already_recorded": 0,
        "objects_gone": 0,
    }
