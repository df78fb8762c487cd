"""The delivery report teams are judged by, computed from the rollout journals.

:mod:`gate.delivery.rollouts` reads each rollout (through the Journal API),
:mod:`gate.delivery.report` computes the figures beside their targets (time to detect < 1
minute, time to restore < 5 minutes, rollback rate < 2 %), :mod:`gate.delivery.render` writes
them as text, JSON or Markdown, and :mod:`gate.delivery.timeline` / :mod:`gate.delivery.svg`
draw one rollout's timeline. Nothing here prints or exits.
"""
