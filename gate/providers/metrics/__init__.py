"""Metrics providers: run a query, return samples."""
