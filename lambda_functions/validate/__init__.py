"""Checks the object description that starts the Step Functions workflow."""
