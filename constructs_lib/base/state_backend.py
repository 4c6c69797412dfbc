"""Terraform state location for one stack: S3 (KMS-encrypted, lock file), or local offline."""

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
    region: str
    # The bootstrap's state key (ARN or alias) every state object and lock file is written with.
    kms_key_id: str
    # Migration only: an existing DynamoDB lock table still locked in beside the S3 lock file,
    # while checkouts from before S3 locking run (README: Terraform state). None: lock file only.
    lock_table: str | None = None
    # Where the S3 and DynamoDB calls go when not to AWS, such as a local emulator.
    endpoint: EndpointOverride | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("s3", "local"):
            raise ValueError(f"kind must be 's3' or 'local', got {self.kind!r}")
        if not self.kms_key_id:
            raise ValueError("kms_key_id must name the state key; state is never S3-encrypted")


def configure_state_backend(stack: TerraformStack, *, props: StateBackendProps) -> None:
    """Give ``stack`` its own KMS-encrypted, locked state object, or a local state file."""
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
    if props.lock_table is not None:
        override["dynamodb_table"] = props.lock_table
    S3Backend(
        stack,
        bucket=props.bucket,
        key=props.key,
        region=props.region,
        encrypt=True,
        kms_key_id=props.kms_key_id,
        **override,  # type: ignore[arg-type]
    )
    # S3-native locking (Terraform 1.10+): a conditional write of <key>.tflock. The cdktf
    # binding predates the setting, hence the override.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
