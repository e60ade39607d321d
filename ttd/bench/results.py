"""A benchmark's results files: one JSON line per finished (system, question), appended as rows finish.

Its own module so the runner (which writes them) and the summary (which reads them) share it without
importing each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ttd.errors import TTDError

RESULTS, PAIRWISE = "results.jsonl", "pairwise.jsonl"


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if lineno == len(lines):
                continue  # a line cut off by a kill: that item is simply redone
            raise TTDError(
                f"{path}:{lineno} is not valid JSON: fix or delete that line, then --resume"
            ) from None
    return rows


def latest(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """The last row per (system, id): a resumed retry supersedes the failed attempt."""
    return {(r["system"], r["id"]): r for r in rows}


class Writer:
    """Appends rows as they finish; one line per row, flushed, so a kill leaves whole lines."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a", encoding="utf-8")

    def write(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()
