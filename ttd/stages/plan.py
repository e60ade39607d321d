"""Stage 1, the research plan: the key areas the report must cover (it scaffolds every later step)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from ttd.context import Deps
from ttd.evolution import Task, generate
from ttd.llm.gateway import StructuredOutputError
from ttd.llm.parsing import ParseError, parse_model
from ttd.resources import load_prompt
from ttd.state import PlanArea, ResearchState


class Area(BaseModel):
    title: str = Field(min_length=1)
    goal: str = ""


class Plan(BaseModel):
    areas: list[Area] = Field(min_length=1)


def _areas_from_text(text: str) -> list[PlanArea]:
    """Fallback when a small model will not produce JSON: one area per list line."""
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", ln).strip() for ln in text.splitlines()]
    areas = [ln for ln in lines if 3 < len(ln) < 200 and not ln.startswith(("{", "}", "`"))]
    return [{"title": a.split(":", 1)[0].strip("*# "), "goal": a} for a in areas[:6]]


def _areas(plan: Plan) -> list[PlanArea]:
    return [{"title": a.title.strip(), "goal": a.goal.strip()} for a in plan.areas[:8]]


async def run(state: ResearchState, deps: Deps) -> dict:
    messages = load_prompt("plan").messages(question=state["question"])
    fallback: list[PlanArea] = [{"title": "Overview", "goal": state["question"]}]
    if deps.config.evolution.active("plan"):
        task = Task(
            "plan",
            "plan",
            messages,
            step=0,
            json_mode=True,
            context=f"Research question: {state['question']}",
        )
        out = await generate(deps, task)
        try:
            areas = _areas(parse_model(out.text, Plan))
        except ParseError:
            areas = _areas_from_text(out.text) or fallback
        return {"plan": areas, "usage": out.usage, "evolution": [out.record] if out.record else []}
    try:
        plan, usage = await deps.gateway.structured("plan", messages, Plan)
        areas = _areas(plan)
    except StructuredOutputError as exc:
        usage = exc.usage
        areas = _areas_from_text(exc.raw) or fallback
    return {"plan": areas, "usage": usage}
