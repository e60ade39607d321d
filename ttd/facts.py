"""The cited facts a long report is written from: sentences that each carry their source's number.

Given the plan, R_T and the Q/A notes, a 1.5B report writer copied the plan's goals ("This could include
inflation, trade disruptions ...") and R_T's unchecked beliefs back in: on one saved Roman run its report
was 14% supported. Given the facts grouped by plan area instead, it restates them: 80-100% in 4 samples of
the same state (whole runs: evals/results/longform_noise.md). The facts are R_T's supported claims, the
step answers' cited sentences that their passage bears out (uncited ones attributed to the passage they
come from, sentences about "the passage" turned into the fact they report or left out) and the retrieved
passages' sentences nearest the question and the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ttd.citations import attribute
from ttd.claims import VerifierSettings, overlap, split_claims, verify
from ttd.formatting import bare_title, clean_title, framed, unframed
from ttd.hygiene import COVERED, inside, is_meta, norm, words_of
from ttd.state import ClaimRecord, PlanArea, QARecord, UsageRecord
from ttd.terms import SENTENCE, stem, terms

_CITE = re.compile(r"\[\d{1,4}\]")
# "The passage [2] states that X" / "However, passages [1] and [3] both note that X": the fact is X
_SAYS = re.compile(
    r"^(?:(?:however|also|moreover|additionally|finally),? )?(?:the |this |both )?passages? (?:from |in )?"
    r"((?:\[\d{1,4}\][\s,]*(?:and\s*)?)+)(?:also |both )?"
    r"(?:state|say|note|show|indicate|mention|explain|confirm|report)s? that\s+(.+)$",
    re.I,
)
# "It also mentions that X [3]" / "It mentions Flavius Aetius, who ..." after a sentence about a passage:
# the fact is X (the 1.5B's long-form report copied "It mentions that ..." in)
_IT_SAYS = re.compile(
    r"^(?:it|this passage|this source) (?:also )?(?:(?:state|say|note|indicate|explain|report)s? that|"
    r"mentions?(?: that)?)\s+(.+)$",
    re.I,
)
# "They instead discuss Gilbert and Sullivan, ..." / "They also mention the film industry": after a
# sentence about the passages, "they" are the passages; what they are about is no fact
_THEY_DISCUSS = re.compile(
    r"^(?:but |and )?they (?:also |instead |only |mainly |mostly )?(?:discuss|mention|describe|cover|focus|"
    r"talk|deal|concern|refer)\w*\b",
    re.I,
)
ANSWER_SUPPORT = 0.5  # share of an answer sentence's content words its cited passage must contain
# the tail of a sentence cut at an abbreviation or a list ("and deals with ...", "which ...")
_TAIL = re.compile(
    r"^\W*(?:and|or|but|nor|which|who|whom|whose|while|whereas|with|as|that|so|because|although|though|"
    r"than|then|to|of|by|for)\b"
)
_PRONOUN = re.compile(r"^(?:It|Its|He|She|They|This|These)\b")
# "Having survived ..., it endured" / "From here, they conducted raids": a pronoun subject after a leading
# phrase; "Having ..."/"Founded ..." (a participle) shares the sentence's subject
_PARTICIPLES = "having|being|founded|established|located|based|built|formed|created|situated|born"
_OPENERS = (
    f"from|in|at|on|after|before|when|while|although|though|despite|by|during|since|until|following|"
    f"{_PARTICIPLES}"
)
# the lead is an opening phrase (a preposition, a subordinator or a participle), not a main clause or a
# name with an apposition ("Theodosius I left the empire to Honorius, his younger son" stays)
_LEAD_PRONOUN = re.compile(
    rf"^((?:{_OPENERS})\b[^,;:.]{{1,120}}),\s+(it|its|they|their|he|his|she|her|this|these)(\s.*)$", re.I
)
_PARTICIPLE = re.compile(rf"^(?:{_PARTICIPLES})\b", re.I)
_DUMMY = r"(?:is|was|has|had|seems|appears|remains)\b"  # "it is clear that ...": no subject to name


def answer_facts(answer: str, sources: dict[str, dict[str, Any]], question: str) -> list[str]:
    """The cited sentences of a step answer that their cited passage bears out, as facts: "[n] states that
    X" becomes "X [n]". A 1.5B's answer can be a list numbered with marks ("[1] The army was well-trained
    ...") holding its own beliefs: a leading mark is numbering, not a citation, and a sentence sharing
    under half its content words with every passage it cites is left out."""
    unnumbered = re.sub(r"(?m)^(\s*(?:[-*+]\s+)?)\[\d{1,4}\]\s*", r"\1", answer)
    attributed, _ = attribute(unnumbered, sources, question)
    by_n = {int(r["n"]): terms(f"{r.get('title', '')} {r.get('text', '')}") for r in sources.values()}
    titles = page_titles(sources)
    topic = terms(question)
    out = []
    for claim in split_claims(attributed):
        text = claim.text
        if _THEY_DISCUSS.match(text):
            continue
        if m := _IT_SAYS.match(text):
            text = m.group(1)[0].upper() + m.group(1)[1:]
        if is_meta(text):
            m = _SAYS.match(text)
            if not m or is_meta(m.group(2)):
                continue  # talk about the passages, not a fact
            text = f"{m.group(2).rstrip('.')} {''.join(_CITE.findall(m.group(1)))}."
            text = text[0].upper() + text[1:]
        borne = any(n in by_n and overlap(text, by_n[n], topic) >= ANSWER_SUPPORT for n in claim.cited)
        if borne and (named := resolved(_tidy(text), titles)):
            out.append(named)
    return out


def page_titles(sources: dict[str, dict[str, Any]]) -> dict[int, str]:
    """Each source's run-wide number and page title, for `resolved`."""
    return {int(r["n"]): str(r.get("title", "")) for r in sources.values()}


def resolved(fact: str, titles: dict[int, str]) -> str | None:
    """`fact` with a pronoun subject named after the page its first mark cites, or None where that page
    does not plainly name it (`_named`); the first mark among `titles` (`page_titles`) counts. The README
    run's report listed "He mustered a large Roman ... army" (Flavius Aetius) from a step answer that
    quoted its passage."""
    page = cited_page(fact, titles)
    return _named(_unsaid(fact, page), page)


def _unsaid(fact: str, title: str) -> str:
    """`fact` without its own page named as its speaker: "Roman Empire mentions that the Western Roman
    Empire collapsed in 476 [4]" is "The Western Roman Empire collapsed in 476 [4]" (a 1.5B's step answer
    names the passage it reads by its title, and the README run's writer kept the "mentions that")."""
    name = _page_name(title)
    if not title or not name:
        return fact
    m = re.match(
        rf"^(?:the )?{re.escape(name)}(?: page| article| passage)? (?:also )?"
        r"(?:state|say|note|mention|indicate|explain|report|show|confirm)s? that\s+([^\W\d_].*)$",
        fact,
        re.I,
    )
    return m[1][0].upper() + m[1][1:] if m else fact


def cited_page(fact: str, titles: dict[int, str]) -> str:
    """The title of the first page among `titles` that `fact` cites ("" when it cites none)."""
    return next((titles[n] for m in _CITE.findall(fact) if (n := int(m[1:-1])) in titles), "")


def passage_facts(
    sources: dict[str, dict[str, Any]],
    topic: set[str],
    question: set[str],
    limit: int = 12,
    per_source: int = 3,
) -> list[str]:
    """The retrieved passages' sentences that share the most words with the question and plan, cited, and
    at least one word with the question itself (on TikTok bans the offline corpus's nearest page
    was "Rapping", whose sentences shared "content" and "delivery" with the plan)."""
    scored = []
    for record in sources.values():
        text = _CITE.sub("", record.get("text", ""))  # a page's own footnote marks are not our sources
        sentences = [s.strip() for s in SENTENCE.findall(text) if len(s.split()) >= 6]
        shared = [(len(terms(s) & topic), i, s) for i, s in enumerate(sentences)]
        for n_shared, i, sentence in sorted(shared, key=lambda x: -x[0])[:per_source]:
            if n_shared >= 2 and terms(sentence) & question:
                scored.append((n_shared, int(record["n"]), i, sentence))
    best = sorted(scored, key=lambda x: -x[0])[:limit]
    best.sort(key=lambda x: (x[1], x[2]))  # each source's sentences in their own order
    titles = page_titles(sources)
    named = [(n, _named(s, titles[n])) for _, n, _, s in best]
    return [f"{s.rstrip('.')} [{n}]." for n, s in named if s]


def _page_name(title: str) -> str:
    """A page's name as a sentence's subject: its bare title without a site's suffix."""
    name = clean_title(bare_title(str(title or "")))
    return re.sub(r"\s+[-|–]\s+[^-|–]+$", "", name)  # "Byzantine Empire - Wikipedia"


def _named(sentence: str, title: str) -> str | None:
    """A sentence whose subject is a pronoun says nothing out of its passage: "It endured until 1453" is
    named after its page ("Byzantine Empire endured ...", "Its branches" -> "Semiotics's branches") when
    that is plainly its subject, else left out. So is one after a leading phrase: "Having survived the fall
    of the Western Roman Empire, it endured until 1453" is named (a participle's subject is the sentence's),
    "From here, they conducted raids into Roman territory" (the Goths, the README run) is left out."""
    name = _page_name(title)
    plain = (
        bool(re.fullmatch(r"[A-Z][\w'’.,-]*(?: [\w'’.,-]+){0,7}", name))
        and name != "Untitled"
        and not re.match(r"(?:list|history|timeline|outline|index|glossary|comparison) of\b", name, re.I)
    )
    if m := _LEAD_PRONOUN.match(sentence):
        lead, pronoun, rest = m.groups()
        if not (
            plain
            and _PARTICIPLE.match(lead)
            and pronoun in ("it", "its")
            and not re.match(rf"\s{_DUMMY}", rest)
        ):
            return None
        own = "'s" if pronoun == "its" else ""
        return f"{lead}, {name}{own}{rest}"
    if not _PRONOUN.match(sentence):
        return sentence
    if plain and re.match(rf"^It (?!{_DUMMY})[a-z]+", sentence):
        return name + sentence[2:]
    if plain and re.match(r"^Its\s+\S", sentence):  # "Its main branches are ..." (Semiotics)
        return f"{name}'s{sentence[3:]}"
    return None


def facts(
    question: str,
    plan: Iterable[PlanArea],
    verdicts: Iterable[ClaimRecord],
    qa: Iterable[QARecord],
    sources: dict[str, dict[str, Any]],
) -> list[str]:
    """R_T's supported claims, the answers' cited facts, then the passages' nearest sentences; each once.
    Only `sources` count: a claim supported by, or a fact citing, no passage of theirs is left out (the
    report passes the passages about the question's subject, `ttd.subject`)."""
    topic = terms(question) | terms(" ".join(f"{a['title']} {a['goal']}" for a in plan))
    found = [
        c["text"]
        for c in verdicts
        if c["status"] == "supported" and _CITE.search(c["text"]) and set(c["source_ids"]) & set(sources)
    ]
    for record in qa:
        found += answer_facts(record["answer"], sources, question)
    found += passage_facts(sources, topic, terms(question))
    seen: set[str] = set()
    out = []
    titles = page_titles(sources)
    for fact in map(_tidy, found):
        if not (fact := resolved(fact, titles)):
            continue
        key = norm(fact)
        if key and key not in seen and not _TAIL.match(fact):
            seen.add(key)
            out.append(fact)
    return distinct(out)


def distinct(found: list[str]) -> list[str]:
    """`found` without the facts that add nothing to the others of the same source (`hygiene.inside`): one
    whose words two or more of its shorter facts hold together (a step answer that quoted two passage
    sentences as one), then one a longer fact, or an earlier one as long, holds (a passage sentence an
    answer restated). The README run's report stated one list of causes three times, and a merged fact
    beside the two it merged."""
    said = [(words_of(f), set(_CITE.findall(f))) for f in found]
    merged = set()
    for i, (words, _) in enumerate(said):
        parts = [j for j, (w, m) in enumerate(said) if len(w) < len(words) and inside(w, m, said[i])]
        if len(parts) >= 2 and len(words & set().union(*(said[j][0] for j in parts))) >= COVERED * len(words):
            merged.add(i)
    left = [i for i in range(len(found)) if i not in merged and said[i][0]]

    def wider(j: int, i: int) -> bool:  # fact j says at least what fact i does, in more words or first
        return len(said[j][0]) > len(said[i][0]) or (len(said[j][0]) == len(said[i][0]) and j < i)

    return [
        found[i] for i in left if not any(j != i and inside(*said[i], said[j]) and wider(j, i) for j in left)
    ]


def _tidy(fact: str) -> str:
    """A fact with its marks at the end and without a list label: "Army: [2] Pay fell short." -> "Pay fell
    short [2]." (a small model copies a label with its mark and drops the claim)."""
    marks = "".join(dict.fromkeys(_CITE.findall(fact)))
    text = " ".join(_CITE.sub("", fact).split())
    text = re.sub(r"\s+([,;:.!?)])", r"\1", text).replace("( )", "").replace("()", "")
    rest = re.sub(r"^[^.:!?]{1,40}:\s+", "", text)
    text = _balanced(rest if len(rest.split()) >= 4 and rest[:1].isupper() else text)
    return f"{text.rstrip('.').rstrip()} {marks}." if marks else text


def _balanced(text: str) -> str:
    """`text` without a quote mark that opens it or closes it and has no partner: a step answer quoting its
    passage left '"In modern historiography, ... court [4].' (the README run, session 30). A lone quote
    inside the text (5.5" across) is left as it is."""
    for opening, closing in (('"', '"'), ("\u201c", "\u201d")):
        if opening == closing:
            extra_open = extra_close = text.count(opening) % 2 == 1
        else:
            extra_open = text.count(opening) > text.count(closing)
            extra_close = text.count(closing) > text.count(opening)
        end = text.rstrip(".!? ")
        if extra_open and text.startswith(opening):
            return text[1:]
        if extra_close and end.endswith(closing):
            return text[: len(end) - 1] + text[len(end) :]
    return text


async def borne_out(
    found: list[str],
    sources: dict[str, dict[str, Any]],
    *,
    question: str,
    plan: list[PlanArea],
    settings: VerifierSettings,
    gateway: Any,
    step: int,
    known: list[ClaimRecord],
) -> tuple[list[str], list[str], list[UsageRecord]]:
    """`found` split into the facts the claim check supports and those it turns away, with its calls. A
    step answer's sentence passes `answer_facts` on shared words, and the writer restated it as a claim the
    report's check then turned away ("The religious changes of the period led to a decline in the
    empire's economy [4]", 3 of the 4 unsupported claims of a README report replayed in session 35).
    A passage's own sentence and a claim already checked pass without a call. Give `known` only supported
    verdicts: an old "unsupported" would turn away a passage's own sentence worded as a claim of R_T."""
    claims, usage = await verify(
        "\n".join(f"- {f}" for f in found),
        sources,
        question=question,
        plan=plan,
        settings=settings,
        gateway=gateway,
        step=step,
        known=known,
    )
    if any(u.get("fallback") for u in usage):
        return found, [], usage  # a batch the check could not read judged nothing: every fact stays
    status = {c["text"]: c["status"] for c in claims}
    kept, turned = [], []
    for fact in found:
        # a fact is kept when each of its sentences is supported (a fragment, with none, has nothing to check)
        said = [status.get(c.text) for c in split_claims(f"- {fact}")]
        (kept if all(s == "supported" for s in said) else turned).append(fact)
    return kept, turned, usage


OTHER = "Other findings"


def by_area(
    found: list[str], plan: Iterable[PlanArea], question: str, titles: dict[int, str] | None = None
) -> dict[str, list[str]]:
    """The facts grouped under the plan area they are about, in plan order; an area no fact is about is
    left out, so the writer has no empty section to fill from its own beliefs. A fact is about an area
    when it has a word of its title (by stem: "taxation" for "Taxes") and shares two of its title and goal
    (not the question's): the goal is the model's belief, and on goal words alone Gibbon's six volumes
    went under "Social unrest" and "Technological Factors" (the README runs, session 34). The rest go
    under the title of the source they cite first, given `titles` (source number -> page title), else
    under `OTHER`: a 1.5B shown "Other findings" named "other findings" as a cause of the fall of Rome
    (the README run at 798a18c)."""
    areas = list(plan)
    topic = terms(question)
    heads = [{stem(w) for w in terms(a["title"]) - topic} for a in areas]
    words = [terms(f"{a['title']} {a['goal']}") - topic for a in areas]
    groups: dict[str, list[str]] = {a["title"]: [] for a in areas}
    rest: dict[str, list[str]] = {}
    for fact in found:
        own = terms(_CITE.sub("", fact))
        roots = {stem(f) for f in own}
        shared = [len(own & w) if _names(roots, head) else 0 for w, head in zip(words, heads, strict=True)]
        best = max(range(len(areas)), key=lambda i: shared[i], default=None)
        if best is not None and shared[best] >= 2:
            groups[areas[best]["title"]].append(fact)
            continue
        page = cited_page(fact, titles or {})
        rest.setdefault(clean_title(page) if page else OTHER, []).append(fact)
    # the pages most about the question first: "Fall of the Western Roman Empire" before "Gaiseric"
    for title in sorted(rest, key=lambda t: (-len(terms(t) & topic), -len(rest[t]))):
        groups.setdefault(title, []).extend(rest[title])
    return {title: fs for title, fs in groups.items() if fs}


def _names(roots: set[str], head: set[str]) -> bool:
    """Whether a fact's word stems name a title's: the same, or one the start of the other, at most 3
    letters shorter ("tax"/"taxat", "economi"/"econom", "religion"/"religi"; not "art"/"artilleri")."""
    return any(
        f == h
        or (
            len(f) >= 3 and len(h) >= 3 and abs(len(f) - len(h)) <= 3 and (f.startswith(h) or h.startswith(f))
        )
        for f in roots
        for h in head
    )


def facts_text(groups: dict[str, list[str]], max_chars: int = 7000) -> str:
    """The grouped facts as titled Markdown lists, cut at `max_chars`, framed as untrusted data like every
    passage (`ttd.formatting.passages_text`): they are the passages' words."""
    blocks, size = [], 0
    for title, found in groups.items():
        lines = []
        for fact in found:
            fact = unframed(fact)
            size += len(fact) + 3
            if size > max_chars:
                break
            lines.append(f"- {fact}")
        if lines:
            blocks.append(f"{title}:\n" + "\n".join(lines))
    if not blocks:
        return "(no cited fact was found)"
    return framed("\n\n".join(blocks))


def facts_report(title: str, groups: dict[str, list[str]]) -> str:
    """The grouped facts set out as the report, each a cited sentence under its topic: what a report
    question's report is when its facts are few (`few_facts`) or the model's text kept no citation (a
    1.5B's R_T was 10% supported there)."""
    sections = [f"## {topic}\n\n" + " ".join(found) for topic, found in groups.items()]
    return f"# {title}\n\n" + "\n\n".join(sections)
