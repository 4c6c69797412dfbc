"""REST (v1) and HTTP API (v2) proxy handler over the records table."""
