"""Run systems over a dataset, score every answer, and write resumable results, a summary and plots.

Every finished (system, question) pair is appended to `results.jsonl` at once, so an interrupted run loses
at most the questions in flight and `--resume` skips what is done (failed items are retried). The
summary is always recomputed from that file, never from memory, so it matches what is on disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ttd.bench import datasets, judges, metrics
from ttd.bench.corpus import PoolRetriever, supporting_ids
from ttd.bench.datasets import Record
from ttd.bench.results import PAIRWISE, RESULTS, Writer, latest, read_rows
from ttd.bench.systems import Context, System, get_system
from ttd.config import ResearchConfig
from ttd.errors import TTDError
from ttd.llm.gateway import Gateway, check_models
from ttd.retrieval.base import Retriever


@dataclass
class BenchSpec:
    """Everything that defines a benchmark run (also shipped to Ray workers as a plain dict)."""

    dataset: str
    systems: list[str]
    out: str
    limit: int | None = None
    model: str | None = None
    concurrency: int = 1
    resume: bool = False
    executor: str = "asyncio"
    ray_address: str | None = None
    vs: str | None = None
    judge: bool = True
    k: int | None = None
    steps: int | None = None
    agent: str | None = None
    config_file: str | None = None
    shard: str | None = None  # "I/N": only every N-th question from the I-th (processes sharing one --out)
    pool: str | None = None  # dataset or file whose paragraphs are searched; default: the whole dataset file
    overrides: dict[str, Any] = field(default_factory=dict)  # more ResearchConfig keys, e.g. judge_model
    worker_setup: str | None = None  # "module:function" each Ray worker calls first (test doubles)

    def research_kwargs(self) -> dict[str, Any]:
        raw = {
            "agent": self.agent,
            "config_file": self.config_file,
            "model": self.model,
            "steps": self.steps,
            "k": self.k,
            **self.overrides,
        }
        return {k: v for k, v in raw.items() if v is not None}

    def config(self) -> ResearchConfig:
        """The run pipeline's own resolved settings (`ttd.run.settings`), models checked."""
        from ttd.run import settings

        return settings(**self.research_kwargs())


class Bench:
    """A loaded dataset, its retriever, and one `Context` per system: everything one process needs."""

    def __init__(self, spec: BenchSpec, records: list[Record] | None = None) -> None:
        self.spec = spec
        self.name, everything = datasets.load(spec.dataset)
        self.records = records if records is not None else everything[: spec.limit or None]
        # Retrieval searches the paragraphs of the whole file (or a named pool), whatever --limit is: a
        # 20-question run must not search only those 20 questions' paragraphs (easier, inflated recall).
        self.pool_records = datasets.load(spec.pool)[1] if spec.pool else everything
        self.config = spec.config()
        self.long_form = self.name in datasets.LONG_FORM or not any(r.answers for r in self.records)
        self.pooled = any(r.paragraphs for r in self.pool_records)
        self._retriever: Retriever | None = None
        self._contexts: dict[str, Context] = {}
        self.judge_gateway = Gateway(self.config)

    def retriever(self) -> Retriever:
        if self._retriever is None:
            if self.pooled:
                self._retriever = PoolRetriever(self.pool_records)
            else:  # no passages in the set: the configured search (offline wiki, corpora or the web)
                from ttd.retrieval.factory import build_retriever

                self._retriever = build_retriever(self.config.retrieval)
        return self._retriever

    def context(self, system: System) -> Context:
        if system.name not in self._contexts:
            self._contexts[system.name] = Context(
                config=self.config,
                gateway=Gateway(self.config),
                retriever=self.retriever() if system.retrieves else None,
                research_kwargs=self.spec.research_kwargs(),
                runs_dir=Path(self.spec.out) / "runs",
                extract=not self.long_form,
            )
        return self._contexts[system.name]

    async def aclose(self) -> None:
        if self._retriever is not None:
            await self._retriever.aclose()

    async def evaluate(self, system: System, record: Record) -> dict[str, Any]:
        """One (system, question) row: the answers, every metric and the cost. Errors become rows too."""
        ctx = self.context(system)
        row: dict[str, Any] = {
            "system": system.name,
            "id": record.id,
            "question": record.question,
            "answers": record.answers,
            "hops": record.hops,
            "worker": f"{socket.gethostname()}:{os.getpid()}",
        }
        started = time.perf_counter()
        try:
            outcome = await system.run(record.question, ctx)
        except (TimeoutError, Exception) as exc:  # a failed item is recorded, the run goes on
            row["error"] = f"{exc.__class__.__name__}: {exc}"[:500]
            row["wall_s"] = round(time.perf_counter() - started, 3)
            return _with_defaults(row)
        row["wall_s"] = round(time.perf_counter() - started, 3)
        gold = supporting_ids(record)
        row.update(
            prediction=outcome.prediction,
            response=outcome.response,
            retrieved_ids=outcome.retrieved,
            supporting_ids=gold,
            supporting_recall=metrics.supporting_recall(outcome.retrieved, gold)
            if system.retrieves
            else None,
            detail=outcome.detail,
            error=None,
            **usage_totals(outcome.usage),
        )
        if record.answers:
            row["em"] = metrics.best_over("em", outcome.prediction, record.answers)
            row["f1"] = metrics.best_over("f1", outcome.prediction, record.answers)
            if self.spec.judge:
                correct, why, usage = await judges.judge_correct(
                    self.judge_gateway, record.question, outcome.response, record.answers
                )
                row.update(judge_correct=correct, judge_reasoning=why)
                row["judge_tokens"] = usage_totals(usage)["tokens"]
        return _with_defaults(row)


def _with_defaults(row: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        "prediction": "",
        "response": "",
        "retrieved_ids": [],
        "supporting_recall": None,
        "em": None,
        "f1": None,
        "judge_correct": None,
        "tokens": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "calls": 0,
        "cost_usd": None,
    }
    return {**defaults, **row}


def usage_totals(usage: list[Any]) -> dict[str, Any]:
    prompt = sum(int(u["prompt_tokens"]) for u in usage)
    completion = sum(int(u["completion_tokens"]) for u in usage)
    costs = [u["cost_usd"] for u in usage if u.get("cost_usd") is not None]
    return {
        "tokens": prompt + completion,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "calls": len(usage),
        "cost_usd": sum(costs) if costs else None,
    }


# ---------------------------------------------------------------- executors

Progress = Callable[[dict[str, Any]], None]


async def run_asyncio(
    bench: Bench, items: list[tuple[System, Record]], on_row: Progress, concurrency: int
) -> None:
    slots = asyncio.Semaphore(max(1, concurrency))

    async def one(system: System, record: Record) -> dict[str, Any]:
        async with slots:
            return await bench.evaluate(system, record)

    # tasks are created in order so the semaphore hands out slots in that order (as_completed alone would
    # start them in set order)
    tasks = [asyncio.create_task(one(s, r)) for s, r in items]
    try:
        for task in asyncio.as_completed(tasks):
            on_row(await task)
    finally:
        for task in tasks:
            task.cancel()


def run_ray(spec: BenchSpec, bench: Bench, items: list[tuple[System, Record]], on_row: Progress) -> None:
    """Fan questions out over a Ray cluster; each worker process builds its own Bench once."""
    try:
        import ray
    except ImportError:
        raise TTDError("--executor ray needs Ray: pip install 'ray>=2.9'") from None
    if not ray.is_initialized():
        ray.init(
            address=spec.ray_address or None,
            ignore_reinit_error=True,
            include_dashboard=False,
            log_to_driver=False,
        )
    remote = ray.remote(_ray_evaluate).options(max_retries=1)
    spec_ref = ray.put(asdict(spec))
    records_ref = ray.put([r.to_dict() for r in bench.records])
    pending = [(s.name, r.id) for s, r in items]
    in_flight: list[Any] = []
    window = max(1, spec.concurrency)
    while pending or in_flight:
        while pending and len(in_flight) < window:
            name, rid = pending.pop(0)
            in_flight.append(remote.remote(spec_ref, records_ref, name, rid))
        done, in_flight = ray.wait(in_flight, num_returns=1)
        on_row(ray.get(done[0]))


_WORKER_BENCH: dict[str, Bench] = {}


def _ray_evaluate(spec_dict: dict[str, Any], records: list[dict[str, Any]], system: str, rid: str) -> dict:
    """Runs inside a Ray worker process."""
    key = json.dumps(spec_dict, sort_keys=True)
    if key not in _WORKER_BENCH:
        spec = BenchSpec(**spec_dict)
        if spec.worker_setup:
            module, func = spec.worker_setup.split(":")
            getattr(__import__(module, fromlist=[func]), func)()
        _WORKER_BENCH[key] = Bench(spec, [Record.from_dict(d) for d in records])
    bench = _WORKER_BENCH[key]
    record = next(r for r in bench.records if r.id == rid)
    return asyncio.run(bench.evaluate(get_system(system), record))


# ---------------------------------------------------------------- the run


@dataclass
class BenchResult:
    out: Path
    summary: dict[str, Any]
    ran: int
    skipped: int
    unavailable: dict[str, str]


def run_bench(spec: BenchSpec, progress: bool = True, echo: Callable[[str], None] = print) -> BenchResult:
    """Blocking entry point (the CLI's); see `arun_bench`."""
    return asyncio.run(arun_bench(spec, progress, echo))


async def arun_bench(
    spec: BenchSpec, progress: bool = True, echo: Callable[[str], None] = print
) -> BenchResult:
    from ttd.bench import plots, summary
    from ttd.bench.progress import ProgressBar
    from ttd.show.bench import write_summary_html

    out = Path(spec.out)
    names = list(dict.fromkeys([*spec.systems, *([spec.vs] if spec.vs else [])]))
    if not names:
        raise TTDError("name at least one --system: " + ", ".join(sorted(_system_names())))
    systems = [get_system(n) for n in names]
    results = out / RESULTS
    if results.exists() and results.stat().st_size and not spec.resume:
        raise TTDError(f"{results} already holds results: pass --resume to continue it, or a new --out")
    bench = Bench(spec)
    if spec.judge or spec.vs:  # the bench's own judge calls, which a research run may not make
        check_models(bench.config, roles=("judge",))
    unavailable = {s.name: why for s in systems if (why := s.unavailable())}
    for name, why in unavailable.items():
        echo(f"skipping {name}: {why}")
    runnable = [s for s in systems if s.name not in unavailable]
    if spec.vs and (spec.vs in unavailable or spec.systems[0] in unavailable):
        raise TTDError(f"--vs needs both systems to run: {'; '.join(unavailable.values())}")
    if not runnable:
        raise TTDError("no system can run: " + "; ".join(unavailable.values()))

    done = {k for k, r in latest(read_rows(results)).items() if not r.get("error")}
    # question-major order: an interrupted run has every system on the same questions
    mine = shard_of(bench.records, spec.shard)
    items = [(s, r) for r in mine for s in runnable if (s.name, r.id) not in done]
    skipped = len(runnable) * len(mine) - len(items)
    _write_manifest(out, spec, bench)
    writer = Writer(results)
    bar = ProgressBar(len(items), f"{bench.name}: {', '.join(s.name for s in runnable)}", progress)

    def on_row(row: dict[str, Any]) -> None:
        writer.write(row)
        bar.advance(row)

    try:
        with bar:
            if spec.executor == "ray":
                await asyncio.to_thread(run_ray, spec, bench, items, on_row)
            elif spec.executor == "asyncio":
                await run_asyncio(bench, items, on_row, spec.concurrency)
            else:
                raise TTDError(f"unknown executor '{spec.executor}': use asyncio or ray")
            if spec.vs:
                await run_pairwise(bench, spec.systems[0], spec.vs, out, bar)
    finally:
        writer.close()
        await bench.aclose()
    table = summary.write_summary(out, spec, bench.name, names, unavailable, [r.id for r in bench.records])
    plots.write_plots(out, table, read_rows(results))
    write_summary_html(out, table, read_rows(results))
    return BenchResult(out, table, len(items), skipped, unavailable)


def shard_of(records: list[Record], shard: str | None) -> list[Record]:
    """The records of shard "I/N" (every N-th from the I-th); all records without a shard."""
    if not shard:
        return records
    try:
        index, count = (int(x) for x in shard.split("/"))
    except ValueError:
        raise TTDError(f"--shard {shard!r} is not I/N, e.g. 0/2") from None
    if not 0 <= index < count:
        raise TTDError(f"--shard {shard}: I must be from 0 to N-1")
    return records[index::count]


async def run_pairwise(bench: Bench, a: str, b: str, out: Path, bar: Any) -> None:
    """Side-by-side judgement of A's and B's reports for every question both finished."""
    rows = latest(read_rows(out / RESULTS))
    judged = {r["id"] for r in read_rows(out / PAIRWISE) if r.get("a") == a and r.get("b") == b}
    writer = Writer(out / PAIRWISE)
    todo = [
        r
        for r in bench.records
        if r.id not in judged
        and not (rows.get((a, r.id)) or {"error": "missing"}).get("error")
        and not (rows.get((b, r.id)) or {"error": "missing"}).get("error")
    ]
    bar.add(len(todo), "judging side by side")

    async def one(record: Record) -> dict[str, Any]:
        report_a, report_b = rows[(a, record.id)]["response"], rows[(b, record.id)]["response"]
        verdict = await judges.compare(bench.judge_gateway, record.question, report_a, report_b)
        return {
            "id": record.id,
            "a": a,
            "b": b,
            "scores": verdict["scores"],
            "ab": verdict["ab"],
            "ba": verdict["ba"],
            "judge_tokens": usage_totals(verdict["usage"])["tokens"],
        }

    slots = asyncio.Semaphore(max(1, bench.spec.concurrency))

    async def bounded(record: Record) -> dict[str, Any]:
        async with slots:
            return await one(record)

    tasks = [asyncio.create_task(bounded(r)) for r in todo]
    try:
        for task in asyncio.as_completed(tasks):
            row = await task
            writer.write(row)
            bar.advance(None)
    finally:
        writer.close()


def _write_manifest(out: Path, spec: BenchSpec, bench: Bench) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "spec": asdict(spec),
        "dataset": bench.name,
        "records": len(bench.records),
        "pool": spec.pool or bench.name,
        "corpus_paragraphs": len(PoolRetriever(bench.pool_records)) if bench.pooled else 0,
        "config": bench.config.model_dump(mode="json"),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def _system_names() -> list[str]:
    from ttd.bench.systems import SYSTEMS

    return list(SYSTEMS)
