"""Comparison questions read entity by entity, then compared: one fact per entity, then the choice.

Two-entity questions ("Who was born earlier, A or B?", "Are A and B both American writers?", "What
profession did A and B both hold?") are 20 of the first 50 HotpotQA questions. Read all at once from the
question's passages, a 1.5B answered them at or below chance: 38 F1 against 28 on the other 30
(evals/results/bench_hotpotqa_denoise.md, session 27). DecompRC (Min et al., 2019) splits a comparison
into one sub-question per entity and a comparison of the answers; here each entity's passages (the run's
pages titled after it, else one search for its name) give one cited sentence answering the question asked
of that entity alone, and the two facts are compared: by their years in code for a date or lifespan
comparison, else by one call. Two or three short calls where the hop reader takes one or two long ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ttd.context import Deps
from ttd.formatting import bare_title, clean_title, passages_text
from ttd.generate import Request, generate
from ttd.retrieval.base import SourceRegistry
from ttd.terms import SENTENCE

# "Which band formed earlier, CKY or Violent Femmes?", "..., DC Talk, or Manchester Orchestra?"; a comma
# before a name's suffix is inside the option ("Martin Luther King, Jr. or Malcolm X?")
_SUFFIX = r"\s*(?:Jr|Sr|Inc|Ltd|II|III|IV)\b\.?"
_OPTION = rf"(?:[^,?]|,{_SUFFIX})+?"
CHOICE = re.compile(rf",\s*({_OPTION}),?\s+or\s+({_OPTION})\s*\?\s*$", re.I)
# "Which is oldest, A, B, or C?": three options, which the two-entity reading would cut to the last two
# (the first is a name of up to four words, not a clause: "In 1990, which band formed earlier, A or B?")
_THREE = re.compile(
    rf",\s*(?!(?:which|who|what|when|where|how)\b)(?:[^,?\s]+\s?){{1,4}},(?!{_SUFFIX})\s*{_OPTION},?\s+or\s+"
    rf"{_OPTION}\s*\?\s*$",
    re.I,
)
YES_NO = re.compile(r"\s*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b", re.I)
# no fact: "The passages do not say", or the question answered instead ("So the answer is: No")
_SAID = re.compile(r"\bpassages? (?:do|does) not\b|\bnot (?:say|mention|stated?)\b|\banswer is\b", re.I)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
# "lived a longer life", "lived to an older age", "died at an older age"; not "lived in Vienna"
_LIFE = re.compile(
    r"\b(?:longer|shorter) (?:life|lives)\b|\b(?:older|younger) age\b|\blived (?:longer|the longest)\b", re.I
)
# "published first", "born earlier"; not "the first woman to fly solo" (an ordinal, not a date order)
_EARLIER = re.compile(r"\b(?:earlier|earliest|(?<!the )first|older|oldest|before|sooner)\b", re.I)
_LATER = re.compile(r"\b(?:later|latest|last|younger|youngest|newer|newest|more recent|most recent)\b", re.I)
PASSAGES = 2  # an entity's passages shown at most: its pages, else its name's search results
FACT_TOKENS = 70
DECIDE_TOKENS = 80


@dataclass(frozen=True)
class Comparison:
    """A question about two entities: choose one ("choice"), say whether both hold ("yes_no"), or name
    what they share ("common")."""

    kind: Literal["choice", "yes_no", "common"]
    entities: tuple[str, str]


def _pair(question: str, titles: list[str]) -> tuple[str, str] | None:
    """The two pages the question names joined by "and" ("Are Ecballium and Elatostema ...", "The Havanese
    and the Black Mouth Cur ..."), each named with a capital ("tennis" in "Italian tennis players" is no
    entity even where a page is titled "Tennis")."""
    found: list[tuple[int, int, str]] = []
    for title in sorted(
        {bare_title(t) for t in titles if len(bare_title(t)) > 2}, key=lambda t: (-len(t), t)
    ):
        for m in re.finditer(rf"(?<!\w){re.escape(title)}(?!\w)", question, re.I):
            if m.group(0)[0].isupper() or m.group(0)[0].isdigit():
                if not any(m.start() < end and start < m.end() for start, end, _ in found):
                    found.append((m.start(), m.end(), title))
                break
    found.sort()
    for k, ((_, end, a), (start, _, b)) in enumerate(zip(found, found[1:], strict=False)):
        if re.fullmatch(r"\s+and\s+(?:the\s+)?", question[end:start], re.I):
            # "Are A, B and C ...": a third page listed before the pair, which is then no pair
            listed = k > 0 and re.fullmatch(r",\s*(?:the\s+)?", question[found[k - 1][1] : found[k][0]], re.I)
            return None if listed else (a, b)
    return None


def comparison(question: str, titles: list[str]) -> Comparison | None:
    """The comparison `question` asks, or None. A choice question's options are its own words; a yes/no or
    shared-attribute question's entities are two retrieved pages it names (`titles`), joined by "and"."""
    if _THREE.search(question):
        return None
    if m := CHOICE.search(question):
        a, b = (" ".join(o.strip(" \"'").split()) for o in m.groups())  # "the  Leonberger": one space
        return Comparison("choice", (a, b)) if a and b and a.lower() != b.lower() else None
    named = _pair(question, titles)
    if named is None:
        return None
    kind: Literal["yes_no", "common"] = "yes_no" if YES_NO.match(question) else "common"
    if kind == "common" and not re.search(r"\bboth\b", question, re.I):
        return None  # "What did the director of A and B ...": a bridge question, not a comparison
    return Comparison(kind, named)


def _key(title: str, bare: bool = True) -> str:
    """A title as compared: lower case, punctuation (and a disambiguation) dropped ("...All the Marbles",
    "What Ever Happened to Baby Jane? (1962 film)"), but not the + and # of a name ("C++" is not "C")."""
    return " ".join(re.sub(r"[^\w+#]+", " ", (bare_title(title) if bare else title).lower()).split())


def entity_passages(entity: str, records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The run's pages titled after `entity` (a disambiguated one too: "Tony Kaye (director)"), the page
    titled exactly so first, in the order found."""
    key = _key(entity)
    pages = sorted(
        (r for r in records.values() if _key(str(r.get("title", ""))) == key), key=lambda r: r["n"]
    )
    exact = [r for r in pages if _own_page(r, entity)]
    return (exact + [r for r in pages if r not in exact])[:PASSAGES]


def _own_page(record: dict[str, Any], entity: str) -> bool:
    """Whether `record` is the page titled exactly `entity` (not "Third Eye Blind (album)")."""
    return _key(str(record.get("title", "")), bare=False) == _key(entity)


def sub_question(question: str, found: Comparison, entity: str) -> str:
    """The question as asked of one entity, without the other (DecompRC's sub-question): "Who lived to an
    older age, A or B?" -> "Who lived to an older age?"; "Are A and B both writers?" -> "Are A writers?".
    Shown the other entity, a 1.5B wrote the comparison instead of the fact."""
    if found.kind == "choice":
        dates = dated(question)
        if dates == "life":  # the two years the lifespan is worked out from
            return f"When was {entity} born, and when did {entity} die? Give both years."
        return CHOICE.sub("?", question) + (" Give the year." if dates else "")
    other = re.escape(next(e for e in found.entities if e != entity))
    one = re.sub(
        rf"\s+and\s+(?:the\s+)?{other}(?!\w)|(?<!\w){other}\s+and\s+(?:the\s+)?",
        " ",
        question,
        count=1,
        flags=re.I,
    )
    return " ".join(re.sub(r"\bboth\s+", "", one, flags=re.I).split()).replace(" ?", "?")


def lifespan_hint(fact: str, question: str) -> str:
    """ "(1928-2016: 88 years)" after a fact with a birth and a death year, when the question asks who
    lived longer or older: a small model compares two numbers better than four years."""
    years = [int(y) for y in _YEAR.findall(fact)]
    if not _LIFE.search(question) or len(years) < 2 or max(years) - min(years) > 120:
        return ""
    return f" ({min(years)}-{max(years)}: {max(years) - min(years)} years)"


def dated(question: str) -> Literal["life", "date"] | None:
    """Whether a choice question compares lifespans ("Who lived longer"), dates ("Which band formed
    earliest"), or neither."""
    if _LIFE.search(question):
        return "life"
    return "date" if bool(_EARLIER.search(question)) != bool(_LATER.search(question)) else None


def by_years(question: str, facts: dict[str, str]) -> str | None:
    """The option a date comparison picks from the years in each option's fact, or None (no date
    comparison, a fact without its year or with years that do not say which, a tie). "Which band formed
    earliest, CKY or Violent Femmes?" given "CKY was formed in 1998" and "Violent Femmes was formed in
    1980": a 1.5B answered CKY; the comparison of two numbers is made here instead."""
    if len(facts) != 2:
        return None
    years = {e: sorted({int(y) for y in _YEAR.findall(f)}) for e, f in facts.items()}
    dates = dated(question)
    if dates == "life":  # who lived longer: the span between the first and last year
        spans = {e: y[-1] - y[0] for e, y in years.items() if len(y) >= 2 and y[-1] - y[0] <= 120}
        if len(spans) == 2 and len(set(spans.values())) == 2:
            return max(spans, key=lambda e: spans[e])
        return None
    if dates is None or not all(years.values()):
        return None
    born = re.search(r"\bborn\b", question, re.I)
    if not born and any(len(y) != 1 for y in years.values()):  # which of two years is the one asked for
        return None
    first = {e: y[0] for e, y in years.items()}  # one year, or the year of birth (the earliest named)
    if len(set(first.values())) != 2:
        return None
    pick = min if _EARLIER.search(question) else max
    return pick(first, key=lambda e: first[e])


async def read_comparison(
    question: str, found: Comparison, registry: SourceRegistry, deps: Deps, step: int
) -> tuple[list[str], str | None, list[int], list]:
    """One sentence per entity from its own passages, then the comparison: (sentences, the reply to the
    comparison, the passages shown, usage). A passage an entity's search finds joins `registry`."""
    facts: dict[str, str] = {}
    shown: list[int] = []
    usage: list = []
    for entity in found.entities:
        mine = entity_passages(entity, registry.records())
        if not mine or not _own_page(mine[0], entity):
            # the run never found its own page (or only a disambiguated one: "Third Eye Blind (album)"):
            # one search for its name, no model call
            hits = await deps.retriever.search(entity, k=PASSAGES)
            for p in hits:
                registry.add(p)
            records = registry.records()
            mine = entity_passages(entity, records) or [records[p.id] for p in hits]
        if not mine:
            continue
        shown += [int(r["n"]) for r in mine if int(r["n"]) not in shown]
        out = await generate(
            deps,
            Request(
                "report",
                "compare_fact",
                {
                    "question": sub_question(question, found, entity),
                    "entity": entity,
                    "passages": passages_text(mine, deps.config.retrieval.passage_chars),
                },
                step=step,
                max_tokens=FACT_TOKENS,
                temperature=0.0,
            ),
        )
        usage += out.usage
        said = SENTENCE.match(" ".join(str(out.value).split()))
        # its first sentence, without the sub-question's "Yes, " ("Yes, Rhodotypos is a shrub [2].")
        fact = re.sub(r"^(?:yes|no)\b[,.]?\s*", "", said.group(0).strip() if said else "", flags=re.I)
        fact = fact[:1].upper() + fact[1:]
        if fact and not _SAID.search(fact):
            facts[entity] = fact
    sentences = list(facts.values())
    if not sentences:
        return [], None, shown, usage
    if found.kind != "choice" and len(facts) < 2:
        # "both" needs both: with one entity's fact a 1.5B still said "Yes" ("Are Vintage Life and InStyle
        # both US-based magazines?", held out); the hop reader answers instead
        return sentences, None, shown, usage
    if found.kind == "choice" and (picked := by_years(question, facts)):
        return sentences, f"So the answer is: {picked}", shown, usage
    options = {
        "choice": f"one of: {found.entities[0]} or {found.entities[1]}",
        "yes_no": "Yes or No",
        "common": f"what {found.entities[0]} and {found.entities[1]} have in common, in a few words",
    }[found.kind]
    out = await generate(
        deps,
        Request(
            "report",
            "compare",
            {
                "question": question,
                "facts": "\n".join(f"- {s}{lifespan_hint(s, question)}" for s in sentences),
                "options": options,
            },
            step=step,
            max_tokens=DECIDE_TOKENS,
            temperature=0.0,
        ),
    )
    usage += out.usage
    return sentences, " ".join(str(out.value).split()), shown, usage


def titles_of(records: dict[str, dict[str, Any]]) -> list[str]:
    """The page titles of a run's passages, cleaned as the models see them."""
    return [clean_title(r.get("title")) for r in records.values() if r.get("title")]
