"""The systems a benchmark compares: baselines and the paper's Table 2 ablations, one gateway and retriever.

    closed-book     the model alone                      rag            one retrieval, one answer
    iterative-rag   IRCoT: reason a sentence, retrieve with it, repeat
    ttd-backbone    plan -> (question -> search/answer)* -> report: no draft, no denoising, no evolution
    ttd-evolution   backbone + component-wise self-evolution
    ttd-full        self-evolution + denoising with retrieval: the whole TTD-DR loop

The three ttd systems run through the research pipeline (`ttd.run.Run`) with the benchmark's retriever
passed in.

On QA sets every system is scored the same way: the short answer its response states on its own answer
line ("Answer: X", "So the answer is: X", "**Answer:** X [1]"), else the paper's extraction call. Reading
the stated line avoids a call that, on a 1.5B, turned "Answer: Spurs [1]" into "[1]"; how often the
extraction call was needed is counted per system (`extracted`). Costs come from the gateway's per-call
usage records, whichever path made the call.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ttd.bench.prompts import bench_prompt
from ttd.citations import MARK
from ttd.config import COMPONENTS, ResearchConfig, load_preset
from ttd.errors import TTDError
from ttd.formatting import passages_text
from ttd.llm.gateway import Gateway
from ttd.resources import preset_names
from ttd.retrieval.base import Passage, Retriever
from ttd.state import UsageRecord

EVOLUTION_PRESET = "backbone+evolution"  # its [evolution] table serves agents that have none


@dataclass
class Outcome:
    """What a system produced for one question."""

    response: str
    retrieved: list[str] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    prediction: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Shared per system for a whole benchmark run."""

    config: ResearchConfig
    gateway: Gateway
    retriever: Retriever | None
    research_kwargs: dict[str, Any]  # for ttd.run.Run.prepare: model, steps, agent, k ...
    runs_dir: Path
    extract: bool = True

    @property
    def k(self) -> int:
        return self.config.retrieval.k

    @property
    def steps(self) -> int:
        return self.config.steps


def passages_block(passages: list[Passage], max_chars: int) -> str:
    """Passages numbered 1..k for this prompt, through the one formatter every model prompt uses."""
    return passages_text(
        ({"n": i, "title": p.title, "text": p.text} for i, p in enumerate(passages, 1)), max_chars
    )


class System(ABC):
    name: str = ""
    retrieves: bool = True

    def unavailable(self) -> str | None:
        """Why this system cannot run here, or None."""
        return None

    @abstractmethod
    async def respond(self, question: str, ctx: Context) -> Outcome:
        """The system's full response (answer or report) with what it retrieved and its usage."""

    async def run(self, question: str, ctx: Context) -> Outcome:
        outcome = await self.respond(question, ctx)
        if ctx.extract:
            stated = stated_answer(outcome.response)
            outcome.detail["extracted"] = stated is None
            if stated is None:
                outcome.prediction, usage = await extract_answer(ctx.gateway, question, outcome.response)
                outcome.usage.append(usage)
            else:
                outcome.prediction = stated
        return outcome


_STATED = re.compile(
    r"(?:\bso the answer is\s*:?|^\W*(?:final answer|short answer|answer)\s*\W*:)[^\w\[]*(?P<answer>\S.*)$",
    re.I | re.M,
)
_YES_NO = re.compile(r"^(yes|no)\b[,.;:]", re.I)
STATED_WORDS = 10  # a longer "answer" is a sentence: the extraction call shortens it
_PARTICLES = frozenset(
    "of the and de du des da di von van der den la le los las y in on for a an to at".split()
)
_PLACEHOLDER = re.compile(r"<[^<>]*answer[^<>]*>|^short answer>?$", re.I)


def stated_answer(response: str) -> str | None:
    """The short answer on the last answer line, without marks or emphasis; None if none is stated."""
    found = list(_STATED.finditer(response))
    if not found:
        return None
    raw = " ".join(MARK.sub("", found[-1]["answer"]).split()).strip("*\"'` ")
    answer = clean_short_answer(raw)
    if yes_no := _YES_NO.match(answer):
        return yes_no[1]
    words = answer.split()
    # "Rush recorded Counterparts [1]." or "Night Moves was directed by Kelly Reichardt" (ttd's answer
    # line when no short answer was borne out) is a sentence: read as the answer it would score 0.5, so
    # the extraction call shortens it. A name's own small words ("The 7 Habits of Highly ...") are not.
    sentence = len(words) >= 3 and any(w[0].islower() and w.lower() not in _PARTICLES for w in words)
    unknown = not re.search(r"\w", answer) or answer.lower() in ("unknown", "none", "n/a")
    # "Answer: <short answer>": the prompt's placeholder copied, no answer
    if unknown or len(words) > STATED_WORDS or sentence or _PLACEHOLDER.search(raw):
        return None
    return answer


async def extract_answer(gateway: Gateway, question: str, response: str) -> tuple[str, UsageRecord]:
    """The paper's extraction step: a short answer from a long response (temperature 0)."""
    messages = bench_prompt("extract").messages(question=question, response=response[-6000:])
    out = await gateway.complete("answer", messages, temperature=0.0, max_tokens=32)
    return clean_short_answer(out.text), out.usage


def clean_short_answer(text: str) -> str:
    """First line, without a leading 'Answer:' label, quotes or a trailing full stop."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    for label in ("final answer:", "short answer:", "answer:", "so the answer is:"):
        if line.lower().startswith(label):
            line = line[len(label) :].strip()
    return MARK.sub("", line).strip("*\"'` ").rstrip(".").strip("*\"'` ")


class ClosedBook(System):
    name, retrieves = "closed-book", False

    async def respond(self, question: str, ctx: Context) -> Outcome:
        out = await ctx.gateway.complete(
            "answer", bench_prompt("closed_book").messages(question=question), max_tokens=160
        )
        return Outcome(out.text.strip(), usage=[out.usage])


class Rag(System):
    name = "rag"

    async def respond(self, question: str, ctx: Context) -> Outcome:
        assert ctx.retriever is not None
        passages = await ctx.retriever.search(question, k=ctx.k)
        block = passages_block(passages, ctx.config.retrieval.passage_chars)
        out = await ctx.gateway.complete(
            "answer", bench_prompt("rag").messages(question=question, passages=block), max_tokens=160
        )
        return Outcome(out.text.strip(), [p.id for p in passages], [out.usage])


class IterativeRag(System):
    """IRCoT (Trivedi et al., 2023): each new reasoning sentence is the next retrieval query."""

    name = "iterative-rag"
    max_passages = 15  # IRCoT's cap on the passages kept in the prompt

    async def respond(self, question: str, ctx: Context) -> Outcome:
        assert ctx.retriever is not None
        found: dict[str, Passage] = {p.id: p for p in await ctx.retriever.search(question, k=ctx.k)}
        reasoning: list[str] = []
        usage: list[UsageRecord] = []
        rounds = max(1, ctx.steps)
        for _ in range(rounds):
            shown = list(found.values())[: self.max_passages]
            messages = bench_prompt("ircot").messages(
                question=question,
                passages=passages_block(shown, ctx.config.retrieval.passage_chars),
                reasoning="\n".join(reasoning) or "(none yet)",
            )
            out = await ctx.gateway.complete("answer", messages, max_tokens=80)
            usage.append(out.usage)
            sentence = " ".join(out.text.split())
            if not sentence:
                break
            reasoning.append(sentence)
            if "answer is" in sentence.lower():
                break
            for p in await ctx.retriever.search(sentence, k=ctx.k):
                found.setdefault(p.id, p)
        return Outcome("\n".join(reasoning), list(found), usage, detail={"rounds": len(reasoning)})


class TtdResearch(System):
    """A research run through the public API, with the benchmark's retriever passed in.

    The three TTD systems are the paper's Table 2 ablations, expressed as config on top of the user's
    agent, model and steps: `denoise` (draft R0 and revise it each step) and `evolution` (n variants,
    s judge-guided revisions per component).
    """

    name = "ttd-full"

    def settings(self, config: ResearchConfig) -> dict[str, Any]:
        """Config overrides that turn the user's agent into this ablation."""
        return {"denoise": True}

    async def respond(self, question: str, ctx: Context) -> Outcome:
        from ttd.run import Run

        kwargs = {**ctx.research_kwargs, **self.settings(ctx.config)}
        run = Run.prepare(question, retriever=ctx.retriever, out=ctx.runs_dir / self.name, **kwargs)
        report = await run.execute()
        return Outcome(
            report.markdown,
            [s.id for s in report.trajectory.retrieved],
            [dict(c) for c in report.usage.calls],  # type: ignore[misc]
            detail={
                "run_id": report.run_id,
                "steps": len(report.trajectory.steps),
                "noise": [r.noise for r in report.trajectory.noise],
                "rejected_revisions": sum(r.rejected is not None for r in report.trajectory.noise),
                # plan areas (hops) R_T left with no supported claim: a draft can drop a hop and read 0.00
                "uncovered": _uncovered_at_end(report),
                "question_fallbacks": report.trajectory.question_fallbacks,
                # the report's fallbacks: R_T or the facts stood in for a text with no citation (or for
                # a writer given too few facts), the step answers were appended (a fallback is not a
                # result: the bench counts them)
                "report_fallbacks": {
                    k: getattr(report.citations, k)
                    for k in ("from_draft", "from_facts", "few_facts", "evidence_section")
                },
                "report_supported": _supported_share(report),
                # 0: no stated answer was borne out, and a cited sentence opened the report instead
                "answer_stated": report.citations.answer_stated,
                "compared": report.citations.compared,
            },
        )


class TtdBackbone(TtdResearch):
    """The backbone DR agent: plan, search questions with cited answers, report. No draft, no evolution."""

    name = "ttd-backbone"

    def settings(self, config: ResearchConfig) -> dict[str, Any]:
        plain = {"n": dict.fromkeys(COMPONENTS, 1), "s": dict.fromkeys(COMPONENTS, 0)}
        return {"denoise": False, "evolution": plain}


class TtdEvolution(TtdResearch):
    """Backbone + self-evolution: the agent's evolution settings, else the `backbone+evolution` preset's."""

    name = "ttd-evolution"

    def settings(self, config: ResearchConfig) -> dict[str, Any]:
        if any(config.evolution.active(c) for c in COMPONENTS):
            return {"denoise": False}
        return {"denoise": False, "evolution": load_preset(EVOLUTION_PRESET)["evolution"]}

    def unavailable(self) -> str | None:
        if EVOLUTION_PRESET not in preset_names() or "evolution" not in load_preset(EVOLUTION_PRESET):
            return (
                f"self-evolution settings not found (no agent preset '{EVOLUTION_PRESET}' with [evolution])"
            )
        return None


SYSTEMS: dict[str, type[System]] = {
    s.name: s for s in (ClosedBook, Rag, IterativeRag, TtdBackbone, TtdEvolution, TtdResearch)
}


def get_system(name: str) -> System:
    if name not in SYSTEMS:
        raise TTDError(f"unknown system '{name}': choose from {', '.join(SYSTEMS)}")
    return SYSTEMS[name]()


def _supported_share(report: Any) -> float | None:
    """Share of the final report's claims, as written, that a retrieved source supports."""
    rn = report.trajectory.report_noise
    return None if rn is None else round(1.0 - rn.noise, 4)


def _uncovered_at_end(report: Any) -> int | None:
    """How many plan areas R_T leaves with no supported claim (None: not recorded, or no check ran)."""
    noise = report.trajectory.noise
    return None if not noise or noise[-1].uncovered is None else len(noise[-1].uncovered)
