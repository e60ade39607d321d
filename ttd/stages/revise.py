"""Denoising step t, part 3 (M_R): R_t from the query, R_{t-1}, the new answer and R_{t-1}'s noisy claims.

The reviser is shown which claims no source supports, so it replaces them with cited facts rather than
adding text around them; prompt scaffolding it copies anyway is removed in code (`ttd.hygiene`). A report
question's answer is shown as its cited facts (`ttd.facts.answer_facts`): a 1.5B's answer is often
talk about "the passage [5]", which the reviser copied or answered with marks on its own beliefs.
"""

from __future__ import annotations

from ttd.citations import strip_foreign_urls
from ttd.context import Deps
from ttd.facts import answer_facts
from ttd.formatting import clean_markdown, opening
from ttd.generate import Request, generate
from ttd.hygiene import clean
from ttd.shape import instructions, max_tokens, short_answer
from ttd.state import ResearchState, step_index


async def run(state: ResearchState, deps: Deps) -> dict:
    latest = state["qa"][-1]
    previous = state["drafts"][-1]
    answer = latest["answer"]
    if not short_answer(state["question"]):
        cited = answer_facts(answer, state.get("sources", {}), state["question"])
        answer = " ".join(cited) or answer
    variables = {
        **opening(state, no_draft=previous),
        "new_question": latest["question"],
        "new_answer": answer,
        "shape": instructions("revise", state["question"]),
    }
    cap = max_tokens("revise", state["question"], deps.config)
    step = step_index(state, "revise")
    out = await generate(deps, Request("revise", "revise", variables, step=step, max_tokens=cap))
    # links to pages the run never retrieved go first, so hygiene never leaves half a URL behind
    text, _ = strip_foreign_urls(clean_markdown(out.value), state.get("sources", {}))
    revised = clean(text)[0].strip() if text.strip() else ""
    # An empty reply (a model that stopped at once) must not erase the draft; keep R_{t-1} as R_t.
    return {"drafts": [revised or previous], **out.recorded}
