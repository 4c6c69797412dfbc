from __future__ import annotations

import socket

import pytest

from config.deployment import ConfigError, DeploymentTarget


def test_defaults_target_real_aws_with_s3_state_for_every_environment() -> None:
    # Given an empty environment
    target = DeploymentTarget.from_environ({})
    # Then all environments synthesize against AWS with the S3 backend
    assert target.environments == ("dev", "staging", "prod")
    assert not target.is_emulator
    assert (target.state.kind, target.state.bucket, target.state.lock_table) == (
        "s3", "evpipe-terraform-state", None,
    )  # fmt: skip
    assert target.state.kms_key_alias == "alias/evpipe-state"
    assert target.state.state_key("pipeline-dev") == "pipeline-dev/terraform.tfstate"


def test_switches_select_environments_backend_and_names() -> None:
    # Given explicit switches
    environ = {
        "PIPELINE_ENVIRONMENTS": " dev , prod ",
        "PIPELINE_STATE_BACKEND": "local",
        "PIPELINE_PROJECT": "acme",
        "PIPELINE_STATE_BUCKET": "acme-state-123",
        "PIPELINE_REGION": "eu-central-1",
    }
    # When parsed
    target = DeploymentTarget.from_environ(environ)
    # Then each is honoured
    assert target.environments == ("dev", "prod")
    assert target.state.kind == "local"
    assert target.state.bucket == "acme-state-123"
    assert target.state.lock_table is None
    assert target.state.kms_key_alias == "alias/acme-state"
    assert target.region == target.state.region == "eu-central-1"


def test_unknown_environment_is_named() -> None:
    with pytest.raises(ConfigError, match="unknown environment\\(s\\) qa; expected a comma"):
        DeploymentTarget.from_environ({"PIPELINE_ENVIRONMENTS": "dev,qa"})


def test_unknown_backend_is_named() -> None:
    with pytest.raises(ConfigError, match="PIPELINE_STATE_BACKEND must be 's3' or 'local'"):
        DeploymentTarget.from_environ({"PIPELINE_STATE_BACKEND": "gcs"})


def test_malformed_endpoint_is_named() -> None:
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL 'localhost:4566' is not an http"):
        DeploymentTarget.from_environ({"AWS_ENDPOINT_URL": "localhost:4566"})


def test_unreachable_endpoint_is_reported_with_the_fix() -> None:
    # Given a loopback port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # When the endpoint is probed / Then the message names it and how to start the emulator
    with pytest.raises(
        ConfigError, match=f"http://127.0.0.1:{port} is unreachable .*make emulator"
    ):
        DeploymentTarget.from_environ({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"})


def test_reachable_endpoint_turns_on_emulator_mode() -> None:
    # Given a listening loopback socket
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        # When parsed
        target = DeploymentTarget.from_environ({"AWS_ENDPOINT_URL": url})
    # Then the target is the emulator
    assert target.is_emulator
    assert target.endpoint_url == url


def test_accounts_are_read_per_environment_and_the_bootstrap_pins_a_shared_one() -> None:
    # Given staging and prod in one account, dev unnamed
    environ = {
        "PIPELINE_ENVIRONMENTS": "staging,prod",
        "PIPELINE_ACCOUNT_ID_STAGING": "111111111111",
        "PIPELINE_ACCOUNT_ID_PROD": "111111111111",
    }
    target = DeploymentTarget.from_environ(environ)
    # Then each environment's account is known, and the bootstrap pins the one they share
    assert dict(target.account_ids) == {"staging": "111111111111", "prod": "111111111111"}
    assert target.bootstrap_account_id == "111111111111"


def test_the_bootstrap_pins_nothing_when_environments_differ_or_are_unnamed() -> None:
    split = DeploymentTarget.from_environ(
        {"PIPELINE_ACCOUNT_ID_STAGING": "111111111111", "PIPELINE_ACCOUNT_ID_PROD": "222222222222"}
    )
    assert split.bootstrap_account_id is None
    assert DeploymentTarget.from_environ({}).bootstrap_account_id is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PIPELINE_ENVIRONMENTS": "prod, prod"}, "PIPELINE_ENVIRONMENTS names prod more than"),
        ({"PIPELINE_ENVIRONMENTS": "dev,,prod"}, "PIPELINE_ENVIRONMENTS 'dev,,prod' has an empty"),
        ({"PIPELINE_STATE_BUCKET": "ab"}, "PIPELINE_STATE_BUCKET 'ab' is not a usable"),
        ({"PIPELINE_STATE_BUCKET": "my.state"}, "PIPELINE_STATE_BUCKET 'my.state' is not a"),
        ({"PIPELINE_STATE_BUCKET": "state-"}, "PIPELINE_STATE_BUCKET 'state-' is not a"),
        ({"PIPELINE_STATE_LOCK_TABLE": "ab"}, "PIPELINE_STATE_LOCK_TABLE 'ab' is not a DynamoDB"),
        ({"PIPELINE_ACCOUNT_ID_DEV": "12345678901x"}, "PIPELINE_ACCOUNT_ID_DEV must be a 12-digit"),
    ],
)
def test_bad_state_and_account_settings_name_the_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        DeploymentTarget.from_environ(environ)


def test_an_empty_lock_table_means_lock_files_only() -> None:
    assert DeploymentTarget.from_environ({"PIPELINE_STATE_LOCK_TABLE": ""}).state.lock_table is None
