"""Where retrieval keeps its files: one function decides, so tests and users can move everything at once.

`TTD_HOME` wins (tests point it at a temporary directory); otherwise the platform's user data directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def ttd_home() -> Path:
    """The root of ttd's persistent data: `$TTD_HOME` when set, else `platformdirs.user_data_dir("ttd")`."""
    env = os.environ.get("TTD_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ttd"))


def corpora_dir() -> Path:
    """Directory holding one SQLite file per local corpus."""
    return ttd_home() / "corpora"


def cache_path() -> Path:
    """The SQLite file caching search results and fetched pages."""
    return ttd_home() / "cache" / "retrieval.sqlite"
