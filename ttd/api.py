"""The Python API. The CLI and the benchmark runner call these same functions.

    report = ttd.research("What caused the fall of the Western Roman Empire?", steps=3)
    report = await ttd.aresearch(question, model="openai/gpt-4.1-mini")
    for event in ttd.stream(question): ...        # typed ProgressEvents; the last one carries the Report

Configuration keywords are `ResearchConfig` field names, plus `model` (every role), `<role>_model`,
retrieval fields (`k`, `corpora`, `search`, ...), `agent` (a preset) and `config_file`. `retriever=` takes
a ready `Retriever` instance instead of the configured one (the benchmark runner passes its own corpus).
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from ttd import runs, validate
from ttd.config import ResearchConfig, resolve_config
from ttd.context import Deps
from ttd.errors import ConfigError, ModelReplyError
from ttd.events import ProgressEvent, capture, emit
from ttd.graph import build_graph
from ttd.llm.gateway import Gateway, check_models
from ttd.llm.providers import is_embedded
from ttd.report import Report, build_report
from ttd.retrieval.base import Retriever
from ttd.retrieval.factory import build_retriever


def prepare(
    question: str | None = None,
    *,
    resume: str | None = None,
    out: str | Path | None = None,
    agent: str | None = None,
    config_file: str | Path | None = None,
    restart: bool = False,
    **overrides: Any,
) -> tuple[str, ResearchConfig, runs.RunDir | None]:
    """Validate everything a run needs before any work starts; raises one-line `TTDError`s."""
    if resume:
        given = sorted(
            k
            for k, v in {
                "question": question,
                "agent": agent,
                "config_file": config_file,
                **overrides,
            }.items()
            if v is not None
        )
        if given:
            flags = ", ".join(given)
            raise ConfigError(
                f"--resume continues run {resume} with its saved settings; {flags} cannot change it: "
                "drop them, or start a new run"
            )
        run = runs.open_run(resume, out)
        config = run.config()
        question = validate.question(run.meta().get("question"))
        runs.check_resumable(run, restart=restart)
    else:
        if restart:
            raise ConfigError("--restart only goes with --resume RUN_ID")
        question = validate.question(question)
        run = None
        config = resolve_config(agent=agent, config_file=config_file, **overrides)
        validate.writable_dir(runs.root(out))
    check_models(config)
    if any(not is_embedded(m) for m in config.models.distinct()):
        validate.api_base(config.api_base)
    return question, config, run


async def _execute(
    question: str,
    config: ResearchConfig,
    run: runs.RunDir | None,
    out: Any,
    retriever: Retriever | None = None,
) -> Report:
    resumed = run is not None
    owned = retriever is None  # a retriever passed in belongs to the caller, who closes it
    retriever = retriever or build_retriever(config.retrieval)
    deps = Deps(config=config, gateway=Gateway(config), retriever=retriever)
    run = run or runs.new_run(question, config, out)
    with runs.locked(run):
        return await _execute_locked(question, config, run, resumed, deps, retriever if owned else None)


async def _execute_locked(
    question: str,
    config: ResearchConfig,
    run: runs.RunDir,
    resumed: bool,
    deps: Deps,
    owned_retriever: Retriever | None,
) -> Report:
    started = time.time()
    previous_wall = float(run.meta().get("wall_time_s") or 0.0)
    run.update_meta(status="running", pid=os.getpid())
    emit(
        "run_started",
        detail=str(run.path),
        data={"run_id": run.run_id, "resumed": resumed},
        total_steps=config.steps,
    )
    thread = {"configurable": {"thread_id": run.thread_id}, "recursion_limit": 3 * config.steps + 20}
    try:
        async with AsyncSqliteSaver.from_conn_string(str(run.checkpoint)) as saver:
            graph = build_graph(deps, saver)
            snapshot = await graph.aget_state(thread)
            deps.gateway.count(list((snapshot.values or {}).get("usage", [])))  # a budget spans resumes
            if resumed and snapshot.values and not snapshot.next:
                values = snapshot.values  # finished already: nothing to redo
            else:
                start = None if resumed and snapshot.values else {"question": question}
                drafts = len(snapshot.values.get("drafts", [])) if snapshot.values else 0
                async for update in graph.astream(start, thread, stream_mode="updates"):
                    for node_update in update.values():
                        for text in (node_update or {}).get("drafts", []):
                            run.write_draft(drafts, text)
                            drafts += 1
                    # wall time accumulates per finished node, so a kill -9 loses at most one node's time
                    run.update_meta(wall_time_s=round(previous_wall + time.time() - started, 2))
                values = (await graph.aget_state(thread)).values
    except BaseException as exc:
        run.update_meta(
            status="failed",
            error=f"{exc.__class__.__name__}: {exc}"[:500],
            wall_time_s=round(previous_wall + time.time() - started, 2),
        )
        raise
    finally:
        if owned_retriever is not None:
            await owned_retriever.aclose()
    _check_replies(values, run)
    wall = round(previous_wall + time.time() - started, 2)
    report = build_report(values, run.run_id, str(run.path), config.model_dump(mode="json"), wall)
    run.write_report(report.markdown, report.model_dump_json(indent=2))
    run.update_meta(
        status="done",
        wall_time_s=wall,
        error=None,
        citations=report.citations.cited,
        tokens=report.usage.total.tokens,
    )
    emit("report", detail=str(run.path), data={"report": report}, tokens=report.usage.total.tokens)
    return report


def _check_replies(values: dict[str, Any], run: runs.RunDir) -> None:
    """A run whose every model reply was empty has nothing to report: fail instead of writing a title."""
    placeholder = f"# {values.get('question', '')}".strip()  # what the draft stage keeps for an empty reply
    drafts = [d for d in values.get("drafts", []) if str(d).strip() not in ("", placeholder)]
    answers = [r for r in values.get("qa", []) if str(r.get("answer", "")).strip()]
    if values.get("usage") and not drafts and not answers:
        message = (
            f"every model reply in run {run.run_id} was empty: check the model (try another --model) "
            "or raise its max_tokens"
        )
        run.update_meta(status="failed", error=message)
        raise ModelReplyError(message)


async def astream(question: str | None = None, **kwargs: Any) -> AsyncIterator[ProgressEvent]:
    """Run and yield progress events as they happen; the last event (kind "report") has data["report"]."""
    out = kwargs.get("out")
    retriever = kwargs.pop("retriever", None)
    question, config, run = prepare(question, **kwargs)
    events: asyncio.Queue[ProgressEvent | BaseException | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def sink(event: ProgressEvent) -> None:  # may be called from worker threads
        loop.call_soon_threadsafe(events.put_nowait, event)

    async def runner() -> None:
        with capture(sink):
            try:
                await _execute(question, config, run, out, retriever)
            except BaseException as exc:  # handed to the consumer, re-raised there
                loop.call_soon_threadsafe(events.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(events.put_nowait, None)

    task = asyncio.create_task(runner())
    try:
        while (item := await events.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def aresearch(question: str | None = None, **kwargs: Any) -> Report:
    """Run a research job and return its `Report`."""
    report: Report | None = None
    async for event in astream(question, **kwargs):
        if event.kind == "report":
            report = event.data["report"]
    assert report is not None
    return report


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
