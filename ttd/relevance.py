"""Which of a report question's cited facts bear on it: supported is not on topic.

A fact's filter in `ttd.facts` is lexical (a word shared with the question), and the offline corpus has no
page on most DeepConsult subjects: Khosla Ventures' report was set out from facts about George Soros,
Gilbert and Sullivan and the film industry, every one supported and none an answer
(evals/results/longform_noise.md, session 22). So the verifier's model reads the facts once more, against
the question alone, in batched JSON calls at temperature 0, and a fact it calls off topic is left out of
the report. A fact the reply does not label is kept, and an unreadable reply keeps the whole batch (the
`keep_all` fallback, named on the call's usage record): leaving facts in is the old behaviour, dropping
them on a parse error would not be.

The embedded 1.5B's labels are not used by default (`verify.relevance = "auto"`): on a labelled HotpotQA
set it kept 70/78 on-topic facts and dropped 34/74 off-topic ones, and on real long-form runs it dropped 4
of the Roman question's 11 facts (all on the Western Empire) and only 5 of 24 facts about other subjects
(evals/results/longform_noise.md, session 26). With an embedded verifier the facts are instead compared
with the question by the retriever's sentence embeddings (`far_apart`, no model call): a fact much further
from the question than the nearest fact is about something else. On the same labelled set that keeps
77/78 on-topic facts and drops 51/74 off-topic ones (evals/results/relevance_accuracy.md). The model comes
with the `index` extra; without it "auto" checks nothing here, as before. It stays out of `.[local]`: its
PyPI package requires sentence-transformers, so torch (a multi-GB CUDA build unless pinned first); a numpy
forward pass matched it to 1e-7 (5d719b0) but could not drop that requirement.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from ttd.config import ResearchConfig
from ttd.formatting import framed, unframed
from ttd.llm.gateway import Gateway
from ttd.resources import load_prompt
from ttd.state import UsageRecord

BATCH = 15  # facts per call: ~15 short sentences keep a 1.5B's JSON list whole
# how far (cosine, all-MiniLM-L6-v2) below the question's nearest fact a fact is about something else:
# on labelled HotpotQA facts it keeps 98% of on-topic ones (0.45: 97%, 0.4: 93%); on 24 recorded long-form
# runs it left out only digressions (Charlemagne and the Gracchi from the fall of Rome)
FAR = 0.5
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


Check = Literal["llm", "embed"]


def wanted(config: ResearchConfig) -> Check | None:
    """How a report question's facts are checked here, if at all: "llm" (the verifier's labels, `on_topic`)
    on "llm" or on "auto" with a hosted verifier; "embed" (`far_apart`) on "embed" or on "auto" with an
    embedded one where the embedding model is installed (evals/results/longform_noise.md, session 26)."""
    v = config.verify
    if v.mode == "off" or v.relevance == "off":
        return None
    if v.relevance != "auto":
        return v.relevance
    if not config.models.for_role("verify").startswith(("local/", "dllm/")):
        return "llm"
    from ttd.retrieval.dense import dense_available

    return "embed" if dense_available() else None


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


def far_apart(question: str, found: list[str], embedder: Any = None, far: float = FAR) -> Sorted:
    """`found` split by how near each fact is to `question` in the embedding space: a fact at least `far`
    below the nearest one (cosine) is about something else. Relative, not absolute: on a subject the corpus
    barely holds (TikTok bans) the nearest fact is at 0.38 and still the best there is. No model call."""
    if not found:
        return Sorted()
    if embedder is None:
        from ttd.retrieval.dense import get_embedder

        embedder = get_embedder()
    vectors = embedder.encode([question] + [unframed(_CITE.sub("", f)) for f in found])
    near = vectors[1:] @ vectors[0]
    best = float(near.max())
    out = Sorted(labelled=len(found))
    for fact, score in zip(found, near, strict=True):
        (out.off_topic if best - float(score) >= far else out.kept).append(fact)
    return out


async def relevant(question: str, found: list[str], how: Check, gateway: Gateway, step: int | None) -> Sorted:
    """`found` sorted by the check `wanted` chose; the embedding one runs off the event loop."""
    if how == "llm":
        return await on_topic(question, found, gateway, step)
    return await asyncio.to_thread(far_apart, question, found)
