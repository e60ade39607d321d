"""Stage 1, the research plan: the key areas the report must cover (it scaffolds every later step)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from ttd.context import Deps
from ttd.llm.gateway import StructuredOutputError
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


async def run(state: ResearchState, deps: Deps) -> dict:
    messages = load_prompt("plan").messages(question=state["question"])
    try:
        plan, usage = await deps.gateway.structured("plan", messages, Plan)
        areas: list[PlanArea] = [{"title": a.title.strip(), "goal": a.goal.strip()} for a in plan.areas[:8]]
    except StructuredOutputError as exc:
        usage = exc.usage
        areas = _areas_from_text(exc.raw) or [{"title": "Overview", "goal": state["question"]}]
    return {"plan": areas, "usage": usage}
