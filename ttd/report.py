"""The public result of a run: a pydantic `Report` built from the final graph state."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from ttd.errors import ConfigError
from ttd.state import ResearchState


class Source(BaseModel):
    """A source cited in the report; `n` is its number in the report's [n] marks."""

    n: int
    id: str
    title: str
    location: str
    provider: str = ""
    excerpt: str = ""


class Step(BaseModel):
    """Denoising step t: the question asked, the cited answer, and the draft R_t it produced."""

    step: int
    question: str
    answer: str
    source_ids: list[str]
    draft: str | None = None


class Claim(BaseModel):
    """One claim of a draft and the verifier's finding (CONTRACTS.md section 1)."""

    text: str
    status: Literal["supported", "unsupported", "contradicted"]
    source_ids: list[str] = Field(default_factory=list)
    area: str | None = None


class RejectedRevision(BaseModel):
    """The reviser's text for step t when it was noisier than R_{t-1} (R_t is R_{t-1} again)."""

    text: str
    noise: float
    claims: list[Claim] = Field(default_factory=list)


class NoiseRecord(BaseModel):
    """Draft R_t's claim table and Noise(R_t), the share of its claims not supported."""

    draft: int
    noise: float
    claims: list[Claim] = Field(default_factory=list)
    rejected: RejectedRevision | None = Field(None, description="a noisier revision turned away at step t")
    checked: str | None = Field(None, description='"lexical" when checked without a model call')
    grafted: int | None = Field(None, description="the step's cited facts the revision left out, put in")
    off_subject: int | None = Field(
        None, description="the step's facts from passages about another subject, left out (ttd.subject)"
    )
    pruned: list[Claim] | None = Field(
        None, description="claims the evidence replaced, a step left unsupported, or a source contradicts"
    )
    unpruned: float | None = Field(None, description="Noise(R_t) before the pruned claims went")
    uncovered: list[str] | None = Field(
        None,
        description="plan areas (a short answer's hops) no supported claim covers: a draft that drops one"
        " can reach low noise without answering the question",
    )


class Trajectory(BaseModel):
    plan: list[dict[str, str]]
    drafts: list[str] = Field(description="R_0 .. R_T")
    steps: list[Step]
    retrieved: list[Source] = Field(description="every source retrieved in the run, in run-wide numbering")
    evolution: list[dict[str, Any]] = Field(
        default_factory=list, description="self-evolution: every variant, score, critique, revision and merge"
    )
    exit_reason: str | None = None
    question_fallbacks: int = Field(
        0, description="search questions built in code (the model repeated, refused or left its hop)"
    )
    noise: list[NoiseRecord] = Field(default_factory=list, description="one per verified draft R_0 .. R_T")
    report_noise: NoiseRecord | None = Field(
        None,
        description="the final report's claims as written, before unsupported ones were dropped or listed",
    )
    off_topic: list[str] = Field(
        default_factory=list,
        description="a report question's cited facts left out as about another subject (subject, relevance)",
    )


class RoleUsage(BaseModel):
    calls: int = 0
    prompt_tokens: int = 0
    prompt_tokens_cached: int = Field(0, description="prompt tokens served from the prefix cache")
    completion_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    parse_errors: int = 0
    fallbacks: int = 0  # results a stage's fallback built because the reply stayed unreadable

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Usage(BaseModel):
    calls: list[dict[str, Any]]
    by_role: dict[str, RoleUsage]
    by_component: dict[str, RoleUsage] = Field(
        default_factory=dict,
        description="calls grouped by what they built (judge calls count for their component)",
    )
    total: RoleUsage


class CitationSummary(BaseModel):
    cited: int = 0
    resolved: int = 0
    repaired: int = 0
    dropped: int = 0
    from_draft: int = 0
    from_facts: int = 0
    few_facts: int = 0  # a report question's few facts were set out without a writer call
    attributed: int = 0
    facts: int = 0  # cited facts a report question's report was written from (ttd.facts)
    off_topic: int = 0  # facts left out as about another subject (ttd.subject, ttd.relevance)
    facts_unchecked: int = 0  # facts the claim check turned away before the writer saw them
    evidence_section: int = 0
    answer_stated: int = 0  # a short answer opened with its stated answer, borne out by checked sentences
    compared: int = 0  # a comparison question's answer was read entity by entity (ttd.compare)
    foreign_urls: int = 0
    unverified: int = 0
    hygiene: int = 0
    marks_trimmed: int = 0  # supported claims whose closing marks were cut to the sources their verdicts name
    fragments_cited: int = 0  # list items too short to be claims, cited from a passage their list cites
    facts_added: int = 0  # checked facts a written report left out, added under their groups
    # the checked report's claims that are the writer's own (not those facts), and how many are supported:
    # the added facts were checked before the writer saw them, so they lift the report's supported share
    own_claims: int = 0
    own_supported: int = 0
    rewrites: int = 0  # a written report asked for once more, most of its claims being unsupported
    rewrite_kept: int = 0  # ... and the rewrite kept, being better supported

    def own_share(self) -> float | None:
        """The supported share of the writer's own claims (None: none checked)."""
        return round(self.own_supported / self.own_claims, 4) if self.own_claims else None


class Report(BaseModel):
    run_id: str
    run_dir: str
    question: str
    markdown: str
    sources: list[Source]
    trajectory: Trajectory
    usage: Usage
    citations: CitationSummary
    budget_reached: str | None = Field(
        None, description="the spending cap that stopped the run early, if any"
    )
    wall_time_s: float | None = None
    config: dict[str, Any] = Field(default_factory=dict)

    def to_html(self) -> str:
        """The run as one self-contained HTML page (what `ttd show` writes to RUN_DIR/report.html)."""
        from ttd.show import render_report

        return render_report(self)


def summarize_usage(calls: list[dict[str, Any]]) -> Usage:
    by_role: dict[str, RoleUsage] = defaultdict(RoleUsage)
    by_component: dict[str, RoleUsage] = defaultdict(RoleUsage)
    total = RoleUsage()
    for c in calls:
        for bucket in (by_role[c["role"]], by_component[c.get("component") or c["role"]], total):
            bucket.calls += 1
            bucket.prompt_tokens += c["prompt_tokens"]
            bucket.prompt_tokens_cached += c.get("prompt_tokens_cached", 0)
            bucket.completion_tokens += c["completion_tokens"]
            bucket.latency_s = round(bucket.latency_s + c["latency_s"], 3)
            bucket.parse_errors += int(bool(c.get("parse_error")))
            bucket.fallbacks += int(bool(c.get("fallback")))
            if c.get("cost_usd") is not None:
                bucket.cost_usd = (bucket.cost_usd or 0.0) + c["cost_usd"]
    return Usage(calls=list(calls), by_role=dict(by_role), by_component=dict(by_component), total=total)


def _source(record: dict[str, Any], n: int) -> Source:
    return Source(
        n=n,
        id=record["id"],
        title=record["title"],
        location=record["location"],
        provider=record.get("provider", ""),
        excerpt=str(record.get("text", ""))[:500],
    )


def build_report(
    state: ResearchState, run_id: str, run_dir: str, config: dict[str, Any], wall_time_s: float | None = None
) -> Report:
    drafts = list(state.get("drafts", []))
    steps = [
        Step(**qa, draft=drafts[i + 1] if i + 1 < len(drafts) else None)
        for i, qa in enumerate(state.get("qa", []))
    ]
    retrieved = sorted(state.get("sources", {}).values(), key=lambda r: int(r["n"]))
    return Report(
        run_id=run_id,
        run_dir=run_dir,
        question=state["question"],
        markdown=state.get("report", ""),
        sources=[_source(r, int(r["n"])) for r in state.get("report_sources", [])],
        trajectory=Trajectory(
            plan=[dict(a) for a in state.get("plan", [])],
            drafts=drafts,
            steps=steps,
            retrieved=[_source(r, int(r["n"])) for r in retrieved],
            evolution=[dict(r) for r in state.get("evolution", [])],
            exit_reason=state.get("exit_reason"),
            question_fallbacks=state.get("question_fallbacks", 0),
            noise=[NoiseRecord.model_validate(r) for r in state.get("noise", [])],
            report_noise=NoiseRecord.model_validate(state["report_noise"])
            if state.get("report_noise")
            else None,
            off_topic=list(state.get("off_topic") or []),
        ),
        budget_reached=state.get("budget_reached"),
        usage=summarize_usage(list(state.get("usage", []))),
        citations=CitationSummary(**state.get("citations", {})),
        wall_time_s=wall_time_s,
        config=config,
    )


def load_report(run_dir: str | Path) -> Report:
    """The Report a finished run saved (report.json); a clear error when the run never finished."""
    path = Path(run_dir) / "report.json"
    if not path.exists():
        raise ConfigError(
            f"{Path(run_dir).name} has no report.json yet (the run did not finish): "
            f"resume it with 'ttd research --resume {Path(run_dir).name}'"
        )
    try:
        return Report.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not a readable report ({exc.__class__.__name__})") from None
