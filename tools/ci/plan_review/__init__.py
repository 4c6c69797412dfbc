"""Review what ``terraform apply`` would do to one environment, the way CI reviews a change.

    pipenv run python -m tools.ci.plan_review --env dev --emulator

Modules: ``summary`` (plan JSON -> typed summary), ``report`` (Markdown and exit code),
``checkov_plan`` (checkov on the plan JSON), ``workspace`` (synth and Terraform set-up) and
``cli`` (arguments and orchestration). The names below are the package's public API; other
tools (tools.ci.drift_check) use only these.
"""

from tools.ci.plan_review.checkov_plan import CheckovError, evaluate_plan_scan, run_checkov_on_plan
from tools.ci.plan_review.cli import ReviewOptions, main, review
from tools.ci.plan_review.report import (
    EXIT_CHECKOV_FAILED,
    EXIT_OK,
    EXIT_STATEFUL,
    EXIT_USAGE,
    ReviewReport,
    exit_code,
    render_summary,
)
from tools.ci.plan_review.summary import (
    STATEFUL_RESOURCE_TYPES,
    PlanSummary,
    ResourceChange,
    classify,
    summarize_plan,
)
from tools.ci.plan_review.workspace import (
    ReviewError,
    check_synth_target,
    forget_local_state,
    local_state_file,
    prepare_workspace,
    prevent_destroy_addresses,
    stack_name,
    synthesize,
)

__all__ = [
    "EXIT_CHECKOV_FAILED",
    "EXIT_OK",
    "EXIT_STATEFUL",
    "EXIT_USAGE",
    "STATEFUL_RESOURCE_TYPES",
    "CheckovError",
    "PlanSummary",
    "ResourceChange",
    "ReviewError",
    "ReviewOptions",
    "ReviewReport",
    "check_synth_target",
    "classify",
    "evaluate_plan_scan",
    "exit_code",
    "forget_local_state",
    "local_state_file",
    "main",
    "prepare_workspace",
    "prevent_destroy_addresses",
    "render_summary",
    "review",
    "run_checkov_on_plan",
    "stack_name",
    "summarize_plan",
    "synthesize",
]
