"""Plan JSON -> summary: addresses per action, moves, masked and unknown values, replace paths."""

from __future__ import annotations

import json

import pytest

from tests.unit.tools.ci.plan_review.fixtures import load_plan
from tools.ci.plan_review import (
    SENSITIVE_VALUE,
    UNKNOWN_VALUE,
    AttributeChange,
    attribute_changes,
    classify,
    render_value,
    summarize_plan,
)

FUNCTION = "aws_lambda_function.processor_function_D7E0E582"
POLICY = "aws_iam_role_policy.processor_policy_1A2B3C4D"
TABLE = "aws_dynamodb_table.records_table_60AC12E3"
OLD_QUEUE = "aws_sqs_queue.dlq_queue_0B3C6E1A"
NEW_QUEUE = "aws_sqs_queue.failures_dlq_77AA88BB"
TOPIC = "aws_sns_topic.alarms_topic_11223344"
ALIAS = "aws_lambda_alias.live_alias_99887766"
LOG_GROUP = "aws_cloudwatch_log_group.processor_logs_D44D1348"
KEY_ALIAS = "aws_kms_alias.key_alias_55667788"


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (["create"], "create"),
        (["update"], "update"),
        (["delete"], "delete"),
        (["no-op"], "no-op"),
        (["read"], "read"),
        (["delete", "create"], "replace"),
        (["create", "delete"], "replace"),
        (["create", "forget"], "create+forget"),
    ],
)
def test_actions_are_named_like_terraform_does(actions: list[str], expected: str) -> None:
    # Given Terraform's action list / When classified / Then one word names it
    assert classify(actions) == expected


def test_every_address_is_listed_under_its_action() -> None:
    # Given a plan with every kind of change
    summary = summarize_plan(load_plan("review_changes"))
    # Then each action lists exactly its addresses, sorted
    by_action = {
        action: [change.address for change in summary.with_action(action)]
        for action in ("create", "update", "replace", "delete")
    }
    assert by_action == {
        "create": [TOPIC, NEW_QUEUE],
        "update": [POLICY, FUNCTION],
        "replace": [TABLE, ALIAS],
        "delete": [OLD_QUEUE],
    }
    # And moves, imports, data reads and unchanged resources are counted apart
    assert [(c.previous_address, c.address) for c in summary.moves] == [
        ("aws_cloudwatch_log_group.processor_log-group_5B1C2D3E", LOG_GROUP),
        ("aws_iam_role_policy.processor_permissions_9F8E7D6C", POLICY),
    ]
    assert [c.address for c in summary.imports] == [KEY_ALIAS]
    assert summary.reads == ("data.aws_iam_policy_document.processor_permissions_333572CD",)
    assert summary.counts == {
        "create": 2,
        "update": 2,
        "replace": 2,
        "destroy": 1,
        "moved": 2,
        "import": 1,
        "read": 1,
        "no-op": 1,
    }
    # And Terraform's own tally counts a replacement as one add and one destroy
    assert summary.totals == {"add": 4, "change": 2, "destroy": 3}


def test_updated_attributes_mask_sensitive_values_and_mark_unknown_ones() -> None:
    # Given the function's update: memory, a sensitive token, an unknown URL and timestamp
    summary = summarize_plan(load_plan("review_changes", "http://127.0.0.1:4566"))
    (function,) = [c for c in summary.changes if c.address == FUNCTION]
    # Then each changed leaf is listed by path, secrets never shown
    assert function.attributes == (
        AttributeChange(
            path="environment.0.variables.API_TOKEN", before=SENSITIVE_VALUE, after=SENSITIVE_VALUE
        ),
        AttributeChange(
            path="environment.0.variables.DLQ_URL",
            before='"http://127.0.0.1:4566/123456789012/evpipe-dev-dlq"',
            after=UNKNOWN_VALUE,
        ),
        AttributeChange(
            path="last_modified", before='"2026-11-30T10:00:00.000+0000"', after=UNKNOWN_VALUE
        ),
        AttributeChange(path="memory_size", before="256", after="512"),
    )
    assert "token-value" not in repr(summary)


def test_a_sensitive_block_hides_everything_inside_it() -> None:
    # Given a whole nested block marked sensitive on one side only
    change = {
        "before": {"settings": [{"user": "admin", "password": "hunter2"}]},
        "after": {"settings": [{"user": "admin", "password": "correct-horse"}]},
        "after_unknown": {},
        "before_sensitive": {"settings": True},
        "after_sensitive": {"settings": [{"password": True}]},
    }
    # When its changed attributes are listed
    changes = attribute_changes(change)
    # Then the changed leaf shows as sensitive on both sides and no value leaks
    assert changes == [
        AttributeChange(path="settings.0.password", before=SENSITIVE_VALUE, after=SENSITIVE_VALUE)
    ]
    assert render_value({"a": "x", "b": "y"}, {"b": True}) == ('{"a": "x", "b": (sensitive value)}')


def test_a_json_policy_is_compared_statement_by_statement() -> None:
    # Given an inline policy whose one Resource changes
    summary = summarize_plan(load_plan("review_changes"))
    (policy,) = [c for c in summary.changes if c.address == POLICY]
    # Then the change is that one member inside the document, not two whole strings
    assert policy.attributes == (
        AttributeChange(
            path="policy.Statement.0.Resource",
            before='"arn:aws:dynamodb:us-west-2:123456789012:table/evpipe-dev-records"',
            after='"arn:aws:dynamodb:us-west-2:123456789012:table/evpipe-dev-records-v2"',
            json_attribute="policy",
        ),
    )


def test_replacements_name_the_attributes_forcing_them() -> None:
    # Given the table (destroy first) and the alias (create_before_destroy) replaced
    summary = summarize_plan(load_plan("review_changes"))
    table, alias = summary.replacements
    # Then replace_paths are kept, and the forcing attribute is marked among the changes
    assert (table.address, table.replace_paths, table.create_first) == (TABLE, ("name",), False)
    assert (alias.address, alias.replace_paths, alias.create_first) == (
        ALIAS,
        ("function_name",),
        True,
    )
    assert [(a.path, a.forces_replacement) for a in table.attributes] == [
        ("name", True),
        ("arn", False),
    ]
    assert table.reason == "an argument cannot be updated in place"
    # And the table is a data loss, the alias is not
    assert [c.address for c in summary.stateful_losses] == [TABLE, OLD_QUEUE]


def test_nested_replace_paths_cover_their_leaves() -> None:
    # Given a lifecycle rule replaced because of a nested prefix
    summary = summarize_plan(load_plan("replace_stateful"))
    (lifecycle,) = [c for c in summary.replacements if "lifecycle" in c.address]
    # Then both forcing paths are named and their leaves marked
    assert lifecycle.replace_paths == ("bucket", "rule.0.filter.0.prefix")
    assert all(a.forces_replacement for a in lifecycle.attributes)


def test_a_destroy_and_a_create_of_the_same_name_look_like_a_rename() -> None:
    # Given the old DLQ destroyed and a new DLQ created with the same queue name
    summary = summarize_plan(load_plan("review_changes"))
    # Then the pair is reported with the attribute they share
    assert [(gone.address, new.address, attribute) for gone, new, attribute in
            summary.likely_renames()] == [(OLD_QUEUE, NEW_QUEUE, "name")]  # fmt: skip
    assert summarize_plan(load_plan("create_only")).likely_renames() == []


def test_long_values_are_cut_with_their_length() -> None:
    # Given a 1,000-character value
    shown = render_value("x" * 1000)
    # Then it is shortened and says how long it was
    assert len(shown) < 200
    assert shown.endswith("… (1,002 chars)")


def test_an_empty_plan_has_no_changes() -> None:
    # Given Terraform's JSON for a plan with nothing to do
    summary = summarize_plan({"format_version": "1.2", "resource_changes": []})
    # Then nothing is counted
    assert not summary.has_changes
    assert set(summary.counts.values()) == {0}
    assert json.dumps(summary.totals) == '{"add": 0, "change": 0, "destroy": 0}'
