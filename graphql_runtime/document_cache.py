"""A least-recently-used map of documents, bounded by entry count and by bytes held."""

from __future__ import annotations

import sys
from collections import OrderedDict
from threading import Lock
from typing import Any, Generic, Protocol, TypeVar

from graphql import DocumentNode, Token

# Measured with tracemalloc (tests/test_document_cache.py holds the estimate to it): a
# validated document keeps 420-610 bytes per token (nodes, locations, the token chain)
# besides the text of its strings and comments; a formatted error 800-1,000 bytes, most
# of it proportional to its text.
TOKEN_BYTES = 700
ERROR_BYTES = 400
ENTRY_BYTES = 2048


class Sized(Protocol):
    """An entry that knows (an upper estimate of) the bytes it keeps alive."""

    size: int


Entry = TypeVar("Entry", bound=Sized)


class DocumentCache(Generic[Entry]):
    """Entries by query text; the least recently used go first when either bound is passed."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> Entry | None:
        """The entry for ``query``, marked as just used; None if absent."""
        with self._lock:
            entry = self._entries.get(query)
            if entry is not None:
                self._entries.move_to_end(query)
            return entry

    def put(self, query: str, entry: Entry) -> None:
        """Keep ``entry``, evicting the least recently used until both bounds hold."""
        if entry.size > self.max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(query, None)
            self.bytes += entry.size - (previous.size if previous else 0)
            self._entries[query] = entry
            self._evict()

    def charge(self, query: str, extra: int) -> None:
        """Count ``extra`` more bytes for the entry of ``query`` (work attached to it later)."""
        with self._lock:
            entry = self._entries.get(query)
            if entry is None:
                return
            entry.size += extra
            self.bytes += extra
            self._evict()

    def _evict(self) -> None:
        """Drop the least recently used entries until both bounds hold (lock held)."""
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size


def entry_size(query: str, document: DocumentNode | None, errors: list[dict[str, Any]]) -> int:
    """Upper estimate of the bytes an entry keeps alive: text, document and tokens, errors."""
    size = sys.getsizeof(query) + ENTRY_BYTES
    if document is not None and document.loc is not None:
        size += _tokens_size(document.loc.start_token)
    return size + sum(ERROR_BYTES + 4 * len(str(error)) for error in errors)


def _tokens_size(token: Token | None) -> int:
    size = 0
    while token is not None:
        size += TOKEN_BYTES + len(token.value or "")
        token = token.next
    return size
