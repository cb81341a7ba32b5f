"""Persisted queries: Apollo's automatic persisted queries (APQ) and trusted documents.

APQ: a request may name its document by ``extensions.persistedQuery.sha256Hash`` alone; an
unknown hash answers PERSISTED_QUERY_NOT_FOUND and the client sends it again with the text,
which is checked against the hash and, once it validates, registered in Redis (one key per
document, with a TTL, so every instance shares it) and in a per-process LRU bounded by bytes
(so a known hash costs no Redis command on a warm worker).

Trusted documents (GRAPHQL_TRUSTED_DOCUMENTS): only the documents of a manifest (a JSON
object of sha256 hash to document text, as client build tools emit) run, named by hash or
sent as their exact text; anything else is refused before it is parsed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from config import ConfigError
from extensions import redis_extension
from graphql_runtime.document_cache import DocumentCache
from infra import metrics
from services.errors import OUTAGES

log = logging.getLogger(__name__)
KEY_PREFIX = "apq:"  # one key per document (GET, SET ... EX): any node of a Cluster
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryError(Exception):
    """A persisted-query request that cannot run, with its code and HTTP statuses."""

    def __init__(self, code: str, message: str, status: int = 400, strict: int | None = None):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status
        self.strict_status = strict  # under application/graphql-response+json, if different

    def body(self) -> dict[str, Any]:
        """The GraphQL response body: one error, no data."""
        return {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}


def not_found() -> PersistedQueryError:
    """Apollo's retry signal: 200 as Apollo Server answers it, 404 where the spec wants a 4xx."""
    return PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200, 404)


def sha256_hex(text: str) -> str:
    """The sha256 of a document's exact text (UTF-8), as lowercase hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def requested_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash ``extensions.persistedQuery`` names; None without one; 400 if malformed."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError("BAD_REQUEST", "Unsupported persisted query version.")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise PersistedQueryError("BAD_REQUEST", "sha256Hash must be 64 hexadecimal digits.")
    return digest.lower()


def check_hash(query: str, digest: str) -> None:
    """400 PERSISTED_QUERY_HASH_MISMATCH unless ``digest`` is the sha256 of ``query``."""
    if sha256_hex(query) != digest:
        message = "The sha256Hash does not match the query text."
        raise PersistedQueryError("PERSISTED_QUERY_HASH_MISMATCH", message)


@dataclass(slots=True)
class _Text:
    """A document text as a cache entry, charged the bytes the string takes."""

    text: str
    size: int


class TextCache:
    """Least recently used document texts by hash, bounded by the bytes the texts take.

    The document cache's LRU does the bookkeeping; only the byte bound applies here.
    """

    def __init__(self, max_bytes: int) -> None:
        self._cache: DocumentCache[_Text] = DocumentCache(sys.maxsize, max_bytes)

    @property
    def max_bytes(self) -> int:
        """The bound on the texts' bytes."""
        return self._cache.max_bytes

    @property
    def bytes(self) -> int:
        """The bytes the kept texts take."""
        return self._cache.bytes

    def get(self, digest: str) -> str | None:
        """The text for ``digest``, marked as just used; None if absent."""
        entry = self._cache.get(digest)
        return None if entry is None else entry.text

    def put(self, digest: str, text: str) -> None:
        """Keep ``text``, evicting the least recently used until the bound holds."""
        self._cache.put(digest, _Text(text, sys.getsizeof(text)))


class Documents(Protocol):
    """Where a request's document text comes from."""

    def text(self, query: str | None, extensions: dict[str, Any] | None) -> str:
        """The document to run; PersistedQueryError when there is none it may run."""

    def register(self, query: str, extensions: dict[str, Any] | None) -> None:
        """Remember a document that was sent with its hash and validated."""


class SentDocuments:
    """APQ off: the text as sent; a persisted-query request is not supported."""

    def text(self, query: str | None, extensions: dict[str, Any] | None) -> str:
        """The query as sent."""
        if requested_hash(extensions) is not None:
            message = "PersistedQueryNotSupported"
            raise PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", message, 200, 400)
        assert query is not None  # the endpoint checked it
        return query

    def register(self, query: str, extensions: dict[str, Any] | None) -> None:
        """Nothing to remember."""


class AutomaticPersistedQueries:
    """APQ: documents registered by hash in Redis (with a TTL) and in a per-process LRU."""

    def __init__(self, ttl: int, cache_bytes: int) -> None:
        self.ttl = ttl
        self.cache = TextCache(cache_bytes)

    def text(self, query: str | None, extensions: dict[str, Any] | None) -> str:
        """The text sent (checked against its hash), else the one registered under the hash."""
        digest = requested_hash(extensions)
        if digest is None:
            assert query is not None  # the endpoint checked it
            return query
        if query is not None:
            check_hash(query, digest)
            return query
        text = self.cache.get(digest)
        if text is None:
            stored = redis_extension.client.get(KEY_PREFIX + digest)
            if stored is None:
                metrics.count("persisted_query", outcome="miss")
                raise not_found()
            text = stored.decode() if isinstance(stored, bytes) else str(stored)
            self.cache.put(digest, text)
        metrics.count("persisted_query", outcome="hit")
        return text

    def register(self, query: str, extensions: dict[str, Any] | None) -> None:
        """Store a validated document sent with its hash, unless this process knows it."""
        digest = requested_hash(extensions)
        if digest is None or self.cache.get(digest) is not None:
            return
        try:
            redis_extension.client.set(KEY_PREFIX + digest, query, ex=self.ttl)
        except OUTAGES as error:  # the text came with the request: run it, register later
            log.warning("persisted query not registered: %r", error)
            return
        self.cache.put(digest, query)
        metrics.count("persisted_query", outcome="registered")


class TrustedDocuments:
    """Only a manifest's documents run: by hash, or sent as their exact text."""

    def __init__(self, manifest: dict[str, str]) -> None:
        self.by_hash = {digest.lower(): text for digest, text in manifest.items()}
        self.texts = frozenset(self.by_hash.values())

    def text(self, query: str | None, extensions: dict[str, Any] | None) -> str:
        """The trusted document the request names; refused before parsing otherwise."""
        digest = requested_hash(extensions)
        if digest is not None and query is not None:
            check_hash(query, digest)
        if digest is not None and query is None:
            text = self.by_hash.get(digest)
            if text is None:
                raise not_found()
            return text
        if query in self.texts:
            assert query is not None
            return query
        message = "Only the documents this server trusts may run; this one is not among them."
        metrics.count("persisted_query", outcome="refused")
        raise PersistedQueryError("PERSISTED_QUERY_NOT_IN_LIST", message, 403)

    def register(self, query: str, extensions: dict[str, Any] | None) -> None:
        """Nothing is registered at run time: the manifest is the list."""


APOLLO_MANIFEST = "apollo-persisted-query-manifest"


def load_manifest(path: str) -> dict[str, str]:
    """A trusted-documents manifest: a JSON object of sha256 hash to document text, or
    Apollo's persisted query manifest (``{"format": ..., "operations": [{id, body}]}``)."""
    try:
        manifest = _documents_of(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise ConfigError(f"GRAPHQL_TRUSTED_DOCUMENTS: cannot read {path}: {error}") from None
    if not manifest:
        raise ConfigError(f"GRAPHQL_TRUSTED_DOCUMENTS: {path} is not a JSON object of documents")
    for digest, text in manifest.items():
        if not (isinstance(digest, str) and isinstance(text, str)):
            raise ConfigError(f"GRAPHQL_TRUSTED_DOCUMENTS: {digest!r} is not a document's hash")
        if sha256_hex(text) != digest.lower():
            raise ConfigError(f"GRAPHQL_TRUSTED_DOCUMENTS: {digest!r} is not its document's sha256")
    return manifest


def _documents_of(manifest: Any) -> dict[Any, Any]:
    if isinstance(manifest, dict) and manifest.get("format") == APOLLO_MANIFEST:
        operations = manifest.get("operations") or []
        return {op.get("id"): op.get("body") for op in operations if isinstance(op, dict)}
    return manifest if isinstance(manifest, dict) else {}


def documents_from_config(config: dict[str, Any]) -> Documents:
    """Trusted documents when a manifest is configured, else APQ (or neither, when off)."""
    if config["GRAPHQL_TRUSTED_DOCUMENTS"]:
        return TrustedDocuments(load_manifest(config["GRAPHQL_TRUSTED_DOCUMENTS"]))
    if config["GRAPHQL_PERSISTED_QUERIES"]:
        ttl, cache_bytes = config["GRAPHQL_PERSISTED_QUERY_TTL"], config["GRAPHQL_APQ_CACHE_BYTES"]
        return AutomaticPersistedQueries(ttl, cache_bytes)
    return SentDocuments()
