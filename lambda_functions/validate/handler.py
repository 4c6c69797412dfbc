"""Lambda entry point for the workflow's validate step: a pure check, no AWS calls.

Bad input is a normal outcome here (``valid: false`` with every error), so the workflow's
Choice state can route it to a rejection notice; only a broken environment raises.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipeline_common.observability import build_tracer

from .logic import validate_object
from .settings import load_settings

logger = Logger()
tracer = build_tracer()
metrics = Metrics()

SETTINGS = load_settings(os.environ)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    result = validate_object(event, max_object_bytes=SETTINGS.max_object_bytes)
    metrics.add_metric(
        name="ObjectsAccepted" if result.valid else "ObjectsRejected",
        unit=MetricUnit.Count,
        value=1,
    )
    if not result.valid:
        logger.warning("Object rejected", extra={"errors": list(result.errors)})
    return result.to_dict()
