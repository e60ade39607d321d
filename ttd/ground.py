"""Revision that grounds: what a report question's revision R_t holds once the reviser has written it.

The reviser is told which claims no source supports and is given the step's cited facts. A 1.5B kept
R_0's beliefs instead: it rewrote them as quotes of a source ("[2] states that 'The decline in ...'"),
left the facts out, and on three Roman runs its revisions grounded 1 of 23 claims, so Noise(R_t) stayed
at 0.96 while the report (written from the facts) was fully cited. After each revision, in code:

- graft: each fact the step brought (its answer's cited sentences, its passages' sentences nearest its
  search question) that the revision left out goes in, at the end of the section of its plan area (else
  a section named after the area), and is checked with the rest;
- prune: a claim a source contradicts goes; an unsupported one goes where its section now holds a
  supported claim (the evidence has replaced the guess there), or where it stood unsupported, word for
  word, in R_{t-1} (it was shown to the reviser as noise and a search later no source bears it out).
  A draft is never pruned to nothing: with no supported claim left, R_t keeps its claims.

The pruned claims stay in R_t's noise record (`pruned`), with the noise before pruning (`unpruned`), so
the trajectory shows what denoising removed as well as what it grounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ttd.claims import claim_area, remove_claims, split_claims, unmarked
from ttd.facts import answer_facts, by_area, passage_facts
from ttd.state import ClaimRecord, PlanArea, QARecord
from ttd.terms import terms

PASSAGE_FACTS = 3  # the step's passages' sentences nearest its question, grafted beside the answer's facts


def step_facts(
    step: QARecord, sources: dict[str, dict[str, Any]], question: str, plan: list[PlanArea]
) -> list[str]:
    """The evidence step t brought: its answer's cited facts, then its own passages' sentences nearest its
    search question (a 1.5B's answer is often a numbered list of its own beliefs, which yields no fact)."""
    found = answer_facts(step["answer"], sources, question)
    mine = {i: sources[i] for i in step["source_ids"] if i in sources}
    topic = terms(question) | terms(step["question"])
    return found + passage_facts(mine, topic, terms(question), limit=PASSAGE_FACTS)


def graft(markdown: str, found: list[str], plan: list[PlanArea], question: str) -> tuple[str, int]:
    """`markdown` with each fact of `found` it does not already state appended to its plan area's
    section: (the draft, how many facts went in)."""
    have = {unmarked(c.text).lower() for c in split_claims(markdown)}
    missing = []
    for fact in found:
        if unmarked(fact).lower() not in have:
            have.add(unmarked(fact).lower())
            missing.append(fact)
    if not missing:
        return markdown, 0
    lines = markdown.rstrip().split("\n")
    added = 0
    for area, facts in by_area(missing, plan, question).items():
        at = _section_end(lines, area, plan)
        if at is None:  # a section of its own, which the next step's facts of the area join
            lines += ["", f"## {area}", "", " ".join(facts)]
        else:
            lines[at:at] = ["", " ".join(facts)]
        added += len(facts)
    return "\n".join(lines).strip() + "\n", added


def _section_end(lines: list[str], area: str, plan: list[PlanArea]) -> int | None:
    """Where a new paragraph of `area` goes: the line after its section's last text, or None."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith("#"):
            if start is not None:
                return _last_text(lines, start, i)
            if claim_area(line.lstrip("#").strip(), plan) == area:  # "Other findings" is its own area
                start = i
    return None if start is None else _last_text(lines, start, len(lines))


def _last_text(lines: list[str], start: int, end: int) -> int:
    last = start
    for i in range(start + 1, end):
        if lines[i].strip():
            last = i
    return last + 1


def prune(
    markdown: str, claims: list[ClaimRecord], before: Iterable[ClaimRecord]
) -> tuple[str, list[ClaimRecord], list[ClaimRecord]]:
    """`markdown` without its contradicted claims and the unsupported ones the evidence has replaced or
    that a step left unsupported word for word: (the draft, the claims kept, the claims pruned)."""
    grounded = {c["area"] for c in claims if c["status"] == "supported"}
    if not grounded:
        return markdown, claims, []
    stale = {c["text"] for c in before if c["status"] != "supported"}
    gone = [
        c
        for c in claims
        if c["status"] == "contradicted"
        or (c["status"] == "unsupported" and (c["area"] in grounded or c["text"] in stale))
    ]
    if not gone:
        return markdown, claims, []
    drop = {c["text"] for c in gone}
    return remove_claims(markdown, drop), [c for c in claims if c["text"] not in drop], gone
