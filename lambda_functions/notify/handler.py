"""Lambda entry point for the workflow's notify step: one SNS message per outcome.

Returns ``{"message_id"}``. Raises InvalidNotification for input that breaks the contract (do
not retry) and PublishError when SNS keeps failing (retry).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pipeline_common.aws import client_config
from pipeline_common.notices import NotificationPublisher, build_notification
from pipeline_common.observability import build_tracer

from .settings import load_settings

logger = Logger()
tracer = build_tracer()
metrics = Metrics()

SETTINGS = load_settings(os.environ)
PUBLISHER = NotificationPublisher(boto3.client("sns", config=client_config()), SETTINGS.topic_arn)


@metrics.log_metrics
@tracer.capture_lambda_handler
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    notification = build_notification(event)
    message_id = PUBLISHER.publish(notification)
    metrics.add_metric(name="NotificationsPublished", unit=MetricUnit.Count, value=1)
    logger.info(
        "Notification published", extra={"message_id": message_id, "status": notification.status}
    )
    return {"message_id": message_id}
