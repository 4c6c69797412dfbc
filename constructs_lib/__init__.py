"""Reusable constructs for the event pipeline: one construct per module.

Base constructs wrap one AWS concern with secure defaults (SecureBucket, RecordsTable,
PythonFunction, ...); the stacks in ``stacks/`` compose them.
"""
