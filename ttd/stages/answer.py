"""Denoising step t, part 2 (M_A): retrieve passages for the question and synthesise a cited answer.

The search question's results are fused with the research question's (`retrieval.anchor`): a hop query
alone loses words the whole question has, and with them passages a single retrieval would have found; the
question's passages already retrieved are skipped, so each step adds its next-ranked ones. A report's
sub-topic question needs it too: on the README's Roman question the 1.5B asked only about the economy and
the run never reached the page "Fall of the Western Roman Empire", which the question finds first
(evals/longform_anchor.py). A report's search question that names none of the question's names searches
with them added (`ttd.subject.scoped`).

The answer is a concise summary, not raw documents; it cites the run-wide source numbers that the
`SourceRegistry` gives each passage on first retrieval, so later stages can keep and check them.
"""

from __future__ import annotations

from ttd.context import Deps
from ttd.formatting import passages_text
from ttd.generate import Request, generate
from ttd.retrieval.base import SourceRegistry
from ttd.retrieval.fusion import anchored_search
from ttd.shape import max_tokens, short_answer
from ttd.state import QARecord, ResearchState, step_index
from ttd.subject import scoped


async def run(state: ResearchState, deps: Deps) -> dict:
    question = state["pending_question"] or state["question"]
    step = step_index(state, "answer")
    cfg = deps.config.retrieval
    short = short_answer(state["question"])
    anchor = state["question"] if cfg.anchor else ""
    # a report's search names its subject: only passages that name it count as evidence (`ttd.subject`)
    query = question if short or not deps.config.verify.subject else scoped(state["question"], question)
    passages = await anchored_search(deps.retriever, query, anchor, cfg.k, seen=state.get("sources", {}))
    registry = SourceRegistry(state.get("sources"))
    numbered = [registry.add(p) for p in passages]
    shown = [registry.records()[p.id] for p in passages]
    passages_block = passages_text(shown, deps.config.retrieval.passage_chars)
    variables = {"question": question, "passages": passages_block}
    context = f"Passages:\n{passages_block}"
    cap = max_tokens("answer", state["question"], deps.config)  # one hop's fact needs few words
    out = await generate(
        deps, Request("answer", "answer", variables, step=step, context=context, max_tokens=cap)
    )
    record: QARecord = {
        "step": step,
        "question": question,
        "answer": out.value.strip(),
        "source_ids": [p.id for p in passages],
    }
    new_sources = {p.id: registry.records()[p.id] for p, n in zip(passages, numbered, strict=True)}
    return {"qa": [record], "sources": new_sources, "pending_question": None, **out.recorded}
