"""gate: a deployment gate and canary controller for CI/CD."""

__version__ = "0.1.0"
