"""Stacks compose constructs from constructs_lib; they create no raw resources."""
