"""Whether a passage is about a report question's subject: the gate before its sentences become facts.

The offline corpus has no page on 9 of the 10 DeepConsult subjects, and grounding grafted the nearest
passage sentences all the same (Pencil, Dyslexia, Pride and Prejudice into drafts on TikTok and AI
agents); the lexical check counted them supported, so the noise fell with no evidence on the subject
(evals/results/longform_noise.md, session 28). The model check (`ttd.relevance`) is off with the embedded
model: it dropped more on-topic facts than off-topic ones (session 26). So, in code, a passage bears on a
report question only when it names the question's subject:

- the subject is the names in the question's opening paragraph: quoted phrases ('Unbanked Market
  Access'), runs of capitalised words (Western Roman Empire, Khosla Ventures; a sentence's first word only
  when it is plainly a name or opens one) and acronyms (AI, KKR);
- a passage names a name when it holds each of its words (stemmed: "Americans" names America; an
  adjective names its place: "Rome's" names Roman). A capitalised name of three words or more is named
  by all its words but one ("Roman Empire"), or by a people's adjective in it ("Roman" army); a quoted
  one of plain words by all but one side by side ("lead times" names 'Manufacturing Lead Times', "lead"
  and "time" apart do not). Two-word names need both words ("United Kingdom" is not "United States");
- a page whose title's every word is in the question is about it ("Population ageing");
- a question with no name ("the role activist shareholders play in ...") is about its first sentence's
  content words less the instructions ("analyze", "explore"), and a passage shares three of them.

On HotpotQA paragraphs (evals/subject_gate.py) it keeps most supporting paragraphs and drops most of
another question's, but keeps most distractors, which HotpotQA chose to name the same things; it misses
bridge passages that name none of the question's names (a page on the Roman tax base that says "western
provinces" only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ttd.config import ResearchConfig
from ttd.formatting import bare_title
from ttd.shape import short_answer
from ttd.terms import SENTENCE, STOPWORDS, stems, terms
from ttd.terms import stem as stem_of

_QUOTED = re.compile(r"(?<!\w)['‘\"“]([^'’\"”\n]{3,60}?)['’\"”](?!\w)")
_WORD = re.compile(r"[A-Za-z0-9][\w+#&.'’-]*")
_ACRONYM = re.compile(r"^(?:[A-Z][A-Za-z]{0,3}[A-Z]s?|[A-Z]{2,5}s?)$")  # AI, KKR, IoT, KPIs, M&A less the &
# a first sentence's words that ask for work rather than name what it is about
_ASKS = frozenset(
    (
        "analyze analyse analysis evaluate evaluating examine investigate explore exploration conduct depth "
        "role play chart break compose describe discuss assess identify consider potential comprehensive "
        "thorough insightful detailed key various report memo provide offer highlight compare explain "
        "summarize summarise outline review write tell give list find"
    ).split()
)


SHARED = 3  # first-sentence words a passage shares with a question that names nothing (2 let in Jane Jacobs)


_PEOPLE = re.compile(r"(?:an|ian|ese|ish)$")  # Roman, Italian, Chinese, British: a people's adjective


@dataclass(frozen=True)
class Subject:
    """What a report question is about: its names, else its first sentence's content words."""

    names: tuple[str, ...]
    quoted: frozenset[str]  # the names the question quotes: of plain words ('Manufacturing Lead Times')
    words: frozenset[str]  # stems of the first sentence's content words, for a question with no name
    question: frozenset[str]  # stems of every content word of the question (for the title rule)


def subject(question: str) -> Subject:
    """The names the question's opening paragraph gives its subject, and the stems to fall back on."""
    opening = re.split(r"\n\s*\n|\n\s*(?:\d+[.)]|[-*])\s", question.strip(), maxsplit=1)[0]
    quoted = [m.group(1).strip(" .,;:!?") for m in _QUOTED.finditer(opening)]
    rest = _QUOTED.sub(" . ", opening)
    names = list(quoted)
    for sentence in SENTENCE.findall(rest):
        for segment in re.split(r"[:;,()\[\]]", sentence):  # a name runs on across spaces only
            tokens = [re.sub(r"(?:['’]s?)$", "", raw).rstrip(".-") for raw in _WORD.findall(segment)]
            run: list[str] = []
            for i, word in enumerate(tokens):
                after = tokens[i + 1] if i + 1 < len(tokens) else ""
                if _named(word, first=i == 0, before_name=after[:1].isupper()):
                    run.append(word)
                    continue
                if run:
                    names.append(" ".join(run))
                run = []
            if run:
                names.append(" ".join(run))
    # a run inside a quoted name is that name again ("Market Access" in 'Unbanked Market Access')
    kept = [n for n in dict.fromkeys(names) if n and not any(n != q and n in q for q in quoted)]
    first = SENTENCE.findall(opening)[0] if SENTENCE.findall(opening) else opening
    return Subject(
        names=tuple(kept),
        quoted=frozenset(quoted),
        words=frozenset(stems(terms(first) - _ASKS)),
        question=frozenset(stems(terms(question))),
    )


def _named(word: str, first: bool, before_name: bool) -> bool:
    """Whether a word of the question is part of a name: capitalised, not a stopword or a lone letter
    ("I"); a sentence's first word only when it is plainly a name (an acronym, "TikTok") or opens one
    ("Khosla Ventures has ...", but not "Analyze KKR's ...")."""
    if not word[:1].isupper() or word.lower() in STOPWORDS or len(word) < 2:
        return False
    if not first or _ACRONYM.match(word) or re.search(r"[a-z][A-Z]", word):
        return True
    return before_name and word.lower() not in _ASKS


def _words(name: str) -> list[str]:
    """A name's words, split at hyphens too ("Brain-Computer Interfaces", "AI-enhanced")."""
    return [w for w in re.findall(r"[A-Za-z0-9+#&]+", name) if w.lower() not in STOPWORDS]


def _holds(word: str, text: str, held: set[str]) -> bool:
    """Whether a passage holds one word of a name: an acronym as written, another word by its stem, a
    longer word on the same stem ("Americans") or the name's adjective ("Roman" for Rome)."""
    if _ACRONYM.match(word):
        return re.search(rf"(?<!\w){re.escape(word.rstrip('s'))}s?(?!\w)", text) is not None
    stem = stem_of(word)
    if stem in held or (len(stem) >= 5 and any(s.startswith(stem) for s in held)):
        return True
    return _adjective(word).search(text) is not None


def _adjective(word: str) -> re.Pattern[str]:
    """The name, its adjective or people, or the place an adjective names, capitalised: Rome -> Roman,
    China -> Chinese, Italy -> Italian, and Roman -> Rome."""
    name = word[:1].upper() + word[1:]
    root = re.escape(name[:-1] if name[-1] in "aeiouy" else name)
    forms = [re.escape(name), rf"{root}(?:an|ian|ese|ish|ic|n)"]
    if m := re.match(r"^(.+?)(?:ian|an|ese|ish)$", name):
        forms.append(rf"{re.escape(m.group(1))}(?:e|a|o|y|ia|an)?")  # Rome, Italy, Japan
    return re.compile(rf"(?<!\w)(?:{'|'.join(forms)})s?(?!\w)")


def about(topic: Subject, record: dict[str, Any]) -> bool:
    """Whether the passage `record` (title and text) bears on the question `topic` was read from."""
    title = bare_title(str(record.get("title", "")))
    text = f"{title}. {record.get('text', '')}"
    held = stems(terms(text))
    own = stems(terms(title))
    if len(terms(title)) >= 2 and own <= topic.question:  # "Population ageing" for America's aging population
        return True
    if not topic.names:
        return len(held & topic.words) >= SHARED
    for name in topic.names:
        words = _words(name)
        holds = [_holds(w, text, held) for w in words]
        if words and all(holds):
            return True
        if name not in topic.quoted:
            # a longer name held but for one word ("Roman Empire"), or a people's adjective in it held
            # ("Roman" army for the Western Roman Empire; not "Western Europe" or the "Ottoman Empire")
            if len(words) >= 3 and sum(holds) >= len(words) - 1:
                return True
            if len(words) >= 2 and any(_PEOPLE.search(w) and _adjective(w).search(text) for w in words):
                return True
            continue
        # a quoted name of plain words: all but one, side by side ("lead times", not "lead" and "time")
        for part in (words[:-1], words[1:]) if len(words) >= 3 else ():
            phrase = r"\W+".join(re.escape(w) + r"(?:e?s)?" for w in part)
            if re.search(rf"(?<!\w){phrase}(?!\w)", text, re.I):
                return True
    return False


def on_subject(question: str, sources: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The passages of `sources` about the question's subject, keyed as given."""
    topic = subject(question)
    return {k: r for k, r in sources.items() if about(topic, r)}


def evidence_for(
    question: str, sources: dict[str, dict[str, Any]], config: ResearchConfig
) -> dict[str, dict[str, Any]]:
    """The passages a claim of `question`'s drafts and report may rest on: for a report question with
    `verify.subject` on, those about its subject (a claim copied from a page on Market failure is no
    evidence on TikTok bans, and pruning around it left a draft "clean" of everything else); else all."""
    if not config.verify.subject or short_answer(question):
        return sources
    return on_subject(question, sources)


def scoped(question: str, query: str) -> str:
    """A report question's search query that names its subject: `query` with the question's names added
    when it names none of them. The 1.5B's question agent asked "What were the key economic indicators
    that led to the inflation in 536 AD?" on the fall of Rome; the index gave pages on inflation and
    Hayek, none of which counts as evidence on Rome (the README run, session 29)."""
    topic = subject(question)
    if not topic.names or about(topic, {"title": "", "text": query}):
        return query
    return f"{query} ({'; '.join(topic.names)})"
