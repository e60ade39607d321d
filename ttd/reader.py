"""A short answer read hop by hop from the evidence: one sentence of reasoning per model call.

The denoising trajectory finds the passages (its hops raise supporting recall from one retrieval's 0.73
to 0.89 on HotpotQA), but a 1.5B model shown all of a run's ~7 passages at once reads them worse than one
retrieval's four: 30 F1 against 44 with the same reasoning prompt on the same 40 questions. So the reader
starts where one retrieval would (the passages the research question itself retrieves, best first), writes
one sentence of reasoning, and only when that sentence is not yet the answer is shown the run's passages
nearest that sentence: the hop passages come in when the reasoning reaches their hop (IRCoT's reading,
Trivedi et al. 2023, over the evidence the trajectory already holds: one search, of the question, and no
new search per sentence). A comparison question is read entity by entity instead (`ttd.compare`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ttd.compare import CHOICE, YES_NO, Comparison, comparison, read_comparison, titles_of
from ttd.context import Deps
from ttd.formatting import passages_text
from ttd.generate import Request, generate
from ttd.retrieval.base import SourceRegistry
from ttd.state import EvolutionRecord, UsageRecord
from ttd.terms import terms

GROW = 2  # passages added per sentence that is not yet the answer
TEMPERATURE = 0.0  # reading an answer off passages is extraction: the likeliest sentence, not a variant
# "So the answer is: X" (IRCoT's closing words), "the correct answer is X", "the answer to the question
# is X", "Answer: X"; not "To answer this, ..."
_ANSWER = re.compile(
    r"(?:(?:so )?the (?:final |short |correct )?answer (?:to (?:the|this) question )?is\s*:?|\banswer\s*:)"
    r"\s*(.+)$",
    re.I,
)
_NO_ANSWER = re.compile(r"(?:not|unknown|unclear)\b", re.I)  # "the answer is not in the passages"
# ". They crossed the Danube": a 2nd sentence; not the period of an initial ("Stephen R. Covey", "J. M.")
_NEXT_SENTENCE = re.compile(r"(?<!\b[A-Z])\.\s+(?=[A-Z]\S*(?:\s+\S+){3})")


@dataclass
class Reading:
    """What the reader wrote: its reasoning sentences, the answer it stated (None: it never did), the
    passages it was shown (run-wide numbers), the passages its own search added to the run, and usage."""

    sentences: list[str] = field(default_factory=list)
    stated: str | None = None
    shown: list[int] = field(default_factory=list)
    new_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage: list[UsageRecord] = field(default_factory=list)
    evolution: list[EvolutionRecord] = field(default_factory=list)
    compared: bool = False  # a comparison question answered entity by entity (ttd.compare)

    @property
    def text(self) -> str:
        """The reasoning without the answer sentence's closing "So the answer is" clause."""
        return " ".join(s for s in self.sentences if s)


def clean_stated(text: str) -> str:
    """A stated answer without citation marks, emphasis, quotes or its closing period."""
    return re.sub(r"\s*\[\d{1,4}\]", "", text).strip(" *\"'`").rstrip(".").strip()


def split_answer(sentence: str) -> tuple[str, str | None]:
    """A reasoning sentence split into what it says before "So the answer is: X" and X (None: no answer)."""
    found = _ANSWER.search(sentence)
    if not found:
        return sentence, None
    stated = clean_stated(_NEXT_SENTENCE.split(found.group(1), maxsplit=1)[0])
    if not stated or _NO_ANSWER.match(stated):
        return sentence, None
    said = sentence[: found.start()].strip()
    # an opener left alone ("Therefore", "Since the Goths won [2],") says nothing
    return (said if len(said.split()) >= 3 and not said.endswith(",") else ""), stated


def short_form(stated: str, question: str) -> str:
    """The short answer in a stated sentence: a choice question's option it names first ("Parsifal has
    more acts than Manon" -> "Parsifal"), a yes/no question's "Yes"/"No"; else the stated text as it is.
    A 1.5B often answers a comparison with a sentence, which no passage holds word for word."""
    yes_no = re.match(r"(yes|no)\b", stated, re.I)  # "No Einstein and Newton were not both ..." (0.5B)
    named = " ".join(stated.split()[:2]).lower() in question.lower()  # "No Doubt was formed in 1986"
    if yes_no and YES_NO.match(question) and not named:
        return yes_no.group(1).capitalize()
    if choice := CHOICE.search(question):
        options = [" ".join(o.strip(" \"'").split()) for o in choice.groups()]
        named = [
            (found.start(), -len(o), o)  # where it is named; at the same place, the longer option
            for o in options
            if (found := re.search(rf"(?<!\w){re.escape(o)}(?!\w)", stated, re.I))  # "... Jr." ends in "."
        ]
        if named:
            return min(named)[2]
    return stated


async def read(question: str, sources: dict[str, dict[str, Any]], deps: Deps, step: int) -> Reading:
    """Read the answer to `question` from the run's `sources`, starting from the question's own passages."""
    registry = SourceRegistry(sources)
    first = await deps.retriever.search(question, k=deps.config.retrieval.k)
    for p in first:
        registry.add(p)
    records = registry.records()
    if found := comparison(question, titles_of(records)):
        compared = await _compare(question, found, registry, sources, deps, step)
        if compared.stated:
            return compared
        # no answer from the two facts: the hop reader reads as it would have (its calls add to these)
        records = registry.records()
        reading = Reading(new_sources=compared.new_sources, usage=compared.usage)
    else:
        reading = Reading(new_sources={p.id: records[p.id] for p in first if p.id not in sources})
    shown = [records[p.id] for p in first]
    held = {r["n"] for r in shown}
    rest = sorted((r for r in records.values() if r["n"] not in held), key=lambda r: r["n"])
    reasoning: list[str] = []
    for _ in range(deps.config.hops + 1):  # a sentence per hop, then the answer
        if reading.usage and deps.gateway.budget_reached():
            break
        if reasoning:  # the last sentence was not yet the answer: bring in the run's passages nearest it
            words = terms(reasoning[-1])
            rest.sort(key=lambda r: -len(words & terms(f"{r.get('title', '')} {r.get('text', '')}")))
            shown, rest = shown + rest[:GROW], rest[GROW:]
        out = await generate(
            deps,
            Request(
                "report",
                "reason",
                {
                    "question": question,
                    "passages": passages_text(shown, deps.config.retrieval.passage_chars),
                    "reasoning": "\n".join(reasoning) or "(none yet)",
                },
                step=step,
                max_tokens=80,
                temperature=TEMPERATURE,
            ),
        )
        reading.usage += out.usage
        reading.evolution += out.evolution
        sentence = " ".join(str(out.value).split())
        if not sentence:
            break
        reasoning.append(sentence)
        said, stated = split_answer(sentence)
        reading.sentences.append(said)
        if stated:
            reading.stated = short_form(stated, question)
            break
    reading.shown = [int(r["n"]) for r in shown]  # what the last call was shown
    return reading


def _within(short: str, option: str) -> bool:
    """Whether `short` is the option or words of it ("right-hand" of "right-hand batsmans")."""
    return bool(re.search(rf"(?<!\w){re.escape(short)}(?!\w)", option, re.I))


async def _compare(
    question: str,
    found: Comparison,
    registry: SourceRegistry,
    sources: dict[str, dict[str, Any]],
    deps: Deps,
    step: int,
) -> Reading:
    """A comparison question read entity by entity: its facts are the sentences, its choice the answer."""
    sentences, reply, shown, usage = await read_comparison(question, found, registry, deps, step)
    records = registry.records()
    reading = Reading(
        sentences=sentences,
        shown=shown,
        new_sources={i: r for i, r in records.items() if i not in sources},
        usage=usage,
    )
    if reply:
        _, stated = split_answer(reply)
        if stated is None and len(reply.split()) <= 6 and not _NO_ANSWER.search(reply):
            stated = clean_stated(reply) or None  # "Yes." or "Violent Femmes": the answer alone
        short = short_form(stated, question) if stated else None
        # an answer is one the question allows: a choice (words of) one of its options ("3" acts is none
        # for "Parsifal or Manon?"), a yes/no question Yes or No ("The facts do not say" is neither)
        allowed = {
            "choice": lambda a: any(_within(a, e) for e in found.entities),
            "yes_no": lambda a: a in ("Yes", "No"),
            "common": lambda a: True,
        }[found.kind]
        if short and allowed(short):
            reading.stated, reading.compared = short, True
    return reading
