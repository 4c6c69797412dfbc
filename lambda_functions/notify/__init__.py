"""Publishes the workflow's outcome for one object to an SNS topic."""
