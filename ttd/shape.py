"""The shape of the answer: a factoid question gets a short answer found hop by hop, any other a report.

HotpotQA-style questions ("Which band ... whose drummer ...?") want one fact, often reached through
others; a report with a summary, sections and a conclusion buries it, costs tokens, and gives the
verifier many claims no passage can support. So the plan lists hops, the draft and its revisions stay a
short answer, the report opens with the answer, and the loop takes at most one step per hop. The words
of each shape live in `prompts/shape.md`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from ttd.resources import load_sections
from ttd.terms import terms

if TYPE_CHECKING:
    from ttd.config import ResearchConfig
    from ttd.state import ClaimRecord, PlanArea, ResearchState

Shape = Literal["short", "long"]

_OPENER = re.compile(
    r"^(?:who|whom|whose|which|what|when|where|how (?:many|much|old|long|tall|far)|in (?:which|what)|"
    r"is|are|was|were|did|does|do|name)\b",
    re.I,
)
_WH = re.compile(r"\b(?:who|whom|whose|which|what|when|where|how many)\b", re.I)
_LONG = re.compile(
    r"\b(?:why|explain|analy[sz]e|discuss|compare|evaluate|assess|describe|how did|how does|caus\w*|"
    r"reasons?|factors?|impacts?|effects?|(?:what|the) roles? (?:of|did|does|do|played)|significance|"
    r"consequences?)\b",
    re.I,
)


def short_answer(question: str) -> bool:
    """A single factoid question (opening with, or asking, who/which/when ...) that wants a short answer."""
    q = " ".join(question.split())
    one_sentence = q.endswith("?") and not re.search(r"[.!?]\s", q)
    wants_fact = bool(_OPENER.match(q)) or (one_sentence and bool(_WH.search(q)))
    return wants_fact and not _LONG.search(q) and len(q.split()) <= 40


def shape(question: str) -> Shape:
    return "short" if short_answer(question) else "long"


def instructions(stage: str, question: str) -> str:
    """The shape-specific words of `stage`'s prompt (section "<stage>.<shape>" of prompts/shape.md)."""
    return load_sections("shape").get(f"{stage}.{shape(question)}", "")


# Token caps for a short answer's texts: a small model ignores "under 120 words" and writes 350 tokens of
# headings and background, all of it decoded (the slow part on a CPU) and most of it noise.
SHORT_MAX_TOKENS = {"draft": 220, "answer": 200, "revise": 300, "report": 300}


def max_tokens(stage: str, question: str, config: ResearchConfig) -> int | None:
    """For a short answer, the lower of `stage`'s short cap and its configured one; else None (configured)."""
    if stage not in SHORT_MAX_TOKENS or not short_answer(question):
        return None
    return min(SHORT_MAX_TOKENS[stage], config.max_tokens.get(stage, SHORT_MAX_TOKENS[stage]))


def step_bounds(state: ResearchState, config: ResearchConfig) -> tuple[int, int]:
    """(steps before the question agent may declare the plan covered, most steps). A short answer takes one
    step per hop of the plan, at most `hops` (a 1.5B split two-hop HotpotQA questions into three hops in 3
    of 7 plans, at 4 calls a hop): a small model calls the plan covered after one hop with nothing
    supported, so only evidence (`noise_exit_from`) ends it sooner. A report runs between the configured
    bounds."""
    if short_answer(state["question"]):
        hops = min(config.steps, config.hops, max(1, len(state.get("plan") or [])))
        return hops, hops
    return config.min_steps, config.steps


def noise_exit_from(state: ResearchState, config: ResearchConfig) -> int:
    """The first step after which low or stalled noise may end the loop: a supported short answer is done."""
    return 1 if short_answer(state["question"]) else max(config.min_steps, 1)


def uncovered_areas(claims: Iterable[ClaimRecord], plan: list[PlanArea]) -> list[str]:
    """Plan areas no supported claim covers: none sits under the area's heading or names the area's own
    subject (the words of its title no other area's title has). A short draft has no headings: "Otto
    Preminger's profession" is covered by a supported claim about Preminger, not by one about Dmytryk."""
    supported = [c for c in claims if c["status"] == "supported"]
    out = []
    for a in plan:
        own = terms(a["title"]) - {w for b in plan if b is not a for w in terms(b["title"])}
        if not any(c["area"] == a["title"] or own & terms(c["text"]) for c in supported):
            out.append(a["title"])
    return out
