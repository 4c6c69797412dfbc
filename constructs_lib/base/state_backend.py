"""Terraform state location for one stack: S3 with DynamoDB locking, or local for offline runs."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import LocalBackend, S3Backend, TerraformStack

from constructs_lib.specs import EndpointOverride


@dataclass(frozen=True, kw_only=True)
class StateBackendProps:
    # "s3" keeps state in the bootstrap bucket; "local" in a file beside the project.
    kind: str
    bucket: str
    # The object holding this stack's state; every stack has its own.
    key: str
    lock_table: str
    region: str
    # Where the S3 and DynamoDB calls go when not to AWS, such as a local emulator.
    endpoint: EndpointOverride | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("s3", "local"):
            raise ValueError(f"kind must be 's3' or 'local', got {self.kind!r}")


def configure_state_backend(stack: TerraformStack, *, props: StateBackendProps) -> None:
    """Give ``stack`` its own encrypted, locked state object, or a local state file."""
    if props.kind == "local":
        # Beside the project, not in cdktf.out, which every synth rewrites.
        LocalBackend(stack, path=f"../../../terraform.{stack.node.id}.tfstate")
        return
    override: dict[str, object] = {}
    if props.endpoint is not None:
        url = props.endpoint.url
        override = {
            "access_key": props.endpoint.access_key,
            "secret_key": props.endpoint.secret_key,
            "endpoints": {"s3": url, "dynamodb": url, "sts": url, "iam": url},
            "use_path_style": True,
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
        }
    S3Backend(
        stack,
        bucket=props.bucket,
        key=props.key,
        region=props.region,
        encrypt=True,
        dynamodb_table=props.lock_table,
        **override,  # type: ignore[arg-type]
    )
