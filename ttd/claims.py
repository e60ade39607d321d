"""Claims as the unit of noise: split a draft into claims, check each against retrieved passages.

TTD-DR treats the draft R_t as a noisy sample that retrieval denoises. Here the noise is measured: a claim
is *supported* (a retrieved passage says it), *unsupported* (no passage checked says it yet) or
*contradicted* (a passage says otherwise), and Noise(R_t) is the share of claims not supported.

Verification is a cheap lexical first pass (content words a passage shares with the claim) that picks the
candidate passages and settles the easy cases, then, in `llm` mode, one batched JSON call per chunk of
claims through the gateway for the rest. `lexical` and `embed` modes make no model call at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

from pydantic import BaseModel, Field

from ttd.citations import MARK
from ttd.formatting import passages_text
from ttd.hygiene import MARK_AS_SUBJECT, code_lines
from ttd.shape import uncovered_areas
from ttd.state import ClaimRecord, NoiseRecord, PlanArea, UsageRecord
from ttd.terms import SENTENCE, STOPWORDS, stems
from ttd.terms import terms as _words

Status = Literal["supported", "unsupported", "contradicted"]
Mode = Literal["lexical", "embed", "llm"]

_INLINE_MD = re.compile(r"[*_`]+")


@dataclass
class Claim:
    """A sentence of a draft with the section it sits in and the source numbers it cites."""

    text: str
    area: str | None
    cited: list[int]


def split_claims(markdown: str, min_words: int = 3) -> list[Claim]:
    """The factual sentences of a Markdown draft: headings, tables, code and tiny fragments are not claims."""
    claims: list[Claim] = []
    area: str | None = None
    lines = markdown.split("\n")
    for raw, code in zip(lines, code_lines(lines), strict=True):
        line = raw.strip()
        if code or not line or line.startswith("|"):
            continue
        if line.startswith("#"):
            area = line.lstrip("#").strip() or area
            continue
        line = re.sub(r"^(?:[-*+]|\d+[.)])\s+", "", line.lstrip("> "))
        for sentence in SENTENCE.findall(line):
            text = _INLINE_MD.sub("", sentence).strip()
            if len(_words(MARK.sub("", text))) < min_words or text.endswith(":"):
                continue  # a fragment, or a lead-in to a list ("This was due to several factors:")
            claims.append(Claim(text=text, area=area, cited=[int(n) for n in MARK.findall(text)]))
    return claims


def claim_area(heading: str | None, plan: Iterable[PlanArea]) -> str | None:
    """The plan area a section heading belongs to (most shared words), or the heading itself."""
    if heading is None:
        return None
    words = _words(heading)
    best, best_shared = None, 0
    for a in plan:
        shared = len(words & _words(a["title"]))
        if shared > best_shared:
            best, best_shared = a["title"], shared
    return best or heading


# "Yes"/"no" answer a question; they are no word of a fact a passage could hold: "Yes, both Sutera and
# Rhodotypos are types of shrubs" (every other word the question's) was supported by a page on Tony Kaye,
# keyboard player of the band Yes (HotpotQA at fa39385)
_ANSWER_WORDS = frozenset({"yes", "no"})


def overlap(claim: str, passage_words: set[str], topic: set[str]) -> float:
    """Share of the claim's own content words (not the research question's, nor "yes") that the passage
    contains."""
    words = _words(MARK.sub("", claim)) - topic - _ANSWER_WORDS
    if not words:
        return 0.0
    return len(words & passage_words) / len(words)


def candidates(
    claim: Claim, sources: dict[str, dict[str, Any]], topic: set[str], k: int = 3
) -> list[tuple[dict[str, Any], float]]:
    """The passages most likely to bear on a claim, each with its word overlap: its own cited ones first,
    then best overlap. A mark orders the passages but adds nothing to the overlap: the writer's mark is
    no evidence (with a bonus for it, cited negatives passed the lexical bar: precision 0.86 -> 0.71 on
    the 240 labelled pairs, evals/results/verifier_accuracy.md)."""
    scored = []
    for record in sources.values():
        words = _words(f"{record.get('title', '')} {record.get('text', '')}")
        score = overlap(claim.text, words, topic)
        scored.append((record, score, score + (0.25 if int(record["n"]) in claim.cited else 0.0)))
    scored.sort(key=lambda rs: -rs[2])
    return [(record, score) for record, score, _ in scored[:k]]


NEAR_COPY = 0.6  # share of a claim's words that follow one passage sentence in order: a copy of it
HEADED_WORDS = 8  # content words a claim needs before a new head on a copied subject makes it new
ADDED = 3  # words of its own (in no passage checked, nor the question) that make such a copy a new claim
_TOKEN = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]+")  # a capitalised word after the first: a name
_LABEL = re.compile(r"^[^:\[\]]{1,40}:\s+")  # "Military Strength: ..." (a list label, title-cased)


def altered(claim: str, passages: list[dict[str, Any]], topic: set[str]) -> bool:
    """The claim copies a passage sentence with words of its own put in, a name among them: "The rise of
    Christianity as the Roman state religion, also called the rise of the Roman Empire ..., was the loss
    of central political control ..." on "The fall of the Western Roman Empire, also called ...". Most of
    its words match, so the overlap passes it, and the 1.5B check passed it too (session 33's Roman
    report, asked again). A copy reworded with common words ("collapse", "authority", "2.5 million")
    names nothing new and is left to the check. Or the copy's subject got a new head (`_reheaded`)."""
    text = MARK.sub("", claim)
    if _reheaded(_LABEL.sub("", text).strip(), passages, topic):
        return True
    own = _TOKEN.findall(text.lower())
    known = _known(passages, topic)
    added = stems(w for w in own if len(w) >= 3 and w not in STOPWORDS) - known
    names = stems(n.lower() for n in _NAME.findall(_LABEL.sub("", text)))
    if len(added) < ADDED or not added & names:
        return False
    return any(_copies(_TOKEN.findall(s.lower()), own) for s in _sentences(passages))


_HEAD = re.compile(r"^(?:the|an?)\s+((?:[a-z]+\s+){1,2})of\s+", re.I)  # "The economy of ...": a head
_COPULAS = frozenset({"is", "was", "are", "were"})
_PLAIN_HEADS = frozenset({"name", "term", "title"})  # "The name of X's mother is Y": X's mother was Y


def _reheaded(text: str, passages: list[dict[str, Any]], topic: set[str]) -> bool:
    """A passage sentence copied nearly whole (`HEADED_WORDS` content words or more, each side holding
    `NEAR_COPY` of the other's in order) under a new head of its subject that the sentence lacks: "The
    economy of Ancient Rome was the Roman civilisation from the founding ..." on "In modern historiography,
    ancient Rome is the Roman civilisation from the founding ..." (the README run at e6feebd, passed by the
    overlap and by the 1.5B). One word is added, so the rule above misses it. A short claim naming a
    relation ("The director of Hamlet was Laurence Olivier" on "Hamlet was directed by Laurence Olivier")
    is no copy, and a head sharing its first letters with a sentence word ("directed") is not new. The
    sentence must say the same words of the subject with "is/was" ("rome is the roman civilisation"): "The
    birthplace of Albert Einstein was Ulm" on "Albert Einstein was born in Ulm" is a relation, for the
    check to judge."""
    head = _HEAD.match(text)
    if not head:
        return False
    new = {w[:5] for w in head[1].lower().split() if w not in STOPWORDS}
    new -= {w[:5] for w in topic | _PLAIN_HEADS}
    own = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS]
    if not new or len(own) < HEADED_WORDS:
        return False
    rest = _TOKEN.findall(text[head.end() :].lower())
    verb = next((i for i, w in enumerate(rest) if w in _COPULAS), 0)
    said = rest[verb - 1 : verb + 4] if verb else []  # "rome was the roman civilisation"
    if len(said) < 4:  # no "<subject> is/was <two words or more>" to compare
        return False
    subject = next((w for w in rest if w not in STOPWORDS), "")
    for sentence in _sentences(passages):
        tokens = _TOKEN.findall(sentence.lower())
        words = [w for w in tokens if w not in STOPWORDS]
        # another subject (the rule above's case), or a sentence that has the head too
        if subject not in tokens or new & {w[:5] for w in words}:
            continue
        at = tokens.index(subject)
        # the sentence says the same of the subject, with its own verb: "... rome is the roman civilisation"
        same = any(
            tokens[i - 1] == said[0]
            and tokens[i] in _COPULAS
            and tokens[i + 1 : i + len(said) - 1] == said[2:]
            for i in range(1, len(tokens))
        )
        # "The collapse of the Western Roman Empire" on "The fall of the Western Roman Empire": the
        # sentence's own head replaced, likely by a synonym, is left to the check
        if same and "of" not in tokens[max(0, at - 2) : at] and _copies(words, own) and _copies(own, words):
            return True
    return False


def headings(markdown: str) -> list[str]:
    """The section headings of a Markdown text outside code, without their closing #s."""
    lines = markdown.split("\n")
    found = (
        re.match(r"#+\s*(.+?)\s*#*$", line.strip())
        for line, code in zip(lines, code_lines(lines), strict=True)
        if not code
    )
    return [f[1] for f in found if f]


def outlined(claim: Claim, titles: list[str], passages: list[dict[str, Any]], topic: set[str]) -> bool:
    """The claim names two or more of the text's other section headings, one of them with a word no
    passage checked (nor the question) has: the writer's outline stated as a finding. "The fall of the
    Western Roman Empire was caused by political instability and civil war, social unrest and rebellion,
    military failure, other findings, and ..." cited a page on the empire's two courts, and the 1.5B check
    passed it (the README run at 798a18c); "other findings" was a group's heading. The headings are the
    plan's own words, so a summary naming them rests on no source unless a passage has their words. A
    heading named inside a longer one it names ("Army" in "Army and Pay") counts once."""
    text = f" {' '.join(_TOKEN.findall(claim.text.lower()))} "
    own = " ".join(_TOKEN.findall((claim.area or "").lower()))
    named: set[str] = set()
    for title in titles:
        words = " ".join(_TOKEN.findall(title.lower()))
        if words and words != own and _words(title) - topic and f" {words} " in text:
            named.add(words)
    named = {n for n in named if not any(n != m and f" {n} " in f" {m} " for m in named)}
    if len(named) < 2:
        return False
    known = _known(passages, topic)
    return any(stems(w for w in n.split() if len(w) >= 3 and w not in STOPWORDS) - known for n in named)


# A claim that one thing brought about another, in words that say only that ("caused by", "led to", "a
# factor in", "due to"); not "responsible for" (a claim restating "... McVeigh, responsible for the
# Oklahoma City bombing" on "perpetrator of" would go), "contributed articles", "prime factors of 84" or
# "attributed to Prince"
_CAUSE_WORDS = (
    r"caus(?:e|es|ed|ing)|(?:led|leads?|leading) to|due to|because|result(?:s|ed)? (?:in|from)|"
    r"as a result of|owing to|contribut(?:ed|es|ing)(?: (?:greatly|significantly|heavily|largely|much|"
    r"substantially|strongly|directly|further))? to|(?:factor|reason)s? (?:in|for|behind|that|which|"
    r"contributing)|(?:several|many|various|multiple|key|main|major|primary|combination of|number of) "
    r"(?:factors|reasons|causes)|attributed to (?:several|many|various|a combination|factors|causes)|"
    r"brought about|trigger(?:s|ed)|stem(?:s|med|ming) from"
)
_CAUSE = re.compile(rf"\b(?:{_CAUSE_WORDS})\b", re.I)
# What a passage sentence may say a cause with: the claim's words and many more ("set off", "as a
# consequence of", "forced", "drove", "after"); the rule is for a sentence that names no cause at all
_SAYS_CAUSE = re.compile(
    rf"\b(?:{_CAUSE_WORDS}|"
    r"caus\w*|factors?|reasons?|contribut\w*|attribut\w*|consequen\w*|set off|spark\w*|prompt\w*|"
    r"forc(?:e|ed|es|ing)|drove|driv(?:e|es|en|ing)|thanks to|pressure|weaken\w*|undermin\w*|produc\w*|"
    r"brought|responsib\w*|effects?|impacts?|influenc\w*|after|following|through|since|therefore|thus|"
    r"hence|so that|lead to|leads|helped)\b",
    re.I,
)


def uncaused(claim: str, passages: list[dict[str, Any]], topic: set[str]) -> bool:
    """The claim says what caused what, and no passage sentence it rests on says anything of a cause:
    "The main cause of the collapse of the Western Roman Empire was the loss of central political control"
    on the page that defines the fall as that loss. The 1.5B check passed such claims (3 README reports,
    sessions 33-35: the definition turned into the answer). The sentences it rests on: the one holding
    most of its other words, and any holding two of them or as many (the cause may be the next sentence's,
    "It was caused by the stock market crash"). A page title's words are not the claim's ("Rebel Without
    a Cause was released in 1955"). On 25 recorded long-form runs the rule marks 16 of the 45 supported
    claims naming a cause (5 of 148 supported report claims), 13 plainly unsupported and 3 arguable ("The
    Western Roman Empire fell due to several factors that combined to weaken its political, economic, and
    social structures" on the fall's definition); none of the 402 labelled HotpotQA pairs names one."""
    text = MARK.sub("", claim)
    for record in passages:
        if title := str(record.get("title") or "").strip():
            text = re.sub(re.escape(title), " ", text, flags=re.I)
    if not _CAUSE.search(text):
        return False
    own = _words(_CAUSE.sub(" ", text)) - topic
    shared = [(len(own & _words(s)), s) for s in _sentences(passages)]
    held = max((n for n, _ in shared), default=0)
    resting = [s for n, s in shared if n and (n >= 2 or n == held)]
    return bool(resting) and not any(_SAYS_CAUSE.search(s) for s in resting)


def _known(passages: list[dict[str, Any]], topic: set[str]) -> set[str]:
    """The stems of the question's words and of every word the passages (title and text) have."""
    return stems(topic.union(*(_words(f"{p.get('title', '')} {p.get('text', '')}") for p in passages)))


def _sentences(passages: list[dict[str, Any]]) -> Iterable[str]:
    return (s for record in passages for s in SENTENCE.findall(record.get("text", "")))


def _copies(sentence: list[str], own: list[str]) -> bool:
    """`own` (a claim's words) follows `sentence` in order for `NEAR_COPY` of its words."""
    matcher = SequenceMatcher(a=sentence, b=own, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) >= NEAR_COPY * len(own)


class Verdict(BaseModel):
    claim: int
    status: Status = "unsupported"
    sources: list[int] = Field(default_factory=list)


class Verdicts(BaseModel):
    verdicts: list[Verdict] = Field(default_factory=list)


@dataclass
class VerifierSettings:
    mode: Mode = "llm"
    support: float = 0.75  # lexical overlap that counts as support without asking a model
    floor: float = 0.3  # below this overlap with every passage a claim is unsupported without asking
    batch: int = 10
    passage_chars: int = 500


def settings_for(config: Any) -> VerifierSettings:
    """The verifier settings of a run's `ResearchConfig` ("off" still splits claims, checked lexically)."""
    v = config.verify
    return VerifierSettings(
        mode="lexical" if v.mode == "off" else v.mode,
        support=v.support,
        floor=v.floor,
        batch=v.batch,
        passage_chars=config.retrieval.passage_chars,
    )


def _record(claim: Claim, status: Status, ids: list[str], plan: list[PlanArea]) -> ClaimRecord:
    return {"text": claim.text, "status": status, "source_ids": ids, "area": claim_area(claim.area, plan)}


def noise_of(claims: list[ClaimRecord]) -> float:
    """Noise(R) = share of claims not supported; a draft with no claim at all is all noise."""
    if not claims:
        return 1.0
    return round(sum(c["status"] != "supported" for c in claims) / len(claims), 4)


async def verify(
    markdown: str,
    sources: dict[str, dict[str, Any]],
    *,
    question: str = "",
    plan: list[PlanArea] | None = None,
    settings: VerifierSettings | None = None,
    gateway: Any = None,
    step: int | None = None,
    embedder: Any = None,
    known: list[ClaimRecord] | None = None,
) -> tuple[list[ClaimRecord], list[UsageRecord]]:
    """Label every claim of `markdown` against the run's retrieved `sources` (run-wide numbers in "n").

    `known`: verdicts already given against these same sources (the last draft's, for the report); a claim
    with the same text keeps its verdict instead of being checked again.
    """
    settings = settings or VerifierSettings()
    plan = plan or []
    claims = split_claims(markdown)
    topic = _words(question)
    out: list[ClaimRecord | None] = [None] * len(claims)
    pending: list[tuple[int, list[dict[str, Any]]]] = []
    cands = [candidates(c, sources, topic) for c in claims]
    if settings.mode == "embed" and claims and sources:
        cands = _embed_candidates(claims, sources, embedder)
    seen = {c["text"]: c for c in known or []}
    titles = headings(markdown)
    for i, (claim, scored) in enumerate(zip(claims, cands, strict=True)):
        best = max((score for _, score in scored), default=None)
        # the passages it is checked against: those over the floor and those it cites
        checked = [r for r, s in scored if s >= settings.floor or int(r["n"]) in claim.cited]
        if MARK_AS_SUBJECT.match(claim.text):
            out[i] = _record(claim, "unsupported", [], plan)
        elif claim.text in seen:
            out[i] = _record(claim, seen[claim.text]["status"], seen[claim.text]["source_ids"], plan)
        elif best is None or best < settings.floor:
            out[i] = _record(claim, "unsupported", [], plan)
        elif altered(claim.text, checked, topic):
            out[i] = _record(claim, "unsupported", [], plan)  # a passage's sentence with words of its own
        elif outlined(claim, titles, checked, topic):
            out[i] = _record(claim, "unsupported", [], plan)  # the text's own headings listed as a finding
        elif uncaused(claim.text, checked, topic):
            out[i] = _record(claim, "unsupported", [], plan)  # a cause its passage does not name
        elif best >= settings.support or settings.mode != "llm":
            # every passage that clears the bar names it, best first: a claim's second true mark stays
            ids = [r["id"] for r, score in scored if score >= settings.support]
            out[i] = _record(claim, "supported" if ids else "unsupported", ids, plan)
        else:
            # the passages it cites are shown too: the check says whether they bear it out
            pending.append((i, checked))
    usage: list[UsageRecord] = []
    for start in range(0, len(pending), settings.batch):
        chunk = pending[start : start + settings.batch]
        verdicts, more = await _ask(gateway, question, [(claims[i], ps) for i, ps in chunk], settings, step)
        usage += more
        for (i, shown), verdict in zip(chunk, verdicts, strict=True):
            by_n = {int(r["n"]): r["id"] for r in shown}
            ids = [by_n[n] for n in verdict.sources if n in by_n]
            status: Status = verdict.status if ids or verdict.status == "unsupported" else "unsupported"
            out[i] = _record(claims[i], status, ids if status != "unsupported" else [], plan)
    return [c for c in out if c is not None], usage


def _embed_candidates(
    claims: list[Claim], sources: dict[str, dict[str, Any]], embedder: Any
) -> list[list[tuple[dict[str, Any], float]]]:
    """MiniLM cosine similarity between each claim and each passage (offline model, no LLM call)."""
    if embedder is None:
        from ttd.retrieval.dense import get_embedder

        embedder = get_embedder()
    records = list(sources.values())
    c = embedder.encode([cl.text for cl in claims])
    p = embedder.encode([f"{r.get('title', '')}: {r.get('text', '')}"[:1000] for r in records])
    sims = c @ p.T
    out = []
    for row in sims:
        order = sorted(range(len(records)), key=lambda j: -float(row[j]))[:3]
        out.append([(records[j], float(row[j])) for j in order])
    return out


def no_verdicts(raw: str) -> Verdicts:
    """The check's result from a reply that cannot be read: no verdict, so every claim stays unsupported."""
    return Verdicts()


async def _ask(
    gateway: Any,
    question: str,
    batch: list[tuple[Claim, list[dict[str, Any]]]],
    settings: VerifierSettings,
    step: int | None,
) -> tuple[list[Verdict], list[UsageRecord]]:
    """One JSON call labels a batch of claims; a reply that cannot be parsed leaves them unsupported (the
    gateway names the fallback `no_verdicts` on the call's usage record, so it is counted)."""
    from ttd.resources import load_prompt

    shown: dict[str, dict[str, Any]] = {}
    for _, ps in batch:
        for r in ps:
            shown.setdefault(r["id"], r)
    passages = passages_text(sorted(shown.values(), key=lambda r: int(r["n"])), settings.passage_chars)
    listing = "\n".join(
        f"{i}. {c.text} (check against: {', '.join('[' + str(r['n']) + ']' for r in ps)})"
        for i, (c, ps) in enumerate(batch, 1)
    )
    messages = load_prompt("verify").messages(question=question, passages=passages, claims=listing)
    parsed, usage = await gateway.structured(
        "verify", messages, Verdicts, step=step, temperature=0.0, fallback=no_verdicts
    )
    by_claim = {v.claim: v for v in parsed.verdicts}
    return [by_claim.get(i, Verdict(claim=i)) for i in range(1, len(batch) + 1)], usage


def noise_record(draft: int, claims: list[ClaimRecord], plan: list[PlanArea] | None = None) -> NoiseRecord:
    """R_t's claim table and noise, with the plan areas (hops) no supported claim covers: noise counts
    claims, so a draft that drops a hop can read 0.00 (on HotpotQA "Are Sutera and Rhodotypos both
    shrubs?" revised to a text about Rhodotypos alone); the uncovered areas show it beside the curve."""
    record: NoiseRecord = {"draft": draft, "noise": noise_of(claims), "claims": claims}
    if plan:
        record["uncovered"] = uncovered_areas(claims, plan)
    return record


def _each_sentence(markdown: str, edit: Callable[[str, str], str]) -> str:
    """`markdown` with each claim sentence replaced by `edit(sentence, claim_text)` (same walk as
    `split_claims`: headings, tables and code are left as they are); a line left empty goes."""
    out = []
    lines = markdown.split("\n")
    for raw, code in zip(lines, code_lines(lines), strict=True):
        line = raw.strip()
        if code or not line or line.startswith(("|", "#")):
            out.append(raw)
            continue
        prefix = re.match(r"^\s*(?:>\s*)?(?:(?:[-*+]|\d+[.)])\s+)?", raw).group(0)  # type: ignore[union-attr]
        body = "".join(edit(s, _INLINE_MD.sub("", s).strip()) for s in SENTENCE.findall(raw[len(prefix) :]))
        if body.strip():
            out.append(prefix + body.strip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _with_mark(sentence: str, mark: str) -> str:
    """`sentence` with `mark` ("[2]") before its closing stop."""
    head, stop, space = re.match(r"^(.*?)([.!?]*)(\s*)$", sentence, re.S).groups()  # type: ignore[union-attr]
    return f"{head} {mark}{stop}{space}"


def cite_claims(markdown: str, marks: dict[str, str]) -> str:
    """`markdown` with `marks[text]` ("[2]") put at the end of each sentence whose claim text is a key:
    a claim the verifier found supported keeps its link to the source even where the writer left the
    mark out."""
    return _each_sentence(markdown, lambda s, text: _with_mark(s, marks[text]) if text in marks else s)


_ITEM = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)(.+?)\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def cite_fragments(markdown: str, sources: dict[str, dict[str, Any]]) -> tuple[str, int]:
    """`markdown` with each unmarked list item too short to be a claim ("- The strength of the economy",
    `split_claims`) cited with the mark of a passage that another item of its list cites and that holds
    each of its words, and how many were. A README report listed a page's factors, four with the page's
    mark and two without (20261129-143012): nothing checked or cited those two. An item no such passage
    holds is left as it is."""
    lines = markdown.split("\n")
    run = 0
    lists: dict[tuple[int, int], list[int]] = {}  # items of a run of list lines outside code, by indent
    for i, (line, code) in enumerate(zip(lines, code_lines(lines), strict=True)):
        if not code and _ITEM.match(line):
            lists.setdefault((run, _indent(line)), []).append(i)
        else:
            run += 1
    texts: dict[int, set[str]] = {}  # each source's word stems, read once an item needs them
    cited = 0
    for block in lists.values():
        marks = [int(n) for i in block for n in MARK.findall(lines[i])]
        order = sorted(dict.fromkeys(marks), key=lambda n: -marks.count(n))
        for i in block:
            lead, text = _ITEM.match(lines[i]).groups()  # type: ignore[union-attr]
            words = stems(_words(_INLINE_MD.sub("", text)))
            # a lead-in ("Political factors:") is a label of the list below it, not one of its items
            if MARK.search(text) or not words or text.rstrip("*_ ").endswith(":") or split_claims(text):
                continue
            if not texts:
                texts = {int(r["n"]): _known([r], set()) for r in sources.values()}
            if held := next((n for n in order if words <= texts.get(n, set())), None):
                lines[i] = f"{lead}{_with_mark(text, f'[{held}]')}"
                cited += 1
    return "\n".join(lines), cited


def unmarked(text: str) -> str:
    return " ".join(MARK.sub(" ", text).split()).rstrip(" .!?")


def recite(markdown: str, claims: Iterable[ClaimRecord], sources: dict[str, dict[str, Any]]) -> str:
    """`markdown` with each claim the check found supported that has since lost every mark cited again
    from its verdict: every claim counted supported carries a mark. A 1.5B report's "[5] Before the
    foundation of Seuthopolis ..." was checked with its leading mark as its source, then a later hygiene
    pass dropped that mark as list numbering (the README run, session 27)."""
    marks = {
        unmarked(c["text"]): f"[{sources[c['source_ids'][0]]['n']}]"
        for c in claims
        if c["status"] == "supported" and c["source_ids"] and c["source_ids"][0] in sources
    }

    def cite(sentence: str, text: str) -> str:
        key = unmarked(text)
        return sentence if MARK.search(sentence) or key not in marks else _with_mark(sentence, marks[key])

    return _each_sentence(markdown, cite) if marks else markdown


# a sentence whose marks all close it: "... in 476 [1][2]." or "... in 476 [1], [2]."
_CLOSING_MARKS = re.compile(r"^(?P<head>.*?)(?P<marks>(?:\s*\[\d{1,4}\],?)+)(?P<stop>[.!?]*\s*)$", re.S)


def verdict_marks(text: str, ids: list[str], sources: dict[str, dict[str, Any]]) -> str | None:
    """`text` with its closing marks cut to the sources its verdict names, or None where they already
    are (or the claim has none, or a mark inside it): "[1][2][3]" on a claim the verifier found in [1] alone
    becomes "[1]"; a claim it found only in another passage cites that one instead. Marks inside the
    sentence ("X [1] and Y [2].") each cite a part and stay."""
    found = _CLOSING_MARKS.match(text)
    named = [int(sources[i]["n"]) for i in ids if i in sources]
    if not found or not named or MARK.search(found["head"]):
        return None
    cited = [int(n) for n in MARK.findall(found["marks"])]
    keep = [n for n in dict.fromkeys(cited) if n in named] or named[:1]
    if keep == cited:
        return None
    return f"{found['head'].rstrip()} {''.join(f'[{n}]' for n in keep)}{found['stop']}"


def trim_marks(
    markdown: str, claims: list[ClaimRecord], sources: dict[str, dict[str, Any]]
) -> tuple[str, list[ClaimRecord], int]:
    """`markdown` and its claim table with every supported claim citing only the sources its verdict names
    (`verdict_marks`): the README run's summary cited [1][2][3] for a list of causes that only [1] holds.
    Returns the text, the table with the new texts and how many claims changed."""
    texts = {c["text"] for c in claims}
    new = {
        c["text"]: t
        for c in claims
        if c["status"] == "supported"
        and (t := verdict_marks(c["text"], c["source_ids"], sources))
        and t not in texts  # cut, it would read as another claim, which the check may drop with it
    }
    ids = {c["text"]: c["source_ids"] for c in claims if c["text"] in new}
    done: set[str] = set()

    def edit(sentence: str, text: str) -> str:
        trimmed = verdict_marks(sentence.rstrip(), ids[text], sources) if text in ids else None
        if trimmed is None:  # marks inside bold or italics ("**... [1][2].**") stay as written
            return sentence
        done.add(text)
        return trimmed + sentence[len(sentence.rstrip()) :]

    out = _each_sentence(markdown, edit) if new else markdown
    table: list[ClaimRecord] = [{**c, "text": new[c["text"]]} if c["text"] in done else c for c in claims]
    return out, table, len(done)


def remove_claims(markdown: str, drop: set[str]) -> str:
    """`markdown` without the sentences whose claim text is in `drop`."""
    return _each_sentence(markdown, lambda sentence, text: "" if text in drop else sentence)
