"""How deployed REST integrations are read: MOCK integration responses."""

from __future__ import annotations

from tools.localcloud.gateway.deployed import MockResponse, _rest_integration


def test_mock_integration_answers_its_default_response_with_static_headers() -> None:
    # Given a MOCK integration with a default and an error response, as get_method returns it
    found = {
        "type": "MOCK",
        "integrationResponses": {
            "500": {"statusCode": "500", "selectionPattern": ".*error.*"},
            "200": {
                "statusCode": "200",
                "responseParameters": {
                    "method.response.header.Access-Control-Allow-Origin": "'https://a.test'",
                    "method.response.header.X-From-Request": "integration.response.header.X",
                },
                "responseTemplates": {"application/json": '{"ok": true}'},
            },
        },
    }
    # When it is read
    integration = _rest_integration(found)
    # Then the default response, with only the static header values
    assert integration is not None
    assert integration.mock_response == MockResponse(
        status=200,
        headers=(("Access-Control-Allow-Origin", "https://a.test"),),
        body='{"ok": true}',
    )


def test_mock_templates_are_not_evaluated() -> None:
    # Given a VTL template the gateway cannot evaluate
    found = {
        "type": "MOCK",
        "integrationResponses": {
            "200": {"statusCode": "200", "responseTemplates": {"application/json": "$input.body"}}
        },
    }
    # When it is read
    integration = _rest_integration(found)
    # Then the body is left empty rather than echoing the template
    assert integration is not None
    assert integration.mock_response == MockResponse(status=200, headers=(), body="")


def test_proxy_integration_has_no_mock_response() -> None:
    arn = "arn:aws:lambda:us-west-2:123456789012:function:f"
    integration = _rest_integration({"type": "AWS_PROXY", "uri": arn, "timeoutInMillis": 5000})
    assert integration is not None
    assert integration.mock_response is None
    assert (integration.function_arn, integration.timeout_ms) == (arn, 5000)
