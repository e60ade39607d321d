"""Denoising step t, part 1 (M_Q): the search question the current draft most needs, or an exit.

The loop ends early when the agent declares the plan covered (allowed after `min_steps`), or when its
question repeats an earlier one even after being shown the repeat once. Neither happens before
`min_steps`, and `early_exit = false` turns both off: the loop then always runs N steps.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from pydantic import BaseModel

from ttd.context import Deps
from ttd.events import emit
from ttd.formatting import history_text, plan_text
from ttd.generate import Generated, Request, generate
from ttd.state import ResearchState, step_index
from ttd.terms import STOPWORDS as _STOP


class Decision(BaseModel):
    question: str = ""
    covered: bool = False


def similarity(a: str, b: str) -> float:
    """How alike two questions are: the larger of content-word overlap and character similarity."""

    def words(s: str) -> set[str]:
        return {w for w in re.findall(r"[a-z0-9]+", s.lower()) if w not in _STOP}

    wa, wb = words(a), words(b)
    jaccard = len(wa & wb) / len(wa | wb) if wa | wb else 1.0
    chars = SequenceMatcher(None, " ".join(sorted(wa)), " ".join(sorted(wb))).ratio()
    return max(jaccard, chars)


def _clean(text: str) -> str:
    text = text.strip().strip('"').strip()
    return text.splitlines()[0].strip() if text else ""


def first_line(raw: str) -> Decision:
    """Fallback for a reply that is not JSON: its first line of prose is the question."""
    return Decision(question=_clean(raw))


async def run(state: ResearchState, deps: Deps) -> dict:
    cfg = deps.config
    step = step_index(state, "question")
    if reason := deps.gateway.budget_reached():
        return _exit(step, cfg.steps, "budget", {"budget_reached": reason})
    may_stop = cfg.early_exit and step > cfg.min_steps
    rule = (
        'Set "covered" to true only if every plan area is already well supported by the answers above.'
        if may_stop
        else 'Set "covered" to false: more research is required.'
    )
    drafts = state.get("drafts") or ["(no draft: this agent answers from the notes)"]
    variables = {
        "question": state["question"],
        "plan": plan_text(state["plan"]),
        "draft": drafts[-1],
        "history": history_text(state.get("qa", [])),
        "step": step,
        "total_steps": cfg.steps,
        "coverage_rule": rule,
    }
    request = Request("question", "question", variables, step=step, schema=Decision, fallback=first_line)
    outs: list[Generated[Decision]] = [await generate(deps, request)]
    if may_stop and outs[0].value.covered:
        return _exit(step, cfg.steps, "covered", _recorded(outs))

    earlier = [r["question"] for r in state.get("qa", [])]

    def unusable(q: str) -> bool:
        return not q or any(similarity(q, old) >= cfg.dedup_threshold for old in earlier)

    question = _clean(outs[0].value.question)
    if unusable(question):
        note = "That question is empty or repeats an earlier one. Ask a different one."
        outs.append(await generate(deps, request.follow_up(outs[0].value.model_dump_json(), note)))
        retried = _clean(outs[1].value.question)
        if unusable(retried) and may_stop:
            return _exit(step, cfg.steps, "repeat", _recorded(outs))
        question = retried or question or state["question"]
    emit("question", stage="question", step=step, total_steps=cfg.steps, detail=question)
    return {"pending_question": question, "exit_reason": None, **_recorded(outs)}


def _recorded(outs: list[Generated[Decision]]) -> dict:
    return {"usage": [u for o in outs for u in o.usage], "evolution": [e for o in outs for e in o.evolution]}


def _exit(step: int, total: int, reason: str, update: dict) -> dict:
    """Leave the denoising loop: the next node is the report."""
    emit("exit", stage="question", step=step, total_steps=total, detail=reason)
    return {"exit_reason": reason, "pending_question": None, **update}
