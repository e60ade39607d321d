"""The `ttd` command line: a thin layer over the run pipeline (`ttd.run`) and the other modules."""

from __future__ import annotations

import asyncio
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ttd.console import err, fail, out, print_error
from ttd.errors import TTDError

if TYPE_CHECKING:
    from ttd.run import Run

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Test-Time Diffusion Deep Researcher.")


class Format(StrEnum):
    md = "md"
    json = "json"


@app.command()
def research(
    question: Annotated[str | None, typer.Argument(help="The research question.")] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="Preset from agents/ (see 'ttd agents').")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Model for every role, e.g. openai/gpt-4.1-mini.")
    ] = None,
    plan_model: Annotated[str | None, typer.Option(help="Model for the planner.")] = None,
    draft_model: Annotated[str | None, typer.Option(help="Model for the initial draft.")] = None,
    question_model: Annotated[str | None, typer.Option(help="Model for search questions.")] = None,
    answer_model: Annotated[str | None, typer.Option(help="Model for cited answers.")] = None,
    revise_model: Annotated[str | None, typer.Option(help="Model for draft revision (the denoiser).")] = None,
    report_model: Annotated[str | None, typer.Option(help="Model for the final report.")] = None,
    judge_model: Annotated[str | None, typer.Option(help="Model for judging (self-evolution).")] = None,
    verify_model: Annotated[
        str | None, typer.Option(help="Model that checks claims against sources.")
    ] = None,
    steps: Annotated[int | None, typer.Option("--steps", "-n", help="Denoising steps N.")] = None,
    k: Annotated[int | None, typer.Option("--k", help="Passages retrieved per question.")] = None,
    corpus: Annotated[
        list[str] | None,
        typer.Option("--corpus", help="Search a local corpus built with 'ttd index' (repeatable)."),
    ] = None,
    search: Annotated[
        list[str] | None,
        typer.Option(
            "--search", help="Web search provider: tavily, searxng, duckduckgo, brave, serper, exa."
        ),
    ] = None,
    wiki: Annotated[
        bool | None, typer.Option("--wiki/--no-wiki", help="Also search the offline Wikipedia index.")
    ] = None,
    no_dense: Annotated[
        bool, typer.Option("--no-dense", help="Lexical ranking only for local corpora.")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the search cache.")
    ] = False,
    allow_host: Annotated[
        list[str] | None, typer.Option("--allow-host", help="Let the page fetcher reach this private host.")
    ] = None,
    api_base: Annotated[str | None, typer.Option(help="Base URL of an OpenAI-compatible server.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="A TOML file with config overrides.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder that holds run directories.")
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Print the report as Markdown or JSON.")
    ] = Format.md,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted run (id or path).")
    ] = None,
    restart: Annotated[
        bool,
        typer.Option("--restart", help="With --resume: start a run whose checkpoint is damaged over."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live progress display.")] = False,
) -> None:
    """Research QUESTION and print a cited report; the run directory keeps drafts, sources and usage."""
    from rich.live import Live

    from ttd.display import RunView
    from ttd.run import Run

    overrides = dict(
        model=model,
        plan_model=plan_model,
        draft_model=draft_model,
        question_model=question_model,
        answer_model=answer_model,
        revise_model=revise_model,
        report_model=report_model,
        judge_model=judge_model,
        verify_model=verify_model,
        steps=steps,
        k=k,
        api_base=api_base,
        corpora=corpus or None,
        search=search or None,
        wiki=wiki,
        allow_hosts=allow_host or None,
        dense=False if no_dense else None,
        cache=False if no_cache else None,
    )
    if restart:
        overrides["restart"] = True
    try:  # every input error surfaces here, before a run directory exists
        run = Run.prepare(question, resume=resume, out=out_dir, agent=agent, config_file=config, **overrides)
    except TTDError as exc:
        fail(str(exc))
    view = RunView(run.question if not resume else f"resume {resume}")

    async def consume() -> None:
        async for event in run.stream():
            view.update(event)

    live = (
        Live(view, console=err, refresh_per_second=4, transient=True)
        if not quiet and err.is_terminal
        else None
    )
    try:
        if live:
            with live:
                asyncio.run(consume())
        else:
            asyncio.run(consume())
    except KeyboardInterrupt:
        fail(f"interrupted{_resume_hint(run, 'finished steps are saved')}", 130)
    except TTDError as exc:
        fail(f"{exc}{_resume_hint(run, 'finished steps are saved')}", exc.exit_code)
    except Exception as exc:  # an unexpected failure: one line, and how to continue
        fail(f"{exc.__class__.__name__}: {exc}{_resume_hint(run, 'run saved')}", 1)
    report = run.report
    assert report is not None
    if fmt is Format.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(report.markdown.rstrip() + "\n")
    c, u = report.citations, report.usage.total
    err.print(
        f"[dim]run {report.run_id}: {len(report.trajectory.drafts)} drafts, {c.cited} sources cited"
        f" ({c.dropped} unresolved citations dropped), {u.calls} model calls, {u.tokens:,} tokens,"
        f" {report.wall_time_s:.0f} s[/]\n[bold]run directory:[/] {report.run_dir}",
        highlight=False,
    )


def _resume_hint(run: Run, saved: str) -> str:
    """How to continue a run that exists on disk; nothing for a run that never started."""
    if run.run_dir is None or not run.run_dir.checkpoint.exists():
        return ""
    return f" ({saved}: resume with ttd research --resume {run.run_dir.run_id})"


runs_app = typer.Typer(help="Past runs: list them, or show one's noise curve.")
app.add_typer(runs_app, name="runs")


@runs_app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder that holds run directories.")
    ] = None,
) -> None:
    """List past runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Column, Table

    from ttd.runs import list_runs

    metas = list_runs(out_dir)
    # the id is what `--resume` and `ttd show` take: never cut or wrapped, the question shrinks instead
    width = max((len(m["run_id"]) for m in metas), default=6)
    table = Table(
        Column("run id", no_wrap=True, min_width=width), "status", "wall s", "cited", "tokens", "question"
    )
    for meta in metas:
        table.add_row(
            meta["run_id"],
            str(meta.get("status", "?")),
            f"{meta.get('wall_time_s') or 0:.0f}",
            str(meta.get("citations", "")),
            str(meta.get("tokens", "")),
            str(meta.get("question", ""))[:60],
        )
    out.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="A run id from 'ttd runs', or a run directory.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder that holds run directories.")
    ] = None,
) -> None:
    """Show a run: its exit reason and the noise curve (share of unsupported claims per draft R_t)."""
    from ttd.display import noise_table
    from ttd.runs import open_run

    try:
        run = open_run(run_id, out_dir)
    except TTDError as exc:
        fail(str(exc))
    path = run.path / "report.json"
    if not path.is_file():
        fail(f"run {run.run_id} has no report.json yet: finish it with ttd research --resume {run.run_id}")
    out.print(noise_table(json.loads(path.read_text(encoding="utf-8"))))


@app.command()
def agents() -> None:
    """List the agent presets."""
    from ttd.config import load_preset
    from ttd.resources import preset_names

    for name in preset_names():
        out.print(f"[bold]{name}[/]: {load_preset(name).get('description', '')}", highlight=False)


@app.command()
def models() -> None:
    """List the embedded local models (hosted ones are any litellm name: openai/..., anthropic/...)."""
    from ttd.llm.local import DEPRECATED_ALIASES, LOCAL_MODELS

    for m in LOCAL_MODELS.values():
        out.print(f"[bold]local/{m.name}[/]: {m.description}", highlight=False)
    for old, new in DEPRECATED_ALIASES.items():
        out.print(f"local/{old}: deprecated name of local/{new}", highlight=False)


@app.command()
def show(
    run_id: Annotated[str | None, typer.Argument(help="Run id (see 'ttd runs') or run directory.")] = None,
    latest: Annotated[bool, typer.Option("--latest", help="The newest run.")] = False,
    open_page: Annotated[bool, typer.Option("--open", help="Open the page in the default browser.")] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder that holds run directories.")
    ] = None,
) -> None:
    """Write RUN_DIR/report.html: report, denoising timeline with diffs, per-step chart, evolution, cost."""
    from ttd.report import load_report
    from ttd.runs import list_runs, open_run
    from ttd.show.page import write_report_html

    if bool(run_id) == latest:
        fail("name one run: 'ttd show RUN_ID' or 'ttd show --latest' (list runs with 'ttd runs')")
    if latest:
        found = [m for m in list_runs(out_dir) if (Path(m["path"]) / "report.json").exists()]
        if not found:
            fail("no finished run to show: run 'ttd research \"...\"' first (add --out DIR if you used one)")
        run_id = found[0]["path"]
    run = open_run(str(run_id), out_dir)
    path = write_report_html(load_report(run.path), run.path)
    sys.stdout.write(f"{path}\n")
    if open_page:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            err.print("[dim]no browser found here; open the file above in one[/]", highlight=False)


def _mount_subcommands() -> None:
    """Sub-apps whose modules import nothing heavy until a command runs."""
    from ttd.bench.cli import app as bench_app
    from ttd.dllm.cli import app as dllm_app
    from ttd.retrieval import commands as retrieval

    app.command("index")(retrieval.index)
    app.add_typer(retrieval.cache_app, name="cache")

    app.add_typer(dllm_app, name="dllm", help="Diffusion language models: generate and benchmark samplers.")
    app.add_typer(bench_app, name="bench", help="Benchmarks: multi-hop QA and long-form evals.")


_mount_subcommands()


def main() -> None:
    """Console entry point: user errors become one line on stderr with exit code 2."""
    try:
        app()
    except TTDError as exc:
        print_error(str(exc))
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
