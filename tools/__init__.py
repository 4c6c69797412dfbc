"""Command-line helpers run as ``pipenv run python -m tools.<name>``."""
