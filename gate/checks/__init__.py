"""Live pre-deployment checks: ask CI, reviews, error budgets, incidents and more before a deploy.

Declared in a policy's ``spec.checks``; each runs concurrently with its own timeout. A check
that cannot run fails closed unless it says ``onError: fail-open``.
"""
