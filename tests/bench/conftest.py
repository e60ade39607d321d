"""Shared helpers for the benchmark tests: where the real data samples live, and a skip when they don't."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parents[2].parent / "shared" / "data"
BENCHMARKS = DATA / "benchmarks"


@pytest.fixture
def benchmarks() -> Path:
    if not BENCHMARKS.is_dir():
        pytest.skip(f"benchmark samples not found at {BENCHMARKS} (the shared data folder is absent)")
    return BENCHMARKS


@pytest.fixture(autouse=True)
def _data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Named datasets resolve to the shared samples whatever the working directory is."""
    monkeypatch.setenv("TTD_BENCH_DATA", str(BENCHMARKS))
