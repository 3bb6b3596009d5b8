"""Every error Briefing raises, in one tree.

    BriefingError
    ├── ConfigError (also ValueError)      .path, .key
    ├── SourceError                        .source
    │   ├── FetchError                     (network, file system)
    │   └── ParseError (also ValueError)   (bytes that are not a feed / document)
    ├── ExtractionError                    .location
    ├── StorageError                       (driver errors at the store boundary)
    │   └── BusyError                      .name: another run holds the lock
    ├── RenderError
    │   └── ArchiveError                   .path: an archived digest cannot be read back
    ├── DeliveryError                      .recipient
    ├── UsageError                         a command asked for what does not exist (a digest id)
    └── ServerError                        the Prefect server would not start or answer

Each error keeps what identifies it and shows it in ``str()``; callers chain
with ``raise ... from`` so the original cause is never lost.
"""

from __future__ import annotations


class BriefingError(Exception):
    """Root of every error raised on purpose by Briefing."""


class ConfigError(BriefingError, ValueError):
    """A configuration file or value is wrong; names the file and the key."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        self.path, self.key, self.message = path, key, message
        where = f" in {path}" if path else ""
        what = f" at key '{key}'" if key else ""
        super().__init__(f"config error{where}{what}: {message}")


class SourceError(BriefingError):
    """A source could not deliver its items."""

    def __init__(self, source: str, message: str):
        self.source, self.message = source, message
        super().__init__(f"{source}: {message}")


class FetchError(SourceError):
    """The bytes could not be fetched (network, permissions, missing file)."""


class ParseError(SourceError, ValueError):
    """The bytes were fetched but are not a usable feed or document (a ValueError, as parsers' errors are)."""


class ExtractionError(BriefingError):
    """A document yielded no usable text."""

    def __init__(self, location: str, message: str):
        self.location, self.message = location, message
        super().__init__(f"{location}: {message}")


class StorageError(BriefingError):
    """The store failed; wraps the database driver's error."""


class RenderError(BriefingError):
    """A template could not be rendered or the archive not written."""


class ArchiveError(RenderError):
    """An archived digest (its ``.eml``, its HTML) cannot be read back."""

    def __init__(self, path: str, message: str):
        self.path, self.message = path, message
        super().__init__(f"archived digest {path}: {message}")


class UsageError(BriefingError):
    """A command asked for something that does not exist, e.g. a digest id the ledger does not hold."""


class ServerError(BriefingError):
    """The Prefect server Briefing starts (or reuses) did not start or did not answer."""


class DeliveryError(BriefingError):
    """The digest could not be handed to the mail server."""

    def __init__(self, recipient: str, message: str):
        self.recipient, self.message = recipient, message
        super().__init__(f"delivery to {recipient} failed: {message}")


class BusyError(StorageError):
    """Another run holds a lock in the store (a digest already running); nothing was done."""

    def __init__(self, name: str, holder: str, since: str, waited: float):
        self.name, self.holder = name, holder
        super().__init__(f"{name} is already running (held by {holder} since {since}); "
                         f"waited {waited:g} s, exiting without doing anything")


def one_line(value: object, limit: int = 300) -> str:
    """A reason fit for a log line or a skip list: whitespace folded (parser messages span lines), capped."""
    return " ".join(str(value).split())[:limit]
