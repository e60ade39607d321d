"""Stage 2, the initial draft R0: the "noisy" starting point, written from the model's own knowledge."""

from __future__ import annotations

from ttd.context import Deps
from ttd.formatting import clean_markdown, plan_text
from ttd.resources import load_prompt
from ttd.state import ResearchState


async def run(state: ResearchState, deps: Deps) -> dict:
    messages = load_prompt("draft").messages(question=state["question"], plan=plan_text(state["plan"]))
    out = await deps.gateway.complete("draft", messages, step=0)
    return {"drafts": [clean_markdown(out.text) or f"# {state['question']}\n"], "usage": [out.usage]}
