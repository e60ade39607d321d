"""Report hygiene: what a reader must never see in a final report, found and removed in code.

Small models copy their prompt's scaffolding ("### New Evidence", "The new evidence suggests ..."), cut a
citation mark in half at the token limit (`[9`), and repeat a paragraph in several sections. The list of
scaffolding phrases is read from the prompt files themselves (their field labels and quoted phrases), so a
new or edited prompt is covered without a hand-kept list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from difflib import SequenceMatcher
from functools import cache

from ttd.formatting import CODE_LABELS
from ttd.resources import prompts_dir, without_comments
from ttd.terms import SENTENCE, STOPWORDS, terms

_LABEL = re.compile(r"^([A-Z][A-Za-z' -]{2,60}?)(?:\s*\([^)]*\))?:\s*(?:\$\w+)?\s*$")
_QUOTED = re.compile(r'"(\([a-z ]{3,30}\)|[A-Za-z][a-z]+(?: [a-z]+){1,5})"')
# Phrases models copied from earlier versions of the prompts: they stay banned after a prompt is reworded.
_KNOWN = (
    "new evidence",
    "the draft to revise",
    "the revised draft",
    "revised draft of the report",
    "search question",
    "research notes",
    "two-sentence summary",  # prompts/shape.md's report words, a writer's heading (session 35)
)
BRACKET = re.compile(r"[ \t]?\[([^\[\]\n]{1,80})\](?!\()")  # a bracket that is no Markdown link
_PLAIN = re.compile(r"^\d{1,4}$")
_RANGE = re.compile(r"^(\d{1,4})\s*[-–]\s*(\d{1,4})$")
_PREFIXED = re.compile(r"^(?:\^|s|src|source|sources|ref|passage|doc|citation)\s*[:#]?\s*(\d{1,4})$", re.I)
_BROKEN = re.compile(r"\[\d{1,4}(?![\d\]])|\[\s*\]|\[n\]")
_CITES = re.compile(r"\s?\[\d{1,4}\]")
# "Case Study: [1] demonstrated how ..." / "[7][8] discussed shifts": a mark standing as the subject of a
# reporting verb tells what a source did, not a claim it bears out (the 1.5B verifier passed the first on a
# page about war). Such a sentence keeps its mark here, and the claim check turns it away.
_REPORTS = (
    r"(?:also\s+|further\s+)?(?:show|demonstrat|discuss|note|state|say|said|indicat|report|mention|explain|"
    r"highlight|describ|investigat|examin|explor|find|found|suggest|argu|reveal|provid|outlin|detail|emphasi|"
    r"analy)[a-z]*\b"
)
MARK_AS_SUBJECT = re.compile(r"^(?:[^:\[\]]{1,40}:\s*)?(?:\[\d{1,4}\][\s,]*(?:and\s+)?)+" + _REPORTS)
# A mark at the very start of a line is list numbering written as a citation ("[1] Over-reliance on ..."):
# a citation follows its claim. Marks alone on a line are what is left of a removed claim.
_LEADING_MARK = re.compile(
    r"^(\s*(?:(?:[-*+]|\d+[.)])\s+)?)\[\d{1,4}\]\s*(?=\S)(?!(?:\[\d{1,4}\][\s,]*)*" + _REPORTS + ")"
)
# A sentence about the prompt's passages rather than the world ("The passage does not mention ...",
# "Passage [1] discusses ..."): a small model writes them into drafts and answers; a report never should.
_META = re.compile(
    r"\b(?:the|this|these|those|given|provided|above)\s+(?:given\s+|provided\s+|retrieved\s+|other\s+|"
    r"(?:first|second|third|fourth|fifth|last)\s+)?passages?\b|\bpassages?\s*\[\d+\]"
    # "..., which is relevant to the question about the fall of Rome [3]": the writer on its own task
    r"|\b(?:relevant|pertinent) to the (?:research |given |original )?question\b"
    r"|\brelated to the (?:research|given|original) question\b",
    re.I,
)
# A list label whose claim was cut off, left with its mark: "- **Military Failure**: [2]", "Army: [1]".
_CUT_LABEL = re.compile(
    r"^(?:(?:[-*+]|\d+[.)])\s+)?(?:\*\*[^*]+\*\*|[A-Z][^.!?:\[\]*]{0,60}):\*{0,2}\s*(?:\[\d{1,4}\]\s*)+$"
)
# A label the model numbered its claims or facts with ("Claim 2: He was ...", "- **Fact 1:** ...",
# "### Fact [2]: ..."), copied from the verifier's and the notes' wording: the claim stays, the label goes.
_ANSWER_LINE = re.compile(r"\s*\*\*Answer:?\*\*")  # a short answer's opening line: it stays
_ITEM_LABEL = re.compile(
    r"^(\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+)?)\**(?:claim|fact|step|hop)\s*\[?\d{1,2}\]?\**\s*:\**\s*(?=\S)",
    re.I,
)
# Marks written after the sentence's full stop ("It is also known as Spurs. [2], [5]"): the sentence splitter
# leaves them out of the claim, so they go back before the stop ("... Spurs [2][5]."). A sentence that ends
# in the same marks already ("... Europe [5]. [5]**", the README run in session 32) keeps one of each. A
# list number ("1. [2] The ...") or a stop inside a sentence ("e.g. [1] for ...") is not a sentence's end.
_MARKS_AFTER_STOP = re.compile(
    r"((?:\s?\[\d{1,4}\])*)(?<=[^\s.!?])([.!?])((?:\s*[,;]?\s*\[\d{1,4}\])+)(?=[*_]*(?:\s+[^a-z\s]|\s*$))"
)
# "... due to several factors: [1]." closing a line: the list it led into was cut, the lead-in is the claim
_LEAD_IN_MARKS = re.compile(r"\s*:\s*((?:\[\d{1,4}\])+)(?=[.!?]?\s*$)")
LIST_ITEM = re.compile(r"(\s*)(?:[-*+]|\d+[.)])\s")  # a list item, with how far in it is
_EMPTY_ITEM = re.compile(r"^(?:(?:\d+[.)]|[-*+])\s*)+$")  # "1." or "1. 2." left when the items' claims went
_MARK_RUN = re.compile(r"\[\d{1,4}\](?:[ ,;]*\[\d{1,4}\])+")  # "[3][4][5] [3]": marks side by side
# A sentence set in bold whole ("- **The Goths were a Germanic people ... [5].**"): the README run's writer
# (session 32) bolded each fact; bold marks a label, so a line of 8 words or more loses it.
_BOLD_LINE = re.compile(
    r"^(\s*(?:(?:[-*+]|\d+[.)])\s+)?)\*\*([^*]+?)\*\*((?:\s*\[\d{1,4}\])*\s*[.!?]?(?:\s*\[\d{1,4}\])*)\s*$"
)
# "Roman Empire states: \"By the late 3rd century AD, ..." (the README run at 854879a): a page of the run
# named as a label before the words it holds, with an opening quote never closed (`page_labels`)
_SAYS_LABEL = (
    r"^(\s*(?:(?:[-*+]|\d+[.)])\s+)?)(?:the\s+)?(?:{titles})\s+"
    r"(?:states|says|notes|reports|mentions|explains|writes)\s*:\s*([\"“]?)(?=\S)"
)
# "..., but this is not relevant to the decline of the Western Roman Empire [5]." (the same run): the
# writer judging its own fact at the sentence's end; the clause goes, the fact and its mark stay
_NOT_RELEVANT = re.compile(
    r",\s+(?:but\s+)?(?:this|which|but\s+it)\s+(?:is|was|are|were)\s+"
    r"(?:not\s+(?:directly\s+)?relevant|irrelevant)\s+to\b[^.!?\[,;:]*?(?=\s*(?:\[\d{1,4}\]|[.!?]?\s*$))",
    re.I,
)
_ONLY_MARKS = re.compile(r"^[\s\[\]\d,;.:*_-]*\[\d{1,4}\][\s\[\]\d,;.:*_-]*$")


@cache
def scaffolding_phrases() -> tuple[str, ...]:
    """Multi-word field labels and quoted phrases of every prompt file and the labels the code writes into
    prompts (`ttd.formatting.CODE_LABELS`), lower-cased."""
    phrases: set[str] = set()
    for path in sorted(prompts_dir().glob("*.md")):
        text = without_comments(path.read_text(encoding="utf-8"))
        for line in text.splitlines():
            label = m.group(1).split() if (m := _LABEL.match(line.strip())) else []
            if len(label) >= 3 or (len(label) == 2 and label[0].lower() != "the"):
                phrases.add(m.group(1).strip().lower())
        phrases.update(q.lower() for q in _QUOTED.findall(text))
    phrases.update(_KNOWN)
    phrases.update(label.lower() for label in CODE_LABELS)
    return tuple(sorted(phrases, key=len, reverse=True))


@cache
def _phrase_re() -> re.Pattern[str]:
    alts = "|".join(re.escape(p) for p in scaffolding_phrases())
    return re.compile(rf"(?<![\w]){alts}(?![\w])", re.I) if alts else re.compile(r"(?!x)x")


# "This report charts the evolving landscape of AI agents ..." / "This concludes the research report.": the
# writer on its own text (the AI agents report, session 30, listed both as not verified)
_ABOUT_REPORT = re.compile(
    r"^\W*(?:(?:in )?this (?:research )?report (?:charts|examines|explores|outlines|covers|provides|presents|"
    r"summari[sz]es|aims|will|analy[sz]es|discusses|investigates|describes)\b|"
    r"this concludes (?:the|this|our) (?:research )?(?:report|analysis)\b)",
    re.I,
)


# "Note: The citation has been replaced with the actual source provided in the answer." (the AI agents
# draft, session 33, listed it as not verified): the writer's note on its own citations
_EDITORS_NOTE = re.compile(
    r"^[^\w>]*note\W*:\W*(?:the |this |these |all |each )?(?:citations?|references?|sources?|marks?)\b"
    r"[^.]*\b(?:has|have) been\b",
    re.I,
)


def is_meta(sentence: str) -> bool:
    """Whether `sentence` talks about the prompt's passages, or the report about itself, instead of stating
    a fact."""
    about = _ABOUT_REPORT.match(sentence) and not _CITES.search(sentence)
    return bool(_META.search(sentence) or _EDITORS_NOTE.match(sentence) or about)


def norm(text: str) -> str:
    """Lower-case words without citation marks: the key two texts are the same sentence or fact by."""
    return " ".join(re.findall(r"[a-z0-9]+", _CITES.sub("", text).lower()))


def _same(a: str, b: str) -> bool:
    """Two normalised texts that are one text written twice (90% alike, as difflib counts)."""
    return SequenceMatcher(None, a, b).ratio() >= 0.9


COVERED = 0.9  # share of a statement's words another must hold for it to add nothing to that one
# stopwords that turn a claim round: "was not", "ruled before Theodoric" is not "ruled after Theodoric"
_TURNS = frozenset(
    {"not", "no", "never", "nor", "without", "before", "after", "until", "since", "more", "less"}
)


def words_of(text: str) -> set[str]:
    """What two statements are compared by: content words, numbers and the stopwords that turn a claim round
    (`_TURNS`), marks left out ("ruled 15 years" is not "ruled 16 years", "was not the cause" is not "was
    the cause")."""
    plain = _CITES.sub("", text).lower()
    numbers = set(re.findall(r"\d+(?:[.,]\d+)*", plain))  # "100,000" is not "100"
    words = {w for w in terms(plain) if not w.isdigit()}
    return words | numbers | (set(re.findall(r"[a-z]+", plain)) & _TURNS)


def inside(words: set[str], marks: set[str], other: tuple[set[str], set[str]]) -> bool:
    """A statement (its `words_of` and marks) says nothing `other` does not: they cite a source in common,
    `other` holds every number and turning word of it and all but a tenth of its other words. Compared as
    bags of words: "Rome sacked the Visigoths" is taken for "the Visigoths sacked Rome"."""
    exact = {w for w in words if w.isdigit() or w in _TURNS}
    return bool(marks & other[1]) and exact <= other[0] and len(words & other[0]) >= COVERED * len(words)


def _restated(a: str, b: str) -> bool:
    """Sentence `a` says nothing `b` does not: its words are among b's and the two are near the same
    ("He played a pivotal role ..." after "The rise of Christianity played a pivotal role ..."); sentences
    alike but for a name or a number ("Emperor A ruled 3 decades", "Emperor B ruled 4 decades") both stay."""
    return set(a.split()) <= set(b.split()) | STOPWORDS and _same(a, b)


def problems(markdown: str) -> dict[str, int]:
    """Counts of broken marks, marks out of place, scaffolding phrases and repeated paragraphs (the report's
    Sources excluded)."""
    body = re.split(r"\n## Sources\n", markdown)[0]
    phrase = _phrase_re()
    paragraphs = [norm(p) for p in re.split(r"\n\s*\n", body) if len(norm(p)) >= 40]
    repeated = sum(any(_same(p, q) for q in paragraphs[:i]) for i, p in enumerate(paragraphs))
    lines = [ln for ln in body.split("\n") if not ln.lstrip().startswith("#")]
    headings = [ln for ln in body.split("\n") if ln.lstrip().startswith("#")]
    return {
        "broken_marks": len(_BROKEN.findall(body)),
        "stray_marks": sum(
            bool(_ONLY_MARKS.match(ln) or _LEADING_MARK.match(ln) or _BOLD_LEAD.match(ln)) for ln in lines
        )
        + sum(_before_stop(m) != m[0] for ln in lines for m in _MARKS_AFTER_STOP.finditer(ln))
        + sum(bool(_CITES.search(h)) for h in headings),  # a mark on a heading
        "scaffolding": len(phrase.findall(body)) + len(_META.findall(body)),
        "repeated_paragraphs": repeated,
    }


def _mark_numbers(token: str) -> tuple[list[int], bool] | None:
    """The source numbers one comma-separated piece of a bracket names ("3", "2-4", "Source 3") and whether
    it was written otherwise than "3"; None when it names none."""
    if _PLAIN.match(token):
        return [int(token)], False
    if m := _RANGE.match(token):
        lo, hi = int(m.group(1)), int(m.group(2))
        return (list(range(lo, hi + 1)), True) if 0 < hi - lo < 20 else None
    if m := _PREFIXED.match(token):
        return [int(m.group(1))], True
    return None


def bracket_numbers(inner: str, ids: dict[str, int] | None = None) -> list[tuple[int, bool]] | None:
    """The source numbers a bracket's text names, each with whether it was written otherwise than "3"
    ("1, 2", "1-3", "Source 2", or a passage id found in `ids`); None when any piece names none, so the
    bracket is no citation."""
    out: list[tuple[int, bool]] = []
    for raw in re.split(r"[,;]", inner):
        tok = raw.strip()
        if found := _mark_numbers(tok):
            out.extend((n, found[1]) for n in found[0])
        elif ids and tok in ids:
            out.append((ids[tok], True))
        else:
            return None
    return out or None


def split_marks(markdown: str) -> tuple[str, int]:
    """ "[1, 2]", "[1-3]" and "[Source 2]" outside code written as "[1][2]", "[1][2][3]" and "[2]", and how
    many: read as they stand, the first two are broken marks ("[1" and "2]"), and "The army weakened [1,
    2]." was cleaned to "The army weakened , 2].", citing nothing."""
    fixes = 0

    def split(match: re.Match[str]) -> str:
        nonlocal fixes
        found = bracket_numbers(match[1])
        if not found or _PLAIN.match(match[1]):
            return match[0]
        fixes += 1
        lead = " " if match[0][0] in " \t" else ""
        return lead + "".join(f"[{n}]" for n, _ in found)

    return prose_lines(markdown, lambda line: BRACKET.sub(split, line)), fixes


def clean(markdown: str) -> tuple[str, int]:
    """Remove scaffolding, broken marks and repeats; close an open code fence. Returns text and fixes made.
    A cited sentence that a later, longer one citing its source holds goes too (the README run's "Military
    Weaknesses: Modern historians posit factors including ... [1]." before the section stating that list
    with what the Empire lost), unless that later one holds two or more earlier ones (a summary or a
    conclusion: the sections it sums up stay). One pass finds them, a second leaves them out, and the
    sentences the first left out for an earlier one stay out."""
    text, fixes, kept, gone = _clean(markdown, frozenset())
    held = set()
    for j, (_, words, marks) in enumerate(kept):
        parts = [k for k, w, m in kept[:j] if len(words) > len(w) and inside(w, m, (words, marks))]
        if len(parts) == 1:
            held.add(parts[0])
    if not held:
        return text, fixes
    text, fixes, _, _ = _clean(markdown, frozenset(held | gone))
    return text, fixes


Held = list[tuple[int, set[str], set[str]]]  # cited sentences by their place in the text: words, marks


def _clean(markdown: str, held: frozenset[int]) -> tuple[str, int, Held, frozenset[int]]:
    """`clean` leaving out the sentences at the places (counted from 0) in `held`. Also returns the kept
    sentences that may go for a later one (cited, outside an answer line) and the places of those left
    out for what an earlier one said."""
    phrase = _phrase_re()
    droppable: Held = []
    said: set[int] = set()
    place = -1
    kept_paragraphs: list[str] = []
    seen_paragraphs: list[str] = []
    seen_sentences: dict[str, None] = {}  # in order, for the near-duplicate check
    seen_claims: list[tuple[set[str], set[str]]] = []  # each cited sentence's words and marks
    markdown, fixes = split_marks(markdown)
    markdown, n = _marks_out_of_place(markdown)
    fixes += n
    markdown, n = _lead_ins(markdown)
    fixes += n
    fence = Fence()
    for para in re.split(r"\n\s*\n", markdown.strip()):
        lines = []
        for line in para.split("\n"):
            stripped = line.strip()
            if fence.code(line):
                lines.append(line)  # code is shown as written
                continue
            line, n = _ITEM_LABEL.subn(r"\1", line)
            if not stripped.startswith(("#", "|")):  # a heading or a table row is no sentence to cut
                line, m = _NOT_RELEVANT.subn("", line)
                n += m
            bold = _BOLD_LINE.match(line)
            whole = bold and (bold[3].strip() or bold[2].rstrip().endswith((".", "!", "?", "]")))
            if whole and len(bold[2].split()) >= 8 and not stripped.startswith("#"):
                line, n = f"{bold[1]}{bold[2].rstrip()}{bold[3]}", n + 1
            moved = _MARKS_AFTER_STOP.sub(_before_stop, line)
            line, m = moved, int(moved != line)
            stripped, fixes = line.strip(), fixes + n + m
            if stripped.startswith("#") and phrase.search(stripped):
                fixes += 1  # a heading copied from a prompt ("### New Evidence")
                continue
            new, n = _BROKEN.subn("", line)
            fixes += n
            if stripped.startswith("#") or stripped.startswith("|"):
                if stripped.startswith("#") and stripped.endswith(":"):
                    new, fixes = new.rstrip().rstrip(":").rstrip(), fixes + 1  # "## Summary:"
                if stripped.startswith("#"):  # "## Military Confrontations [1][2]": a heading cites nothing
                    new, n = _CITES.subn("", new)
                    fixes += n
                lines.append(new)
                continue
            if _CUT_LABEL.match(stripped):
                fixes += 1  # "- **Military Failure**: [2]": a label whose claim was cut off
                continue
            pieces = []
            for sentence in SENTENCE.findall(new):
                key, place = norm(sentence), place + 1
                if phrase.search(sentence) or is_meta(sentence) or place in held:
                    fixes += 1
                    continue
                if len(key.split()) >= 8 and (
                    key in seen_sentences or any(_restated(key, q) for q in seen_sentences)
                ):
                    fixes += 1  # the same sentence again, or with another subject ("He played ...")
                    continue
                words, marks = words_of(sentence), set(re.findall(r"\[\d{1,4}\]", sentence))
                if marks and len(words) >= 4 and any(inside(words, marks, seen) for seen in seen_claims):
                    fixes += 1  # what an earlier sentence citing its source said, in fewer words
                    said.add(place)
                    continue
                seen_claims.append((words, marks))
                if marks and len(words) >= 4 and not _ANSWER_LINE.match(stripped):
                    droppable.append((place, words, marks))
                seen_sentences[key] = None
                pieces.append(sentence)
            text = "".join(pieces).rstrip()
            bare = not re.search(r"\w", text) or _EMPTY_ITEM.match(text.strip())
            if text.strip() and bare and not stripped.startswith("```"):
                fixes += 1  # markup left with nothing in it ("**", "- **", "3." when its claim went)
                continue
            if text.strip() or not stripped:
                lines.append(text)
        block = "\n".join(lines).strip()
        key = norm(block)
        if not block or (len(key) >= 40 and any(_same(key, q) for q in seen_paragraphs)):
            fixes += int(bool(block))
            continue
        while (
            block.lstrip().startswith("#")
            and kept_paragraphs
            and _only_headings(kept_paragraphs[-1])
            and _level(kept_paragraphs[-1], last=True) >= _level(block)
        ):
            # a heading left with nothing under it goes (a parent heading, such as the title, stays)
            rest = kept_paragraphs.pop().rstrip().rsplit("\n", 1)[:-1]
            kept_paragraphs.extend(r for r in rest if r.strip())
        seen_paragraphs.append(key)
        kept_paragraphs.append(block)
    while kept_paragraphs and _only_headings(kept_paragraphs[-1]) and len(kept_paragraphs) > 1:
        kept_paragraphs.pop()
    text = "\n\n".join(kept_paragraphs)
    if closing := open_fence(text.split("\n")):
        text += f"\n{closing}"
        fixes += 1
    return text.strip() + "\n", fixes, droppable, frozenset(said)


def page_labels(markdown: str, titles: list[str]) -> tuple[str, int]:
    """`markdown` without a page of the run (one of `titles`) named as a list item's or a line's label
    ("Roman Empire states: \"By the late 3rd century ...") with its opening quote and that quote's
    partner: the words are the claim, checked as the others are. A person or a body quoted ("Einstein
    writes: ...") is no page title and keeps its label. Returns the text and how many labels went."""
    names = "|".join(re.escape(t.strip()) for t in sorted(titles, key=len, reverse=True) if t.strip())
    if not names:
        return markdown, 0
    label = re.compile(_SAYS_LABEL.format(titles=names), re.I)
    lines, cut = markdown.split("\n"), 0
    for i, line in enumerate(lines):
        if not (found := label.match(line)):
            continue
        rest = line[found.end() :]
        if found[2] == '"' and rest.count('"') % 2 == 1:  # the quote's partner, closing it
            at = rest.rindex('"')
            rest = rest[:at] + rest[at + 1 :]
        elif found[2] == "“" and "”" in rest:
            rest = rest.replace("”", "", 1)
        lines[i], cut = found[1] + rest[:1].upper() + rest[1:], cut + 1
    return "\n".join(lines), cut


def _lead_ins(markdown: str) -> tuple[str, int]:
    """`markdown` with the colon cut from a lead-in whose list was cut ("... due to several factors: [1]."
    with no list below it): the lead-in is the claim. A label ("- **Army**: [2]") is no lead-in, and a
    lead-in with its list below keeps its colon."""
    lines = markdown.split("\n")
    fixed = 0
    for i, line in enumerate(lines):
        found = _LEAD_IN_MARKS.search(line)
        if not found or len(terms(line[: found.start()])) < 4:
            continue
        below = next((ln for ln in lines[i + 1 :] if ln.strip()), "")
        own, under = LIST_ITEM.match(line), LIST_ITEM.match(below)
        # its list is below it, or below it and further in when it is an item itself
        if not under or (own and len(under.group(1)) <= len(own.group(1))):
            lines[i] = _LEAD_IN_MARKS.sub(r" \1", line)
            fixed += 1
    return "\n".join(lines), fixed


def _only_headings(block: str) -> bool:
    return all(line.lstrip().startswith("#") for line in block.split("\n") if line.strip())


def _level(block: str, last: bool = False) -> int:
    """The level of a block's first heading line (or its last, for a block of headings)."""
    heads = [line for line in block.split("\n") if line.lstrip().startswith("#")]
    return heading_level(heads[-1 if last else 0])


class Fence:
    """Fenced code, line by line: a fence of three or more ` or ~ opens it, and only a fence of the same
    character, at least as long and with nothing after it, closes it (CommonMark), so a Markdown example
    with ~~~ lines inside a ``` block stays code."""

    _LINE = re.compile(r"\s*(`{3,}|~{3,})(.*)$")

    def __init__(self) -> None:
        self.opened = ""  # the fence of the open block, or ""

    def code(self, line: str) -> bool:
        """Whether `line` is code (a fence line or one inside a block), read in order."""
        found = self._LINE.match(line)
        if not self.opened:
            self.opened = found[1] if found else ""
            return bool(found)
        closing = found and found[1][0] == self.opened[0] and len(found[1]) >= len(self.opened)
        if closing and not found[2].strip():  # type: ignore[index]
            self.opened = ""
        return True


def code_lines(lines: list[str]) -> list[bool]:
    """Whether each line is code. Every walk over a text's lines (claims, headings, lists, sections,
    citations) skips the same lines, so none reads code as prose."""
    fence = Fence()
    return [fence.code(line) for line in lines]


def prose_lines(markdown: str, change: Callable[[str], str]) -> str:
    """`markdown` with `change` made to each line outside fenced code, code left as written."""
    lines = markdown.split("\n")
    return "\n".join(
        line if code else change(line) for line, code in zip(lines, code_lines(lines), strict=True)
    )


def close_fence(text: str) -> str:
    """`text` with a code block it leaves open closed by its own fence (unchanged when none is open)."""
    return f"{text.rstrip()}\n{fence}" if (fence := open_fence(text.split("\n"))) else text


def open_fence(lines: list[str]) -> str:
    """The fence of a code block `lines` leave open ("" if none): what closes it."""
    fence = Fence()
    for line in lines:
        fence.code(line)
    return fence.opened


def heading_level(line: str) -> int:
    """How many `#` open a Markdown heading line (0 for any other line)."""
    text = line.strip()
    return len(text) - len(text.lstrip("#"))


def levelled(markdown: str) -> tuple[str, int]:
    """`markdown` with its section headings raised so the highest is `##` under the `#` title: the README
    run's writer (854879a) set every section at `###`, a level below a section that is not there. Code is
    left as it is. Returns the text and how many headings moved."""
    lines = markdown.split("\n")
    code = code_lines(lines)
    # four spaces in is indented code
    heads = [i for i, line in enumerate(lines) if not code[i] and re.match(r" {0,3}#{2,6}\s", line)]
    shift = min((heading_level(lines[i]) for i in heads), default=2) - 2
    if shift <= 0:
        return markdown, 0
    for i in heads:
        lines[i] = lines[i].strip()[shift:]
    return "\n".join(lines), len(heads)


def _before_stop(found: re.Match[str]) -> str:
    """Marks after a full stop moved before it, each source once ("Europe [5]. [5]" -> "Europe [5]."); a
    list number's stop ("1. [2] The ...") is left as it is."""
    if re.fullmatch(r"\s*(?:[-*+]\s+)?\d{1,3}", found.string[: found.start(2)]):
        return found[0]
    marks = re.findall(r"\[\d{1,4}\]", found.group(1) + found.group(3))
    return " " + "".join(dict.fromkeys(marks)) + found.group(2)


def _once(run: re.Match[str]) -> str:
    """A run of marks that names a source twice, each source once in order ("[3][4][5] [3]" -> "[3][4][5]");
    a run without a repeat stays as the model wrote it."""
    marks = re.findall(r"\[\d{1,4}\]", run.group(0))
    return "".join(dict.fromkeys(marks)) if len(set(marks)) < len(marks) else run.group(0)


# A bold mark as a list item's label ("- **[3]** The Goths were ..."): the README run's writer (session 28)
# put each fact's citation first; it goes after its claim ("- The Goths were ... [3].").
_BOLD_LEAD = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)\*\*((?:\[\d{1,4}\])+)\*\*:?\s+(\S.*?)\s*([.!?]?)\s*$")
# A group heading labelled as one ("### Group 3: Internal Factors"; "## Section: Goths", a README report
# replayed in session 35, after "one section for each group" in prompts/shape.md): the topic is the heading
_GROUP = re.compile(r"^(#{1,6}\s+)(?:group|topic|section)(?:\s+\d+\s*[:.\-–]|\s*:)\s*(?=\S)", re.I)


def _marks_out_of_place(markdown: str) -> tuple[str, int]:
    """Drop lines that hold only citation marks; move a bold mark labelling a list item after its claim;
    drop "Group 3:" from a heading; turn a leading mark into a list bullet (several such
    lines in a row: a list the model numbered with marks) or drop it (one line); name a source once in a
    run of marks side by side (a 1.5B wrote "**Laser cutting** [3][4][5] [3]")."""
    lines = markdown.split("\n")
    moved = [_BOLD_LEAD.sub(lambda m: f"{m[1]}{m[3]} {m[2]}{m[4] or '.'}", line) for line in lines]
    fixes = sum(a != b for a, b in zip(lines, moved, strict=True))
    lines = [_GROUP.sub(r"\1", line) for line in moved]
    fixes += sum(a != b for a, b in zip(moved, lines, strict=True))
    leading = [None if line.lstrip().startswith("#") else _LEADING_MARK.match(line) for line in lines]
    out: list[str] = []
    for i, line in enumerate(lines):
        if _ONLY_MARKS.match(line):
            fixes += 1
            continue
        if m := leading[i]:
            in_list = (i > 0 and leading[i - 1]) or (i + 1 < len(lines) and leading[i + 1])
            indent = m.group(1)
            line = (indent if indent.strip() or not in_list else indent + "- ") + line[m.end() :]
            fixes += 1
        once = _MARK_RUN.sub(_once, line)
        fixes += once != line
        out.append(once)
    return "\n".join(out), fixes
