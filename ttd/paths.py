"""Where ttd keeps things: runs and corpora (data), assembled models and indexes (cache).

`TTD_HOME` puts everything under one folder (tests and CI use a temporary one); otherwise the platform's
user data and cache directories are used.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir


def data_dir() -> Path:
    home = os.environ.get("TTD_HOME")
    return Path(home) if home else Path(user_data_dir("ttd"))


def cache_dir() -> Path:
    home = os.environ.get("TTD_HOME")
    return Path(home) / "cache" if home else Path(user_cache_dir("ttd"))


def runs_dir() -> Path:
    return data_dir() / "runs"
