"""During a deploy: rollout spec → controller (state machine) → journal. Never prints or exits."""
