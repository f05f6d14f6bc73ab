"""Errors shared by every package.

VerdictError
├── ConfigError        a setting is missing or malformed (one line, shown at start-up)
├── TransientError     worth retrying with backoff (network, 5xx, rate limits)
└── PermanentError     retrying will not help; the check run ends with the message
"""


class VerdictError(Exception):
    """Base of every error Verdict raises on purpose."""


class ConfigError(VerdictError):
    pass


class TransientError(VerdictError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(VerdictError):
    pass
