"""Notifiers: tell people what a rollout did. A failing notifier never delays a rollback."""
