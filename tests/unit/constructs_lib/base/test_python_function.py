from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocumentStatement,
)

from constructs_lib.base import python_function
from constructs_lib.base.python_function import (
    PythonFunction,
    PythonFunctionProps,
    VpcPlacement,
    package_function,
)
from tests.unit.constructs_lib.conftest import SynthFn, only, skipped_checks

KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/abc"
TABLE_ARN = "arn:aws:dynamodb:us-west-2:123456789012:table/records"


@pytest.fixture(autouse=True)
def archives_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps the sample package's archives out of the project's build/ folder."""
    monkeypatch.setattr(python_function, "ARCHIVE_ROOT", tmp_path / "functions")


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    package = tmp_path / "sample"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"stale")
    return package


def props(source_dir: Path, **overrides: Any) -> PythonFunctionProps:
    settings: dict[str, Any] = {
        "function_name": "evpipe-dev-sample",
        "source_dir": source_dir,
        "description": "sample",
        "memory_mb": 256,
        "timeout_seconds": 30,
        "log_retention_days": 14,
        "kms_key_arn": KEY_ARN,
        "no_dead_letter_reason": "test",
        "no_vpc_reason": "test",
    }
    settings.update(overrides)
    return PythonFunctionProps(**settings)


def test_function_is_arm64_python312_traced_and_logs_to_its_own_group(
    synth: SynthFn, source_dir: Path
) -> None:
    # Given a function with an environment and a least-privilege statement
    statement = DataAwsIamPolicyDocumentStatement(
        actions=["dynamodb:PutItem"], resources=[TABLE_ARN]
    )
    function_props = props(source_dir, environment={"TABLE_NAME": "records"},
                           policy_statements=[statement], reserved_concurrency=5)  # fmt: skip
    # When synthesized
    out = synth(lambda stack: PythonFunction(stack, "sample", props=function_props))
    function = only(out, "aws_lambda_function")
    # Then runtime, architecture, tracing, sizing and encryption follow the props and defaults
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["arm64"]
    assert function["handler"] == "sample.handler.lambda_handler"
    assert function["tracing_config"] == {"mode": "Active"}
    assert (function["memory_size"], function["timeout"]) == (256, 30)
    assert function["reserved_concurrent_executions"] == 5
    assert function["kms_key_arn"] == KEY_ARN
    assert function["environment"] == {"variables": {"TABLE_NAME": "records"}}
    # And the code comes from the asset, hashed from the same archive
    assert function["filename"].startswith("assets/")
    assert function["source_code_hash"] == f'${{filebase64sha256("{function["filename"]}")}}'
    # And the explicit log group exists first, with retention and KMS
    log_group = only(out, "aws_cloudwatch_log_group")
    assert log_group["name"] == "/aws/lambda/evpipe-dev-sample"
    assert (log_group["retention_in_days"], log_group["kms_key_id"]) == (14, KEY_ARN)
    assert function["depends_on"] == [
        f"aws_cloudwatch_log_group.{next(iter(out['resource']['aws_cloudwatch_log_group']))}"
    ]


def test_role_is_scoped_to_its_log_group_key_and_given_statements(
    synth: SynthFn, source_dir: Path
) -> None:
    # Given a function allowed to write one table
    statement = DataAwsIamPolicyDocumentStatement(
        actions=["dynamodb:PutItem"], resources=[TABLE_ARN]
    )
    out = synth(lambda stack: PythonFunction(
        stack, "sample", props=props(source_dir, policy_statements=[statement])))  # fmt: skip
    # When the permissions document is read
    documents = out["data"]["aws_iam_policy_document"]
    permissions = next(d for name, d in documents.items() if "permissions" in name)
    resources = {json.dumps(s["actions"]): s["resources"] for s in permissions["statement"]}
    # Then logs go to this group only, the key is named, and the table ARN is exact
    assert resources['["logs:CreateLogStream", "logs:PutLogEvents"]'][0].endswith(".arn}:*")
    assert resources['["kms:Decrypt"]'] == [KEY_ARN]
    assert resources['["dynamodb:PutItem"]'] == [TABLE_ARN]
    assert only(out, "aws_iam_role")["name"] == "evpipe-dev-sample-role"


def test_vpc_placement_attaches_the_function_and_allows_eni_management(
    synth: SynthFn, source_dir: Path
) -> None:
    # Given a function placed in two private subnets
    vpc = VpcPlacement(subnet_ids=["subnet-a", "subnet-b"], security_group_ids=["sg-1"])
    out = synth(lambda stack: PythonFunction(
        stack, "sample", props=props(source_dir, vpc=vpc, no_vpc_reason=None)))  # fmt: skip
    # Then the function carries the VPC config and its role may manage its ENIs
    assert only(out, "aws_lambda_function")["vpc_config"] == {
        "subnet_ids": ["subnet-a", "subnet-b"],
        "security_group_ids": ["sg-1"],
    }
    assert "ec2:CreateNetworkInterface" in json.dumps(out["data"]["aws_iam_policy_document"])
    # And without replacement groups it stays on its own group until it is deleted
    assert "replace_security_groups_on_destroy" not in only(out, "aws_lambda_function")


def test_vpc_function_moves_to_the_replacement_groups_before_deletion(
    synth: SynthFn, source_dir: Path
) -> None:
    # Given a placement that names a group to leave to
    vpc = VpcPlacement(subnet_ids=["subnet-a"], security_group_ids=["sg-1"],
                       replacement_security_group_ids=["sg-default"])  # fmt: skip
    # When the function is synthesized
    out = synth(lambda stack: PythonFunction(
        stack, "sample", props=props(source_dir, vpc=vpc, no_vpc_reason=None)))  # fmt: skip
    # Then Lambda moves it there just before deleting it
    function = only(out, "aws_lambda_function")
    assert function["replace_security_groups_on_destroy"] is True
    assert function["replacement_security_group_ids"] == ["sg-default"]


def test_opt_outs_are_recorded_as_checkov_suppressions_with_reasons(
    synth_with_comments: SynthFn, source_dir: Path
) -> None:
    # Given a function without DLQ, VPC or reserved concurrency, and short log retention
    function_props = props(source_dir, no_dead_letter_reason="no DLQ here",
                           no_vpc_reason="no VPC here")  # fmt: skip
    out = synth_with_comments(lambda stack: PythonFunction(stack, "sample", props=function_props))
    # Then each opt-out is suppressed on the resource it concerns, with its reason
    function_skips = skipped_checks(only(out, "aws_lambda_function"))
    assert function_skips["CKV_AWS_116"] == "no DLQ here"
    assert function_skips["CKV_AWS_117"] == "no VPC here"
    assert "CKV_AWS_115" in function_skips
    assert "CKV_AWS_338" in skipped_checks(only(out, "aws_cloudwatch_log_group"))


def test_packaged_function_is_reproducible_and_skips_bytecode(source_dir: Path) -> None:
    # Given a package folder with stale bytecode
    # When it is packaged twice
    first = package_function(source_dir).read_bytes()
    archive = package_function(source_dir)
    # Then both archives are identical and hold sample/ with the sources only
    assert archive.read_bytes() == first
    with zipfile.ZipFile(archive) as zf:
        assert zf.namelist() == ["sample/__init__.py", "sample/handler.py"]
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_synthesized_archive_contains_the_package(tmp_path: Path, source_dir: Path) -> None:
    # Given an app synthesized to disk
    from cdktf import App, TerraformStack
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    app = App(outdir=str(tmp_path / "out"))
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="us-west-2")
    PythonFunction(stack, "sample", props=props(source_dir))
    app.synth()
    # When the function's archive is opened
    stack_dir = tmp_path / "out" / "stacks" / "test"
    function = only(json.loads((stack_dir / "cdk.tf.json").read_text()), "aws_lambda_function")
    with zipfile.ZipFile(stack_dir / function["filename"]) as archive:
        names = sorted(archive.namelist())
    # Then it holds exactly our package, ready for handler sample.handler.lambda_handler
    assert names == ["sample/__init__.py", "sample/handler.py"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"function_name": ""}, "function_name must be 1-64 characters"),
        ({"no_dead_letter_reason": None}, "set exactly one of dead_letter_queue_arn and no_dead"),
        ({"dead_letter_queue_arn": "arn:aws:sqs:::q"}, "set exactly one of dead_letter_queue_arn"),
        ({"no_vpc_reason": None}, "set exactly one of vpc and no_vpc_reason"),
        ({"reserved_concurrency": 0}, "reserved_concurrency must be at least 1, got 0"),
        (
            {"reserved_concurrency": 2, "provisioned_concurrency": 3},
            r"evpipe-dev-sample\.provisioned_concurrency \(3\) must not exceed "
            r"evpipe-dev-sample\.reserved_concurrency \(2\)",
        ),
        ({"provisioned_concurrency": 0}, "provisioned_concurrency must be"),
    ],
)
def test_invalid_props_fail_with_the_field_named(
    source_dir: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        props(source_dir, **overrides)


def test_source_dir_without_handler_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"has no handler\.py with lambda_handler"):
        props(tmp_path)


def test_function_publishes_versions_and_the_live_alias_follows_each_one(
    synth: SynthFn, source_dir: Path
) -> None:
    # Given a function with default rollout (Terraform moves the alias)
    out = synth(lambda stack: PythonFunction(stack, "sample", props=props(source_dir)))
    function = only(out, "aws_lambda_function")
    alias = only(out, "aws_lambda_alias")
    name = next(iter(out["resource"]["aws_lambda_function"]))
    # Then every apply publishes a version, and the `live` alias points at it
    assert function["publish"] is True
    assert alias["name"] == "live"
    assert alias["function_name"] == f"${{aws_lambda_function.{name}.function_name}}"
    assert alias["function_version"] == f"${{aws_lambda_function.{name}.version}}"
    assert "lifecycle" not in alias
    assert "aws_lambda_provisioned_concurrency_config" not in out["resource"]


def test_alias_moved_by_codedeploy_is_left_alone_by_terraform(
    synth: SynthFn, source_dir: Path
) -> None:
    # Given a function whose alias CodeDeploy shifts
    out = synth(
        lambda stack: PythonFunction(
            stack, "sample", props=props(source_dir, alias_moved_by_codedeploy=True)
        )
    )
    # Then Terraform ignores the alias's version and weights after creating it
    alias = only(out, "aws_lambda_alias")
    assert sorted(alias["lifecycle"]["ignore_changes"]) == ["function_version", "routing_config"]


def test_provisioned_concurrency_is_configured_on_the_alias(
    synth: SynthFn, source_dir: Path
) -> None:
    # Given a function with 5 reserved and 2 provisioned environments
    out = synth(
        lambda stack: PythonFunction(
            stack,
            "sample",
            props=props(source_dir, reserved_concurrency=5, provisioned_concurrency=2),
        )
    )
    # Then the provisioned concurrency config is on the `live` alias, not $LATEST
    config = only(out, "aws_lambda_provisioned_concurrency_config")
    alias_name = next(iter(out["resource"]["aws_lambda_alias"]))
    assert config["qualifier"] == f"${{aws_lambda_alias.{alias_name}.name}}"
    assert config["provisioned_concurrent_executions"] == 2
