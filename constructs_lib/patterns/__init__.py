"""Reusable compositions of the base building blocks: APIs, network, schedule, alarms."""
