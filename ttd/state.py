"""The typed state of the research graph and the records of its trajectory.

State holds plain JSON-able TypedDicts (not objects) so that LangGraph's SQLite checkpointer can store
and restore it exactly; `ttd.report` turns it into pydantic models at the API boundary. List fields
use an append reducer: a node returns only what it adds, and the checkpoint keeps the whole history.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


class UsageRecord(TypedDict):
    """One model call: who made it, on which model, what it cost."""

    role: str
    model: str
    step: int | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    attempts: int
    parse_error: str | None


class PlanArea(TypedDict):
    title: str
    goal: str


class QARecord(TypedDict):
    """One denoising step's search question, its synthesised answer and the sources it drew on."""

    step: int
    question: str
    answer: str
    source_ids: list[str]


class CitationStats(TypedDict):
    cited: int  # distinct sources cited in the final report
    resolved: int  # citation marks kept
    repaired: int  # marks rewritten into [n] form (e.g. [S3], [source 3], a passage id)
    dropped: int  # marks removed because they point at nothing retrieved in this run


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class ResearchState(TypedDict, total=False):
    question: str
    plan: list[PlanArea]
    drafts: Annotated[list[str], operator.add]  # R_0 .. R_T
    qa: Annotated[list[QARecord], operator.add]
    sources: Annotated[dict[str, dict[str, Any]], merge_dicts]  # passage id -> Passage fields + "n"
    pending_question: str | None  # asked at step t, answered by the next node
    exit_reason: str | None  # "steps", "covered", "repeat", "no_steps"
    usage: Annotated[list[UsageRecord], operator.add]
    report: str  # final Markdown, citations renumbered 1..K, Sources list appended
    report_sources: list[dict[str, Any]]  # the K cited sources in report order ("n" = report number)
    citations: CitationStats
