"""Issue 13, finding 9: a locked AWS Backup copy of prod's table and ingest bucket."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import cdktf
import pytest

from config.backup import BackupSettings
from config.deployment import DeploymentTarget
from config.environments import build_environments
from constructs_lib.base.backup_plan import LockedBackupProps
from stacks.pipeline_stack import PipelineStack

ENVIRONMENTS = build_environments()
Stacks = dict[str, dict[str, Any]]


def only(stack: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    ((name, body),) = stack["resource"][resource_type].items()
    return name, body


def test_prod_backs_up_the_table_and_the_bucket_into_a_locked_vault(
    synthesized_stacks: Stacks,
) -> None:
    # Given prod and its backup settings
    stack = synthesized_stacks["pipeline-prod"]
    settings = ENVIRONMENTS["prod"].backup
    # Then a vault with a key of its own holds the copies, under a compliance lock
    vault_name, vault = only(stack, "aws_backup_vault")
    assert vault["kms_key_arn"].startswith("${aws_kms_key.backup_key_")
    assert vault["lifecycle"] == {"prevent_destroy": True}
    _, lock = only(stack, "aws_backup_vault_lock_configuration")
    assert lock["backup_vault_name"] == f"${{aws_backup_vault.{vault_name}.name}}"
    assert lock["min_retention_days"] == settings.retention_days == 35
    assert lock["changeable_for_days"] == settings.lock_grace_days
    # And the daily rule keeps each copy for the configured retention
    _, plan = only(stack, "aws_backup_plan")
    (rule,) = plan["rule"]
    assert rule["lifecycle"]["delete_after"] == settings.retention_days
    assert rule["schedule"] == settings.schedule_expression
    # And the selection is the records table and the ingest bucket
    _, selection = only(stack, "aws_backup_selection")
    table, _ = next(
        (n, b) for n, b in stack["resource"]["aws_dynamodb_table"].items() if "records" in n
    )
    bucket = next(n for n in stack["resource"]["aws_s3_bucket"] if n.startswith("ingest_bucket"))
    assert selection["resources"] == [
        f"${{aws_dynamodb_table.{table}.arn}}",
        f"${{aws_s3_bucket.{bucket}.arn}}",
    ]


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_environments_whose_config_says_no_have_no_backup(
    synthesized_stacks: Stacks, env: str
) -> None:
    assert not ENVIRONMENTS[env].backup.enabled
    assert "aws_backup_plan" not in synthesized_stacks[f"pipeline-{env}"]["resource"]


def test_staging_gets_backups_when_its_config_asks() -> None:
    # Given staging with backups turned on and a shorter retention
    config = replace(
        ENVIRONMENTS["staging"], backup=BackupSettings(enabled=True, retention_days=14)
    )
    target = DeploymentTarget.from_environ({"PIPELINE_ENVIRONMENTS": "staging"}, probe=False)
    stack = PipelineStack(cdktf.Testing.app(), "pipeline-staging", config=config, target=target)
    # When synthesized
    out = json.loads(cdktf.Testing.synth(stack))
    # Then the plan keeps copies for that retention
    (plan,) = out["resource"]["aws_backup_plan"].values()
    assert plan["rule"][0]["lifecycle"]["delete_after"] == 14


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (BackupSettings(retention_days=0), "backup.retention_days must be an integer from 1"),
        (
            BackupSettings(retention_days=40, max_retention_days=30),
            r"backup.max_retention_days \(30\) must be at least backup.retention_days \(40\)",
        ),
        (BackupSettings(lock_grace_days=1), "backup.lock_grace_days must be an integer from 3"),
        (BackupSettings(schedule_expression="daily"), "backup.schedule_expression"),
    ],
)
def test_bad_backup_settings_name_the_field(settings: BackupSettings, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(ENVIRONMENTS["prod"], backup=settings)


def test_backup_props_need_something_to_back_up() -> None:
    with pytest.raises(ValueError, match="resources must name at least one resource"):
        LockedBackupProps(
            name_prefix="p",
            region="us-west-2",
            resources=[],
            retention_days=1,
            schedule_expression="cron(0 5 * * ? *)",
            lock_grace_days=3,
            max_retention_days=1,
        )
