"""Denoising step t, part 3 (M_R): R_t from the query, R_{t-1} and the new answer."""

from __future__ import annotations

from ttd.context import Deps
from ttd.formatting import clean_markdown
from ttd.generate import Request, generate
from ttd.state import ResearchState, step_index


async def run(state: ResearchState, deps: Deps) -> dict:
    latest = state["qa"][-1]
    previous = state["drafts"][-1]
    variables = {
        "question": state["question"],
        "draft": previous,
        "new_question": latest["question"],
        "new_answer": latest["answer"],
    }
    out = await generate(deps, Request("revise", "revise", variables, step=step_index(state, "revise")))
    revised = clean_markdown(out.value)
    # An empty reply (a model that stopped at once) must not erase the draft; keep R_{t-1} as R_t.
    return {"drafts": [revised or previous], **out.recorded}
