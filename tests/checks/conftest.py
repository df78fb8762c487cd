from tests.cli.conftest import gate

__all__ = ["gate"]
