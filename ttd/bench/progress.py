"""A rich progress bar with ETA for a benchmark run (a no-op when disabled, e.g. in tests or pipes)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    def __init__(self, total: int, description: str, enabled: bool = True) -> None:
        self.enabled = enabled
        self.description = description
        self._f1: list[float] = []
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
        )
        self._task = self._progress.add_task(description, total=total)

    def __enter__(self) -> ProgressBar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.__exit__(*exc)

    def advance(self, row: dict[str, Any] | None) -> None:
        """One item done; the description shows the running F1 and failures so far."""
        if row is not None and row.get("f1") is not None:
            self._f1.append(float(row["f1"]))
        extra = f" F1 {sum(self._f1) / len(self._f1):.2f}" if self._f1 else ""
        self._progress.update(self._task, advance=1, description=self.description + extra)

    def add(self, count: int, description: str) -> None:
        """More work discovered (e.g. the side-by-side judgements after both systems ran)."""
        self.description = description
        total = (self._progress.tasks[0].total or 0) + count
        self._progress.update(self._task, total=total, description=description)
