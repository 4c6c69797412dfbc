"""make deploy|diff|destroy|output: the warnings and one-line causes the bare cdktf CLI lacks."""

from __future__ import annotations

from pathlib import Path

from tools.cdktf_run import cdktf_command, default_bucket_warning, failure_cause

# What Terraform prints (inside cdktf's output) when a destroy meets prevent_destroy.
REFUSED = """\
pipeline-prod  ╷
               │ Error: Instance cannot be destroyed
               │
               │   on cdk.tf.json line 2101, in resource.aws_dynamodb_table.records_table_1A2B3C:
               │ 2101:       }
               │
               │ Resource aws_dynamodb_table.records_table_1A2B3C has lifecycle.prevent_destroy
               │ set, but the plan calls for this resource to be destroyed.
Invoking Terraform CLI failed with exit code 1
"""


def test_default_bucket_on_real_aws_warns_loudly() -> None:
    # Given no endpoint and no bucket name / When the warning is computed
    warning = default_bucket_warning({"PIPELINE_PROJECT": "acme"})
    # Then it is one line naming the default bucket and the variable to set
    assert warning is not None
    assert warning.startswith("WARNING:")
    assert "'acme-terraform-state'" in warning
    assert "PIPELINE_STATE_BUCKET" in warning
    assert "\n" not in warning


def test_no_warning_on_an_emulator_or_with_a_bucket_of_ones_own() -> None:
    assert default_bucket_warning({"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}) is None
    assert default_bucket_warning({"PIPELINE_STATE_BUCKET": "acme-state-123"}) is None


def test_prevent_destroy_refusal_is_named() -> None:
    # Given the output of a refused destroy / When its cause is extracted
    cause = failure_cause("destroy", "pipeline-prod", REFUSED)
    # Then the one line names the resource and prevent_destroy
    assert cause == (
        "error: destroy of pipeline-prod refused: aws_dynamodb_table.records_table_1A2B3C has "
        "lifecycle.prevent_destroy (it keeps data); see README, Teardown"
    )


def test_other_failures_name_terraforms_first_error() -> None:
    cause = failure_cause("deploy", "pipeline-dev", "│ Error: creating S3 Bucket: Forbidden\n")
    assert cause == "error: cdktf deploy pipeline-dev failed: creating S3 Bucket: Forbidden"


def test_emulator_runs_approve_and_parallelize() -> None:
    command = cdktf_command("deploy", "pipeline-dev", "out", {"AWS_ENDPOINT_URL": "http://x:1"})
    assert command[:6] == ["npx", "--no-install", "cdktf", "deploy", "pipeline-dev", "--output"]
    assert "--auto-approve" in command
    assert "--parallelism" in command
    assert "--auto-approve" not in cdktf_command("diff", "pipeline-dev", "out", {})


def test_real_terraform_refusal_coloured_and_wrapped_is_named() -> None:
    # Given what Terraform 1.11 printed for a destroy refused by prevent_destroy (colours on,
    # the message wrapped at 78 columns): captured from a terraform_data resource
    output = (Path(__file__).parent / "terraform_prevent_destroy.txt").read_text()
    # When its cause is extracted / Then the resource is named
    cause = failure_cause("destroy", "pipeline-prod", output)
    assert cause.startswith(
        "error: destroy of pipeline-prod refused: "
        "terraform_data.records_table_with_a_long_construct_hash_1A2B3C4D has "
        "lifecycle.prevent_destroy"
    )
