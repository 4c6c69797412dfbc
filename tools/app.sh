#!/bin/sh
# The cdktf.json "app" command: run main.py with the project's Python environment.
# `pipenv run` spends ~0.5 s of every synth just finding that environment, so an activated
# virtualenv wins, then the in-project .venv that `make setup` creates; pipenv is the fallback.
set -eu
cd "$(dirname "$0")/.."
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  exec "$VIRTUAL_ENV/bin/python" main.py "$@"
fi
if [ -x .venv/bin/python ]; then
  exec .venv/bin/python main.py "$@"
fi
exec pipenv run python main.py "$@"
