"""Errors raised by scope.

ScopeError                  base (a VerdictError)
├── ScopeConfigError        the `scope:` section of .github/verdict.yml is invalid (names the key)
└── ImpactDataError         recorded impact data is corrupt or of an unknown format

Most bad input is *not* an error: an unknown base in the pipeline, unparseable source, cycles or
symlinks all end in a (possibly full) selection with a reason. This error is for callers that must
refuse: a bad config.
"""

from __future__ import annotations

from verdict.errors import PermanentError


class ScopeError(PermanentError):
    """Scope cannot do what was asked; retrying will not help."""


class ScopeConfigError(ScopeError):
    """The `scope:` configuration is invalid; the message names the key."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key


class ImpactDataError(ScopeError):
    """Recorded impact data that cannot be used (corrupt, or of an unknown format)."""
