"""The final report: written from the plan, every Q/A and the last draft, then its citations checked."""

from __future__ import annotations

from ttd.citations import finalize
from ttd.context import Deps
from ttd.formatting import clean_markdown, history_text, plan_text
from ttd.resources import load_prompt
from ttd.state import ResearchState


async def run(state: ResearchState, deps: Deps) -> dict:
    messages = load_prompt("report").messages(
        question=state["question"],
        plan=plan_text(state["plan"]),
        history=history_text(state.get("qa", []), max_chars=9000),
        draft=state["drafts"][-1],
    )
    out = await deps.gateway.complete("report", messages, step=len(state.get("qa", [])))
    final = finalize(clean_markdown(out.text) or state["drafts"][-1], state.get("sources", {}))
    return {
        "report": final.markdown,
        "report_sources": final.sources,
        "citations": final.stats,
        "exit_reason": state.get("exit_reason") or "steps",
        "usage": [out.usage],
    }
