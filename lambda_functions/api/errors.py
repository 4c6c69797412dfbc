"""What can go wrong with a request, in domain terms; handler.py maps each to a status."""

from __future__ import annotations


class ApiError(Exception):
    """A failure whose message is safe and useful to show the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(ApiError):
    """The query, path or body is malformed; the message names what is wrong."""


class PayloadTooLarge(ApiError):
    """The body is larger than a record can be."""


class RecordNotFound(ApiError):
    """No record has the requested id."""


class MethodNotAllowed(ApiError):
    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        super().__init__(f"{method} is not allowed here; use {' or '.join(allowed)}")
        self.allowed = allowed


class RecordAlreadyExists(ApiError):
    """The object version described by the body is already recorded."""

    def __init__(self, record_id: str) -> None:
        super().__init__(f"this object version is already recorded as {record_id}")
        self.record_id = record_id


class StoreUnavailable(ApiError):
    """DynamoDB kept throttling or failing after botocore's retries; try again later."""
