"""Verdict: the pieces shared by every package (settings, errors, logging) and the CLI."""

from verdict.errors import ConfigError, PermanentError, TransientError, VerdictError
from verdict.settings import Settings

__all__ = ["ConfigError", "PermanentError", "Settings", "TransientError", "VerdictError"]
