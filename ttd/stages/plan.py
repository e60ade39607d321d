"""Stage 1, the research plan: the key areas the report must cover (it scaffolds every later step)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from ttd.context import Deps
from ttd.generate import Request, generate
from ttd.shape import instructions
from ttd.state import PlanArea, ResearchState, step_index


class Area(BaseModel):
    title: str = Field(min_length=1)
    goal: str = ""


class Plan(BaseModel):
    areas: list[Area] = Field(min_length=1)


def _areas_from_text(text: str) -> list[PlanArea]:
    """One area per list line, for a small model that will not produce JSON."""
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", ln).strip() for ln in text.splitlines()]
    areas = [ln for ln in lines if 3 < len(ln) < 200 and not ln.startswith(("{", "}", "`"))]
    return [{"title": a.split(":", 1)[0].strip("*# "), "goal": a} for a in areas[:6]]


def _areas(plan: Plan) -> list[PlanArea]:
    return [{"title": a.title.strip(), "goal": a.goal.strip()} for a in plan.areas[:8]]


async def run(state: ResearchState, deps: Deps) -> dict:
    question = state["question"]

    def list_lines(raw: str) -> Plan:
        """Fallback: the reply's list lines as areas, else one overview area (kept unvalidated)."""
        areas = _areas_from_text(raw) or [{"title": "Overview", "goal": question}]
        return Plan.model_construct(areas=[Area.model_construct(**a) for a in areas])

    out = await generate(
        deps,
        Request(
            "plan",
            "plan",
            {"question": question, "shape": instructions("plan", question)},
            step=step_index(state, "plan"),
            schema=Plan,
            fallback=list_lines,
            context=f"Research question: {question}",
        ),
    )
    return {"plan": _areas(out.value), **out.recorded}
