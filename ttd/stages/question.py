"""Denoising step t, part 1 (M_Q): the search question the current draft most needs, or an exit.

The agent sees the draft's unsupported and contradicted claims (the noise) and the plan areas with no
supported claim, and asks for the next unknown. A question that repeats an earlier one or restates the whole
research question is refused in code: the agent is told once, then the question is taken from the noisiest
claim or the first plan area (hop) not yet searched. The loop ends early when the agent declares the plan
covered (allowed after `min_steps`) and the last check found a supported claim in every plan area, or when
nothing new is left to ask; `early_exit = false` turns the former off. "Covered" with an area still
unsupported searches that area instead.

A short-answer question's first unknown is its plan's first hop, so step 1 asks it without a model call,
and a refused question goes straight to the next hop: on the 1.5B these calls mostly returned the whole
question again, and a call is 20-35 s of a 2-core machine. A later question must be about its hop (name
a word of the hop's title that no earlier hop's has), else the plan's hop is asked: in 5 of 17 two-hop
runs the 1.5B asked about hop 1's subject again ("Simone Bolelli's birth date" for the hop "Caroline
Wozniacki's birth date") or drifted ("What other factors contributed to Elia Kazan's longevity").
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from pydantic import BaseModel

from ttd.context import Deps
from ttd.events import emit
from ttd.formatting import history_text, opening
from ttd.generate import Generated, Request, generate
from ttd.shape import short_answer, step_bounds, uncovered_areas
from ttd.state import ResearchState, step_index
from ttd.terms import STOPWORDS as _STOP
from ttd.terms import terms


class Decision(BaseModel):
    question: str = ""
    covered: bool = False


def similarity(a: str, b: str) -> float:
    """How alike two questions are: the larger of content-word overlap and character similarity."""

    def words(s: str) -> set[str]:
        return {w for w in re.findall(r"[a-z0-9]+", s.lower()) if w not in _STOP}

    wa, wb = words(a), words(b)
    jaccard = len(wa & wb) / len(wa | wb) if wa | wb else 1.0
    chars = SequenceMatcher(None, " ".join(sorted(wa)), " ".join(sorted(wb))).ratio()
    return max(jaccard, chars)


def swapped(a: str, b: str, research: str) -> bool:
    """Two questions alike but each about a subject of the research question the other leaves out: "Sutera:
    Locate the definition of Sutera ..." and "Rhodotypos: Locate the definition of Rhodotypos ..." are
    two hops of "Are Sutera and Rhodotypos both types of shrub?", not a repeat (HotpotQA at fa39385: the
    second hop was dropped as one and a sentence of the draft searched instead). One that only adds a
    word ("... of the Canadian band Rush?") is still a repeat."""
    own, other, subject = terms(a), terms(b), terms(research)
    return bool((own - other) & subject) and bool((other - own) & subject)


def _clean(text: str) -> str:
    text = text.strip().strip('"').strip()
    return text.splitlines()[0].strip() if text else ""


def _apart(question: str, research: str) -> str:
    """`question` without the research question written into it: "What caused the fall of the Western
    Roman Empire? Why did the decline in trade weaken the economy ...?" (the README run at 4d782b0) searches
    the second part; the whole question again brings back what the first retrieval did. Left as it is
    when nothing else is asked."""
    text = " ".join(question.split())
    found = re.search(re.escape(" ".join(research.split())), text, re.I)
    if not found:
        return question
    rest = f"{text[: found.start()]} {text[found.end() :]}".strip(" ,;:-")
    return rest if len(rest.split()) >= 3 else question


def first_line(raw: str) -> Decision:
    """Fallback for a reply that is not JSON: its first line of prose is the question."""
    return Decision(question=_clean(raw))


async def run(state: ResearchState, deps: Deps) -> dict:
    cfg = deps.config
    step = step_index(state, "question")
    fewest, total = step_bounds(state, cfg)
    if reason := deps.gateway.budget_reached():
        return _exit(step, total, "budget", {"budget_reached": reason})
    may_stop = cfg.early_exit and step > fewest
    earlier = [r["question"] for r in state.get("qa", [])]

    def unusable(q: str) -> bool:
        """Empty, a repeat, or the whole research question again (a hop must ask for one unknown)."""
        return not q or any(
            similarity(q, old) >= cfg.dedup_threshold and not swapped(q, old, state["question"])
            for old in [*earlier, state["question"]]
        )

    short = short_answer(state["question"])
    if short and step == 1 and (first := next((q for q in hop_queries(state) if not unusable(q)), "")):
        emit("question", stage="question", step=step, total_steps=total, detail=first)
        return {"pending_question": first, "exit_reason": None}
    rule = (
        'Set "covered" to true only if every plan area is already well supported by the answers above.'
        if may_stop
        else 'Set "covered" to false: more research is required.'
    )
    variables = {
        **opening(state, no_draft="(no draft: this agent answers from the notes)"),
        "history": history_text(state.get("qa", [])),
        "step": step,
        "total_steps": total,
        "coverage_rule": rule,
    }
    request = Request("question", "question", variables, step=step, schema=Decision, fallback=first_line)
    outs: list[Generated[Decision]] = [await generate(deps, request)]
    open_areas = _open_areas(state)
    if may_stop and outs[0].value.covered and not open_areas:
        return _exit(step, total, "covered", _recorded(outs))

    question, fallbacks = _apart(_clean(outs[0].value.question), state["question"]), 0
    if outs[0].value.covered and unusable(question) and open_areas:
        # "covered" while the check finds plan areas with no supported claim: the step searches the first
        # (every README run at e6feebd..44a826d stopped so after 2 of 3 steps, 2 areas without support)
        area = next((q for q in _area_queries(state, open_areas) if not unusable(q)), "")
        if not area and may_stop:  # each such area searched already: nothing new to ask
            return _exit(step, total, "covered", _recorded(outs))
        question, fallbacks = area or question, int(bool(area))
    if short and off_hop(question, state, step):
        question = ""  # asked about another hop's subject: this step's hop is asked instead
    if unusable(question) and short:  # the next hop, not a second call that mostly repeats (see above)
        question = next((q for q in fallback_questions(state) if not unusable(q)), "")
        fallbacks = 1
        if not question:
            return _exit(step, total, "repeat", _recorded(outs))
    elif unusable(question):
        note = "That question is empty or repeats an earlier one. Ask a different one."
        outs.append(await generate(deps, request.follow_up(outs[0].value.model_dump_json(), note)))
        question = _apart(_clean(outs[1].value.question), state["question"])
        if unusable(question) and may_stop:
            return _exit(step, total, "repeat", _recorded(outs))
        if unusable(question):  # asked twice and still a repeat: the question is built in code
            question = next((q for q in fallback_questions(state) if not unusable(q)), "")
            fallbacks = 1
        if not question:
            return _exit(step, total, "repeat", _recorded(outs))
    emit("question", stage="question", step=step, total_steps=total, detail=question)
    return {
        "pending_question": question,
        "exit_reason": None,
        "question_fallbacks": fallbacks,
        **_recorded(outs),
    }


def _recorded(outs: list[Generated[Decision]]) -> dict:
    return {"usage": [u for o in outs for u in o.usage], "evolution": [e for o in outs for e in o.evolution]}


def _exit(step: int, total: int, reason: str, update: dict) -> dict:
    """Leave the denoising loop: the next node is the report."""
    emit("exit", stage="question", step=step, total_steps=total, detail=reason)
    return {"exit_reason": reason, "pending_question": None, **update}


def off_hop(question: str, state: ResearchState, step: int) -> bool:
    """Whether a short answer's step-t question leaves out hop t's own subject: none of the words of hop t's
    title that no earlier hop's title has (a hop with no such word never rules a question out)."""
    plan = state.get("plan", [])
    if step < 2 or step > len(plan):
        return False
    own = terms(plan[step - 1]["title"]) - {w for a in plan[: step - 1] for w in terms(a["title"])}
    return bool(own) and not own & terms(question)


def fallback_questions(state: ResearchState) -> list[str]:
    """Queries built in code when the model only repeats: for a report the noisiest claims first, then each
    plan area; for a short answer the plan's hops first (the next unknown fact), then the claims."""
    noise = state.get("noise") or []
    claims = [c["text"] for c in (noise[-1]["claims"] if noise else []) if c["status"] != "supported"]
    hops = hop_queries(state)
    ordered = [*hops, *claims] if short_answer(state["question"]) else [*claims, *hops]
    return [_query(q) for q in ordered]


def _open_areas(state: ResearchState) -> list[str]:
    """The plan areas the last check found no supported claim for (none before a check)."""
    noise = state.get("noise") or []
    return uncovered_areas(noise[-1]["claims"], state.get("plan") or []) if noise else []


def _area_queries(state: ResearchState, titles: list[str]) -> list[str]:
    """The plan areas named in `titles` as search queries, in plan order."""
    areas = state.get("plan", [])
    return [q for a, q in zip(areas, hop_queries(state), strict=True) if a["title"] in titles]


def hop_queries(state: ResearchState) -> list[str]:
    """Each plan area as a search query: its title (the fact to find) and goal (what to look up)."""
    areas = state.get("plan", [])
    return [_query(f"{a['title']}: {a['goal']}" if a.get("goal") else a["title"]) for a in areas]


def _query(text: str) -> str:
    return " ".join(re.sub(r"\s*\[\d+\]", "", text).split()[:16])
