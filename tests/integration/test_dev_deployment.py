"""What dev deployed on the local cloud, read back through the AWS APIs: the settings the
retired emulator tests checked, now on the session's one deployment (see conftest.py).

The pipeline's behaviour (delivery, the workflow, the API over HTTP, failures, the schedule)
is in test_pipeline_runs.py; these are the configuration facts behind it.
"""

from __future__ import annotations

import json

from config.environments import build_environments
from constructs_lib.base.python_function import LIVE_ALIAS
from tools.local_stack import LocalDeployment

DEV = build_environments()["dev"]


def test_deployed_resources_keep_their_security_settings(dev: LocalDeployment) -> None:
    # Given dev deployed to the emulator
    s3, dynamodb, lam = dev.client("s3"), dev.client("dynamodb"), dev.client("lambda")
    bucket = dev.outputs["ingest_bucket_name"]
    # Then the bucket is versioned, KMS-encrypted, private and logs its access
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    # (The TLS-only policy is left out on moto, which cannot evaluate aws:SecureTransport;
    # tests/unit/constructs_lib/test_secure_bucket.py asserts it in every real synth.)
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]["TargetBucket"].startswith(
        "evpipe-dev-access-logs"
    )
    # And the table has its composite key, streams, TTL and point-in-time recovery
    table = dynamodb.describe_table(TableName=dev.outputs["records_table_name"])["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]] == [
        ("pk", "HASH"),
        ("sk", "RANGE"),
    ]
    # And GSI1 lists one object key's records across days, whole records projected
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "GSI1"
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        ("gsi1pk", "HASH"),
        ("gsi1sk", "RANGE"),
    ]
    assert index["Projection"]["ProjectionType"] == "ALL"
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ttl = dynamodb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"
    backups = dynamodb.describe_continuous_backups(TableName=table["TableName"])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    # And the function is arm64 python3.12 with active tracing
    config = lam.get_function_configuration(FunctionName=dev.outputs["processor_function_name"])
    assert (config["Runtime"], config["Architectures"]) == ("python3.12", ["arm64"])
    assert config["TracingConfig"]["Mode"] == "Active"
    # And the bucket hands its events to EventBridge only (dev's ingest path is "workflow"):
    # no notification targets the processor directly, so no object is processed twice
    notification = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert "EventBridgeConfiguration" in notification
    assert not notification.get("LambdaFunctionConfigurations")
    assert not notification.get("QueueConfigurations")


def test_rest_api_is_deployed_with_auth_validation_logging_and_throttling(
    dev: LocalDeployment,
) -> None:
    # Given dev deployed to the emulator
    gateway = dev.client("apigateway")
    api_id = dev.outputs["rest_api_id"]
    # Then the API is regional and has the records and seed 001 routes plus their preflights
    assert gateway.get_rest_api(restApiId=api_id)["endpointConfiguration"]["types"] == ["REGIONAL"]
    resources = {r["path"]: r for r in gateway.get_resources(restApiId=api_id)["items"]}
    assert set(resources) == {"/", "/records", "/records/{id}", "/process"}
    assert set(resources["/records"]["resourceMethods"]) == {"GET", "POST", "OPTIONS"}
    assert set(resources["/process"]["resourceMethods"]) == {"GET", "POST", "OPTIONS"}
    assert set(resources["/records/{id}"]["resourceMethods"]) == {"GET", "OPTIONS"}
    validators = {
        v["id"]: v["name"] for v in gateway.get_request_validators(restApiId=api_id)["items"]
    }
    for path, resource in resources.items():
        for verb in resource.get("resourceMethods") or {}:
            method = gateway.get_method(
                restApiId=api_id, resourceId=resource["id"], httpMethod=verb
            )
            # And every route but the preflight needs dev's API key and is validated; the
            # preflight is answered by API Gateway itself (MOCK), never by the function
            assert method["authorizationType"] == "NONE"
            if verb == "OPTIONS":
                assert method["apiKeyRequired"] is False, path
                assert method["methodIntegration"]["type"] == "MOCK", path
                continue
            assert method["apiKeyRequired"] is True, f"{verb} {path}"
            assert method["methodIntegration"]["type"] == "AWS_PROXY"
            expected = "body-and-parameters" if verb == "POST" else "parameters"
            assert validators[method["requestValidatorId"]] == expected
    # And the stage is traced, logs JSON and throttles every method
    stage = gateway.get_stage(restApiId=api_id, stageName="dev")
    assert stage["tracingEnabled"] is True
    assert stage["accessLogSettings"]["destinationArn"].endswith(
        ":log-group:/aws/apigateway/evpipe-dev-rest-api/dev/access"
    )
    assert "requestId" in json.loads(stage["accessLogSettings"]["format"])
    settings = stage["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (
        DEV.api.throttle.rate_limit,
        DEV.api.throttle.burst_limit,
    )
    assert (settings["metricsEnabled"], settings["loggingLevel"]) == (True, "ERROR")
    # And the output key is metered by the usage plan on this stage
    plan = next(
        p for p in gateway.get_usage_plans()["items"] if p["name"] == "evpipe-dev-rest-api-default"
    )
    assert plan["apiStages"] == [{"apiId": api_id, "stage": "dev"}]
    assert plan["quota"] == {"limit": DEV.api.quota.limit, "period": DEV.api.quota.period}
    keys = gateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [key["id"] for key in keys] == [dev.outputs["rest_api_key_id"]]
    # And API Gateway may write logs through the account's role, which the bootstrap owns
    assert gateway.get_account()["cloudwatchRoleArn"].endswith(":role/evpipe-apigateway-cloudwatch")
    logs = dev.client("logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in logs["logGroups"]}
    assert retention["/aws/apigateway/evpipe-dev-rest-api/dev/access"] == DEV.log_retention_days


def test_http_api_is_deployed_with_cors_iam_and_throttling(dev: LocalDeployment) -> None:
    # Given dev deployed to the emulator
    gateway = dev.client("apigatewayv2")
    api_id = dev.outputs["http_api_id"]
    # Then CORS allows exactly the configured origins
    api = gateway.get_api(ApiId=api_id)
    assert sorted(api["CorsConfiguration"]["AllowOrigins"]) == sorted(DEV.api.cors_allowed_origins)
    # And every route, seed 002's $default catch-all included, needs SigV4 and targets the
    # Lambda proxy integration
    routes = {r["RouteKey"]: r for r in gateway.get_routes(ApiId=api_id)["Items"]}
    assert set(routes) == {
        "GET /records",
        "POST /records",
        "GET /records/{id}",
        "GET /process",
        "POST /process",
        "$default",
    }
    assert {r["AuthorizationType"] for r in routes.values()} == {"AWS_IAM"}
    integration_id = routes["POST /records"]["Target"].removeprefix("integrations/")
    integration = gateway.get_integration(ApiId=api_id, IntegrationId=integration_id)
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == (
        "AWS_PROXY",
        "2.0",
    )
    # And the auto-deployed $default stage logs and throttles
    stage = gateway.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AutoDeploy"] is True
    assert stage["AccessLogSettings"]["DestinationArn"].endswith(
        ":log-group:/aws/apigateway/evpipe-dev-http-api/access"
    )
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == DEV.api.throttle.burst_limit


def test_function_may_be_invoked_only_from_the_deployed_routes(dev: LocalDeployment) -> None:
    # Given the resource policy of the API function's `live` alias, which the routes invoke
    policy = json.loads(
        dev.client("lambda").get_policy(
            FunctionName=dev.outputs["api_function_name"], Qualifier=LIVE_ALIAS
        )["Policy"]
    )
    sources = sorted(
        statement["Condition"]["ArnLike"]["AWS:SourceArn"] for statement in policy["Statement"]
    )
    rest, http = dev.outputs["rest_api_id"], dev.outputs["http_api_id"]
    # Then each statement names one API, its stage, one method and one path (or the HTTP
    # API's $default route), never */*, and no preflight reaches the function
    expected = [
        f"{rest}/dev/GET/records",
        f"{rest}/dev/POST/records",
        f"{rest}/dev/GET/records/*",
        f"{rest}/dev/GET/process",
        f"{rest}/dev/POST/process",
        f"{http}/$default/GET/records",
        f"{http}/$default/POST/records",
        f"{http}/$default/GET/records/*",
        f"{http}/$default/GET/process",
        f"{http}/$default/POST/process",
        f"{http}/$default/$default",
    ]
    assert sorted(source.split(":")[-1] for source in sources) == sorted(expected)
    assert all(source.startswith("arn:aws:execute-api:") for source in sources)


def test_failure_handling_matches_the_dev_profile(dev: LocalDeployment) -> None:
    # Given dev deployed
    function_name = dev.outputs["processor_function_name"]
    # When the processor's async config and the failure queue are read back
    config = dev.client("lambda").get_function_event_invoke_config(
        FunctionName=function_name, Qualifier=LIVE_ALIAS
    )
    attributes = dev.client("sqs").get_queue_attributes(
        QueueUrl=dev.outputs["dlq_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    # Then retries and event age follow the dev profile and failures go to the failure queue
    assert config["MaximumRetryAttempts"] == DEV.operations.async_retry_attempts == 0
    assert config["MaximumEventAgeInSeconds"] == DEV.operations.max_event_age_seconds
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == dev.outputs["dlq_queue_arn"]
    # And the queue is KMS-encrypted with the stack key, keeps messages 14 days, refuses HTTP
    assert attributes["KmsMasterKeyId"] == dev.outputs["kms_key_arn"]
    assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600)
    policy = json.loads(attributes["Policy"])
    deny = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_workflow_is_deployed_and_started_by_the_buckets_events(dev: LocalDeployment) -> None:
    # Given dev deployed (its ingest path is "workflow")
    machine_arn = dev.outputs["state_machine_arn"]
    # Then the state machine exists, as a Standard workflow
    machine = dev.client("stepfunctions").describe_state_machine(stateMachineArn=machine_arn)
    assert machine["type"] == "STANDARD"
    # And one rule targets it, for objects created under the ingest prefix of the bucket
    events = dev.client("events")
    rule_name = dev.outputs["workflow_trigger_rule_arn"].rsplit("/", 1)[-1]
    pattern = json.loads(events.describe_rule(Name=rule_name)["EventPattern"])
    assert pattern["detail"]["bucket"]["name"] == [dev.outputs["ingest_bucket_name"]]
    assert pattern["detail"]["object"]["key"] == [{"prefix": dev.outputs["ingest_object_prefix"]}]
    (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert target["Arn"] == machine_arn
    # And what it cannot start goes to its dead-letter queue
    queue_arn = dev.client("sqs").get_queue_attributes(
        QueueUrl=dev.outputs["workflow_trigger_dlq_queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert target["DeadLetterConfig"]["Arn"] == queue_arn


def test_the_environment_state_lives_in_the_clouds_state_bucket(dev: LocalDeployment) -> None:
    # Given dev deployed with its S3 backend inside the local cloud
    document = json.loads((dev.workspace.stack_dir / "cdk.tf.json").read_text())
    backend = document["terraform"]["backend"]["s3"]
    # When the state object is read from the emulated bucket
    body = dev.client("s3").get_object(Bucket=backend["bucket"], Key=backend["key"])["Body"]
    state = json.loads(body.read())
    # Then it holds dev's resources, and only dev's
    names = {
        instance["attributes"].get("function_name")
        for resource in state["resources"]
        if resource["type"] == "aws_lambda_function"
        for instance in resource["instances"]
    }
    assert names
    assert all(name.startswith("evpipe-dev-") for name in names)
