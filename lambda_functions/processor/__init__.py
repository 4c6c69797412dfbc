"""Records every object created in the ingest bucket (S3 notifications and workflow calls)."""
