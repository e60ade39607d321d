"""LLM judges, through the gateway's `judge` role.

`judge_correct` grades a QA response against the gold answers with Humanity's Last Exam's grader prompt
(EM misses paraphrases such as "Spurs" vs "Tottenham"). `compare` is the paper's side-by-side judge for
long-form reports: Helpfulness and Comprehensiveness on a 4-level preference, asked in both orders so
that a judge's position bias cancels instead of favouring whichever system is shown first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, field_validator

from ttd.bench.metrics import bootstrap_ci
from ttd.bench.prompts import bench_prompt
from ttd.llm.gateway import Gateway, StructuredOutputError
from ttd.state import UsageRecord

CRITERIA = ("helpfulness", "comprehensiveness")
# 4-level preference -> score from A's side.
LEVELS: dict[str, int] = {"a much better": 2, "a better": 1, "b better": -1, "b much better": -2}


class Verdict(BaseModel):
    extracted_final_answer: str = "None"
    reasoning: str = ""
    correct: bool = False
    confidence: float | None = None

    @field_validator("correct", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> bool:
        return str(value).strip().lower() in ("yes", "true", "1", "correct")

    @field_validator("confidence", mode="before")
    @classmethod
    def _number(cls, value: Any) -> float | None:
        match = re.search(r"\d+(?:\.\d+)?", str(value))
        return float(match.group()) if match else None


async def judge_correct(
    gateway: Gateway, question: str, response: str, answers: list[str]
) -> tuple[bool | None, str, list[UsageRecord]]:
    """(correct, reasoning, usage); correct is None when the judge's reply cannot be read."""
    messages = bench_prompt("judge_correct").messages(
        question=question, response=response[-4000:], correct_answer=" | ".join(answers)
    )
    try:
        verdict, usage = await gateway.structured("judge", messages, Verdict, temperature=0.0, max_tokens=300)
    except StructuredOutputError as exc:
        found = re.search(r'"?correct"?\s*[:=]\s*"?(yes|no)', exc.raw, re.I)
        return (found.group(1).lower() == "yes" if found else None), "unparsed judge reply", exc.usage
    return verdict.correct, verdict.reasoning, usage


class Preference(BaseModel):
    helpfulness: str = ""
    comprehensiveness: str = ""
    reasoning: str = ""


def level_score(text: str) -> int | None:
    """'A much better' -> 2 ... 'B much better' -> -2; None if unreadable."""
    match = re.search(r"\b([ab])\b\s+(?:is\s+)?(much\s+)?better", str(text).lower())
    if not match:
        return None
    return LEVELS[f"{match.group(1)} {'much ' if match.group(2) else ''}better"]


async def _one_order(
    gateway: Gateway, question: str, first: str, second: str
) -> tuple[dict[str, int | None], list[UsageRecord]]:
    messages = bench_prompt("judge_pairwise").messages(
        question=question, report_a=first[:12000], report_b=second[:12000]
    )
    try:
        pref, usage = await gateway.structured("judge", messages, Preference, temperature=0.0, max_tokens=300)
        raw = pref.model_dump()
    except StructuredOutputError as exc:
        usage, raw = exc.usage, {c: _grab(exc.raw, c) for c in CRITERIA}
    return {c: level_score(raw.get(c, "")) for c in CRITERIA}, usage


def _grab(text: str, criterion: str) -> str:
    match = re.search(rf"{criterion}\W+([ab] (?:much )?better)", text, re.I)
    return match.group(1) if match else ""


async def compare(gateway: Gateway, question: str, report_a: str, report_b: str) -> dict[str, Any]:
    """Judge A vs B in both orders; per criterion the mean score from A's side (positive: A preferred)."""
    ab, usage_ab = await _one_order(gateway, question, report_a, report_b)
    ba, usage_ba = await _one_order(gateway, question, report_b, report_a)
    scores: dict[str, float | None] = {}
    for c in CRITERIA:
        known = [s for s in (ab[c], -ba[c] if ba[c] is not None else None) if s is not None]
        scores[c] = sum(known) / len(known) if known else None
    return {"scores": scores, "ab": ab, "ba": ba, "usage": [*usage_ab, *usage_ba]}


@dataclass
class Rates:
    n: int
    win: float
    tie: float
    loss: float
    win_ci: tuple[float, float]
    tie_ci: tuple[float, float]
    loss_ci: tuple[float, float]


def outcome(score: float) -> Literal["win", "tie", "loss"]:
    return "win" if score > 0 else "loss" if score < 0 else "tie"


def win_rates(scores: list[float]) -> Rates:
    """Win/tie/loss shares for A with 95% percentile-bootstrap intervals over questions."""
    labels = [outcome(s) for s in scores]
    series = {k: [float(lab == k) for lab in labels] for k in ("win", "tie", "loss")}
    n = len(labels) or 1
    return Rates(
        len(labels),
        sum(series["win"]) / n,
        sum(series["tie"]) / n,
        sum(series["loss"]) / n,
        bootstrap_ci(series["win"]),
        bootstrap_ci(series["tie"]),
        bootstrap_ci(series["loss"]),
    )
