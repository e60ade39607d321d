"""The live terminal view of a run: stage, denoising step t/N, current question, elapsed time, tokens."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ttd.events import ProgressEvent


class RunView:
    """A rich renderable that folds progress events into a small status panel."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.started = time.time()
        self.stage = "starting"
        self.step: int | None = None
        self.total: int | None = None
        self.current_question = ""
        self.tokens = 0
        self.calls = 0
        self.run_dir = ""
        self.log: list[str] = []

    def update(self, e: ProgressEvent) -> None:
        if e.total_steps is not None:
            self.total = e.total_steps
        if e.kind == "run_started":
            self.run_dir = e.detail
        elif e.kind == "stage_started":
            self.stage = e.stage or self.stage
            self.step = e.step
        elif e.kind == "question":
            self.current_question = e.detail
            self.log.append(f"Q{e.step}: {e.detail}")
        elif e.kind == "revision_rejected":
            self.log.append(
                f"R{e.step} rejected ({e.detail}): R{e.step - 1} kept" if e.step else e.detail or ""
            )
        elif e.kind == "exit":
            self.log.append(f"loop ended early at step {e.step}: {e.detail}")
        elif e.kind == "llm_call":
            self.tokens += e.tokens
            self.calls += 1
        elif e.kind == "dllm_step":
            self.stage = f"{self.stage.split(' ')[0]} ({e.detail or f'diffusion step {e.step}'})"
        elif e.kind == "variant":
            self.log.append(f"{e.stage} variant: {e.detail}")
        self.log = self.log[-6:]

    def __rich__(self) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan")
        grid.add_column()
        step = f"{self.step}/{self.total}" if self.step and self.total else "-"
        grid.add_row("stage", self.stage)
        grid.add_row("denoising step", step)
        grid.add_row("question", self.current_question or "-")
        grid.add_row("elapsed", f"{time.time() - self.started:,.0f} s")
        grid.add_row("model calls", f"{self.calls}  ({self.tokens:,} tokens)")
        body = Group(grid, Text("\n".join(self.log), style="dim")) if self.log else grid
        return Panel(body, title=f"ttd research: {self.question[:70]}", border_style="cyan")


def noise_table(report: dict[str, Any]) -> RenderableType:
    """The noise curve of a saved report.json: per draft R_t, its claims and the share not supported."""
    traj = report.get("trajectory", {})
    rows = list(traj.get("noise") or [])
    if traj.get("report_noise"):
        rows.append({**traj["report_noise"], "draft": "report"})
    # the plan areas (hops) no supported claim covers, where recorded: noise counts claims, not areas
    areas = any(r.get("uncovered") is not None for r in rows)
    heads = ["draft", "noise", "supported", "unsupported", "contradicted", *(["uncovered"] if areas else [])]
    table = Table(*heads, "curve", title=report.get("question"))
    for r in rows:
        counts = {
            s: sum(c["status"] == s for c in r.get("claims", []))
            for s in ("supported", "unsupported", "contradicted")
        }
        label = r["draft"] if r["draft"] == "report" else f"R{r['draft']}"
        if r.get("rejected"):
            label = f"{label} (revision at {r['rejected']['noise']:.2f} rejected)"
        if r.get("checked") == "lexical":
            label = f"{label} (checked lexically)"
        if r.get("pruned") or r.get("grafted") or r.get("off_subject"):  # grounded in code (ttd.ground)
            label = f"{label} (+{r.get('grafted') or 0} facts, -{len(r.get('pruned') or [])} claims"
            off = r.get("off_subject") or 0
            label += f", {off} off subject)" if off else ")"
        cells = [str(label), f"{r['noise']:.2f}", *(str(counts[s]) for s in counts)]
        if areas:  # their titles, "-" for none, blank where not recorded (a run from before)
            named = r.get("uncovered")
            cells.append("" if named is None else ", ".join(named) or "-")
        table.add_row(*cells, "#" * round(20 * r["noise"]))
    if not rows:
        table.caption = (
            "no claim checks recorded (a run from before claim verification, or verify.mode = off)"
        )
    else:
        table.caption = f"exit: {traj.get('exit_reason')}"
    return table
