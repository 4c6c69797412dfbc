# Entry points. `make run` deploys dev to a local emulator and processes a real upload;
# `make test` runs lint, types and every test. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export PIPENV_VERBOSITY := -1
# jsii's Node 20 end-of-life banner; Node 20 is what this machine image ships.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CHECKPOINT_DISABLE := 1
export TF_CLI_CONFIG_FILE := $(CURDIR)/build/terraformrc

PIPENV_VERSION := 2026.10.3
PYTEST_ARGS ?=
# Test processes: the integration tests mostly wait on the AWS provider's own timers, so
# more workers than the 2 CPUs still shorten the run. Each test file runs in one worker
# (its session's local cloud and dev deployment are that worker's own).
PYTEST_WORKERS ?= 4
# A hung test stops the run (with pytest's summary) well inside CI's 90 minutes.
TEST_TIMEOUT ?= 60m
# make plan-review BASE=origin/main: plan the working tree against a deployment of that commit.
BASE ?=
# make plan-review PLAN_TARGET=aws: plan against AWS (credentials from the environment).
PLAN_TARGET ?= emulator
# make apply-reviewed REVIEWED=<file>: the plan fingerprint a pull request's review recorded.
REVIEWED ?=
# make emulator PORT=5000: where the local cloud listens (4566 is what LocalStack users expect).
PORT ?= 4566
# Where make run and make up keep the synthesized stacks and Terraform's working files.
RUN_DIR ?= build/run
RUN := pipenv run
# make deploy|diff|destroy|output ENV=dev: the environment (dev, staging, prod) or bootstrap.
ENV ?=

.PHONY: help setup python-deps node-deps system-deps tf-config layer synth lint test \
        unit-test run up emulator deploy diff destroy output plan-review plan-fingerprint \
        apply-reviewed lint-deps drift-check diagram bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

setup: python-deps lint-deps node-deps system-deps tf-config layer ## Install everything the other targets need

python-deps: .venv/.synced
.venv/.synced: Pipfile.lock
	@command -v pipenv >/dev/null || python3 -m pip install --quiet "pipenv==$(PIPENV_VERSION)"
	pipenv sync --dev
	@touch $@

# actionlint for the GitHub Actions workflows: a binary wheel, hash-pinned outside the Pipfile
# so adding it did not relock the Python pins (tools/ci/requirements-lint.txt says why).
lint-deps: .venv/.lint-deps
.venv/.lint-deps: tools/ci/requirements-lint.txt .venv/.synced
	.venv/bin/python -m pip install --quiet --no-deps --only-binary=:all: --require-hashes -r $<
	@touch $@

node-deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

system-deps: ## graphviz for the architecture picture (Debian)
	@command -v dot >/dev/null || { apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; }

tf-config: python-deps ## Write build/terraformrc (offline provider mirror when present)
	@$(RUN) python -m tools.ci.terraform_cli config >/dev/null

layer: python-deps ## Build the Lambda dependency layer into build/layer (and its host copy for the local cloud)
	$(RUN) python -m tools.build_layer
	$(RUN) python -m tools.localcloud --prepare

synth: setup ## Synthesize every stack into cdktf.out
	$(RUN) python main.py

lint: python-deps lint-deps ## ruff (lint and format), mypy, and jactionlint on .github/
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy .
	$(RUN) python -m tools.ci.workflow_lint

test: setup lint ## Lint, types and every test (unit, terraform validate, checkov, local cloud)
	timeout --signal=INT --kill-after=2m $(TEST_TIMEOUT) \
		$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

unit-test: setup ## Only the fast tests
	$(RUN) pytest -m "not integration" $(PYTEST_ARGS)

run: setup ## Deploy dev to the local cloud, upload a file, watch it run by itself, call the APIs
	$(RUN) python -m tools.run_local --run-dir $(RUN_DIR)

up: setup ## Like run, then keep everything running on 127.0.0.1:$(PORT) until Ctrl-C
	$(RUN) python -m tools.run_local --up --port $(PORT) --run-dir $(RUN_DIR)

emulator: python-deps ## Run the local cloud (moto + Lambda, Step Functions, EventBridge) on 127.0.0.1:$(PORT)
	$(RUN) python -m tools.localcloud --port $(PORT)

deploy: setup ## Deploy one stack with the cdktf CLI: make deploy ENV=dev (or ENV=bootstrap)
	@$(RUN) python -m tools.cdktf_run deploy --env "$(ENV)"

diff: setup ## Plan one stack with the cdktf CLI (terraform plan): make diff ENV=dev
	@$(RUN) python -m tools.cdktf_run diff --env "$(ENV)"

destroy: setup ## Destroy one stack: make destroy ENV=dev (staging, prod, bootstrap refuse)
	@$(RUN) python -m tools.cdktf_run destroy --env "$(ENV)"

output: setup ## Print one deployed stack's outputs: make output ENV=dev
	@$(RUN) python -m tools.cdktf_run output --env "$(ENV)"

plan-review: setup ## Plan ENV (default dev) on the emulator (BASE=<git rev>: against that commit's deployment; PLAN_TARGET=aws: on AWS)
	@case "$(PLAN_TARGET)" in emulator|aws) ;; *) echo "PLAN_TARGET must be emulator or aws, not '$(PLAN_TARGET)'" >&2; exit 2;; esac
	$(RUN) python -m tools.ci.plan_review --env $(or $(ENV),dev) $(if $(filter emulator,$(PLAN_TARGET)),--emulator) $(if $(BASE),--base $(BASE))

plan-fingerprint: python-deps ## Write build/plan-review/ENV/plan.fingerprint.json from that review's plan.json
	$(RUN) python -m tools.ci.plan_fingerprint write --env $(or $(ENV),dev)

apply-reviewed: setup ## Apply ENV's plan from make plan-review PLAN_TARGET=aws if it matches REVIEWED=<plan.fingerprint.json>
	$(RUN) python -m tools.ci.plan_fingerprint apply --env "$(ENV)" --reviewed "$(REVIEWED)"

drift-check: setup ## Apply dev (with the VPC) to moto, plan again, explain every difference
	$(RUN) python -m tools.ci.drift_check --with-network

diagram: setup ## Regenerate docs/architecture.* from the synthesized dev stack
	$(RUN) python -m tools.ci.diagram

bench: setup ## Synth and handler benchmarks
	$(RUN) python -m benchmarks.synth_bench
	$(RUN) python -m benchmarks.handlers_bench

clean: ## Remove generated output (keeps the virtualenv)
	rm -rf cdktf.out build .pytest_cache .mypy_cache .ruff_cache
