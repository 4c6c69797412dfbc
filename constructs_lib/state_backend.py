"""Terraform state location for one stack: S3 with DynamoDB locking, or local for offline runs."""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, TerraformStack

from config.deployment import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, StateBackendSettings


def configure_state_backend(
    stack: TerraformStack,
    *,
    settings: StateBackendSettings,
    stack_name: str,
    endpoint_url: str | None = None,
) -> None:
    """Give ``stack`` its own encrypted, locked state object, keyed by the stack name."""
    if settings.kind == "local":
        # Beside the project, not in cdktf.out, which every synth rewrites.
        LocalBackend(stack, path=f"../../../terraform.{stack_name}.tfstate")
        return
    emulator: dict[str, object] = {}
    if endpoint_url is not None:
        emulator = {
            "access_key": EMULATOR_ACCESS_KEY,
            "secret_key": EMULATOR_SECRET_KEY,
            "endpoints": {
                "s3": endpoint_url,
                "dynamodb": endpoint_url,
                "sts": endpoint_url,
                "iam": endpoint_url,
            },
            "use_path_style": True,
            "skip_credentials_validation": True,
            "skip_requesting_account_id": True,
            "skip_metadata_api_check": True,
            "skip_region_validation": True,
        }
    S3Backend(
        stack,
        bucket=settings.bucket,
        key=settings.state_key(stack_name),
        region=settings.region,
        encrypt=True,
        dynamodb_table=settings.lock_table,
        **emulator,  # type: ignore[arg-type]
    )
