"""Denoising step t, part 3 (M_R): R_t from the query, R_{t-1} and the new answer."""

from __future__ import annotations

from ttd.context import Deps
from ttd.formatting import clean_markdown
from ttd.resources import load_prompt
from ttd.state import ResearchState


async def run(state: ResearchState, deps: Deps) -> dict:
    latest = state["qa"][-1]
    previous = state["drafts"][-1]
    messages = load_prompt("revise").messages(
        question=state["question"],
        draft=previous,
        new_question=latest["question"],
        new_answer=latest["answer"],
    )
    out = await deps.gateway.complete("revise", messages, step=latest["step"])
    revised = clean_markdown(out.text)
    # An empty reply (a model that stopped at once) must not erase the draft; keep R_{t-1} as R_t.
    return {"drafts": [revised or previous], "usage": [out.usage]}
