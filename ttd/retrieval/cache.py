"""A small SQLite cache for search results and fetched pages, with a time-to-live.

A repeated search (same provider, endpoint, query and k) is answered from here without a network request;
`enabled=False` (the CLI's `--no-cache`) bypasses it for reads and writes alike.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ttd.retrieval.paths import cache_path

DEFAULT_TTL_S = 7 * 24 * 3600.0


def cache_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class Cache:
    """Namespaced key -> JSON value store; counts hits and misses so tests and logs can show them."""

    def __init__(self, path: Path | None = None, ttl_s: float = DEFAULT_TTL_S, enabled: bool = True) -> None:
        self.path = path or cache_path()
        self.ttl_s = ttl_s
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS entries (ns TEXT NOT NULL, key TEXT NOT NULL, "
                "value TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (ns, key))"
            )
        return self._db

    def get(self, ns: str, key: str) -> Any | None:
        if not self.enabled:
            return None
        with self._lock:
            row = (
                self._conn()
                .execute("SELECT value, expires FROM entries WHERE ns=? AND key=?", (ns, key))
                .fetchone()
            )
        if row is None or row[1] < time.time():
            self.misses += 1
            return None
        self.hits += 1
        return json.loads(row[0])

    def set(self, ns: str, key: str, value: Any, ttl_s: float | None = None) -> None:
        if not self.enabled:
            return
        expires = time.time() + (self.ttl_s if ttl_s is None else ttl_s)
        with self._lock, self._conn() as db:
            db.execute(
                "INSERT OR REPLACE INTO entries VALUES (?,?,?,?)", (ns, key, json.dumps(value), expires)
            )

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
    p = path or cache_path()
    if not p.exists():
        return 0
    c = Cache(p)
    try:
        return c.clear()
    finally:
        c.close()
