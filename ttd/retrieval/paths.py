"""Where retrieval keeps its files, under the folders `ttd.paths` decides (`TTD_HOME` moves them all)."""

from __future__ import annotations

from pathlib import Path

from ttd.paths import cache_dir, data_dir


def ttd_home() -> Path:
    """The root of ttd's persistent data: `$TTD_HOME` when set, else the platform's user data directory."""
    return data_dir()


def corpora_dir() -> Path:
    """Directory holding one SQLite file per local corpus."""
    return data_dir() / "corpora"


def cache_path() -> Path:
    """The SQLite file caching search results and fetched pages."""
    return cache_dir() / "retrieval.sqlite"
