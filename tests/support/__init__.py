"""Test helpers that stand in for external services (not tests themselves)."""
