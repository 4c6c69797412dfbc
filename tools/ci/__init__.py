"""What CI and reviewers run: plan review, drift check, security scan, generated docs.

    pipenv run python -m tools.ci.plan_review --env dev --emulator
    pipenv run python -m tools.ci.drift_check --with-network
    pipenv run python -m tools.ci.security_scan cdktf.out/stacks
    pipenv run python -m tools.ci.env_table --check README.md
    pipenv run python -m tools.ci.diagram

Shared Terraform helpers: ``terraform_cli`` (the CLI with this project's provider settings)
and ``terraform`` (synthesize the app, run Terraform on one stack). The local-emulator
harness (``make run`` and its helpers) stays in ``tools/``.
"""
