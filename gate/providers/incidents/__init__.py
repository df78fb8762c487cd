"""Incident trackers: what is on fire right now."""
