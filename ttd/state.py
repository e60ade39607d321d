"""The typed state of the research graph and the records of its trajectory.

State holds plain JSON-able TypedDicts (not objects) so that LangGraph's SQLite checkpointer can store
and restore it exactly; `ttd.report` turns it into pydantic models at the API boundary. List fields
use an append reducer: a node returns only what it adds, and the checkpoint keeps the whole history.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, NotRequired, TypedDict


class UsageRecord(TypedDict):
    """One model call: who made it, on which model, what it cost."""

    role: str
    component: str | None  # the component being built (a judge call evolving the plan counts as "plan")
    model: str
    step: int | None
    prompt_tokens: int  # sent
    completion_tokens: int
    prompt_tokens_cached: NotRequired[int]  # of those, served from the engine's prefix cache (0: unknown)
    cost_usd: float | None
    latency_s: float
    attempts: int
    parse_error: str | None
    fallback: NotRequired[
        str | None
    ]  # the fallback that built the result from this call's unreadable reply, if any


class PlanArea(TypedDict):
    title: str
    goal: str


class QARecord(TypedDict):
    """One denoising step's search question, its synthesised answer and the sources it drew on."""

    step: int
    question: str
    answer: str
    source_ids: list[str]


class VariantRecord(TypedDict):
    """One self-evolution variant: how it was sampled, each fitness score, and each revision."""

    temperature: float
    top_k: int
    texts: list[str]  # the initial state, then one text per revision
    scores: list[dict[str, Any]]  # per text: helpfulness, comprehensiveness, critique, parsed


class EvolutionRecord(TypedDict):
    component: str
    step: int
    variants: list[VariantRecord]
    result: str  # the merged (or selected) text
    how: str  # "merge", "select" or "single"
    judge_fallbacks: int  # judge replies that could not be parsed (equal weights used)


class CitationStats(TypedDict):
    cited: int  # distinct sources cited in the final report
    resolved: int  # citation marks kept
    repaired: int  # marks rewritten into [n] form (e.g. [S3], [source 3], a passage id)
    dropped: int  # marks removed because they point at nothing retrieved in this run
    from_draft: int  # 1 if a short answer's report lost every citation and the denoised draft R_T was used
    from_facts: int  # 1 if a report question's report lost every citation and its cited facts were set out
    few_facts: int  # 1 if a report question's facts were fewer than `few_facts` and set out without a writer
    facts: int  # cited facts a report question's report was written from (ttd.facts)
    off_topic: int  # facts left out as about another subject (ttd.subject, ttd.relevance)
    facts_unchecked: int  # facts the claim check turned away before the writer saw them
    answer_stated: int  # 1 if a short answer opened with its stated answer, borne out by checked sentences
    compared: int  # 1 if a comparison question's answer was read entity by entity (ttd.compare)
    attributed: int  # uncited sentences given the [n] of a retrieved passage that supports them
    evidence_section: int  # 1 if nothing in the report was cited and the cited step answers were appended
    foreign_urls: int  # web addresses removed because they are not among the run's sources
    unverified: int  # report claims no source supports (dropped or listed under "Not verified")
    hygiene: int  # broken marks, prompt scaffolding and repeated paragraphs removed from the report
    marks_trimmed: int  # supported claims whose closing marks were cut to the sources their verdicts name
    fragments_cited: int  # list items too short to be claims, cited from a passage their list cites
    facts_added: int  # checked facts a written report left out, added under their groups
    rewrites: int  # a written report asked for once more, most of its claims being unsupported
    rewrite_kept: int  # ... and the rewrite kept, being better supported


class ClaimRecord(TypedDict):
    """One claim of a draft and what the verifier found (CONTRACTS.md section 1)."""

    text: str
    status: str  # "supported" | "unsupported" | "contradicted"
    source_ids: list[str]
    area: str | None


class RejectedRevision(TypedDict):
    """A revision the verifier turned away because it was noisier than the draft it revised."""

    text: str
    noise: float
    claims: list[ClaimRecord]


class NoiseRecord(TypedDict):
    """The claim table of draft R_t and its noise: the share of claims not supported."""

    draft: int
    noise: float
    claims: list[ClaimRecord]
    rejected: NotRequired[RejectedRevision]  # R_t is R_{t-1} again: the reviser's text was noisier
    checked: NotRequired[str]  # "lexical" when checked without a model call (a short answer between hops)
    grafted: NotRequired[int]  # the step's cited facts the revision left out, put in (`ttd.ground`)
    off_subject: NotRequired[int]  # the step's facts from passages about another subject, not put in
    pruned: NotRequired[list[ClaimRecord]]  # claims the evidence replaced or a step left unsupported
    unpruned: NotRequired[float]  # the noise before they went
    uncovered: NotRequired[list[str]]  # plan areas (a short answer's hops) no supported claim covers


def step_index(state: ResearchState, stage: str) -> int:
    """The t a stage works on: question and answer open step |qa| + 1; later stages close step |qa|."""
    return len(state.get("qa", [])) + (1 if stage in ("question", "answer") else 0)


def revise_drafts(left: list[Any] | None, right: list[Any] | None) -> list[str]:
    """Append each new draft; a `{"draft": t, "text": ...}` item sets R_t instead (a rejected revision, or
    with `"grounded": True` the revision grounded in code)."""
    out = list(left or [])
    for item in right or []:
        if isinstance(item, dict):
            out[item["draft"]] = item["text"]
        else:
            out.append(item)
    return out


def merge_dicts(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class ResearchState(TypedDict, total=False):
    question: str
    plan: list[PlanArea]
    drafts: Annotated[list[str], revise_drafts]  # R_0 .. R_T
    qa: Annotated[list[QARecord], operator.add]
    sources: Annotated[dict[str, dict[str, Any]], merge_dicts]  # passage id -> Passage fields + "n"
    pending_question: str | None  # asked at step t, answered by the next node
    question_fallbacks: Annotated[int, operator.add]  # questions built in code because the model repeated
    exit_reason: str | None  # "steps", "covered", "repeat", "budget", "noise", "plateau"
    noise: Annotated[list[NoiseRecord], operator.add]  # one per verified draft R_t, then the report
    usage: Annotated[list[UsageRecord], operator.add]
    evolution: Annotated[list[EvolutionRecord], operator.add]
    budget_reached: str | None  # which cap stopped evolution and denoising, if any
    report: str  # final Markdown, citations renumbered 1..K, Sources list appended
    report_sources: list[dict[str, Any]]  # the K cited sources in report order ("n" = report number)
    citations: CitationStats
    report_noise: NoiseRecord | None  # the final report's own claim table (after grounding: what was checked)
    off_topic: list[str]  # report facts left out as about another subject (ttd.subject, ttd.relevance)
