"""Denoising step t, part 3 (M_R): R_t from the query, R_{t-1}, the new answer and R_{t-1}'s noisy claims.

The reviser is shown which claims no source supports, so it replaces them with cited facts rather than
adding text around them; prompt scaffolding it copies anyway is removed in code (`ttd.hygiene`).
"""

from __future__ import annotations

from ttd.context import Deps
from ttd.formatting import clean_markdown
from ttd.hygiene import clean
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
        noise=_unsupported(state),
    )
    out = await deps.gateway.complete("revise", messages, step=latest["step"])
    revised = clean(clean_markdown(out.text))[0].strip() if out.text.strip() else ""
    # An empty reply (a model that stopped at once) must not erase the draft; keep R_{t-1} as R_t.
    return {"drafts": [revised or previous], "usage": [out.usage]}


def _unsupported(state: ResearchState, limit: int = 10) -> str:
    noise = state.get("noise") or []
    bad = [c for c in (noise[-1]["claims"] if noise else []) if c["status"] != "supported"]
    return "\n".join(f"- ({c['status']}) {c['text']}" for c in bad[:limit]) or "(none)"
