"""A small SQLite cache for search results and fetched pages, with a time-to-live.

A repeated search (same provider, endpoint, query and k) is answered from here without a network request;
`enabled=False` (the CLI's `--no-cache`) bypasses it for reads and writes alike.

A cache is an optimisation, never a reason to fail research: a damaged database file is rebuilt, and a
cache that still cannot be used (a folder at its path, a read-only disk) is bypassed, each with a warning
and counted in `rebuilt` / `bypassed`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ttd.paths import retrieval_cache

DEFAULT_TTL_S = 7 * 24 * 3600.0
log = logging.getLogger("ttd.cache")


def cache_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Cache:
    """Namespaced key -> JSON value store; counts hits and misses so tests and logs can show them."""

    def __init__(self, path: Path | None = None, ttl_s: float = DEFAULT_TTL_S, enabled: bool = True) -> None:
        self.path = path or retrieval_cache()
        self.ttl_s = ttl_s
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.rebuilt = 0
        self.bypassed = 0

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries (ns TEXT NOT NULL, key TEXT NOT NULL, "
                "value TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (ns, key))"
            )
            db.execute("SELECT count(*) FROM entries").fetchone()
        except BaseException:
            db.close()
            raise
        return db

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                if not self.path.is_file() or "locked" in str(exc):
                    raise
                log.warning("cache %s is damaged (%s): rebuilding it", self.path, exc)
                for suffix in ("", "-wal", "-shm"):
                    self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
                self.rebuilt += 1
                self._db = self._open()
        return self._db

    def _bypass(self, exc: Exception) -> None:
        """Stop using the cache for this run; the research goes on without it."""
        log.warning("cache %s cannot be used (%s): continuing without it", self.path, exc)
        self.enabled = False
        self.bypassed += 1
        if self._db is not None:
            self._db.close()
            self._db = None

    def get(self, ns: str, key: str) -> Any | None:
        if not self.enabled:
            return None
        try:
            with self._lock:
                row = (
                    self._conn()
                    .execute("SELECT value, expires FROM entries WHERE ns=? AND key=?", (ns, key))
                    .fetchone()
                )
            value = None if row is None or row[1] < time.time() else json.loads(row[0])
        except (sqlite3.Error, OSError, ValueError, TypeError) as exc:
            self._bypass(exc)
            value = None
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def set(self, ns: str, key: str, value: Any, ttl_s: float | None = None) -> None:
        if not self.enabled:
            return
        expires = time.time() + (self.ttl_s if ttl_s is None else ttl_s)
        try:
            with self._lock, self._conn() as db:
                db.execute(
                    "INSERT OR REPLACE INTO entries VALUES (?,?,?,?)", (ns, key, json.dumps(value), expires)
                )
        except (sqlite3.Error, OSError) as exc:
            self._bypass(exc)

    def clear(self, ns: str | None = None) -> int:
        """Delete entries (of one namespace, or all); returns how many."""
        with self._lock, self._conn() as db:
            cur = (
                db.execute("DELETE FROM entries WHERE ns=?", (ns,))
                if ns
                else db.execute("DELETE FROM entries")
            )
            return cur.rowcount

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def clear_cache(path: Path | None = None) -> int:
    """Empty the retrieval cache (what `ttd cache clear` runs); returns the number of entries removed."""
    p = path or retrieval_cache()
    if not p.exists():
        return 0
    if not p.is_file():
        from ttd.errors import TTDError

        raise TTDError(f"the cache path {p} is not a file: remove it by hand")
    c = Cache(p)  # a damaged file is rebuilt empty, which is what clearing asks for
    try:
        return c.clear()
    finally:
        c.close()
