"""The local gateway against a real moto server, driven with a real HTTP client.

A REST API and an HTTP API are created on moto with boto3, shaped as our constructs build
them (API key + usage plan, request validator and model, OPTIONS proxied to the function on
REST; CORS configuration and payload 2.0 on the HTTP API), in front of one Lambda function
that writes every event it receives to a folder. The gateway reads them back from moto and
serves them on 127.0.0.1; the assertions are on HTTP responses and on what the function
recorded.

moto runs Lambda code only in Docker. TODO(localcloud): use LocalCloud and its executor
(branch ``cloud``, tools/localcloud/executor.py) instead of the temporary in-process invoker
below, which replaces moto's one seam (``LambdaFunction._invoke_lambda``) for this module only.
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import os
import socket
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest

from tools.localcloud.gateway import Gateway, ServedApi

pytestmark = pytest.mark.integration

REGION = "us-west-2"
STAGE = "dev"
ALLOWED_ORIGIN = "http://localhost:3000"
DENIED_ORIGIN = "https://evil.example.com"
RECORD_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["bucket", "key", "size"],
    "properties": {"size": {"type": "integer", "minimum": 0}},
}
MOCK_CORS = {
    "Access-Control-Allow-Origin": ALLOWED_ORIGIN,
    "Access-Control-Allow-Methods": "GET,OPTIONS",
}
VALID_RECORD = {"bucket": "evpipe-dev-ingest", "key": "manual/a.pdf", "size": 2048}
# The function: records each event, then answers like the records API (or misbehaves on cue).
FUNCTION_SOURCE = """
import json, os, pathlib, uuid

def handler(event, context):
    folder = pathlib.Path(os.environ["RECORD_DIR"])
    (folder / f"{uuid.uuid4().hex}.json").write_text(json.dumps(event))
    method = event.get("httpMethod") or event["requestContext"]["http"]["method"]
    path = event.get("path") or event.get("rawPath")
    if path.endswith("/malformed"):
        return {"statusCode": 200, "body": {"not": "a string"}}
    if path.endswith("/plain"):
        return {"id": "plain"}
    if method == "OPTIONS":
        return {"statusCode": 204, "headers": {"Access-Control-Allow-Origin": "__ORIGIN__"}}
    status = 201 if method == "POST" else 200
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": json.dumps({"method": method, "path": path}),
    }
""".replace("__ORIGIN__", ALLOWED_ORIGIN)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Deployed:
    rest: ServedApi
    http: ServedApi
    api_key: str
    api_key_id: str
    recorded: Path

    def events(self) -> list[dict[str, Any]]:
        files = sorted(self.recorded.glob("*.json"), key=lambda path: path.stat().st_mtime_ns)
        return [json.loads(path.read_text()) for path in files]

    def forget(self) -> None:
        for path in self.recorded.glob("*.json"):
            path.unlink()


def call(
    method: str, url: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
) -> Response:
    """One HTTP request with urllib; error statuses are returned, not raised."""
    # Every URL here is the gateway's http://127.0.0.1:<port>.
    request = urllib.request.Request(  # noqa: S310
        url, data=body, method=method, headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback URL
            return Response(answer.status, dict(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers.items()), error.read())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_in_process(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """TEMPORARY stand-in for moto's Docker runner (TODO(localcloud): use the executor).

    Runs the function's handler from its deployed zip in this process, with its environment.
    """
    folder = Path(os.environ["GATEWAY_TEST_CODE_DIR"]) / self.function_name
    if not folder.exists():
        zipfile.ZipFile(io.BytesIO(self.code_bytes)).extractall(folder)
    module_name, _, function_name = self.handler.rpartition(".")
    spec = importlib.util.spec_from_file_location(
        f"gateway_test_{uuid.uuid4().hex}", folder / f"{module_name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with mock.patch.dict(os.environ, self.environment_vars):
        try:
            result = getattr(module, function_name)(event, None)
        except Exception as error:
            return (
                json.dumps({"errorMessage": str(error), "errorType": type(error).__name__}),
                True,
                "",
            )
    return json.dumps(result), False, ""


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from moto.awslambda.models import LambdaFunction
    from moto.server import ThreadedMotoServer

    code_dir = tmp_path_factory.mktemp("function-code")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    with (
        mock.patch.object(LambdaFunction, "_invoke_lambda", _run_in_process),
        mock.patch.dict(os.environ, {"GATEWAY_TEST_CODE_DIR": str(code_dir)}),
    ):
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _function(endpoint: str, recorded: Path, name: str) -> str:
    iam = _client("iam", endpoint)
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", FUNCTION_SOURCE)
    created = _client("lambda", endpoint).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
        Environment={"Variables": {"RECORD_DIR": str(recorded)}},
    )
    arn: str = created["FunctionArn"]
    return arn


def _invoke_uri(function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def _allow_api_gateway(endpoint: str, function_arn: str, source_arn: str) -> None:
    """The aws_lambda_permission the constructs create for each route."""
    _client("lambda", endpoint).add_permission(
        FunctionName=function_arn,
        StatementId=f"gateway-test-{uuid.uuid4().hex[:8]}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source_arn,
    )


def _execute_api_arn(function_arn: str, api_id: str, rest: str) -> str:
    account = function_arn.split(":")[4]
    return f"arn:aws:execute-api:{REGION}:{account}:{api_id}/{rest}"


def _rest_api(endpoint: str, function_arn: str, unpermitted_arn: str) -> tuple[str, str]:
    """A REST API built like constructs_lib/patterns/rest_api.py; returns the key value and id."""
    client = _client("apigateway", endpoint)
    api_id = client.create_rest_api(name="gateway-test-rest")["id"]
    root = next(r for r in client.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    body_validator = client.create_request_validator(
        restApiId=api_id, name="body", validateRequestBody=True, validateRequestParameters=True
    )["id"]
    parameters_validator = client.create_request_validator(
        restApiId=api_id, name="parameters", validateRequestParameters=True
    )["id"]
    client.create_model(
        restApiId=api_id,
        name="RecordInput",
        contentType="application/json",
        schema=json.dumps(RECORD_SCHEMA),
    )
    records = client.create_resource(restApiId=api_id, parentId=root["id"], pathPart="records")
    item = client.create_resource(restApiId=api_id, parentId=records["id"], pathPart="{id}")
    malformed = client.create_resource(restApiId=api_id, parentId=root["id"], pathPart="malformed")
    unpermitted = client.create_resource(
        restApiId=api_id, parentId=root["id"], pathPart="unpermitted"
    )
    methods = [
        (records["id"], "POST", True, body_validator, {"application/json": "RecordInput"}),
        (records["id"], "GET", True, parameters_validator, None),
        (records["id"], "OPTIONS", False, parameters_validator, None),
        (item["id"], "GET", True, parameters_validator, None),
        (malformed["id"], "GET", False, parameters_validator, None),
        (unpermitted["id"], "GET", False, parameters_validator, None),
    ]
    for resource_id, http_method, key_required, validator, models in methods:
        client.put_method(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            authorizationType="NONE",
            apiKeyRequired=key_required,
            requestValidatorId=validator,
            **({"requestModels": models} if models else {}),
        )
        client.put_integration(
            restApiId=api_id,
            resourceId=resource_id,
            httpMethod=http_method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=_invoke_uri(unpermitted_arn if resource_id == unpermitted["id"] else function_arn),
        )
    # The other common preflight: a MOCK integration with static CORS headers.
    client.put_method(
        restApiId=api_id, resourceId=item["id"], httpMethod="OPTIONS", authorizationType="NONE"
    )
    client.put_integration(
        restApiId=api_id,
        resourceId=item["id"],
        httpMethod="OPTIONS",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    client.put_method_response(
        restApiId=api_id,
        resourceId=item["id"],
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={f"method.response.header.{name}": False for name in MOCK_CORS},
    )
    client.put_integration_response(
        restApiId=api_id,
        resourceId=item["id"],
        httpMethod="OPTIONS",
        statusCode="200",
        responseParameters={
            f"method.response.header.{name}": f"'{value}'" for name, value in MOCK_CORS.items()
        },
        responseTemplates={"application/json": ""},
    )
    client.create_deployment(restApiId=api_id, stageName=STAGE)
    _allow_api_gateway(endpoint, function_arn, _execute_api_arn(function_arn, api_id, f"{STAGE}/*"))
    key = client.create_api_key(name="gateway-test-default", enabled=True)
    plan = client.create_usage_plan(
        name="gateway-test-default", apiStages=[{"apiId": api_id, "stage": STAGE}]
    )
    client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    # A key in no usage plan of this stage must not open it.
    client.create_api_key(name="gateway-test-stray", enabled=True, value="stray-key-value-0123")
    return key["value"], key["id"]


def _http_api(endpoint: str, function_arn: str) -> None:
    """An HTTP API built like constructs_lib/patterns/http_api.py, with public routes."""
    client = _client("apigatewayv2", endpoint)
    api_id = client.create_api(
        Name="gateway-test-http",
        ProtocolType="HTTP",
        CorsConfiguration={
            "AllowOrigins": [ALLOWED_ORIGIN],
            "AllowMethods": ["GET", "OPTIONS", "POST"],
            "AllowHeaders": ["content-type", "authorization"],
            "MaxAge": 300,
        },
    )["ApiId"]
    integration = client.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationMethod="POST",
        IntegrationUri=_invoke_uri(function_arn),
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    for key, authorization in [
        ("GET /records", "NONE"),
        ("POST /records", "NONE"),
        ("GET /records/{id}", "NONE"),
        ("GET /plain", "NONE"),
        ("GET /signed", "AWS_IAM"),
    ]:
        client.create_route(
            ApiId=api_id,
            RouteKey=key,
            Target=f"integrations/{integration}",
            AuthorizationType=authorization,
        )
    client.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    _allow_api_gateway(endpoint, function_arn, _execute_api_arn(function_arn, api_id, "*/*"))


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    recorded = tmp_path_factory.mktemp("recorded-events")
    function_arn = _function(moto_endpoint, recorded, "gateway-test-api")
    # A function API Gateway was never given permission to invoke.
    unpermitted_arn = _function(moto_endpoint, recorded, "gateway-test-unpermitted")
    key_value, key_id = _rest_api(moto_endpoint, function_arn, unpermitted_arn)
    _http_api(moto_endpoint, function_arn)
    gateway = Gateway(moto_endpoint, REGION)
    served = {api.kind: api for api in gateway.start()}
    try:
        yield Deployed(served["rest"], served["http"], key_value, key_id, recorded)
    finally:
        gateway.stop()


@pytest.fixture
def app(deployed: Deployed) -> Deployed:
    deployed.forget()
    return deployed


def test_serves_each_api_on_loopback(app: Deployed) -> None:
    # Given the two APIs deployed on moto (fixture)
    # When the gateway serves them
    # Then the REST stage is under /dev and the HTTP API's $default stage at the root
    assert app.rest.url.startswith("http://127.0.0.1:")
    assert app.rest.url.endswith(f"/{STAGE}")
    assert app.http.url.count("/") == 2
    assert app.rest.api_key == app.api_key
    assert "POST /records" in app.rest.routes


def test_rest_post_reaches_the_function_with_a_payload_1_0_event(app: Deployed) -> None:
    # Given a valid record and the stage's API key
    body = json.dumps(VALID_RECORD).encode()
    # When it is POSTed to the REST API
    response = call(
        "POST",
        f"{app.rest.url}/records?source=curl",
        headers={"x-api-key": app.api_key, "Content-Type": "application/json"},
        body=body,
    )
    # Then the function's 201 comes back, and it received the request as API Gateway sends it
    assert response.status == 201, response.body
    assert response.json() == {"method": "POST", "path": "/records"}
    [event] = app.events()
    assert event["httpMethod"] == "POST"
    assert event["resource"] == "/records"
    assert event["path"] == "/records"
    assert json.loads(event["body"]) == VALID_RECORD
    assert event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"source": "curl"}
    # Header names arrive as the client spelled them (urllib sends X-api-key).
    headers = {name.lower(): values for name, values in event["multiValueHeaders"].items()}
    assert headers["x-api-key"] == [app.api_key]
    context = event["requestContext"]
    assert context["stage"] == STAGE
    assert context["path"] == f"/{STAGE}/records"
    assert context["identity"]["apiKeyId"] == app.api_key_id
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"]


def test_rest_get_passes_path_parameters(app: Deployed) -> None:
    # Given a record id
    # When it is read through the REST API
    response = call("GET", f"{app.rest.url}/records/abc%20123", headers={"x-api-key": app.api_key})
    # Then 200, and the function got the route's resource with the decoded parameter
    assert response.status == 200, response.body
    [event] = app.events()
    assert event["resource"] == "/records/{id}"
    assert event["pathParameters"] == {"id": "abc 123"}


@pytest.mark.parametrize("key", [None, "wrong-key", "stray-key-value-0123"])
def test_rest_without_a_valid_api_key_is_forbidden(app: Deployed, key: str | None) -> None:
    # Given no key, a wrong key, or a key in no usage plan of this stage
    headers = {"x-api-key": key} if key else {}
    # When a keyed route is called
    response = call("GET", f"{app.rest.url}/records", headers=headers)
    # Then API Gateway's 403, and the function never ran
    assert response.status == 403
    assert response.json() == {"message": "Forbidden"}
    assert app.events() == []


def test_rest_body_is_checked_against_the_request_model(app: Deployed) -> None:
    # Given a body the RecordInput model rejects (size missing)
    body = json.dumps({"bucket": "b", "key": "k"}).encode()
    # When it is POSTed
    response = call(
        "POST",
        f"{app.rest.url}/records",
        headers={"x-api-key": app.api_key, "Content-Type": "application/json"},
        body=body,
    )
    # Then the validator answers 400 before the function
    assert response.status == 400
    assert response.json() == {"message": "Invalid request body"}
    assert app.events() == []


def test_rest_unknown_route_is_missing_authentication_token(app: Deployed) -> None:
    # Given a path no resource serves, a method the resource lacks and a stage not deployed
    # When they are called
    unknown = call("GET", f"{app.rest.url}/nowhere", headers={"x-api-key": app.api_key})
    wrong_method = call("DELETE", f"{app.rest.url}/records", headers={"x-api-key": app.api_key})
    other_stage = call(
        "GET",
        app.rest.url.replace(f"/{STAGE}", "/prod") + "/records",
        headers={"x-api-key": app.api_key},
    )
    # Then each answers as API Gateway does
    for response in (unknown, wrong_method, other_stage):
        assert response.status == 403
        assert response.json() == {"message": "Missing Authentication Token"}


def test_rest_preflight_goes_to_the_function(app: Deployed) -> None:
    # Given a browser preflight (the REST API proxies OPTIONS, unauthenticated, to the function)
    headers = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"}
    # When it is sent
    response = call("OPTIONS", f"{app.rest.url}/records", headers=headers)
    # Then the function answers it
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    [event] = app.events()
    assert event["httpMethod"] == "OPTIONS"


def test_rest_mock_preflight_is_answered_from_the_integration_response(app: Deployed) -> None:
    # Given a resource whose OPTIONS method is a MOCK integration with static CORS headers
    headers = {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"}
    # When a preflight is sent
    response = call("OPTIONS", f"{app.rest.url}/records/r-1", headers=headers)
    # Then the deployed integration response answers it, without the function
    assert response.status == 200
    for name, value in MOCK_CORS.items():
        assert response.headers[name] == value
    assert app.events() == []


def test_rest_malformed_function_output_is_a_502(app: Deployed) -> None:
    # Given a function that returns a non-string body
    # When its route is called
    response = call("GET", f"{app.rest.url}/malformed")
    # Then API Gateway's 502
    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}
    assert len(app.events()) == 1


def test_function_without_api_gateway_permission_is_a_500(app: Deployed) -> None:
    # Given a route whose function's policy does not let API Gateway invoke it
    # When it is called
    response = call("GET", f"{app.rest.url}/unpermitted")
    # Then the 500 AWS answers, and the function never ran
    assert response.status == 500
    assert response.json() == {"message": "Internal server error"}
    assert app.events() == []


def test_oversized_body_is_413_before_the_function(app: Deployed) -> None:
    # Given a body one byte over API Gateway's 10 MB payload limit
    body = b"x" * (10 * 1024 * 1024 + 1)
    # When it is POSTed to either API
    rest = call(
        "POST",
        f"{app.rest.url}/records",
        headers={"x-api-key": app.api_key, "Content-Type": "application/json"},
        body=body,
    )
    http = call(
        "POST", f"{app.http.url}/records", headers={"Content-Type": "text/plain"}, body=body
    )
    # Then both answer 413 and the function never ran
    assert rest.status == 413
    assert http.status == 413
    assert app.events() == []


def test_http_post_reaches_the_function_with_a_payload_2_0_event(app: Deployed) -> None:
    # Given a record, a browser origin the API allows, and a cookie
    body = json.dumps(VALID_RECORD).encode()
    headers = {"Content-Type": "application/json", "Origin": ALLOWED_ORIGIN, "Cookie": "a=1; b=2"}
    # When it is POSTed to the HTTP API
    response = call("POST", f"{app.http.url}/records?x=1&x=2", headers=headers, body=body)
    # Then 201 with the configured CORS origin (not the function's '*')
    assert response.status == 201, response.body
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    [event] = app.events()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /records"
    assert event["rawPath"] == "/records"
    assert event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["content-type"] == "application/json"
    assert json.loads(event["body"]) == VALID_RECORD
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["stage"] == "$default"


def test_http_get_with_a_path_parameter(app: Deployed) -> None:
    # Given a record id
    # When it is read through the HTTP API
    response = call("GET", f"{app.http.url}/records/r-42")
    # Then 200, and the function got the route key and the parameter
    assert response.status == 200
    [event] = app.events()
    assert event["routeKey"] == "GET /records/{id}"
    assert event["pathParameters"] == {"id": "r-42"}


def test_http_function_output_without_status_code_is_a_json_200(app: Deployed) -> None:
    # Given a function that returns a plain object on GET /plain
    # When it is called
    response = call("GET", f"{app.http.url}/plain")
    # Then payload 2.0 turns it into a 200 JSON response
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"id": "plain"}


def test_http_preflight_is_answered_from_the_cors_configuration(app: Deployed) -> None:
    # Given preflights from an allowed and a denied origin
    def preflight(origin: str) -> Response:
        return call(
            "OPTIONS",
            f"{app.http.url}/records",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )

    # When they are sent
    allowed = preflight(ALLOWED_ORIGIN)
    denied = preflight(DENIED_ORIGIN)
    # Then only the allowed origin gets CORS headers, and the function saw neither
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"].split(",")
    assert allowed.headers["Access-Control-Max-Age"] == "300"
    assert denied.status == 204
    assert not any(name.lower().startswith("access-control-") for name in denied.headers)
    assert app.events() == []


def test_http_denied_origin_gets_no_allow_origin_on_the_response(app: Deployed) -> None:
    # Given a request from an origin the API does not allow (the function says '*')
    # When it is sent
    response = call("GET", f"{app.http.url}/records", headers={"Origin": DENIED_ORIGIN})
    # Then the function ran, but the browser gets no Access-Control-Allow-Origin
    assert response.status == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert len(app.events()) == 1


def test_http_unknown_route_is_404(app: Deployed) -> None:
    # Given a path no route serves
    # When it is called
    response = call("GET", f"{app.http.url}/nowhere")
    # Then the HTTP API's 404
    assert response.status == 404
    assert response.json() == {"message": "Not Found"}


def test_iam_route_is_let_through_with_a_warning_naming_it(
    app: Deployed, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a route that needs SigV4, which the gateway cannot verify
    caplog.set_level(logging.WARNING, logger="tools.localcloud.gateway")
    # When it is called unsigned
    response = call("GET", f"{app.http.url}/signed")
    # Then it is served, but never silently: the warning names the route
    assert response.status == 200
    assert any(
        "GET /signed" in record.getMessage() and "NOT verified" in record.getMessage()
        for record in caplog.records
    )


def test_unverified_auth_deny_answers_403(moto_endpoint: str, app: Deployed) -> None:
    # Given a gateway told to refuse what it cannot verify
    gateway = Gateway(moto_endpoint, REGION, unverified_auth="deny")
    served = {api.kind: api for api in gateway.start()}
    try:
        # When the SigV4 route is called
        response = call("GET", f"{served['http'].url}/signed")
    finally:
        gateway.stop()
    # Then 403, and the function never ran
    assert response.status == 403
    assert app.events() == []
