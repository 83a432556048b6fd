"""Governance domain: aggregates and rules, no I/O."""
