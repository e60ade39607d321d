"""Stage 2, the initial draft R0: the "noisy" starting point, written from the model's own knowledge."""

from __future__ import annotations

from ttd.context import Deps
from ttd.formatting import clean_markdown, plan_text, title_only
from ttd.generate import Request, generate
from ttd.shape import instructions, max_tokens
from ttd.state import ResearchState, step_index


async def run(state: ResearchState, deps: Deps) -> dict:
    question = state["question"]
    variables = {
        "question": question,
        "plan": plan_text(state["plan"]),
        "shape": instructions("draft", question),
    }
    cap = max_tokens("draft", question, deps.config)
    out = await generate(
        deps, Request("draft", "draft", variables, step=step_index(state, "draft"), max_tokens=cap)
    )
    return {"drafts": [clean_markdown(out.value) or title_only(question)], **out.recorded}
