"""GitHub errors translated at the edge into Verdict's transient/permanent errors.

GitHubTransientError (TransientError)  5xx, 429, rate limits, network trouble: retry with backoff
GitHubPermanentError (PermanentError)  401/403/404/422: retrying will not help
"""

from __future__ import annotations

from verdict.errors import PermanentError, TransientError


class GitHubTransientError(TransientError):
    pass


class GitHubPermanentError(PermanentError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status
