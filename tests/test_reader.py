"""The short answer's reader: a sentence per call, from the question's passages, then the run's nearest."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.test_claims import Wiki
from tests.test_shape import SHORT, _two_hops
from ttd.reader import short_form, split_answer

HUNS = "The Huns pushed the Goths across the Danube in 376."
NO_SAY = "The passage does not say what the answer is."


@pytest.mark.parametrize(
    ("sentence", "said", "stated"),
    [
        ("So the answer is: the Visigoths.", "", "the Visigoths"),
        (
            "The Goths won at Adrianople [3]. So the answer is: Goths [3]",
            "The Goths won at Adrianople [3].",
            "Goths",
        ),
        ("Therefore the final answer is Simone Bolelli.", "", "Simone Bolelli"),  # a bare opener goes
        ("The correct answer is Parsifal.", "", "Parsifal"),
        ("So the answer is: Goths. They crossed the Danube in 376 [2].", "", "Goths"),
        # an initial is no sentence end (HotpotQA, The 7 Habits: "Stephen R" was scored)
        ("So the answer is: Stephen R. Covey. He wrote it in 1989 [1].", "", "Stephen R. Covey"),
        ("So the answer is: J. M. Barrie lived longer.", "", "J. M. Barrie lived longer"),
        ("So the answer is: St. Louis, Missouri.", "", "St. Louis, Missouri"),
        ("Thus, the answer is not in the passages.", "Thus, the answer is not in the passages.", None),
        (NO_SAY, NO_SAY, None),
        ("Answer: **Spurs**", "", "Spurs"),
        ("To answer this, we need the band's drummer.", "To answer this, we need the band's drummer.", None),
        (HUNS, HUNS, None),
    ],
)
def test_a_reasoning_sentence_is_split_from_its_stated_answer(sentence, said, stated):
    assert split_answer(sentence) == (said, stated)


@pytest.mark.parametrize(
    ("stated", "question", "short"),
    [
        # a choice question's answer is the option the sentence names first
        (
            "Elia Kazan lived to be much older than Moustapha Akkad",
            "Who lived to an older age, Elia Kazan or Moustapha Akkad?",
            "Elia Kazan",
        ),
        (
            "Parsifal has more acts than Manon",
            "Which opera has more acts, Parsifal or Manon by Massenet?",
            "Parsifal",
        ),
        ("Yes, both bands are American", "Are Rush and Nickelback both Canadian bands?", "Yes"),
        ("no", "Is Parsifal an opera by Massenet?", "No"),
        # the 0.5B's "No" run into its sentence (compare.md)
        (
            "No Einstein and Newton were not both physicists",
            "Were Einstein and Newton both physicists?",
            "No",
        ),
        # a name that opens with "No" is no "No" ("No Doubt" the band)
        (
            "No Doubt was formed in Anaheim",
            "Was No Doubt formed in California?",
            "No Doubt was formed in Anaheim",
        ),
        # only a yes/no question's answer is cut to Yes/No
        ("No information is given", "Who directed Jaws?", "No information is given"),
        ("No. 9", "Which shirt number did he wear?", "No. 9"),
        # options matched as words; where both start, the longer
        ("Mary Shelley wrote it first", "Who wrote earlier, Mary or Mary Shelley?", "Mary Shelley"),
        ("Brushed steel, by Steel", "Which band is older, Rush or Steel?", "Steel"),
        ("No one", "Who defeated the Visigoths?", "No one"),
        (  # an option that ends in a full stop (review)
            "Martin Luther King, Jr. was born before Malcolm X",
            "Who was born first, Martin Luther King, Jr. or Malcolm X?",
            "Martin Luther King, Jr.",
        ),
        ("the Visigoths", "Which people defeated the Roman army at Adrianople?", "the Visigoths"),
        # neither option named: the sentence stays a sentence (the report checks it like the others)
        (
            "Both were born in 1985",
            "Who was born earlier, Simone Bolelli or Caroline Wozniacki?",
            "Both were born in 1985",
        ),
    ],
)
def test_a_stated_sentence_is_reduced_to_its_short_answer(stated, question, short):
    assert short_form(stated, question) == short


def _passages(call) -> list[int]:
    return [int(n) for n in re.findall(r"^\[(\d+)\] ", call.prompt, re.M)]


def test_the_reader_starts_from_the_questions_passages_and_grows_by_its_reasoning(scripted, tmp_path):
    scripted.reply(
        "report",
        "The Huns pushed the Goths across the Danube in 376.",
        "So the answer is: the Visigoths.",
    )
    report = _two_hops(scripted, tmp_path, short_report="reason")
    reads = [c for c in scripted.calls if c.role == "report"]
    assert len(reads) == 2  # a sentence that is not yet the answer, then the answer: no writer call
    assert all("Write the next single sentence of reasoning" in c.prompt for c in reads)
    assert [c.params.get("temperature") for c in reads] == [0.0, 0.0]  # greedy reading; the run's is 0.4
    by_title = {s.title: s.n for s in report.trajectory.retrieved}
    first = [by_title[p.title] for p in asyncio.run(Wiki().search(SHORT, k=2))]
    assert _passages(reads[0]) == first  # what the research question itself retrieves, best first
    # the second call adds the run's passage nearest the first sentence, which it carries forward
    added = [n for n in _passages(reads[1]) if n not in first]
    # the run's passages sharing the most words with that sentence: the Huns passage names the Danube
    assert by_title["Huns"] in added or by_title["Huns"] in first
    assert added and set(added) <= set(by_title.values())
    assert "The Huns pushed the Goths" in reads[1].prompt
    # "the Visigoths" is held by the Huns passage the reader was shown: the answer line cites it
    huns = next(s.n for s in report.sources if s.title == "Huns")
    assert report.markdown.split("\n\n")[1] == f"**Answer:** the Visigoths [{huns}]"
    assert report.citations.answer_stated == 1 and report.citations.evidence_section == 0
    assert report.citations.from_draft == 0


def test_a_reader_that_never_states_an_answer_is_counted_and_opens_with_a_cited_sentence(scripted, tmp_path):
    scripted.respond("report", lambda m: "The Visigoths defeated the Roman army at Adrianople in 378.")
    report = _two_hops(scripted, tmp_path, short_report="reason", hops=2)
    reads = [c for c in scripted.calls if c.role == "report"]
    assert len(reads) == 3  # hops + 1 sentences, then it stops
    opening = report.markdown.split("\n\n")[1]
    assert opening.startswith("**Answer:**") and re.search(r"\[\d+\]", opening)
    assert report.citations.answer_stated == 0  # the fallback a benchmark counts
