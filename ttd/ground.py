"""Revision that grounds: what a report question's revision R_t holds once the reviser has written it.

The reviser is told which claims no source supports and is given the step's cited facts. A 1.5B kept
R_0's beliefs instead: it rewrote them as quotes of a source ("[2] states that 'The decline in ...'"),
left the facts out, and on three Roman runs its revisions grounded 1 of 23 claims, so Noise(R_t) stayed
at 0.96 while the report (written from the facts) was fully cited. After each revision, in code:

- graft: each fact the step brought (its answer's cited sentences, its passages' sentences nearest its
  search question; only from passages about the question's subject, `ttd.subject`, `verify.subject`)
  that the revision left out goes in, at the end of the section of its plan area (else
  a section named after the area), and is checked with the rest;
- prune: a claim a source contradicts goes; an unsupported one goes where its section now holds a
  supported claim (the evidence has replaced the guess there), or where it stood unsupported, word for
  word, in R_{t-1} (it was shown to the reviser as noise and a search later no source bears it out).
  A draft is never pruned to nothing: with no supported claim left, R_t keeps its claims.

The pruned claims stay in R_t's noise record (`pruned`), with the noise before pruning (`unpruned`), so
the trajectory shows what denoising removed as well as what it grounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ttd.claims import claim_area, remove_claims, split_claims, unmarked
from ttd.facts import OTHER, answer_facts, by_area, passage_facts
from ttd.hygiene import LIST_ITEM, close_fence, code_lines, heading_level
from ttd.state import ClaimRecord, PlanArea, QARecord
from ttd.terms import stems, terms

PASSAGE_FACTS = 3  # the step's passages' sentences nearest its question, grafted beside the answer's facts


def step_facts(
    step: QARecord, sources: dict[str, dict[str, Any]], question: str, plan: list[PlanArea]
) -> list[str]:
    """The evidence step t brought: its answer's cited facts, then its own passages' sentences nearest its
    search question (a 1.5B's answer is often a numbered list of its own beliefs, which yields no fact).
    Only `sources` count: pass the passages about the question's subject (`ttd.subject`)."""
    found = answer_facts(step["answer"], sources, question)
    mine = {i: sources[i] for i in step["source_ids"] if i in sources}
    topic = terms(question) | terms(step["question"])
    return found + passage_facts(mine, topic, terms(question), limit=PASSAGE_FACTS)


STATED_SHARE = 0.6  # a fact is stated when one claim holds this share of its words


def unstated(markdown: str, found: list[str]) -> list[str]:
    """The facts of `found` no claim of `markdown` states: none holds most of the fact's words (by stem),
    nor is one mostly made of the fact's words (a writer's part of a fact: adding the whole would repeat
    it), so a writer's paraphrase of a fact counts as stating it."""
    claims = [stems(terms(unmarked(c.text))) for c in split_claims(markdown)]
    out = []
    for fact in found:
        words = stems(terms(unmarked(fact)))
        shared = [(len(words & c), len(c)) for c in claims if c]
        # most of the fact's words in one claim, or a claim nearly all of the fact's words and half its own
        said = any(
            n >= STATED_SHARE * len(words) or (n >= 0.8 * size and n >= 0.4 * len(words))
            for n, size in shared
        )
        if words and not said:
            out.append(fact)
    return out


def graft(
    markdown: str,
    found: list[str],
    plan: list[PlanArea],
    question: str,
    titles: dict[int, str] | None = None,
) -> tuple[str, int]:
    """`markdown` with each fact of `found` it does not already state appended to its plan area's
    section, else in a section of its own before a closing one (Conclusion, References): (the draft, how
    many facts went in). Given `titles` (source number -> page title), a fact of no plan area goes under
    the title of the page it cites (`by_area`), as the report's writer was shown it."""
    have = {unmarked(c.text).lower() for c in split_claims(markdown)}
    missing = []
    for fact in found:
        if (key := unmarked(fact).lower()) not in have:
            have.add(key)
            missing.append(fact)
    if not missing:
        return markdown, 0
    # a fence a truncated draft left open is closed: the facts go after it, not in it
    lines = close_fence(markdown.rstrip()).split("\n")
    added = 0
    # a text written as lists gets its facts as list items (the README run's report set a grafted
    # paragraph under a section of bullets)
    listed = _mostly_listed(lines)
    for area, facts in by_area(missing, plan, question, titles).items():
        heads = _sections(lines)
        at = _section_end(lines, heads, area, plan)
        text = [f"- {f}" for f in facts] if listed else [" ".join(facts)]
        if at is None:  # a section of its own, which the next step's facts of the area join
            tail = [i for k, (i, h) in enumerate(heads) if all(_CLOSING.match(g) for _, g in heads[k:])]
            at = tail[0] if tail else len(lines)
            # at the level of the text's own sections ("###" under a writer's "# Title"), not beside them
            level = max(2, min((heading_level(lines[i]) for i, _ in heads), default=2))
            lines[at:at] = ["", f"{'#' * level} {area}", "", *text, ""]
        elif listed and LIST_ITEM.match(lines[at - 1]):
            lines[at:at] = text  # the section's own list goes on
        else:
            lines[at:at] = ["", *text]
        added += len(facts)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n", added


def _mostly_listed(lines: list[str]) -> bool:
    """Whether most of the text's prose lines (outside code, headings and tables) are list items."""
    prose = [
        ln
        for ln, code in zip(lines, code_lines(lines), strict=True)
        if ln.strip() and not code and not ln.lstrip().startswith(("#", "|", "```", "~~~"))
    ]
    return bool(prose) and sum(bool(LIST_ITEM.match(ln)) for ln in prose) > len(prose) / 2


_CLOSING = re.compile(r"^(?:conclusions?|summary|references|sources|bibliography|further reading)\b", re.I)


def _sections(lines: list[str]) -> list[tuple[int, str]]:
    """The section headings outside code, as (line, heading text).
    The title (an H1 on the first line) heads no section: it shares words with some plan area."""
    heads: list[tuple[int, str]] = []
    first = True
    for i, (line, code) in enumerate(zip(lines, code_lines(lines), strict=True)):
        text = line.strip()
        if code or not text:
            first = first and not code
            continue
        if text.startswith("#") and not (first and re.match(r"#\s", text)):
            heads.append((i, text.lstrip("#").strip()))
        first = False
    return heads


def _section_end(
    lines: list[str], heads: list[tuple[int, str]], area: str, plan: list[PlanArea]
) -> int | None:
    """Where a new paragraph of `area` goes: the line after its section's last text, or None."""
    for k, (i, heading) in enumerate(heads):
        # "Other findings" is its own area, whatever words a plan area's title shares with it; a page's
        # title is its own section's
        same = heading.lower() == area.lower()
        if same or (area != OTHER and heading != OTHER and claim_area(heading, plan) == area):
            return _last_text(lines, i, heads[k + 1][0] if k + 1 < len(heads) else len(lines))
    return None


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

    def goes(c: ClaimRecord) -> bool:
        if c["status"] == "contradicted":
            return True
        return c["status"] == "unsupported" and (c["area"] in grounded or c["text"] in stale)

    # a sentence goes by its text, so it goes only where every copy of it would (one in a Conclusion
    # with no evidence yet stays, and so does its twin elsewhere); each copy that goes is on record
    staying = {c["text"] for c in claims if not goes(c)}
    gone = [c for c in claims if goes(c) and c["text"] not in staying]
    if not gone:
        return markdown, claims, []
    drop = {c["text"] for c in gone}
    kept = [c for c in claims if c["text"] not in drop]
    return _bare_headings_out(remove_claims(markdown, drop)), kept, gone


def _bare_headings_out(markdown: str) -> str:
    """`markdown` without the headings pruning left with nothing under them (a heading followed by one of
    its level or above, or by the end); the title and a parent of a section with text stay."""
    lines = markdown.split("\n")
    while True:
        heads = _sections(lines)
        bare = []
        for k, (i, _) in enumerate(heads):
            end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
            if any(lines[j].strip() for j in range(i + 1, end)):
                continue
            level = heading_level(lines[i])
            if k + 1 == len(heads) or heading_level(lines[heads[k + 1][0]]) <= level:
                bare.append(i)
        if not bare:
            return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
        lines = [line for i, line in enumerate(lines) if i not in bare]
