"""One research run from arguments to `Report`: the single pipeline behind the CLI, API, studio and bench.

    run = Run.prepare(question, steps=3)       # every input error raises here; nothing is on disk yet
    async for event in run.stream(): ...       # ProgressEvents while the graph runs
    report = run.report                        # or simply: report = await run.execute()

`prepare` resolves the config (preset < file < env < arguments), checks every model and builds the
retriever (which opens the named corpora), so bad input fails before a run directory exists. `stream`
creates or reopens the run directory, runs the graph with the SQLite checkpointer, reads progress from
LangGraph's custom stream (see `ttd/events.py`), saves drafts and the report, and closes the retriever
if it built it. Errors raised once `run_dir` is set concern a run that exists and can be resumed.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from ttd import runs, validate
from ttd.config import ResearchConfig, resolve_config
from ttd.context import Deps
from ttd.errors import ConfigError, ModelReplyError
from ttd.events import ProgressEvent
from ttd.formatting import title_only
from ttd.graph import build_graph
from ttd.llm.gateway import Gateway, check_models
from ttd.llm.providers import is_embedded
from ttd.report import Report, build_report
from ttd.retrieval.base import Retriever
from ttd.retrieval.factory import build_retriever


def settings(
    *, agent: str | None = None, config_file: str | Path | None = None, **overrides: Any
) -> ResearchConfig:
    """The config every entry point uses: preset < config file < env < arguments, with its models checked."""
    config = resolve_config(agent=agent, config_file=config_file, **overrides)
    check_models(config)
    return config


def dependencies(config: ResearchConfig, retriever: Retriever | None = None) -> Deps:
    """The gateway and retriever the stages share; building the retriever opens (and so checks) corpora."""
    return Deps(
        config=config, gateway=Gateway(config), retriever=retriever or build_retriever(config.retrieval)
    )


class Run:
    """A validated research run. Build it with `Run.prepare`; run it once with `stream` or `execute`."""

    def __init__(
        self,
        question: str,
        deps: Deps,
        *,
        owns_retriever: bool,
        resume: runs.RunDir | None = None,
        out: str | Path | None = None,
    ) -> None:
        self.question = question
        self.deps = deps
        self.config = deps.config
        self.owns_retriever = owns_retriever
        self.out = out
        self.resumed = resume is not None
        self.run_dir: runs.RunDir | None = resume  # set once the run exists on disk (resumable from then)
        self.report: Report | None = None

    @classmethod
    def prepare(
        cls,
        question: str | None = None,
        *,
        resume: str | None = None,
        out: str | Path | None = None,
        retriever: Retriever | None = None,
        agent: str | None = None,
        config_file: str | Path | None = None,
        restart: bool = False,
        **overrides: Any,
    ) -> Run:
        """Validate everything a run needs before any work starts; raises one-line `TTDError`s.

        A `retriever` passed in belongs to the caller, who closes it; otherwise the run builds and closes one.
        """
        existing = None
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
                raise ConfigError(
                    f"--resume continues run {resume} with its saved settings; {', '.join(given)} cannot"
                    " change it: drop them, or start a new run"
                )
            existing = runs.open_run(resume, out)
            config = existing.config()
            check_models(config)
            question = validate.question(existing.meta().get("question"))
            runs.check_resumable(existing, restart=restart)
        else:
            if restart:
                raise ConfigError("--restart only goes with --resume RUN_ID")
            question = validate.question(question)
            config = settings(agent=agent, config_file=config_file, **overrides)
            validate.writable_dir(runs.root(out))
        if any(not is_embedded(m) for m in config.models.distinct()):
            validate.api_base(config.api_base)
        deps = dependencies(config, retriever)
        return cls(question, deps, owns_retriever=retriever is None, resume=existing, out=out)

    async def execute(self) -> Report:
        """Run to the end and return the report (progress events are dropped)."""
        async for _ in self.stream():
            pass
        assert self.report is not None
        return self.report

    async def stream(self) -> AsyncIterator[ProgressEvent]:
        """Run the graph, yielding progress as it happens; afterwards `self.report` holds the Report."""
        try:
            async for event in self._run():
                yield event
        finally:
            if self.owns_retriever:
                await self.deps.retriever.aclose()

    async def aclose(self) -> None:
        """Release the retriever of a run that was prepared but will not be executed."""
        if self.owns_retriever:
            await self.deps.retriever.aclose()

    async def _run(self) -> AsyncIterator[ProgressEvent]:
        config = self.config
        run = self.run_dir or runs.new_run(self.question, config, self.out)
        self.run_dir = run
        with runs.locked(run):
            async for event in self._run_locked(run):
                yield event

    async def _run_locked(self, run: runs.RunDir) -> AsyncIterator[ProgressEvent]:
        config = self.config
        started = time.time()
        previous_wall = float(run.meta().get("wall_time_s") or 0.0)
        run.update_meta(status="running", pid=os.getpid())
        yield ProgressEvent(
            kind="run_started",
            detail=str(run.path),
            data={"run_id": run.run_id, "resumed": self.resumed},
            total_steps=config.steps,
        )
        thread = {"configurable": {"thread_id": run.thread_id}, "recursion_limit": 3 * config.steps + 20}
        try:
            async with AsyncSqliteSaver.from_conn_string(str(run.checkpoint)) as saver:
                graph = build_graph(self.deps, saver)
                snapshot = await graph.aget_state(thread)
                self.deps.gateway.count(
                    list((snapshot.values or {}).get("usage", []))
                )  # budgets span resumes
                if not (self.resumed and snapshot.values and not snapshot.next):  # else finished already
                    start = None if self.resumed and snapshot.values else {"question": self.question}
                    drafts = len(snapshot.values.get("drafts", [])) if snapshot.values else 0
                    async for mode, chunk in graph.astream(start, thread, stream_mode=["custom", "updates"]):
                        if mode == "custom":
                            yield ProgressEvent.model_validate(chunk)
                            continue
                        for node_update in chunk.values():
                            for text in (node_update or {}).get("drafts", []):
                                if isinstance(text, dict):  # R_t set again: rejected, or grounded
                                    old_as = "revised" if text.get("grounded") else "rejected"
                                    run.replace_draft(text["draft"], text["text"], old_as)
                                    continue
                                run.write_draft(drafts, text)
                                drafts += 1
                        # wall time accumulates per finished node: a kill -9 loses at most one node's time
                        run.update_meta(wall_time_s=round(previous_wall + time.time() - started, 2))
                values = (await graph.aget_state(thread)).values
        except BaseException as exc:
            run.update_meta(
                status="failed",
                error=f"{exc.__class__.__name__}: {exc}"[:500],
                wall_time_s=round(previous_wall + time.time() - started, 2),
            )
            raise
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
        self.report = report


def _check_replies(values: dict[str, Any], run: runs.RunDir) -> None:
    """A run whose every model reply was empty has nothing to report: fail instead of writing a title."""
    placeholder = title_only(values.get("question", "")).strip()  # the draft stage's for an empty reply
    drafts = [d for d in values.get("drafts", []) if str(d).strip() not in ("", placeholder)]
    answers = [r for r in values.get("qa", []) if str(r.get("answer", "")).strip()]
    if values.get("usage") and not drafts and not answers:
        message = (
            f"every model reply in run {run.run_id} was empty: check the model (try another --model) "
            "or raise its max_tokens"
        )
        run.update_meta(status="failed", error=message)
        raise ModelReplyError(message)
