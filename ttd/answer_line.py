"""The line a short answer's report opens with: "**Answer:** X [n]", borne out by the evidence.

The report stage (`ttd.stages.report`) asks its writer to close with "Answer: X"; X opens the report only
when the report's checked sentences, or the passages they cite, hold it (`grounded_marks`). Otherwise
the cited sentence that best answers the question opens it (`answer_line`), from the report's supported
claims or the step answers: the reader sees the answer and its evidence first.
"""

from __future__ import annotations

import re

from ttd.citations import MARK
from ttd.claims import remove_claims, split_claims
from ttd.facts import resolved
from ttd.hygiene import is_meta
from ttd.reader import clean_stated
from ttd.state import QARecord
from ttd.terms import SENTENCE, terms

STATED_WORDS = 12  # a stated answer longer than this is a sentence, not a short answer


# "Answer: X" closing the text, on its own line or after the last sentence ("... [2]. Answer: X"); marks
# before it stay with the sentence they follow ("Tottenham. [2], [5] Answer: Spurs")
_STATED = re.compile(r"(?:^|(?<=[.!?\]]) )[^\w\[]*(?:final |short )?answer\W*:\W*(.+)$", re.I | re.M)


def answer_line(
    question: str, qa: list[QARecord], supported: list[str], titles: dict[int, str] | None = None
) -> str | None:
    """The cited sentence that best answers the question, from verified report claims or the step answers.
    A step answer's sentence led by its marks has them moved to its end, and given `titles` (source number
    -> page title) any candidate's pronoun subject is named after its page (`facts.resolved`) or the
    candidate goes ("He ...", "They ..."): a HotpotQA report opened "**Answer:** [1] It is a deciduous
    shrub ..." (1 of 36 recorded answer lines)."""
    words = set(re.findall(r"[a-z0-9]+", question.lower()))
    cited = [c for c in supported if MARK.search(c)]
    for r in reversed(qa):
        cited += [_marks_last(s.strip()) for s in SENTENCE.findall(r["answer"]) if MARK.search(s)]
    if titles is not None:
        cited = [n for c in cited if (n := resolved(c, titles))]
    # "Passage [1] does not answer this" answers nothing, nor does a fragment of marks ("[1], [3]")
    cited = [c for c in cited if not is_meta(c) and len(terms(MARK.sub("", c))) >= 2]
    if not cited:
        return None
    return max(cited, key=lambda s: len(words & set(re.findall(r"[a-z0-9]+", s.lower()))))


_LEADING_MARKS = re.compile(r"^((?:\[\d{1,4}\][\s,]*)+)(\S.*?)\s*([.!?]?)$")


def _marks_last(sentence: str) -> str:
    """ "[1] It is a shrub [2]." -> "It is a shrub [1][2].": a 1.5B's answer leads each sentence with its
    mark."""
    if not (m := _LEADING_MARKS.match(sentence)):
        return sentence
    marks = "".join(f"[{n}]" for n in dict.fromkeys(MARK.findall(sentence)))
    return f"{' '.join(MARK.sub('', m[2]).split())} {marks}{m[3]}"


def split_stated_answer(text: str, most_words: int = STATED_WORDS) -> tuple[str, str | None]:
    """The text without its closing "Answer: X" line, and X without marks or quotes (None when there is
    no such line or X is a sentence rather than a short answer)."""
    found = list(_STATED.finditer(text))
    if not found:
        return text, None
    last = found[-1]
    stated = clean_stated(last.group(1))
    if not stated or len(stated.split()) > most_words:
        return text, None
    return (text[: last.start()] + text[last.end() :]).strip(), stated


def grounded_marks(
    stated: str, kept: list[str], passages: dict[int, str], shown: list[int] | None = None
) -> str | None:
    """The marks that bear out the stated answer, or None: those of the report's supported sentences
    that hold every word of it together, else those of the passages these sentences cite (then of the
    `shown` ones: those they cited as written, before their marks were cut to their verdicts, and those
    the reader was shown) that hold every word of it ("Spurs" beside the checked "It is also
    known as Tottenham [2]", whose passage says "Tottenham or Spurs"). A yes/no answer needs one
    supported sentence. The answer line is a conclusion from the evidence, so it is shown only with a
    checked sentence or a passage (cited by one, or read by the reader) that holds it."""
    words = terms(stated) or {stated.lower()}
    if stated.lower() in ("yes", "no"):
        bearing = kept
    else:
        held = {k: terms(k) | {k.lower()} for k in kept}
        bearing = [k for k in kept if words & held[k]]
        if not words <= set().union(*(held[k] for k in bearing)):
            cited = dict.fromkeys([*(int(n) for n in MARK.findall(" ".join(kept))), *(shown or [])])
            holding = [n for n in cited if words <= terms(passages.get(n, ""))]
            return "".join(f"[{n}]" for n in holding[:3]) or None
    marks = list(dict.fromkeys(re.findall(r"\[\d{1,4}\]", " ".join(bearing))))
    return "".join(marks[:3]) or None


def answer_first(body: str, question: str, qa: list[QARecord], titles: dict[int, str]) -> str:
    """R_T as a report: its first claim is its answer sentence (the short draft's shape); cited, it becomes
    the answer line, else the cited sentence that best answers the question does."""
    claims = split_claims(body)
    if claims and MARK.search(claims[0].text):
        return open_with(remove_claims(body, {claims[0].text}), claims[0].text)
    line = answer_line(question, qa, [c.text for c in claims], titles)
    return open_with(body, line) if line else body


def open_with(body: str, line: str, own: bool = True) -> str:
    """Open with the answer line (after the title): the report's own "**Answer:**" line wherever the model
    put it (with `own`), else `line`, the cited sentence from the evidence that best answers the question
    or the stated answer the report's supported sentences bear out."""
    lines = body.strip().split("\n")
    title = lines[0] if lines and lines[0].startswith("# ") else ""
    labelled = [ln for ln in lines if re.match(r"\s*\*\*Answer:\*\*", ln)]
    # an answer line left with nothing but marks (its claim was dropped as unsupported) answers nothing
    own_line = next(
        (ln for ln in labelled if own and re.search(r"[^\W\d_]", re.sub(r"\*\*Answer:\*\*|\[\d+\]", "", ln))),
        None,
    )
    rest = "\n".join(ln for ln in (lines[1:] if title else lines) if ln not in labelled).strip()
    answer = own_line.strip() if own_line else f"**Answer:** {line.strip()}"
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(p for p in (title, answer, rest) if p))
