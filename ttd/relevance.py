"""Which of a report question's cited facts bear on it: supported is not on topic.

A fact's filter in `ttd.facts` is lexical (a word shared with the question), and the offline corpus has no
page on most DeepConsult subjects: Khosla Ventures' report was set out from facts about George Soros,
Gilbert and Sullivan and the film industry, every one supported and none an answer
(evals/results/longform_noise.md, session 22). So the verifier's model reads the facts once more, against
the question alone, in batched JSON calls at temperature 0, and a fact it calls off topic is left out of
the report. A fact the reply does not label is kept, and an unreadable reply keeps the whole batch (the
`keep_all` fallback, named on the call's usage record): leaving facts in is the old behaviour, dropping
them on a parse error would not be.

With the embedded 1.5B as the verifier the check is off by default (`verify.relevance = "auto"`): on a
labelled HotpotQA set it kept 70/78 on-topic facts and dropped 34/74 off-topic ones, but on real long-form
runs it dropped 4 of the Roman question's 11 facts (all on the Western Empire) and only 5 of 24 facts
about other subjects (evals/results/longform_noise.md, session 26).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from ttd.config import ResearchConfig
from ttd.formatting import framed, unframed
from ttd.llm.gateway import Gateway
from ttd.resources import load_prompt
from ttd.state import UsageRecord

BATCH = 15  # facts per call: ~15 short sentences keep a 1.5B's JSON list whole
_CITE = re.compile(r"\s*\[\d{1,4}\]")


class Label(BaseModel):
    fact: int
    about: str = ""  # what the fact is about, named first: the judgement that follows is then the model's
    on_topic: bool = True


class Labels(BaseModel):
    facts: list[Label] = Field(default_factory=list)


def keep_all(raw: str) -> Labels:
    """An unreadable reply labels nothing, so every fact of its batch is kept."""
    return Labels()


@dataclass
class Sorted:
    """The facts kept (in their order), those the check called off topic, and the calls it took."""

    kept: list[str] = field(default_factory=list)
    off_topic: list[str] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)
    labelled: int = 0  # facts the replies labelled (the others were kept unlabelled)

    @property
    def fallbacks(self) -> int:
        """Batches whose reply could not be read (every fact in them kept)."""
        return sum(u.get("fallback") == keep_all.__name__ for u in self.usage)


def wanted(config: ResearchConfig) -> bool:
    """Whether a report question's facts are checked here: on "llm", or on "auto" with a verifier
    that is not an embedded model (evals/results/longform_noise.md, session 26)."""
    v = config.verify
    if v.mode == "off" or v.relevance == "off":
        return False
    embedded = config.models.for_role("verify").startswith(("local/", "dllm/"))
    return v.relevance == "llm" or not embedded


def listing(found: list[str]) -> str:
    """The facts numbered 1.. without their citation marks, framed as untrusted data like any passage."""
    lines = []
    for i, fact in enumerate(found, 1):
        text = unframed(_CITE.sub("", fact))
        lines.append(f"{i}. {' '.join(text.split())}")
    return framed("\n".join(lines))


async def on_topic(question: str, found: list[str], gateway: Gateway, step: int | None = None) -> Sorted:
    """`found` split into the facts that help answer `question` and those about another subject."""
    out = Sorted()
    for start in range(0, len(found), BATCH):
        batch = found[start : start + BATCH]
        messages = load_prompt("relevance").messages(question=question, facts=listing(batch))
        labels, usage = await gateway.structured(
            "verify", messages, Labels, step=step, fallback=keep_all, temperature=0.0
        )
        out.usage += usage
        off = {label.fact for label in labels.facts if not label.on_topic}
        out.labelled += len({label.fact for label in labels.facts} & set(range(1, len(batch) + 1)))
        for i, fact in enumerate(batch, 1):
            (out.off_topic if i in off else out.kept).append(fact)
    return out
