"""Noise of draft R_t: its claims checked against every passage retrieved so far (TTD-DR made measurable);
for a report question, every passage about its subject (`ttd.subject`, `verify.subject`).

Runs after the draft and after each revision. The claim table and Noise(R_t) go into the trajectory, the
question agent reads them, and the loop ends when noise is low enough or has stopped falling.
A revision noisier than the draft it revised is rejected (`verify.keep_best`; a grounded one, below, when
it holds fewer supported claims): R_t is R_{t-1} again and the rejected text is kept in R_t's record.
A small reviser sometimes rewrites supported sentences into talk about "the passages"; denoising must
not end noisier than it began.

A report question's revision is grounded in code before and after its check (`verify.ground`,
`ttd.ground`): the step's cited facts it left out go in (from passages about the question's subject,
`verify.subject`), and the claims the evidence has replaced or a step
left unsupported go out (kept in the record as `pruned`, with the noise before, `unpruned`). Such a draft
is clean by construction, so its low noise ends the loop only when every plan area has a supported claim.

A short answer's draft with a hop still to go is checked lexically (`verify.between_hops`): half an
answer, its check shows the next question what is unsupported (a model call for it put the 2-hop answer
over ten calls). If the sources' own words already bear it out the loop may end there; the report then
has the model re-check what the lexical pass left unsupported (`ttd.stages.report`). Lexical noise reads
higher than the model's, so keep_best is lenient to the revision after it. Low noise does not end a short
answer while a hop to go has no supported claim naming its subject: on HotpotQA a clean R_1 about Dmytryk
alone ended "Dmytryk or Preminger?" before Preminger was searched.
"""

from __future__ import annotations

from ttd.claims import noise_of, noise_record, settings_for, verify
from ttd.context import Deps
from ttd.events import emit
from ttd.formatting import title_only
from ttd.ground import graft, prune, step_facts
from ttd.shape import noise_exit_from, short_answer, step_bounds, uncovered_areas
from ttd.state import NoiseRecord, RejectedRevision, ResearchState
from ttd.subject import evidence_for


def exit_on_noise(history: list[NoiseRecord], deps: Deps, step: int, fewest: int) -> str | None:
    """ "noise" when R_t is clean enough, "plateau" when noise has not fallen for `patience` steps."""
    cfg = deps.config
    if not history or not cfg.early_exit or step < fewest:
        return None
    if history[-1]["noise"] <= cfg.verify.noise_threshold:
        return "noise"
    window = [r["noise"] for r in history[-(cfg.verify.patience + 1) :]]
    if len(window) == cfg.verify.patience + 1 and min(window[1:]) >= window[0]:
        return "plateau"
    return None


_GROUNDING = ("grafted", "off_subject", "pruned", "unpruned", "rejected")  # what R_t's own step did


def _worse(record: NoiseRecord, before: NoiseRecord, grounded: bool) -> bool:
    """Whether revision R_t is worse than R_{t-1}: noisier, or for a grounded draft (pruned to near no
    noise, so one new guess would read as worse) holding fewer supported claims."""
    if not grounded:
        return record["noise"] > before["noise"]
    supported = [sum(c["status"] == "supported" for c in r["claims"]) for r in (record, before)]
    return supported[0] < supported[1]


async def run(state: ResearchState, deps: Deps) -> dict:
    drafts = state.get("drafts") or []
    if not drafts or deps.config.verify.mode == "off":
        return {}
    t = len(drafts) - 1
    settings = settings_for(deps.config)
    last = step_bounds(state, deps.config)[1]  # a short answer's last hop
    between_hops = 0 < t < last and short_answer(state["question"])
    lexical = between_hops and settings.mode == "llm" and deps.config.verify.between_hops == "lexical"
    if lexical:
        settings.mode = "lexical"
    text, grafted, off_subject = drafts[-1], 0, []
    sources = state.get("sources", {})
    counted = evidence_for(state["question"], sources, deps.config)  # a report's: those about its subject
    # a draft the model never wrote (every reply empty: the title alone) is not grounded, and such a run
    # still fails as one with nothing to report (`ttd.run`)
    written = drafts[-1].strip() != title_only(state["question"]).strip()
    grounding = deps.config.verify.ground and t > 0 and written and not short_answer(state["question"])
    if grounding:  # the step's cited facts the reviser left out go in, and are checked with the rest
        plan = state.get("plan", [])
        found = step_facts(state["qa"][-1], counted, state["question"], plan)
        if counted is not sources:  # the step's facts from passages about another subject stay out
            every = step_facts(state["qa"][-1], sources, state["question"], plan)
            off_subject = [f for f in every if f not in found]
        text, grafted = graft(text, found, plan, state["question"])
    claims, usage = await verify(
        text,
        counted,
        question=state["question"],
        plan=state.get("plan", []),
        settings=settings,
        gateway=deps.gateway,
        step=t,
    )
    before = (state.get("noise") or [None])[-1]
    pruned: list = []
    if grounding:
        text, claims, pruned = prune(text, claims, before["claims"] if before else [])
    record = noise_record(t, claims, state.get("plan"))
    if lexical:
        record["checked"] = "lexical"
    if grounding:
        record |= {
            "grafted": grafted,
            "off_subject": len(off_subject),
            "pruned": pruned,
            "unpruned": noise_of([*claims, *pruned]),
        }
    update: dict = {"noise": [record], "usage": usage}
    if text != drafts[-1]:
        update["drafts"] = [{"draft": t, "text": text, "grounded": True}]
    if deps.config.verify.keep_best and t > 0 and before and _worse(record, before, grounding):
        rejected: RejectedRevision = {"text": text, "noise": record["noise"], "claims": claims}
        kept = {k: v for k, v in before.items() if k not in _GROUNDING}
        record = {**kept, "draft": t, "rejected": rejected}
        emit(
            "revision_rejected",
            stage="verify",
            step=t,
            detail=f"noise {rejected['noise']:.2f} > {before['noise']:.2f}",
        )
        update |= {"noise": [record], "drafts": [{"draft": t, "text": drafts[-2]}]}
    fewest = noise_exit_from(state, deps.config)
    reason = exit_on_noise([*state.get("noise", []), record], deps, t, fewest)
    hops = (state.get("plan") or [])[:last]
    if reason and between_hops and uncovered_areas(record["claims"], hops):
        reason = None  # half an answer: a hop to go whose subject no supported claim names yet
    if reason == "noise" and grounding and uncovered_areas(record["claims"], state.get("plan") or []):
        # pruning leaves a grounded draft clean but short: low noise ends the loop only once every plan
        # area has a supported claim (the first grounded runs ended after one step, the plan half searched)
        reason = None
    if reason:
        update["exit_reason"] = reason
    return update
