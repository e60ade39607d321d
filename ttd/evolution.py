"""Component-wise self-evolution (TTD-DR section 2.2), usable by any stage.

    initial states   n variants, sampled concurrently with varied temperature and top_k
    feedback         an LLM judge scores each (Helpfulness, Comprehensiveness, 1-10) and writes a critique
    revision         each variant revised from its critique, s times, and scored again
    cross-over       the variants merged into one (search questions: the best one is selected)

With n = 1 and s = 0 a component is generated once, exactly as in the plain loop. Once a spending cap is
reached, evolution stops (one plain call) so the run can still finish its report.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from ttd.context import Deps
from ttd.events import emit
from ttd.llm.gateway import StructuredOutputError
from ttd.resources import load_prompt
from ttd.state import EvolutionRecord, UsageRecord, VariantRecord

_MERGE_INSTRUCTIONS = {
    "plan": "Keep every distinct key area the candidates cover, drop duplicates, and order them sensibly.",
    "answer": "Merge the information of all candidates. Where they conflict, follow what the cited passages "
    "say, and keep the passage numbers in square brackets after each claim.",
    "report": "Keep the best-written sections and every well-supported claim of each candidate, with its "
    "[n] citation; remove repetition.",
}
_JSON_FORMAT = "Reply with only the JSON object, in the same format as the candidates."
_TEXT_FORMAT = "Output only the result, with no preamble."


class JudgeScore(BaseModel):
    helpfulness: float = Field(ge=0, le=10)
    comprehensiveness: float = Field(ge=0, le=10)
    critique: str = ""


@dataclass
class Task:
    """What to generate: the component, the role whose model writes it, and the prompt."""

    component: str  # plan | question | answer | report
    role: str
    messages: list[dict[str, str]]
    step: int
    json_mode: bool = False
    context: str = ""  # what the judge and the merge must check against (passages, earlier questions)


@dataclass
class Generated:
    text: str
    usage: list[UsageRecord] = field(default_factory=list)
    record: EvolutionRecord | None = None


def fitness(score: dict[str, Any]) -> float:
    """Mean of the two rubric scores; an unparsed judge reply counts as the neutral 5 (equal weights)."""
    if not score.get("parsed"):
        return 5.0
    return (float(score["helpfulness"]) + float(score["comprehensiveness"])) / 2


async def generate(deps: Deps, task: Task) -> Generated:
    """Generate `task`'s component, self-evolving it as the run's `EvolutionConfig` says."""
    cfg, gw = deps.config.evolution, deps.gateway
    n, s = cfg.n.get(task.component, 1), cfg.s.get(task.component, 0)
    if gw.budget_reached():
        n, s = 1, 0
    if n == 1 and s == 0:
        out = await gw.complete(
            task.role, task.messages, step=task.step, component=task.component, json_mode=task.json_mode
        )
        return Generated(out.text, [out.usage])

    usage: list[UsageRecord] = []
    samples = [(cfg.temperatures[i % len(cfg.temperatures)], cfg.top_k[i % len(cfg.top_k)]) for i in range(n)]
    outs = await asyncio.gather(
        *(
            gw.complete(
                task.role,
                task.messages,
                step=task.step,
                component=task.component,
                json_mode=task.json_mode,
                temperature=t,
                top_k=k,
            )
            for t, k in samples
        )
    )
    usage += [o.usage for o in outs]
    variants: list[VariantRecord] = [
        {"temperature": t, "top_k": k, "texts": [o.text], "scores": []}
        for (t, k), o in zip(samples, outs, strict=True)
    ]
    fallbacks = await _score_all(deps, task, variants, usage)

    for _ in range(s):
        if gw.budget_reached():
            break
        revised = await asyncio.gather(*(_revise(deps, task, v) for v in variants))
        for variant, out in zip(variants, revised, strict=True):
            variant["texts"].append(out.text)
            usage.append(out.usage)
        fallbacks += await _score_all(deps, task, variants, usage)

    ranked = sorted(variants, key=lambda v: fitness(v["scores"][-1]), reverse=True)
    if n == 1:
        result, how = ranked[0]["texts"][-1], "single"
    elif task.component == "question" or gw.budget_reached():
        result, how = ranked[0]["texts"][-1], "select"
    else:
        merged = await _merge(deps, task, ranked)
        usage.append(merged.usage)
        result, how = merged.text, "merge"
    record: EvolutionRecord = {
        "component": task.component,
        "step": task.step,
        "variants": variants,
        "result": result,
        "how": how,
        "judge_fallbacks": fallbacks,
    }
    return Generated(result, usage, record)


def _clip(text: str, limit: int = 6000) -> str:
    return text if len(text) <= limit else text[: limit // 2] + "\n[...]\n" + text[-limit // 2 :]


def _task_text(task: Task) -> str:
    return _clip("\n\n".join(m["content"] for m in task.messages if m["role"] == "user"))


async def _score_all(deps: Deps, task: Task, variants: list[VariantRecord], usage: list[UsageRecord]) -> int:
    """Judge the latest text of every variant concurrently; returns how many replies fell back."""
    results = await asyncio.gather(*(_judge(deps, task, v["texts"][-1]) for v in variants))
    fallbacks = 0
    for i, (variant, (score, calls)) in enumerate(zip(variants, results, strict=True)):
        variant["scores"].append(score)
        usage.extend(calls)
        fallbacks += int(not score["parsed"])
        emit(
            "variant",
            stage=task.component,
            step=task.step,
            detail=f"#{i + 1} (T={variant['temperature']}, top_k={variant['top_k']}, "
            f"rev {len(variant['texts']) - 1}): H {score.get('helpfulness', '?')} / "
            f"C {score.get('comprehensiveness', '?')}",
            data=dict(score),
        )
    return fallbacks


async def _judge(deps: Deps, task: Task, candidate: str) -> tuple[dict[str, Any], list[UsageRecord]]:
    prompt = load_prompt("judge_question" if task.component == "question" else "judge")
    messages = prompt.messages(
        component=task.component,
        task=_task_text(task),
        context=_clip(task.context) or "(everything is in the task above)",
        candidate=_clip(candidate, 8000),
    )
    try:
        score, calls = await deps.gateway.structured(
            "judge", messages, JudgeScore, step=task.step, component=task.component
        )
    except StructuredOutputError as exc:  # small models: equal weights, and the failure is counted
        return {"helpfulness": None, "comprehensiveness": None, "critique": "", "parsed": False}, exc.usage
    return {**score.model_dump(), "parsed": True}, calls


async def _revise(deps: Deps, task: Task, variant: VariantRecord) -> Any:
    critique = variant["scores"][-1].get("critique") or "Make it more accurate, complete and clear."
    messages = load_prompt("evolve_revise").messages(
        component=task.component,
        task=_task_text(task),
        candidate=variant["texts"][-1],
        critique=critique,
        format=_JSON_FORMAT if task.json_mode else _TEXT_FORMAT,
    )
    return await deps.gateway.complete(
        task.role,
        messages,
        step=task.step,
        component=task.component,
        json_mode=task.json_mode,
        temperature=variant["temperature"],
        top_k=variant["top_k"],
    )


async def _merge(deps: Deps, task: Task, ranked: list[VariantRecord]) -> Any:
    shown = "\n\n".join(
        f"<candidate {i} score={fitness(v['scores'][-1]):.1f}>\n"
        f"{_clip(v['texts'][-1], 5000)}\n</candidate {i}>"
        for i, v in enumerate(ranked, 1)
    )
    messages = load_prompt("merge").messages(
        component=task.component,
        task=_task_text(task),
        context=_clip(task.context) or "(everything is in the task above)",
        variants=shown,
        instructions=_MERGE_INSTRUCTIONS.get(task.component, ""),
        format=_JSON_FORMAT if task.json_mode else _TEXT_FORMAT,
    )
    return await deps.gateway.complete(
        task.role, messages, step=task.step, component=task.component, json_mode=task.json_mode
    )
