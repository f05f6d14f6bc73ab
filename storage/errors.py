"""Errors raised by storage.

StorageError (a VerdictError)
└── NotFound       the row a function must change does not exist (a caller's bug, not a race)
"""

from verdict.errors import VerdictError


class StorageError(VerdictError):
    """Base of the errors storage raises on purpose."""


class NotFound(StorageError, LookupError):
    def __init__(self, what: str, key: object):
        super().__init__(f"{what} {key!r} does not exist")
        self.what = what
        self.key = key
