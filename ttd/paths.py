"""Where ttd keeps and finds things: runs, corpora, caches and benchmark data. The one home for paths.

`TTD_HOME` puts everything ttd writes under one folder (tests and CI use a temporary one); otherwise the
platform's user data and cache directories are used. Benchmark data is read from `TTD_BENCH_DATA`, else
from a checkout's sibling `shared/data/benchmarks`.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir

_CHECKOUT = Path(__file__).resolve().parents[1]  # the folder holding the `ttd` package


def data_dir() -> Path:
    """The root of ttd's persistent data: `$TTD_HOME` when set, else the platform's user data directory."""
    home = os.environ.get("TTD_HOME")
    return Path(home) if home else Path(user_data_dir("ttd"))


def cache_dir() -> Path:
    home = os.environ.get("TTD_HOME")
    return Path(home) / "cache" if home else Path(user_cache_dir("ttd"))


def runs_dir() -> Path:
    return data_dir() / "runs"


def corpora_dir() -> Path:
    """One SQLite file per local corpus."""
    return data_dir() / "corpora"


def retrieval_cache() -> Path:
    """The SQLite file caching search results and fetched pages."""
    return cache_dir() / "retrieval.sqlite"


def bench_data_dir() -> Path:
    """`TTD_BENCH_DATA`, else the sibling `shared/data/benchmarks` of the working directory's parent or
    of the checkout (the project's layout); the checkout's when neither exists, for the error message."""
    if env := os.environ.get("TTD_BENCH_DATA"):
        return Path(env)
    for base in (Path.cwd().parent, _CHECKOUT.parent):
        candidate = base / "shared" / "data" / "benchmarks"
        if candidate.is_dir():
            return candidate
    return _CHECKOUT.parent / "shared" / "data" / "benchmarks"
