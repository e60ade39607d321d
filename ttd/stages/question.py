"""Denoising step t, part 1 (M_Q): the search question the current draft most needs, or an exit.

The agent sees the draft's unsupported and contradicted claims (the noise) and the plan areas with no
supported claim, and asks for the next unknown. A question that repeats an earlier one or restates the whole
research question is refused in code: the agent is told once, then the question is taken from the noisiest
claim or the first plan area (hop) not yet searched. The loop ends early when the agent declares the plan
covered (allowed after `min_steps`), or when nothing new is left to ask; `early_exit = false` turns the
former off.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from pydantic import BaseModel

from ttd.claims import noisy_summary
from ttd.context import Deps
from ttd.evolution import Task, generate
from ttd.formatting import history_text, plan_text
from ttd.llm.gateway import StructuredOutputError
from ttd.llm.parsing import ParseError, parse_model
from ttd.resources import load_prompt
from ttd.state import ResearchState, UsageRecord

_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "did",
        "do",
        "does",
        "its",
        "it",
        "this",
        "that",
        "with",
        "by",
        "from",
        "as",
        "be",
        "been",
        "about",
        "into",
    ]
)


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


async def _ask(
    deps: Deps, messages: list[dict[str, str]], step: int
) -> tuple[Decision, list[UsageRecord], list]:
    """One decision: self-evolved (variants judged on gap-targeting and novelty) or a single call."""
    if deps.config.evolution.active("question"):
        out = await generate(deps, Task("question", "question", messages, step, json_mode=True))
        try:
            decision = parse_model(out.text, Decision)
        except ParseError:
            decision = Decision(question=_clean(out.text))
        return decision, out.usage, [out.record] if out.record else []
    try:
        decision, usage = await deps.gateway.structured("question", messages, Decision, step=step)
        return decision, usage, []
    except StructuredOutputError as exc:  # take the first line of prose as the question
        return Decision(question=_clean(exc.raw)), exc.usage, []


async def run(state: ResearchState, deps: Deps) -> dict:
    cfg = deps.config
    step = len(state.get("qa", [])) + 1
    if reason := deps.gateway.budget_reached():
        return {"exit_reason": "budget", "budget_reached": reason, "pending_question": None}
    may_stop = cfg.early_exit and step > cfg.min_steps
    rule = (
        'Set "covered" to true only if every plan area is already well supported by the answers above.'
        if may_stop
        else 'Set "covered" to false: more research is required.'
    )
    messages = load_prompt("question").messages(
        question=state["question"],
        plan=plan_text(state["plan"]),
        draft=state["drafts"][-1] if state.get("drafts") else "(no draft: this agent answers from the notes)",
        history=history_text(state.get("qa", [])),
        step=step,
        total_steps=cfg.steps,
        coverage_rule=rule,
        noise=noisy_summary((state.get("noise") or [None])[-1], state.get("plan", [])),
    )
    decision, usage, evolved = await _ask(deps, messages, step)
    if may_stop and decision.covered:
        return {"exit_reason": "covered", "pending_question": None, "usage": usage, "evolution": evolved}

    earlier = [r["question"] for r in state.get("qa", [])]

    def unusable(q: str) -> bool:
        """Empty, a repeat, or the whole research question again (a hop must ask for one unknown)."""
        return not q or any(
            similarity(q, old) >= cfg.dedup_threshold for old in [*earlier, state["question"]]
        )

    question, fallbacks = _clean(decision.question), 0
    if unusable(question):
        retry = [
            *messages,
            {"role": "assistant", "content": decision.model_dump_json()},
            {
                "role": "user",
                "content": "That question is empty or repeats an earlier one. Ask a different one.",
            },
        ]
        decision, more, more_evolved = await _ask(deps, retry, step)
        usage, evolved = usage + more, evolved + more_evolved
        question = _clean(decision.question)
        if unusable(question) and may_stop:
            return {"exit_reason": "repeat", "pending_question": None, "usage": usage, "evolution": evolved}
        if unusable(question):
            question = next((q for q in fallback_questions(state) if not unusable(q)), "")
            fallbacks = 1
        if not question:
            return {"exit_reason": "repeat", "pending_question": None, "usage": usage, "evolution": evolved}
    return {
        "pending_question": question,
        "exit_reason": None,
        "usage": usage,
        "evolution": evolved,
        "question_fallbacks": fallbacks,
    }


def fallback_questions(state: ResearchState) -> list[str]:
    """Queries built in code when the model only repeats: the noisiest claims first, then each plan hop."""
    noise = state.get("noise") or []
    claims = [c["text"] for c in (noise[-1]["claims"] if noise else []) if c["status"] != "supported"]
    hops = [f"{a['title']}: {a['goal']}" if a.get("goal") else a["title"] for a in state.get("plan", [])]
    return [" ".join(re.sub(r"\[\d+\]", "", q).split()[:16]) for q in [*claims, *hops]]
