"""The final report: written from the evidence of the whole trajectory, then grounded and checked.

After the model writes it, the report is cleaned (`ttd.hygiene`: prompt scaffolding, broken marks,
repeated paragraphs), its citations are checked (`ttd.citations`), and each claim is verified against the
retrieved passages (`ttd.claims`): claims no source supports are dropped or listed under "Not verified"
(`verify.unverified`). A short-answer question gets its answer, with its citation, as the first line.

A report question's report is written from cited facts (`ttd.facts`: R_T's supported claims, the answers'
cited sentences, the passages' nearest sentences) grouped under the plan areas they are about
(`prompts/report_long.md`): shown R_T and the plan's goals, a small model copies their unchecked claims
back in and fills every area. Its length is bounded by its facts. A written report citing nothing has
the claims its check supports cited from their verdicts; one whose own claims none bears out is replaced
by the facts themselves under their topics (`from_facts`), not by R_T, whose claims are mostly the
model's own beliefs. The facts a written report leaves out go in under their groups before
its check (`ground.unstated`, `ground.graft`; `facts_added`): a 1.5B given 11 facts used 1 to 4.
Facts come only from passages that name the question's subject
(`ttd.subject`, `verify.subject`): a 1.5B's report on America's aging population was "100% supported"
by pages on protectionism and public administration. Then the verifier's model reads the facts against
the question alone and leaves out those about another subject (`ttd.relevance`, `verify.relevance`; with
an embedded verifier, by sentence embeddings instead of its labels): the lexical filter let facts about
George Soros into a report on Khosla Ventures. With fewer facts than `few_facts`, they are set out so at
once, with a line saying the sources hold little, and no writer is asked (`few_facts`).

A short answer's report is written, in the words of one retrieval's answer prompt, from every Q/A, the
passages they cite and R_T without its unsupported claims, and closes with "Answer: X"; X opens the report
("**Answer:** X [n]") only when the report's checked sentences bear it out. A supported sentence the
writer left unmarked is cited with the source its verdict names; R_T stands in only when the checked
rewrite keeps no cited claim (`from_draft`). Other settings of `short_report`: "draft" makes a
denoised R_T its own report, grounded and opened with its answer line without another model call;
"evidence" answers from the run's passages alone, without the notes or R_T; "reason" (the embedded
default agent's) reads the answer hop by hop, a sentence per call (`ttd.reader`): its sentences are the
body, checked like a written one, and its "So the answer is: X" opens the report when a checked
sentence or a passage it was shown holds X (see evals/results/bench_hotpotqa_denoise.md for each on the
1.5B).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ttd.answer_line import (
    STATED_WORDS,
    answer_first,
    answer_line,
    grounded_marks,
    open_with,
    split_stated_answer,
)
from ttd.citations import MARK, attribute, finalize, strip_foreign_urls, strip_sources_section
from ttd.claims import (
    cite_claims,
    cite_fragments,
    noise_of,
    noise_record,
    recite,
    remove_claims,
    settings_for,
    split_claims,
    trim_marks,
    verify,
)
from ttd.config import ResearchConfig
from ttd.context import Deps
from ttd.facts import borne_out, by_area, facts, facts_report, facts_text, page_titles
from ttd.formatting import clean_markdown, clean_title, history_text, passages_text
from ttd.generate import Request, generate
from ttd.ground import graft, unstated
from ttd.hygiene import clean, close_fence, is_meta, levelled, norm, page_labels
from ttd.reader import Reading, read
from ttd.relevance import relevant, wanted
from ttd.resources import load_prompt
from ttd.shape import instructions, max_tokens, short_answer
from ttd.state import ClaimRecord, NoiseRecord, ResearchState, UsageRecord, step_index
from ttd.subject import evidence_for

NOT_VERIFIED = "## Not verified"
# A report question's report is as long as its facts allow: a title and summary, then room to restate each
# fact. Given 1,400 tokens and one fact, a 1.5B wrote 14 claims of its own (AI agents, DeepConsult).
REPORT_TOKENS, FACT_TOKENS = 160, 60
NO_FACTS = (
    "No retrieved source bears on this question: no claim could be checked against a source, so this "
    "report states none. Search other sources (`--search`, `--corpus`) and run it again."
)
FEW_FACTS = (
    "> Note: the sources searched hold only {n} checked fact{s} on this question, set out below as {they} "
    "{are}, without a written summary. Search other sources (`--search`, `--corpus`) for more."
)
LISTED = 10  # unsupported claims shown under it; the claim table in report.json has them all


@dataclass
class Facts:
    """A report question's facts: those its writer is given (`kept`, under `groups`), those about another
    subject and those the check turned away before the writer saw them, with the calls it took."""

    kept: list[str] = field(default_factory=list)
    groups: dict[str, list[str]] = field(default_factory=dict)
    off_topic: list[str] = field(default_factory=list)  # left out by `ttd.subject`, `ttd.relevance`
    unchecked: list[str] = field(default_factory=list)
    usage: list[UsageRecord] = field(default_factory=list)


async def report_facts(
    state: ResearchState, deps: Deps, counted: dict[str, dict], checking: dict[str, Any]
) -> Facts:
    """The facts a report question's report is written from: gathered from the run (`gathered`), those on
    the question's subject (`ttd.relevance`), and of those the ones the claim check bears out."""
    kept, off_topic = gathered(state, counted)
    usage: list[UsageRecord] = []
    unchecked: list[str] = []
    step = step_index(state, "report")
    if kept and (how := wanted(deps.config)):
        # supported is not on topic: a fact about another subject that shares a word is left out
        sorted_ = await relevant(state["question"], kept, how, deps.gateway, step)
        kept, off_topic, usage = sorted_.kept, off_topic + sorted_.off_topic, list(sorted_.usage)
    if kept and deps.config.verify.mode != "off":
        # the writer is given only the facts the check bears out, or it restates what it turns away
        kept, unchecked, more = await borne_out(
            kept,
            counted,
            **checking,
            step=step,
            known=[v for v in _reusable_verdicts(state, counted) if v["status"] == "supported"],
        )
        usage += more
    groups = by_area(kept, state.get("plan", []), state["question"], page_titles(state.get("sources", {})))
    return Facts(kept, groups, off_topic, unchecked, usage)


def short_writer(state: ResearchState, config: ResearchConfig, shape: str) -> tuple[str, dict[str, str], str]:
    """A short answer's writer prompt, its variables and its evidence context: the notes, the passages they
    cite and the checked R_T (with `short_report = "evidence"`, the run's passages alone)."""
    notes = history_text(state.get("qa", []), max_chars=9000)
    draft_text = checked_draft(state)
    read_only = config.short_report == "evidence"
    evidence = cited_passages(
        f"{notes}\n{draft_text}", state.get("sources", {}), config, most=8 if read_only else 6, fill=read_only
    )
    context = f"Research notes:\n{notes}\n\nPassages:\n{evidence}"
    if read_only:
        return "report_evidence", {"question": state["question"], "passages": evidence}, context
    variables = {
        "question": state["question"],
        "draft": draft_text or "(no draft)",
        "history": notes,
        "passages": evidence,
        "shape": shape,
    }
    return "report", variables, context


async def run(state: ResearchState, deps: Deps) -> dict:
    drafts = state.get("drafts") or []
    qa = state.get("qa", [])
    short = short_answer(state["question"])
    shape = instructions("report", state["question"])
    cap = max_tokens("report", state["question"], deps.config)
    # what every claim check of this stage is given
    checking = {
        "question": state["question"],
        "plan": state.get("plan", []),
        "settings": settings_for(deps.config),
        "gateway": deps.gateway,
    }
    # what a report question's claims may rest on: the passages about its subject (`ttd.subject`)
    counted = evidence_for(state["question"], state.get("sources", {}), deps.config)
    found = Facts()
    if short:
        template, variables, context = short_writer(state, deps.config, shape)
    else:
        found = await report_facts(state, deps, counted, checking)
        template = "report_long"
        variables = {"question": state["question"], "facts": facts_text(found.groups), "shape": shape}
        context = f"Facts:\n{variables['facts']}"
        cap = REPORT_TOKENS + FACT_TOKENS * len(found.kept)
        cap = min(cap, deps.config.max_tokens.get("report") or cap)
    cited, groups = found.kept, found.groups  # a report question's facts, under their groups
    step = step_index(state, "report")
    from_rt = short and bool(drafts) and deps.config.denoise and deps.config.short_report == "draft"
    sources = state.get("sources", {})
    reading: Reading | None = None
    if short and deps.config.short_report == "reason":
        # read hop by hop from the question's own passages, then the run's nearest each sentence
        reading = await read(state["question"], sources, deps, step)
        sources = {**sources, **reading.new_sources}
    # what was retrieved bears nothing on a report question: the writer would have only its own beliefs
    no_facts = not short and not cited and bool(state.get("sources"))
    # given 2-4 facts, a 1.5B wrote 11-13 claims, 85-91% its own: a few facts are set out as they are
    few = not short and 0 < len(cited) < deps.config.few_facts
    out = None
    request = Request("report", template, variables, step=step, context=context, max_tokens=cap)
    if not from_rt and not no_facts and not few and reading is None:
        out = await generate(deps, request)
    usage = found.usage + (list(out.usage) if out else (list(reading.usage) if reading else []))
    budget = state.get("budget_reached") or deps.gateway.budget_reached()
    note = (
        f"\n\n> Note: the research budget was reached ({budget}); self-evolution and denoising stopped "
        f"after {step} step(s) and this report was written from what had been found."
        if budget
        else ""
    )
    written_by_model = clean_markdown(out.value) if out else ""
    stated = None  # a short answer's closing "Answer: ..." line
    if short and written_by_model:
        written_by_model, stated = split_stated_answer(written_by_model)
    if reading:
        written_by_model, stated = reading.text, reading.stated
        if stated and len(stated.split()) > STATED_WORDS:  # a sentence: checked like the others
            written_by_model, stated = f"{written_by_model} {stated.rstrip('.')}.".strip(), None
    # the reader's sentences are the body, even none ("So the answer is: X" was its first sentence)
    fallback = drafts[-1] if drafts and not no_facts and not few and not reading else ""
    # R_T keeps its sentences as verified (their verdicts are reused); marks are added after the check
    body, fixes, attributed, foreign = prepared(
        written_by_model or fallback, sources, state["question"], cite=not from_rt
    )
    from_draft = from_facts = answer_stated = 0
    if few:  # a few facts are the report as they are
        body = facts_report(clean_title(state["question"]), groups)
    # a written report citing nothing: its claims the check supports are cited from their verdicts
    uncited = bool(out) and not short and bool(cited) and finalize(body, sources).stats["cited"] == 0

    def with_facts(body: str) -> tuple[str, int, set[str]]:
        """A written report with the checked facts it leaves out added under their groups, how many, and
        their claims (by `hygiene.norm`): a 1.5B given 11 facts used 1 to 4 of them, restating the one
        page's list of causes (the README run at b097396 and its replays), so a report "fully supported"
        said almost nothing of what the run found."""
        missing = unstated(body, cited)
        grafted, n = graft(body, missing, state.get("plan", []), state["question"], page_titles(sources))
        return grafted, n, {norm(c.text) for fact in missing for c in split_claims(fact)}

    facts_added = 0
    added: set[str] = set()  # the claims of the facts put in: the writer's own share leaves them out
    if out and not short and cited:
        body, facts_added, added = with_facts(body)

    marks_trimmed = 0
    cited_as_written: list[int] = []  # what the kept claims cited before their marks were cut to verdicts

    async def check(body: str) -> tuple[str, NoiseRecord | None, list[str], list[str]]:
        """The body without its unsupported claims (unmarked supported ones cited from their verdicts),
        its claim table, the unsupported claims' texts and the kept claims' texts with their marks."""
        nonlocal marks_trimmed
        if deps.config.verify.mode == "off" or not split_claims(body):
            return body, None, [], []
        checked = sources if short else counted
        claims, more_usage = await verify(
            body,
            checked,
            **checking,
            step=step,
            known=_reusable_verdicts(state, checked),
        )
        usage.extend(more_usage)
        cited_as_written[:] = [
            int(n) for c in claims if c["status"] == "supported" for n in MARK.findall(c["text"])
        ]
        # a supported claim cites the sources its verdict names, not every passage the writer listed
        body, claims, trimmed = trim_marks(body, claims, sources)
        marks_trimmed += trimmed
        drop = {c["text"] for c in claims if c["status"] != "supported"}
        # a supported claim the writer left unmarked is cited with the source the verifier found
        marks = {
            c["text"]: f"[{sources[c['source_ids'][0]]['n']}]"
            for c in claims
            if c["status"] == "supported"
            and c["source_ids"]
            and c["source_ids"][0] in sources
            and not MARK.search(c["text"])
        }
        return (
            cite_claims(remove_claims(body, drop), marks),
            noise_record(len(drafts), claims, state.get("plan")),
            [c["text"] for c in claims if c["status"] == "unsupported"],
            [f"{c['text']} {marks.get(c['text'], '')}".strip() for c in claims if c["text"] not in drop],
        )

    body, record, unverified, kept = await check(body)
    rewrites = rewrite_kept = 0
    # judged on the writer's own claims: the facts put in for it were checked already
    below = record is not None and supported_share(record, added) < deps.config.verify.rewrite_below
    # over budget (the check's own calls may reach it), the report is one plain call
    if out and record and not short and below and not budget and not deps.gateway.budget_reached():
        # Most of what the writer wrote is its own: asked once more, shown what no fact says, and the
        # rewrite kept if it is better supported (a 1.5B given 5 facts on America's aging population wrote
        # 16 claims, 13 of its own)
        failed = [c["text"] for c in record["claims"] if c["status"] != "supported"]
        unsaid = load_prompt("report_again").turn(claims="\n".join(f"- {t}" for t in failed[:LISTED]))
        again = await generate(deps, replace(request.follow_up(out.value, unsaid), evolve=False))
        usage.extend(again.usage)
        rewrites, before = 1, marks_trimmed
        rewritten, *counts = prepared(clean_markdown(again.value), sources, state["question"])
        checked = None
        if finalize(rewritten, sources).stats["cited"]:
            rewritten, more, more_keys = with_facts(rewritten)
            checked = await check(rewritten)
        if checked and checked[1] and better_supported(checked[1], record):
            body, record, unverified, kept = checked
            (fixes, attributed, foreign), rewrite_kept = counts, 1
            facts_added, added = more, more_keys
            marks_trimmed -= before  # the kept report's cuts only
        else:
            marks_trimmed = before
    if (
        uncited
        and not rewrite_kept
        and not any(c["status"] == "supported" for c in own_claims(record, added))
    ):
        # Nothing the writer wrote cited or borne out (a report's R_T is mostly the model's own beliefs):
        # the checked facts themselves are the report.
        body, from_facts = facts_report(clean_title(state["question"]), groups), 1
        facts_added, added, marks_trimmed = 0, set(), 0
        body, record, unverified, kept = await check(body)
    if (
        short
        and out
        and drafts
        and finalize(body, sources).stats["cited"] == 0
        and finalize(drafts[-1], sources).stats["cited"] > 0
    ):
        # The rewrite kept no cited claim, even with the marks its check found: the denoised draft R_T,
        # which had citations, is the better sample.
        written, more = clean(drafts[-1])
        body, attributed = attribute(written, sources, state["question"])
        fixes, from_draft = fixes + more, 1
        body, record, unverified, kept = await check(body)
    bare = no_facts  # the report says nothing retrieved bears on the question: no evidence is appended
    if few:
        # the count the reader is told is of the facts the check kept (with it off, of all of them)
        left = len(cited) if record is None else sum(bool(MARK.search(t)) for t in kept)
        body, bare = with_few_note(body, left), not left
    if no_facts:
        unverified = [c["text"] for c in _last_verdicts(state) if c["status"] != "supported"]
        body = f"{body.strip()}\n\n{NO_FACTS}"
    if from_rt:
        body, attributed = attribute(body, sources, state["question"])
        body = answer_first(body, state["question"], qa, page_titles(sources))
    # a body too short to hold a claim ("It is also known as Tottenham [2].") is checked through its marks
    elif (
        short
        and stated
        and (
            marks := grounded_marks(
                stated,
                kept or [body],
                _texts(sources),
                [*cited_as_written, *(reading.shown if reading else [])],
            )
        )
    ):
        body = open_with(body, f"{stated} {marks}", own=False)
        answer_stated = 1
    elif short and (line := answer_line(state["question"], qa, kept, page_titles(sources))):
        body = open_with(body, line)
    body, more = clean(body)
    body, moved = levelled(body)
    fixes += more + moved
    fragments = 0
    if record:  # a supported claim whose mark the last pass took for list numbering is cited again
        body = recite(body, record["claims"], sources)
        body, fragments = cite_fragments(body, sources)
    if not body.lstrip().startswith("# "):  # a small model may skip the title it was asked for
        body = f"# {clean_title(state['question'])}\n\n{body.lstrip()}"
        fixes += 1
    if unverified and deps.config.verify.unverified == "list":
        body = with_not_verified(body, unverified)
    final = finalize(body + note, sources)
    if final.stats["cited"] == 0 and not bare and any(MARK.search(r["answer"]) for r in qa):
        # Still nothing cited: keep the cited answers of the research steps, so every claim drawn from the
        # sources stays traceable to them.
        evidence = "\n\n".join(f"**{r['question']}**\n{close_fence(r['answer'])}" for r in qa)
        final = finalize(f"{body}\n\n## Evidence from the research steps\n\n{evidence}{note}", sources)
        final.stats["evidence_section"] = 1
    final.stats["from_draft"], final.stats["from_facts"] = from_draft, from_facts
    final.stats["few_facts"] = int(few)
    final.stats["answer_stated"] = answer_stated
    final.stats["compared"] = int(bool(reading and reading.compared))
    final.stats["attributed"] = attributed
    final.stats["facts"] = 0 if short else len(cited)
    final.stats["off_topic"] = len(found.off_topic)
    final.stats["facts_unchecked"] = len(found.unchecked)
    final.stats["unverified"] = len(unverified)
    final.stats["hygiene"] = fixes
    final.stats["marks_trimmed"] = marks_trimmed
    final.stats["fragments_cited"] = fragments
    final.stats["facts_added"] = facts_added
    own = [] if few or from_facts else own_claims(record, added)  # set-out facts are none of the writer's
    final.stats["own_claims"] = len(own)
    final.stats["own_supported"] = sum(c["status"] == "supported" for c in own)
    final.stats["rewrites"], final.stats["rewrite_kept"] = rewrites, rewrite_kept
    final.stats["foreign_urls"] += foreign
    return {
        "report": final.markdown,
        "report_sources": final.sources,
        "citations": final.stats,
        "report_noise": record,
        "off_topic": found.off_topic,
        "exit_reason": state.get("exit_reason") or "steps",
        "budget_reached": budget,
        "usage": usage,
        "evolution": out.evolution if out else (reading.evolution if reading else []),
        **({"sources": reading.new_sources} if reading and reading.new_sources else {}),
    }


def with_few_note(body: str, left: int) -> str:
    """A few facts set out as the report, under a note saying how few the sources hold; none left, the
    note that nothing retrieved bears on the question (the facts turned away are listed as such)."""
    title, _, rest = body.strip().partition("\n\n")
    if not left:
        return f"{title}\n\n{NO_FACTS}"
    one = left == 1
    they, are = ("it", "is") if one else ("they", "are")
    thin = FEW_FACTS.format(n=left, s="s" * (not one), they=they, are=are)
    return f"{title}\n\n{thin}\n\n{rest}"


def with_not_verified(body: str, unverified: list[str]) -> str:
    """The report with the claims no source supports listed under "Not verified" (`verify.unverified =
    "list"`), without their marks or answer labels, R_T's notes left out, at most `LISTED` of them."""
    # "[3] The decline ..." lists as "The decline ...", not "-  The decline ..."
    bare_claims = (_ANSWER_LABEL.sub("", re.sub(r" ?\[\d+\]", "", t)).strip() for t in unverified)
    claims = list(dict.fromkeys(t for t in bare_claims if t and not is_meta(t)))  # R_T's notes are no claims
    if not claims:  # only notes: no heading over an empty list
        return body
    listed = "\n".join("- " + t for t in claims[:LISTED])
    rest = (
        f"\n\n({len(claims) - LISTED} more in report.json: `trajectory.report_noise`.)"
        if len(claims) > LISTED
        else ""
    )
    heading = f"{NOT_VERIFIED}\n\nNo retrieved source supports these claims:"
    return f"{body.rstrip()}\n\n{heading}\n\n{listed}{rest}\n"


_ANSWER_LABEL = re.compile(r"^\W*(?:final |short )?answer\W*:\W*", re.I)


def prepared(
    text: str, sources: dict[str, dict], question: str, cite: bool = True
) -> tuple[str, int, int, int]:
    """A writer's text as a report body, with its hygiene fixes, attributed marks and foreign URLs counted:
    its own list of references ("New York: W.W. Norton & Company.") is no claim to check (ours replaces
    it), and with `cite` a sentence the writer left unmarked is cited from the passage it restates."""
    raw, foreign = strip_foreign_urls(strip_sources_section(text), sources)
    raw, labels = page_labels(raw, list(page_titles(sources).values()))
    written, fixes = clean(raw)
    body, attributed = attribute(written, sources, question) if cite else (written, 0)
    return body, fixes + labels, attributed, foreign


def supported_share(record: NoiseRecord, leave_out: set[str] | None = None) -> float:
    """The share of a checked text's claims a source supports (1 - its noise), without the claims whose
    `hygiene.norm` is in `leave_out`. None left (the writer's text holds only the facts put in for it): 1, as
    nothing of the writer's own is unsupported to ask it again about."""
    claims = own_claims(record, leave_out or set())
    return 1 - noise_of(claims) if claims else 1.0


def own_claims(record: NoiseRecord | None, added: set[str]) -> list[ClaimRecord]:
    """A checked report's claims without those of the facts put in for its writer (by `hygiene.norm`)."""
    return [c for c in (record["claims"] if record else []) if norm(c["text"]) not in added]


def better_supported(rewrite: NoiseRecord, first: NoiseRecord) -> bool:
    """Whether a rewrite says at least as much the sources hold and, for it, less they do not: more of its
    claims supported, and none fewer of them (1 of 1 is no better than 2 of 3: a supported claim is lost)."""
    held = [sum(c["status"] == "supported" for c in r["claims"]) for r in (rewrite, first)]
    return supported_share(rewrite) > supported_share(first) and held[0] >= held[1]


def _texts(sources: dict[str, dict]) -> dict[int, str]:
    return {int(r["n"]): f"{r.get('title', '')} {r.get('text', '')}" for r in sources.values()}


def cited_passages(
    text: str, sources: dict[str, dict], config: ResearchConfig, most: int = 6, fill: bool = False
) -> str:
    """The passages `text` cites, as numbered in the run (with `fill`, then the run's other passages in the
    order they were found, up to `most`): a short answer's report writer reads the evidence itself, not
    only the notes' summary of it (a 1.5B answer step turned "Sick Puppies ... original members" into
    "three studio albums"; one retrieval reading the passage answered right)."""
    numbers = list(dict.fromkeys(int(n) for n in MARK.findall(text)))
    by_n = {r["n"]: r for r in sources.values()}
    if fill:
        numbers += [n for n in sorted(by_n) if n not in numbers]
    shown = [by_n[n] for n in numbers if n in by_n][:most]
    return passages_text(sorted(shown, key=lambda r: r["n"]), config.retrieval.passage_chars)


def checked_draft(state: ResearchState) -> str:
    """R_T without the claims its check found unsupported or contradicted: the report is written from what
    the sources bear out (a 1.5B copied R_T's unsupported sentences back into the report whatever it was
    told). Unchecked, R_T as it is."""
    drafts = state.get("drafts") or []
    verdicts = _last_verdicts(state)
    if not drafts or not verdicts:
        return drafts[-1] if drafts else ""
    return remove_claims(drafts[-1], {c["text"] for c in verdicts if c["status"] != "supported"})


def gathered(state: ResearchState, counted: dict[str, dict]) -> tuple[list[str], list[str]]:
    """A report question's facts: those the passages in `counted` give (the ones naming the question's
    subject, `ttd.subject.evidence_for`), and those only the run's other passages give (left out)."""
    args = (state["question"], state.get("plan", []), _last_verdicts(state), state.get("qa", []))
    cited = facts(*args, counted)
    sources = state.get("sources", {})
    return cited, [] if counted is sources else [f for f in facts(*args, sources) if f not in cited]


def _reusable_verdicts(state: ResearchState, on: dict[str, dict]) -> list[ClaimRecord]:
    """R_T's verdicts a check against the passages `on` may reuse: all of a model check's; of a lexical
    check's (a short answer that ended between hops) only the supported, so the model looks at the rest.
    A verdict resting on a passage not among them (about another subject: a run made without the subject
    gate, replayed with it) is not reused."""
    noise = state.get("noise") or []
    lexical = bool(noise) and noise[-1].get("checked") == "lexical"
    return [
        c
        for c in _last_verdicts(state)
        if (not lexical or c["status"] == "supported")
        and (not c["source_ids"] or set(c["source_ids"]) & set(on))
    ]


def _last_verdicts(state: ResearchState) -> list[ClaimRecord]:
    """R_T's claim table: checked against the run's sources as they were then (the reader's search may add
    a few since; a report sentence worded as R_T's keeps R_T's verdict)."""
    noise, drafts = state.get("noise") or [], state.get("drafts") or []
    return noise[-1]["claims"] if noise and drafts and noise[-1]["draft"] == len(drafts) - 1 else []
