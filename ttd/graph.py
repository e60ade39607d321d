"""The research graph: Algorithm 1 of TTD-DR as a LangGraph `StateGraph`.

    plan -> draft R0 -> verify -> for t = 1..N: question Q_t -> answer A_t -> revise R_t -> verify -> report
    (N: the configured steps; for a short-answer question, one per hop of the plan, at most `hops`)
    (verify keeps R_{t-1} as R_t when the revision is noisier: noise never rises along the trajectory)
    (exit early: plan covered, Q_t repeats, budget reached, or Noise(R_t) low enough or no longer falling)

Every node is one stage module in `ttd/stages/`; each stage's model output comes from `ttd.generate`,
which self-evolves plan, question, answer or report when the config asks. This file is only the wiring
and the exit rules.
With `denoise = false` it is the paper's backbone agent: no draft, no revision, search then report.
A checkpointer saves the state after every node, so a run can resume at the step it stopped in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langgraph.graph import END, START, StateGraph

from ttd.context import Deps
from ttd.events import emit
from ttd.shape import step_bounds
from ttd.stages import answer, draft, plan, question, report, revise, verify
from ttd.state import ResearchState, step_index

Stage = Callable[[ResearchState, Deps], Awaitable[dict[str, Any]]]


def _node(name: str, stage: Stage, deps: Deps) -> Callable[[ResearchState], Awaitable[dict[str, Any]]]:
    """Bind a stage to the run's dependencies and report its start and end as progress events."""

    async def node(state: ResearchState) -> dict[str, Any]:
        where = {"stage": name, "step": step_index(state, name), "total_steps": planned_steps(state, deps)}
        emit("stage_started", **where)
        update = await stage(state, deps)
        emit("stage_finished", **where)
        return update

    node.__name__ = name
    return node


def after_plan(state: ResearchState, deps: Deps) -> str:
    """Draft R0 for the diffusion loop; the backbone agent (denoise off) goes straight to searching."""
    if deps.config.denoise:
        return "draft"
    return "question" if deps.config.steps > 0 else "report"


def after_verify(state: ResearchState, deps: Deps) -> str:
    """After R0 start the loop; after R_t stop on noise (verify sets exit_reason), else the step rules."""
    if state.get("exit_reason"):
        return "report"
    if len(state.get("drafts", [])) <= 1:
        return "question" if deps.config.steps > 0 else "report"
    return next_step(state, deps)


def after_question(state: ResearchState) -> str:
    """Leave the loop if the question agent declared the plan covered, repeated itself, or hit the budget."""
    return "report" if state.get("exit_reason") else "answer"


def after_answer(state: ResearchState, deps: Deps) -> str:
    if deps.config.denoise:
        return "revise"
    return next_step(state, deps)


def next_step(state: ResearchState, deps: Deps) -> str:
    """Stop after N steps (one per hop for a short answer); otherwise ask the next question."""
    return "report" if len(state.get("qa", [])) >= planned_steps(state, deps) else "question"


def planned_steps(state: ResearchState, deps: Deps) -> int:
    return step_bounds(state, deps.config)[1]


def build_graph(deps: Deps, checkpointer: Any = None) -> Any:
    g = StateGraph(ResearchState)
    for name, stage in [
        ("plan", plan.run),
        ("draft", draft.run),
        ("question", question.run),
        ("answer", answer.run),
        ("revise", revise.run),
        ("verify", verify.run),
        ("report", report.run),
    ]:
        g.add_node(name, _node(name, stage, deps))

    g.add_edge(START, "plan")
    g.add_conditional_edges("plan", lambda s: after_plan(s, deps), ["draft", "question", "report"])
    g.add_edge("draft", "verify")
    g.add_conditional_edges("question", after_question, ["answer", "report"])
    g.add_conditional_edges("answer", lambda s: after_answer(s, deps), ["revise", "question", "report"])
    g.add_edge("revise", "verify")
    g.add_conditional_edges("verify", lambda s: after_verify(s, deps), ["question", "report"])
    g.add_edge("report", END)
    return g.compile(checkpointer=checkpointer)
