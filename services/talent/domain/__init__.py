"""Talent aggregates and their rules. No I/O: dates and ids come in as arguments."""
