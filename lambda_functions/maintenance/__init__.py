"""Scheduled maintenance: once a day, count the records written the day before."""
