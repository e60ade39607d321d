"""The Python API. The CLI, studio and the benchmark runner use the same pipeline (`ttd.run.Run`).

    report = ttd.research("What caused the fall of the Western Roman Empire?", steps=3)
    report = await ttd.aresearch(question, model="openai/gpt-4.1-mini")
    for event in ttd.stream(question): ...        # typed ProgressEvents; the last one carries the Report

Configuration keywords are `ResearchConfig` field names, plus `model` (every role), `<role>_model`,
retrieval fields (`k`, `corpora`, `search`, ...), `agent` (a preset) and `config_file`. `retriever=` takes
a ready `Retriever` instance instead of the configured one (the benchmark runner passes its own corpus).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ttd.events import ProgressEvent
from ttd.report import Report
from ttd.run import Run


async def astream(question: str | None = None, **kwargs: Any) -> AsyncIterator[ProgressEvent]:
    """Run and yield progress events as they happen; the last event (kind "report") has data["report"]."""
    run = Run.prepare(question, **kwargs)
    async for event in run.stream():
        yield event
    assert run.report is not None
    yield ProgressEvent(
        kind="report",
        detail=run.report.run_dir,
        data={"report": run.report},
        tokens=run.report.usage.total.tokens,
    )


async def aresearch(question: str | None = None, **kwargs: Any) -> Report:
    """Run a research job and return its `Report`."""
    return await Run.prepare(question, **kwargs).execute()


def research(question: str | None = None, **kwargs: Any) -> Report:
    """Blocking `aresearch`; inside a running event loop use `await ttd.aresearch(...)` instead."""
    try:
        asyncio.get_running_loop()
        inside_loop = True
    except RuntimeError:
        inside_loop = False
    if inside_loop:
        raise RuntimeError("ttd.research() was called inside an event loop: use 'await ttd.aresearch(...)'")
    # Run outside the except block, so errors raised by the run do not chain onto that RuntimeError.
    return asyncio.run(aresearch(question, **kwargs))


def stream(question: str | None = None, **kwargs: Any) -> Iterator[ProgressEvent]:
    """Blocking iterator over `astream`'s events (the run happens in a background thread)."""
    items: queue.Queue[Any] = queue.Queue()
    done = object()

    def worker() -> None:
        async def pump() -> None:
            async for event in astream(question, **kwargs):
                items.put(event)

        try:
            asyncio.run(pump())
        except BaseException as exc:
            items.put(exc)
        finally:
            items.put(done)

    threading.Thread(target=worker, name="ttd-run", daemon=True).start()
    while (item := items.get()) is not done:
        if isinstance(item, BaseException):
            raise item
        yield item
