from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from config.environments import SEED_TAGS, EnvironmentConfig, build_environments
from config.functions import FunctionSizes
from constructs_lib.specs import FunctionSettings, RolloutSettings, TableSettings


def dev(**overrides: Any) -> EnvironmentConfig:
    return replace(build_environments()["dev"], **overrides)


def test_profiles_grow_stricter_from_dev_to_prod() -> None:
    # Given the three shipped profiles
    envs = build_environments()
    # Then only dev may be force-destroyed, and everything else is deletion-protected
    assert list(envs) == ["dev", "staging", "prod"]
    assert [envs[n].force_destroy for n in envs] == [True, False, False]
    assert [envs[n].deletion_protection for n in envs] == [False, True, True]
    # And retention and sizing grow with the environment
    retention = [envs[n].log_retention_days for n in envs]
    memory = [envs[n].functions.processor.memory_mb for n in envs]
    assert retention == sorted(retention)
    assert memory == sorted(memory)
    assert envs["prod"].table.billing_mode == "PROVISIONED"
    # And prod's day takes 16 partition keys of writes, dev keeps the unsharded key
    assert [envs[n].record_write_shards for n in envs] == [1, 4, 16]


def test_names_and_tags_derive_from_project_and_environment() -> None:
    # Given a custom project and region
    staging = build_environments(region="eu-west-1", project="acme-ingest")["staging"]
    # Then the prefix and tags follow them
    assert staging.name_prefix == "acme-ingest-staging"
    assert staging.region == "eu-west-1"
    # And the production seed's team-number tag rides along (its "project" is our Project)
    assert staging.tags == {
        "Environment": "staging", "Project": "acme-ingest", "Owner": "platform-team",
        "ManagedBy": "cdktf", "team-number": "2",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "qa"}, "name must be one of 'dev', 'staging', 'prod', got 'qa'"),
        ({"region": "us-west"}, "region 'us-west' is not an AWS region name"),
        ({"project": "Bad_Name"}, "project 'Bad_Name' must be 3-16 lowercase"),
        ({"account_id": "1234"}, "account_id must be 12 digits, got '1234'"),
        ({"log_retention_days": 10}, "log_retention_days 10 is not a CloudWatch Logs retention"),
        ({"record_ttl_days": -1}, "record_ttl_days must be an integer from 0 to 3650, got -1"),
        (
            {"record_write_shards": 0},
            "record_write_shards must be an integer from 1 to 40, got 0",
        ),
        (
            {"record_write_shards": 41},
            "record_write_shards must be an integer from 1 to 40, got 41",
        ),
        (
            {"record_write_shards": True},
            "record_write_shards must be an integer from 1 to 40, got True",
        ),
        ({"noncurrent_version_expiration_days": 0}, "noncurrent_version_expiration_days must be"),
        (
            {
                "functions": FunctionSizes(
                    processor=FunctionSettings(memory_mb=64, timeout_seconds=30)
                )
            },
            "functions.processor.memory_mb must be an integer from 128 to 10240, got 64",
        ),
        (
            {
                "functions": FunctionSizes(
                    processor=FunctionSettings(memory_mb=256, timeout_seconds=901)
                )
            },
            "functions.processor.timeout_seconds must be an integer from 1 to 900, got 901",
        ),
        (
            {
                "functions": FunctionSizes(
                    processor=FunctionSettings(
                        memory_mb=256, timeout_seconds=3, reserved_concurrency=0
                    )
                )
            },
            "functions.processor.reserved_concurrency must be an integer from 1 to 1000, got 0",
        ),
        ({"log_level": "TRACE"}, "log_level must be one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'"),
        (
            {"key_deletion_window_days": 3},
            "key_deletion_window_days must be an integer from 7 to 30",
        ),
        (
            {
                "functions": FunctionSizes(
                    processor=FunctionSettings(memory_mb=256, timeout_seconds=30),
                    api=FunctionSettings(memory_mb=256, timeout_seconds=30),
                )
            },
            "functions.api.timeout_seconds must be at most 29",
        ),
        (
            {
                "functions": FunctionSizes(
                    processor=FunctionSettings(
                        memory_mb=256,
                        timeout_seconds=30,
                        reserved_concurrency=10,
                        provisioned_concurrency=20,
                    )
                )
            },
            r"functions\.processor\.provisioned_concurrency \(20\) must not exceed "
            r"functions\.processor\.reserved_concurrency \(10\)",
        ),
        (
            {"rollout": RolloutSettings(gradual=True, rollback_on_error_alarm=False)},
            "rollout.rollback_on_error_alarm must stay on when gradual is on",
        ),
        (
            {"table": TableSettings(billing_mode="PROVISIONED")},
            "table.read_capacity is required when billing_mode is PROVISIONED",
        ),
        (
            {"table": TableSettings(read_capacity=5)},
            "table.read_capacity must be unset when billing_mode is PAY_PER_REQUEST",
        ),
        (
            {"table": TableSettings(index_read_capacity=5)},
            "table.index_read_capacity must be unset when billing_mode is PAY_PER_REQUEST",
        ),
        (
            {
                "table": TableSettings(
                    billing_mode="PROVISIONED",
                    read_capacity=5,
                    write_capacity=5,
                    index_read_capacity=0,
                )
            },
            "table.index_read_capacity must be an integer from 1 to 40000, got 0",
        ),
        (
            {
                "table": TableSettings(
                    billing_mode="PROVISIONED",
                    read_capacity=5,
                    write_capacity=20,
                    index_write_capacity=10,
                )
            },
            r"table.index_write_capacity \(10\) must be at least table.write_capacity \(20\)",
        ),
        (
            {"table": TableSettings(billing_mode="ONDEMAND")},  # type: ignore[arg-type]
            "table.billing_mode must be one of 'PAY_PER_REQUEST', 'PROVISIONED', got 'ONDEMAND'",
        ),
    ],
)
def test_invalid_settings_fail_at_synth_time_naming_the_field(
    overrides: dict[str, Any], message: str
) -> None:
    # Given a dev profile with one bad value / When it is built / Then the field is named
    with pytest.raises(ValueError, match=message):
        dev(**overrides)


def test_force_destroy_is_refused_outside_dev() -> None:
    with pytest.raises(ValueError, match="force_destroy is only allowed in dev, not in staging"):
        replace(build_environments()["staging"], force_destroy=True)


def test_deletion_protection_cannot_be_turned_off_outside_dev() -> None:
    with pytest.raises(ValueError, match="deletion_protection must stay on in prod"):
        replace(build_environments()["prod"], deletion_protection=False)


def test_every_per_environment_choice_is_a_field() -> None:
    # Given the shipped profiles
    envs = build_environments()
    # Then dev's debug logging and short key deletion window are its own settings
    assert (envs["dev"].log_level, envs["dev"].key_deletion_window_days) == ("DEBUG", 7)
    assert {envs[n].log_level for n in ("staging", "prod")} == {"INFO"}
    assert {envs[n].key_deletion_window_days for n in ("staging", "prod")} == {30}
    # And every function is sized in one place
    assert envs["prod"].functions.api.reserved_concurrency == 500
    assert envs["prod"].functions.maintenance.reserved_concurrency == 1


def test_environment_tags_merge_into_every_resource_tag_set() -> None:
    # Given prod with a cost-centre tag added to the seed's
    prod = replace(
        build_environments()["prod"], extra_tags={**SEED_TAGS, "cost-centre": "ingest 42"}
    )
    # Then default_tags carry them beside the built-in tags, which they cannot replace
    assert prod.tags == {
        "team-number": "2", "cost-centre": "ingest 42", "Environment": "prod",
        "Project": "evpipe", "Owner": "platform-team", "ManagedBy": "cdktf",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({"": "x"}, "extra_tags key '' must be 1-128 characters"),
        ({"k" * 129: "x"}, "must be 1-128 characters"),
        ({"team": "v" * 257}, "extra_tags['team'] must be text of at most 256 characters"),
        ({"team": 2}, "extra_tags['team'] must be text of at most 256 characters, got 2"),
        ({"team#": "2"}, "extra_tags key 'team#' may hold only letters, digits, spaces and"),
        ({"team": "a\nb"}, "extra_tags value 'a\\nb' may hold only letters"),
        ({"aws:team": "2"}, "extra_tags key 'aws:team' starts with 'aws:', which AWS reserves"),
        ({"project": "seed"}, "extra_tags key 'project' collides with 'Project': AWS (IAM)"),
        ({"Team": "1", "team": "2"}, "extra_tags key 'team' collides with 'Team'"),
        ({"name": "x"}, "extra_tags key 'name' collides with 'Name'"),
        ({f"k{n}": "v" for n in range(45)}, "extra_tags has 45 tags; at most 44 fit"),
        ("team-number=2", "extra_tags must map tag keys to values"),
    ],
)
def test_bad_environment_tags_fail_naming_the_tag(tags: Any, message: str) -> None:
    # Given a dev profile whose extra tags break one of AWS's tag rules
    # When it is built / Then the error names the tag and the rule
    with pytest.raises(ValueError, match=re.escape(message)):
        dev(extra_tags=tags)


def test_access_logs_expire_after_ninety_days_everywhere() -> None:
    # Given the shipped profiles / Then current access-log objects expire as in seed 002
    assert {env.access_log_expiration_days for env in build_environments().values()} == {90}
    # And a day count outside S3's whole days fails naming the field
    with pytest.raises(ValueError, match="access_log_expiration_days must be an integer from 1"):
        dev(access_log_expiration_days=0)


def test_reservations_leave_the_unreserved_minimum_of_the_account() -> None:
    # Given prod's API function reserving 850 beside the processor's 100 and maintenance's 1
    prod = build_environments()["prod"]
    api = replace(prod.functions.api, reserved_concurrency=850)
    # When the profile is built / Then Lambda's 100 unreserved executions are defended
    with pytest.raises(
        ValueError,
        match=r"^functions reserve 951 concurrent executions \(processor 100, api 850, "
        r"maintenance 1\); Lambda lets an account of 1,000 reserve at most 900, keeping 100 "
        r"unreserved$",
    ):
        replace(prod, functions=replace(prod.functions, api=api))
