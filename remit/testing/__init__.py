"""Test support shared by every test suite and benchmark (no test runner imports here)."""

from remit.testing.sandbox import SandboxGatewayError, SandboxGatewayProcess

__all__ = ["SandboxGatewayError", "SandboxGatewayProcess"]
