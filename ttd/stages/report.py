"""The final report: written from the plan, every Q/A and the last draft, then its citations checked."""

from __future__ import annotations

import re

from ttd.citations import attribute, finalize
from ttd.context import Deps
from ttd.formatting import clean_markdown, history_text, plan_text
from ttd.generate import Request, generate
from ttd.state import ResearchState, step_index


async def run(state: ResearchState, deps: Deps) -> dict:
    drafts = state.get("drafts") or []
    notes = history_text(state.get("qa", []), max_chars=9000)
    variables = {
        "question": state["question"],
        "plan": plan_text(state["plan"]),
        "history": notes,
        "draft": drafts[-1] if drafts else "(no draft: write the report from the notes)",
    }
    step = step_index(state, "report")
    out = await generate(
        deps, Request("report", "report", variables, step=step, context=f"Research notes:\n{notes}")
    )
    budget = state.get("budget_reached") or deps.gateway.budget_reached()
    note = (
        f"\n\n> Note: the research budget was reached ({budget}); self-evolution and denoising stopped "
        f"after {step} step(s) and this report was written from what had been found."
        if budget
        else ""
    )
    sources = state.get("sources", {})
    body, attributed = attribute(
        clean_markdown(out.value) or (drafts[-1] if drafts else ""), sources, state["question"]
    )
    final = finalize(body + note, sources)
    if drafts and final.stats["cited"] == 0 and finalize(drafts[-1], sources).stats["cited"] > 0:
        # A small model's rewrite lost every citation the denoised draft had: R_T is the better sample.
        body, attributed = attribute(drafts[-1], sources, state["question"])
        final = finalize(body + note, sources)
        final.stats["from_draft"] = 1
    if final.stats["cited"] == 0 and any(re.search(r"\[\d+\]", r["answer"]) for r in state.get("qa", [])):
        # Still nothing cited: keep the cited answers of the research steps, so every claim drawn from the
        # sources stays traceable to them.
        evidence = "\n\n".join(f"**{r['question']}**\n{r['answer']}" for r in state.get("qa", []))
        final = finalize(f"{body}\n\n## Evidence from the research steps\n\n{evidence}{note}", sources)
        final.stats["evidence_section"] = 1
    final.stats["attributed"] = attributed
    return {
        "report": final.markdown,
        "report_sources": final.sources,
        "citations": final.stats,
        "exit_reason": state.get("exit_reason") or "steps",
        "budget_reached": budget,
        **out.recorded,
    }
