"""Errors storage raises, each with a message a school's IT person can act on."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for every storage error."""


class DatabaseOpenError(StorageError):
    """The database cannot be opened, migrated or decrypted: the bot must not start.

    The message is one line, fit to print as is."""


class EncryptionKeyError(DatabaseOpenError):
    """The encryption key is missing, malformed or not the one the stored data was encrypted with."""


class TextTooLong(StorageError, ValueError):
    """A text is over the limit; nothing was written."""

    def __init__(self, *, what: str, length: int, limit: int) -> None:
        super().__init__(f"The {what} is {length:,} characters long; the limit is {limit:,}. Nothing was saved.")
        self.what = what
        self.length = length
        self.limit = limit


class AlreadyDecided(StorageError):
    """A request or escalation was already decided; the first decision stands."""


class NotFound(StorageError, LookupError):
    """The record asked for does not exist."""


class CaseClosed(StorageError, ValueError):
    """A closed case takes no new messages."""


def database_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database could not be reached (down, restarting, a dropped connection),
    rather than that the code is wrong: worth one line in the log, not a traceback per request."""
    from sqlalchemy import exc

    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or isinstance(error, (exc.OperationalError, exc.InterfaceError))
    return isinstance(error, (ConnectionError, TimeoutError, exc.TimeoutError))
