"""Review what ``terraform apply`` would do to one environment, the way CI reviews a change.

    pipenv run python -m tools.ci.plan_review --env dev --emulator [--base origin/main]

Modules: ``summary`` (plan JSON -> typed summary), ``report`` (Markdown for a pull request,
and the exit code), ``checkov_plan`` (checkov on the plan JSON), ``workspace`` (synth and
Terraform set-up for one environment), ``commits`` (the base and head commits compared) and
``cli`` (arguments and orchestration). The names below are the package's public API; other
tools (tools.ci.drift_check) use only these.
"""

from tools.ci.plan_review.checkov_plan import CheckovError, evaluate_plan_scan, run_checkov_on_plan
from tools.ci.plan_review.cli import ReviewOptions, main, review
from tools.ci.plan_review.commits import CommitError, CommitRef, export_commit, resolve_commit
from tools.ci.plan_review.report import (
    EXIT_CHECKOV_FAILED,
    EXIT_OK,
    EXIT_STATEFUL,
    EXIT_USAGE,
    ReviewReport,
    comment_marker,
    exit_code,
    normalize,
    number_generated_ids,
    render_refusal,
    render_summary,
)
from tools.ci.plan_review.summary import (
    SENSITIVE_VALUE,
    STATEFUL_RESOURCE_TYPES,
    UNKNOWN_VALUE,
    AttributeChange,
    PlanSummary,
    ResourceChange,
    attribute_changes,
    classify,
    render_value,
    summarize_plan,
)
from tools.ci.plan_review.workspace import (
    ReviewError,
    check_synth_target,
    forget_local_state,
    hand_over_state,
    local_state_file,
    prepare_workspace,
    prevent_destroy_addresses,
    stack_name,
    synthesize,
    terraform_warnings,
)

__all__ = [
    "EXIT_CHECKOV_FAILED",
    "EXIT_OK",
    "EXIT_STATEFUL",
    "EXIT_USAGE",
    "SENSITIVE_VALUE",
    "STATEFUL_RESOURCE_TYPES",
    "UNKNOWN_VALUE",
    "AttributeChange",
    "CheckovError",
    "CommitError",
    "CommitRef",
    "PlanSummary",
    "ResourceChange",
    "ReviewError",
    "ReviewOptions",
    "ReviewReport",
    "attribute_changes",
    "check_synth_target",
    "classify",
    "comment_marker",
    "evaluate_plan_scan",
    "exit_code",
    "export_commit",
    "forget_local_state",
    "hand_over_state",
    "local_state_file",
    "main",
    "normalize",
    "number_generated_ids",
    "prepare_workspace",
    "prevent_destroy_addresses",
    "render_refusal",
    "render_summary",
    "render_value",
    "resolve_commit",
    "review",
    "run_checkov_on_plan",
    "stack_name",
    "summarize_plan",
    "synthesize",
    "terraform_warnings",
]
