"""What reading reports besides articles: an input that could not be read, and a note about one that was.

Both name the input (file, ``file:line`` or URL) and say why, in words a user can act on. They sit
at the bottom of :mod:`indexer.ingest` (nothing here imports a sibling), so every reader, the
fetcher and the feeds can use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadError:
    """An input that yields no article: not indexed."""

    origin: str
    reason: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.reason}"


@dataclass(frozen=True)
class ReadWarning:
    """An input that was indexed, with something its user should know ("decoded as cp1252")."""

    origin: str
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"
