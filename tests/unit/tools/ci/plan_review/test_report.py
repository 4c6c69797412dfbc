"""The Markdown a reviewer reads: addresses per action, masked values, a sticky marker, and
the same bytes for the same plan whatever the emulator port or output folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.unit.tools.ci.plan_review.fixtures import load_plan, load_plan_text
from tools.ci.plan_review import (
    EXIT_CHECKOV_FAILED,
    EXIT_OK,
    EXIT_STATEFUL,
    CommitRef,
    ReviewReport,
    comment_marker,
    exit_code,
    normalize,
    number_generated_ids,
    render_refusal,
    render_summary,
    summarize_plan,
)
from tools.ci.plan_review.cli import FRESH_CLOUD_TARGET, redactions
from tools.ci.plan_review.report import MAX_COMMENT_CHARS, MAX_LISTED
from tools.ci.security_scan import Finding, ScanResult

FUNCTION = "aws_lambda_function.processor_function_D7E0E582"
TABLE = "aws_dynamodb_table.records_table_60AC12E3"
QUEUE = "aws_sqs_queue.dlq_queue_0B3C6E1A"
ROLE = "aws_iam_role.processor_role_2630A70E"
BASE = CommitRef(rev="HEAD~1", sha="0123456789abcdef0123456789abcdef01234567")


def review_report(endpoint: str, out: Path) -> ReviewReport:
    """review_changes planned against ``endpoint``, as the CLI builds the report."""
    return ReviewReport(
        environment="dev",
        target=FRESH_CLOUD_TARGET,
        summary=summarize_plan(load_plan("review_changes", endpoint)),
        scan=ScanResult(stacks=["pipeline-dev"], passed=12),
        base=BASE,
        plan_text=load_plan_text("review_changes", endpoint),
        redactions=redactions(out, endpoint),
    )


def section(markdown: str, title: str) -> list[str]:
    """The lines of one ``### title (n)`` section, up to the next blank line."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"### {title}"))
    end = lines.index("", start + 2)
    return lines[start + 2 : end]


def test_the_comment_starts_with_a_stable_marker_and_says_what_was_compared(
    tmp_path: Path,
) -> None:
    # Given a review against a deployment of the base commit
    markdown = render_summary(review_report("http://127.0.0.1:4566", tmp_path))
    lines = markdown.splitlines()
    # Then the first line is the hidden marker a bot looks for, per environment
    assert lines[0] == comment_marker("dev") == "<!-- plan-review:dev -->"
    assert lines[1] == "## Plan review: dev"
    # And it says which code was planned against which deployment
    assert lines[3] == (
        "Planned the working tree against a local cloud started for this review, after "
        "deploying base commit `0123456789ab` (`HEAD~1`) there: the changes below are what "
        "this code changes."
    )
    # And Terraform's tally comes with the per-action counts
    assert "**Plan: 4 to add, 2 to change, 3 to destroy.**" in markdown
    assert "| destroy | replace | update | create | moved | import | read | no-op |" in lines
    assert "| 1 | 2 | 2 | 2 | 2 | 1 | 1 | 1 |" in lines


def test_each_action_lists_its_addresses_with_what_changes(tmp_path: Path) -> None:
    # Given the review of a plan with every kind of change
    markdown = render_summary(review_report("http://127.0.0.1:4566", tmp_path))
    # Then destroys say why, replacements say what forces them and in which order
    assert section(markdown, "Destroy") == [
        f"- `{QUEUE}` **stateful**: no longer in the configuration"
    ]
    assert section(markdown, "Replace") == [
        f"- `{TABLE}` **stateful**: destroy, then create, forced by `name`",
        '  - `name`: `"evpipe-dev-records"` → `"evpipe-dev-records-v2"` (forces replacement)',
        '  - `arn`: `"arn:aws:dynamodb:us-west-2:123456789012:table/evpipe-dev-records"` → '
        "(known after apply)",
        "- `aws_lambda_alias.live_alias_99887766`: create, then destroy, forced by `function_name`",
        '  - `function_name`: `"evpipe-dev-processor-old"` → `"evpipe-dev-processor"` '
        "(forces replacement)",
        "  - `arn`: `null` → (known after apply)",
    ]
    # And updates list each attribute, secrets masked, unknown values marked
    assert section(markdown, "Update") == [
        "- `aws_iam_role_policy.processor_policy_1A2B3C4D` (moved from "
        "`aws_iam_role_policy.processor_permissions_9F8E7D6C`)",
        "  - `policy` (JSON) `Statement.0.Resource`: "
        '`"arn:aws:dynamodb:us-west-2:123456789012:table/evpipe-dev-records"` → '
        '`"arn:aws:dynamodb:us-west-2:123456789012:table/evpipe-dev-records-v2"`',
        f"- `{FUNCTION}`",
        "  - `environment.0.variables.API_TOKEN`: (sensitive value) → (sensitive value)",
        '  - `environment.0.variables.DLQ_URL`: `"<emulator>/123456789012/evpipe-dev-dlq"` → '
        "(known after apply)",
        '  - `last_modified`: `"<timestamp>"` → (known after apply)',
        "  - `memory_size`: `256` → `512`",
    ]
    assert section(markdown, "Create") == [
        "- `aws_sns_topic.alarms_topic_11223344`",
        "- `aws_sqs_queue.failures_dlq_77AA88BB`",
    ]
    assert section(markdown, "Moved") == [
        "- `aws_cloudwatch_log_group.processor_log-group_5B1C2D3E` → "
        "`aws_cloudwatch_log_group.processor_logs_D44D1348`",
        "- `aws_iam_role_policy.processor_permissions_9F8E7D6C` → "
        "`aws_iam_role_policy.processor_policy_1A2B3C4D`, and updated",
    ]
    assert section(markdown, "Import") == ["- `aws_kms_alias.key_alias_55667788`"]
    # And the destroyed and created queues of one name are flagged as a likely rename
    assert (
        f"- `{QUEUE}` → `aws_sqs_queue.failures_dlq_77AA88BB`: same `name`. A `moved` block "
        "(CDKTF: `move_to`) keeps the object instead of replacing it."
    ) in markdown
    assert "token-value" not in markdown


def test_the_full_plan_text_is_collapsed_at_the_end(tmp_path: Path) -> None:
    # Given the review with Terraform's own text of the plan
    markdown = render_summary(review_report("http://127.0.0.1:4566", tmp_path))
    # Then that text follows, collapsed, just before the result line
    details = markdown.index("<details><summary>Full plan (terraform show)</summary>")
    assert markdown.index("### checkov (plan JSON)") < details
    body = markdown[details:]
    assert "  # aws_sqs_queue.dlq_queue_0B3C6E1A will be destroyed" in body
    assert body.rstrip().endswith("</details>\n\nResult: **failed: stateful resources would "
                                  "lose data** (exit 3).")  # fmt: skip


def test_the_same_plan_renders_the_same_bytes_through_two_emulator_ports(
    tmp_path: Path,
) -> None:
    # Given one plan made twice, against emulators on two ports, into two output folders
    first_endpoint, second_endpoint = "http://127.0.0.1:4566", "http://127.0.0.1:45123"
    first = render_summary(review_report(first_endpoint, tmp_path / "run-1" / "out"))
    second = render_summary(review_report(second_endpoint, tmp_path / "run-2" / "out"))
    # Then the two summaries are identical
    assert first == second
    # And neither port, nor the output folders, nor the plan's timestamp appears
    assert not re.search(r"127\.0\.0\.1:\d+", first)
    assert str(tmp_path) not in first
    assert "2026-12-01T04:47" not in first
    assert "<emulator>/123456789012/evpipe-dev-dlq" in first


def test_losing_stateful_data_fails_unless_allowed() -> None:
    # Given a plan that replaces the table, deletes the DLQ and replaces a role
    summary = summarize_plan(load_plan("replace_stateful"))
    blocked = render_summary(ReviewReport(environment="dev", target="moto", summary=summary))
    allowed = render_summary(
        ReviewReport(environment="dev", target="moto", summary=summary, allow_stateful=True)
    )
    # Then without the override the losses lead, with what is lost, and the review fails
    assert "### :warning: Stateful resources would be destroyed or replaced" in blocked
    assert f"| `{TABLE}` | replace | items (records" in blocked
    assert f"| `{QUEUE}` | destroy | messages waiting" in blocked
    assert f"- `{ROLE}`: create, then destroy, forced by `name`" in section(blocked, "Replace")
    assert blocked.rstrip().endswith("(exit 3).")
    # And with it the losses stay visible but the review passes
    assert "(allowed by --allow-stateful-replace)" in allowed
    assert allowed.rstrip().endswith("Result: **passed** (exit 0).")


def test_stateful_loss_outranks_checkov_failures_in_the_exit_code() -> None:
    # Given a plan losing data and a scan with one failure
    summary = summarize_plan(load_plan("replace_stateful"))
    failing = ScanResult(
        stacks=["pipeline-dev"],
        failed=[
            Finding(check_id="CKV_AWS_1", check_name="x", stack="pipeline-dev", resource=TABLE)
        ],
    )
    # Then data loss decides first; once allowed, checkov still fails the review
    assert exit_code(summary, failing, allow_stateful=False) == EXIT_STATEFUL
    assert exit_code(summary, failing, allow_stateful=True) == EXIT_CHECKOV_FAILED
    clean = summarize_plan(load_plan("create_only"))
    assert exit_code(clean, ScanResult(stacks=["pipeline-dev"]), allow_stateful=False) == EXIT_OK


def test_a_huge_plan_still_fits_one_comment() -> None:
    # Given 600 creates and a plan text far longer than a comment may be
    plan = {
        "resource_changes": [
            {"address": f"aws_sqs_queue.q{i:03d}", "mode": "managed", "type": "aws_sqs_queue",
             "change": {"actions": ["create"], "before": None, "after": {}}}
            for i in range(600)
        ]
    }  # fmt: skip
    text = "\n".join(f"  + resource line {i} " + "x" * 80 for i in range(5000))
    report = ReviewReport(
        environment="dev", target="moto", summary=summarize_plan(plan), plan_text=text
    )
    # When it is rendered
    markdown = render_summary(report)
    # Then it stays under the limit, lists the first addresses and counts the rest
    assert len(markdown) <= MAX_COMMENT_CHARS
    assert f"- … and {600 - MAX_LISTED} more (every address is in plan.json)" in markdown
    assert re.search(r"Cut after [\d,]+ of 5,000 lines to fit a comment; the whole text is in "
                     r"plan\.txt beside summary\.md\.", markdown)  # fmt: skip
    assert markdown.rstrip().endswith("Result: **passed** (exit 0).")


def test_backticks_in_the_plan_text_cannot_close_the_code_block() -> None:
    # Given a plan text that itself holds a Markdown fence
    report = ReviewReport(
        environment="dev",
        target="moto",
        summary=summarize_plan({}),
        plan_text='  + description = "```not the end```"',
    )
    # Then the block is fenced with a longer run of backticks
    assert "````\n" in render_summary(report)


def test_a_prevent_destroy_refusal_keeps_the_marker_and_fails(tmp_path: Path) -> None:
    # Given Terraform refusing to plan because of prevent_destroy
    report = ReviewReport(
        environment="staging",
        target=FRESH_CLOUD_TARGET,
        summary=summarize_plan({}),
        redactions=redactions(tmp_path, "http://127.0.0.1:4566"),
    )
    markdown = render_refusal(report, [TABLE], "Error: Instance cannot be destroyed")
    # Then the comment can still be found and says which resources are protected
    assert markdown.startswith("<!-- plan-review:staging -->\n## Plan review: staging\n")
    assert f"the change would destroy `{TABLE}`, protected by" in markdown
    assert markdown.rstrip().endswith(
        "Result: **failed: stateful resources would lose data** (exit 3)."
    )


def test_only_specific_run_strings_are_replaced() -> None:
    # Given a run writing to a shallow folder against an emulator on port 4566
    replaced = redactions(Path("/out"), "http://127.0.0.1:4566")
    # Then the endpoint is replaced, with and without its scheme, but not a folder so short
    # that ordinary values contain it
    assert replaced["http://127.0.0.1:4566"] == replaced["127.0.0.1:4566"] == "<emulator>"
    assert "/out" not in replaced
    # And CORS origins on other loopback ports stay as they are
    assert normalize("http://localhost:3000 http://127.0.0.1:3000", replaced) == (
        "http://localhost:3000 http://127.0.0.1:3000"
    )


def test_any_deletion_is_announced_before_the_details(tmp_path: Path) -> None:
    # Given a plan that destroys one resource and replaces two
    markdown = render_summary(review_report("http://127.0.0.1:4566", tmp_path))
    # Then a warning right under the counts says so, before any section
    warning = markdown.index("> [!WARNING]\n> This plan deletes existing resources: 1 destroyed "
                             "and 2 replaced (listed below). Read those first.")  # fmt: skip
    assert markdown.index("| destroy | replace |") < warning < markdown.index("### ")
    # And a plan that deletes nothing has no such warning
    quiet = ReviewReport(
        environment="dev", target="moto", summary=summarize_plan(load_plan("create_only"))
    )
    assert "[!WARNING]" not in render_summary(quiet)


def test_the_full_plan_is_a_diff_without_the_legend(tmp_path: Path) -> None:
    # Given the review with Terraform's own text of the plan
    markdown = render_summary(review_report("http://127.0.0.1:4566", tmp_path))
    body = markdown[markdown.index("<summary>Full plan (terraform show)</summary>") :]
    # Then the text is a diff block whose lines start with their action symbol, indentation
    # kept after it, so GitHub colours what is added and removed
    assert "```diff\n" in body
    assert '~   resource "aws_lambda_function" "processor_function_D7E0E582" {' in body
    assert "~       memory_size   = 256 -> 512" in body
    assert '-   resource "aws_sqs_queue" "dlq_queue_0B3C6E1A" {' in body
    # And Terraform's legend of symbols is left out; its list of actions starts the block
    assert "Resource actions are indicated" not in body
    assert "```diff\nTerraform will perform the following actions:" in body
    # And the plan's timestamps are gone
    assert "2026-11-30T10:00:00" not in body


def test_terraform_warnings_are_listed_with_their_details() -> None:
    # Given a plan whose output carried one warning
    warning = (
        "Warning: Argument is deprecated\n\n  with aws_s3_bucket.ingest,\n"
        "  on cdk.tf.json line 12:\n\nUse the aws_s3_bucket_acl resource instead."
    )
    report = ReviewReport(
        environment="dev", target="moto", summary=summarize_plan({}), warnings=[warning]
    )
    # Then it has a section: the title as a list item, the rest collapsed under it
    markdown = render_summary(report)
    assert "### Terraform warnings (1)\n\n- Argument is deprecated\n" in markdown
    assert "  Use the aws_s3_bucket_acl resource instead.\n" in markdown
    assert markdown.index("### Terraform warnings") < markdown.index("Result:")


def test_the_comment_ends_with_the_command_that_makes_it_again() -> None:
    # Given a review that knows how it was run
    report = ReviewReport(
        environment="dev",
        target="moto",
        summary=summarize_plan({}),
        reproduce="pipenv run python -m tools.ci.plan_review --env dev --emulator --base abc",
    )
    # Then its last line says how to review the plan again locally
    assert render_summary(report).rstrip().splitlines()[-1] == (
        "To review this plan again locally: "
        "`pipenv run python -m tools.ci.plan_review --env dev --emulator --base abc`"
    )


# Recorded from `plan_review --base` on the local cloud (a commit raising dev's processor memory
# to 384 MB); the emulator's KMS key id and Terraform's generated policy name are in it.
KEY_ID = "96130fba-3707-4ad0-9084-324d1c391343"
POLICY_NAME = "terraform-20261202115248778900000006"


def recorded_update(key_id: str = KEY_ID, policy_name: str = POLICY_NAME) -> ReviewReport:
    def deployed(text: str) -> str:
        return text.replace(KEY_ID, key_id).replace(POLICY_NAME, policy_name)

    plan = json.loads(deployed(json.dumps(load_plan("sample_update_function"))))
    return ReviewReport(
        environment="dev",
        target=FRESH_CLOUD_TARGET,
        summary=summarize_plan(plan),
        base=BASE,
        plan_text=deployed(load_plan_text("sample_update_function")),
    )


def test_a_recorded_one_function_update_lists_that_function_and_replaces_nothing() -> None:
    # Given the recorded plan of a change to one function's memory, against its base
    markdown = render_summary(recorded_update())
    # Then the counts say two updates, one data source read during apply and 131 unchanged
    assert "**Plan: 0 to add, 2 to change, 0 to destroy.**" in markdown
    assert "| 0 | 0 | 2 | 0 | 0 | 0 | 1 | 131 |" in markdown.splitlines()
    # And the function's memory is the one attribute it changes; the workflow's policy is
    # recomputed because it names that function
    update = section(markdown, "Update")
    assert update[0] == "- `aws_iam_role_policy.workflow_state-machine_policy_212A44DB`"
    assert update[1].startswith('  - `policy`: `"{\\"Version\\":\\"2012-10-17\\"')
    assert update[1].endswith("(1,968 chars)` → (known after apply)")
    assert update[2:] == [
        "- `aws_lambda_function.ingest_processor_function_96B0F5B3`",
        "  - `memory_size`: `256` → `384`",
    ]
    # And nothing is destroyed or replaced: no warning, no stateful table, the review passes
    assert "[!WARNING]" not in markdown
    assert "### Replace" not in markdown
    assert "### Destroy" not in markdown
    assert markdown.rstrip().endswith("Result: **passed** (exit 0).")


def test_ids_made_up_by_the_deployment_do_not_change_the_comment() -> None:
    # Given the same plan made against two deployments, each with its own key id and
    # generated policy name
    first = render_summary(recorded_update())
    second = render_summary(
        recorded_update(
            "0a1b2c3d-1111-4222-8333-444455556666", "terraform-20270101000000000000000001"
        )
    )
    # Then both comments are the same bytes, the ids numbered placeholders
    assert first == second
    assert KEY_ID not in first
    assert POLICY_NAME not in first
    assert "arn:aws:kms:us-west-2:123456789012:key/<uuid-1>" in first
    assert 'name        = "terraform-<unique-id-1>"' in first


def test_generated_ids_are_numbered_in_order_and_stay_distinct() -> None:
    # Given two key ids, one of them twice, and a generated name
    text = (
        "key/96130fba-3707-4ad0-9084-324d1c391343 key/0a1b2c3d-1111-4222-8333-444455556666 "
        "96130fba-3707-4ad0-9084-324d1c391343 terraform-20261202115248778900000006"
    )
    # Then each distinct id has its own number, by first appearance
    assert number_generated_ids(text) == (
        "key/<uuid-1> key/<uuid-2> <uuid-1> terraform-<unique-id-1>"
    )


def test_a_recorded_table_replacement_fails_loudly_with_what_forces_it() -> None:
    # Given the recorded plan of a change to the records table's hash key, against its base
    summary = summarize_plan(load_plan("sample_replace_table"))
    report = ReviewReport(
        environment="dev",
        target=FRESH_CLOUD_TARGET,
        summary=summary,
        base=BASE,
        plan_text=load_plan_text("sample_replace_table"),
    )
    markdown = render_summary(report)
    table = "aws_dynamodb_table.foundation_records_table_33DD538C"
    # Then the deletion warning and the stateful table lead the comment
    lines = markdown.splitlines()
    assert lines.index("> [!WARNING]") < lines.index(
        "### :warning: Stateful resources would be destroyed or replaced"
    )
    assert f"| `{table}` | replace | items (records" in markdown
    # And the replacement names the attribute forcing it, first, and the name clash its
    # create-first order would meet
    replace = section(markdown, "Replace")
    assert replace[0].startswith(
        f"- `{table}` **stateful**: create, then destroy, forced by `hash_key`. :warning: The "
        "new one keeps `name` `evpipe-dev-records` while the old one still exists"
    )
    assert replace[1] == '  - `hash_key`: `"pk"` → `"record_pk"` (forces replacement)'
    # And the review fails with the stateful exit code
    assert exit_code(summary, None, allow_stateful=False) == EXIT_STATEFUL
    assert markdown.rstrip().endswith(
        "Result: **failed: stateful resources would lose data** (exit 3)."
    )
