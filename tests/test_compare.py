"""Comparison questions: found from the question's words and pages, read entity by entity, then compared."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

import ttd
import ttd.retrieval
from tests.conftest import scripted_models
from tests.test_claims import answer_from_passage, revise_with_answer
from ttd.compare import (
    Comparison,
    by_years,
    comparison,
    dated,
    entity_passages,
    lifespan_hint,
    sub_question,
)
from ttd.retrieval.base import SourceRegistry

PAGES = {
    "Simone Bolelli": "Simone Bolelli (born 8 October 1985) is an Italian professional tennis player.",
    "Caroline Wozniacki": "Caroline Wozniacki (born 11 July 1990) is a Danish former tennis player.",
    "Tennis": "Tennis is a racket sport played by two players, Bolelli and Wozniacki among many others.",
    "Wozniacki (surname)": "Wozniacki is a Polish surname borne by a tennis player and her father.",
}
CHOICE_Q = "Who was born earlier, Simone Bolelli or Caroline Wozniacki?"


class Pages(ttd.retrieval.Retriever):
    """A fixed corpus of titled pages; a query gets the pages sharing most of its words, best first."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    async def search(self, query, k=5):
        self.queries.append(query)
        words = set(re.findall(r"\w+", query.lower()))
        ranked = sorted(PAGES, key=lambda t: -len(words & set(re.findall(r"\w+", f"{t} {PAGES[t]}".lower()))))
        return [
            ttd.retrieval.Passage(id=f"doc:{t}", title=t, text=PAGES[t], location=f"/docs/{t}")
            for t in ranked[:k]
        ]


@pytest.mark.parametrize(
    ("question", "titles", "found"),
    [
        (CHOICE_Q, [], Comparison("choice", ("Simone Bolelli", "Caroline Wozniacki"))),
        (  # a comma before "or" (HotpotQA: "DC Talk, or Manchester Orchestra")
            "Which music group has the most members, DC Talk, or Manchester Orchestra?",
            [],
            Comparison("choice", ("DC Talk", "Manchester Orchestra")),
        ),
        (  # a yes/no question's entities are the pages it names; "ESA" is no page of the run
            "Were both Ernst Messerschmid and Reinhold Ewald ESA astronauts?",
            ["Reinhold Ewald", "Ernst Messerschmid", "European Space Agency", "Astronaut"],
            Comparison("yes_no", ("Ernst Messerschmid", "Reinhold Ewald")),
        ),
        (
            "Are the flowering plants Ecballium and Elatostema in the same family?",
            ["Elatostema", "Ecballium (plant)", "Urticaceae"],
            Comparison("yes_no", ("Ecballium", "Elatostema")),
        ),
        (
            "What profession did Alan Crosland and Kurt Voss both hold?",
            ["Alan Crosland", "Kurt Voss", "Contraband (1925 film)"],
            Comparison("common", ("Alan Crosland", "Kurt Voss")),
        ),
        # not comparisons: a bridge question through two pages, one page, three pages, no "or"
        ("What did the director of Jaws and Duel win?", ["Jaws", "Duel"], None),
        ("Are Karl Shapiro and Elie Wiesel both American writers?", ["Karl Shapiro"], None),
        ("Are Karl Shapiro and Bob both American writers?", ["Karl Shapiro", "Writer", "American"], None),
        (
            "The Havanese and the Black Mouth Cur are both which kind of animal?",
            ["Black Mouth Cur", "Havanese"],
            Comparison("common", ("Havanese", "Black Mouth Cur")),
        ),
        ("Who directed Jaws?", ["Jaws", "Steven Spielberg"], None),
        (  # a name's suffix after a comma is inside its option
            "Who was born first, Martin Luther King, Jr. or Malcolm X?",
            [],
            Comparison("choice", ("Martin Luther King, Jr.", "Malcolm X")),
        ),
        (  # a clause before the options is not a third option
            "In 1990, which band formed earlier, CKY or Violent Femmes?",
            [],
            Comparison("choice", ("CKY", "Violent Femmes")),
        ),
        # three options or three pages: not a two-entity comparison (it was read as its last two)
        ("Which band formed first, Rush, Queen, or Yes?", [], None),
        ("Which band formed first, Rush, Queen or Yes?", [], None),
        ("Are Rush, Queen and Genesis all British bands?", ["Rush", "Queen", "Genesis"], None),
        ("Which is older, Rush or Rush?", [], None),
        (  # spaces as HotpotQA has them
            "Which dog is a giant breed, the  Leonberger or the Basset Hound?",
            [],
            Comparison("choice", ("the Leonberger", "the Basset Hound")),
        ),
    ],
)
def test_a_comparison_is_found_from_the_questions_words_and_the_pages_it_names(question, titles, found):
    assert comparison(question, titles) == found


def test_an_entitys_passages_are_its_own_page_first_then_a_disambiguated_one():
    records = {
        f"doc:{t}": {"id": f"doc:{t}", "n": n, "title": t, "text": "x"}
        for n, t in enumerate(["Tony Kaye (musician)", "Tony Kaye", "Tony Kaye (director)", "Kaye"], 1)
    }
    assert [r["title"] for r in entity_passages("Tony Kaye", records)] == [
        "Tony Kaye",
        "Tony Kaye (musician)",
    ]
    # punctuation is no difference ("...All the Marbles"); a page merely naming it is not its page
    marbles = {"a": {"n": 1, "title": "...All the Marbles", "text": ""}, "b": {"n": 2, "title": "Marbles"}}
    assert [r["title"] for r in entity_passages("All the Marbles", marbles)] == ["...All the Marbles"]
    # but "C++" is not "C": the + and # of a name are kept
    langs = {"c": {"n": 1, "title": "C (programming language)", "text": ""}, "p": {"n": 2, "title": "C++"}}
    assert [r["title"] for r in entity_passages("C++", langs)] == ["C++"]
    assert [r["title"] for r in entity_passages("C", langs)] == ["C (programming language)"]


@pytest.mark.parametrize(
    ("question", "found", "entity", "asked"),
    [
        (
            CHOICE_Q,
            Comparison("choice", ("Simone Bolelli", "Caroline Wozniacki")),
            "Simone Bolelli",
            "Who was born earlier? Give the year.",  # a date comparison: the years decide (by_years)
        ),
        (
            "Which playwright lived a longer life, Edward Albee or J. M. Barrie?",
            Comparison("choice", ("Edward Albee", "J. M. Barrie")),
            "J. M. Barrie",
            "When was J. M. Barrie born, and when did J. M. Barrie die? Give both years.",
        ),
        (
            "Who won more academy awards, Joseph L. Mankiewicz or Tony Kaye?",
            Comparison("choice", ("Joseph L. Mankiewicz", "Tony Kaye")),
            "Tony Kaye",
            "Who won more academy awards?",
        ),
        (
            "Are Sutera and Rhodotypos both types of shrub?",
            Comparison("yes_no", ("Sutera", "Rhodotypos")),
            "Rhodotypos",
            "Are Rhodotypos types of shrub?",
        ),
        (
            "The Havanese and the Black Mouth Cur are both which kind of animal?",
            Comparison("common", ("Havanese", "Black Mouth Cur")),
            "Havanese",
            "The Havanese are which kind of animal?",
        ),
    ],
)
def test_each_entity_is_asked_the_question_without_the_other(question, found, entity, asked):
    assert sub_question(question, found, entity) == asked


@pytest.mark.parametrize(
    ("question", "facts", "picked"),
    [
        (
            "Which band formed earliest, CKY or Violent Femmes?",
            ("formed in 1998 [1].", "formed in 1980 [2]."),
            "B",
        ),
        ("Which film came out later, A or B?", ("released in 1981 [1].", "released in 1962 [2]."), "A"),
        # lifespans: Kazan 94 years, Akkad 75 (the 1.5B picked Akkad)
        ("Who lived to an older age, A or B?", ("(1909 - 2003) [1].", "(1930 - 2005) [2]."), "A"),
        # born: the earliest year a fact names is the birth
        ("Who was born earlier, A or B?", ("born 1985, won in 2010 [1].", "born 1990 [2]."), "A"),
        # which of two years is the one asked for is unknown; a tie; a fact without a year; no date asked
        ("Which band formed earliest, A or B?", ("formed 1998, split 2011 [1].", "formed 1980 [2]."), None),
        ("Which band formed earliest, A or B?", ("formed in 1980 [1].", "formed in 1980 [2]."), None),
        ("Which band formed earliest, A or B?", ("formed in Ohio [1].", "formed in 1980 [2]."), None),
        ("Which band has more members, A or B?", ("formed in 1998 [1].", "formed in 1980 [2]."), None),
    ],
)
def test_a_date_comparison_is_decided_by_the_years_in_code(question, facts, picked):
    assert by_years(question, dict(zip(("A", "B"), facts, strict=True))) == picked


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who lived to an older age, Elia Kazan or Moustapha Akkad?", "life"),
        ("Which playwright lived a longer life, Edward Albee or J. M. Barrie?", "life"),
        ("Which women's magazine was published first, Mirabella or Home Monthly?", "date"),
        ("Which person went into space at a later date, Sigmund Jahn or Christer Fuglesang?", "date"),
        # not a date order: where someone lived, an ordinal, a count
        ("Which composer lived in Vienna, Mozart or Handel?", None),
        ("Who was the first woman to fly solo across the Atlantic, Amelia Earhart or Bessie Coleman?", None),
        ("Which band has more members, DC Talk or Manchester Orchestra?", None),
    ],
)
def test_only_a_date_or_lifespan_order_is_left_to_the_years(question, kind):
    assert dated(question) == kind


def test_a_life_question_gets_each_lifespan_worked_out():
    q = "Which playwright lived a longer life, Edward Albee or J. M. Barrie?"
    assert lifespan_hint("Edward Albee (1928 - 2016) was a playwright [3].", q) == " (1928-2016: 88 years)"
    assert lifespan_hint("Edward Albee (1928 - 2016) was a playwright [3].", CHOICE_Q) == ""
    assert lifespan_hint("Albee was born in 1928 [3].", q) == ""


def _one_fact_each(messages) -> str:
    prompt = messages[-1]["content"]
    if "Compare the facts" in prompt:
        return "Bolelli: Italian; Wozniacki: Danish. So the answer is: No."
    entity = re.search(r"Write ONE sentence about (.+?), taken", prompt).group(1)
    n, said = re.search(
        rf"^\[(\d+)\] {re.escape(entity)}: .*?\(([^)]+)\) is an? (\w+)", prompt, re.M
    ).groups()[:2]
    return f"{entity} was {said} [{n}]. The other passage is about tennis."


def _research(scripted, tmp_path, question: str, report, k: int = 2):
    scripted.reply("plan", json.dumps({"areas": [{"title": "Births", "goal": "Find both birth dates"}]}))
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", revise_with_answer)
    scripted.respond("draft", lambda m: "# Births\n\nBoth are tennis players.\n")
    scripted.respond("verify", lambda m: json.dumps({"verdicts": []}))
    scripted.respond("report", report)
    return ttd.research(
        question, out=tmp_path, retriever=Pages(), k=k, steps=2, short_report="reason", **scripted_models()
    )


def test_a_date_comparison_is_read_one_fact_per_entity_and_decided_by_its_years(scripted, tmp_path):
    report = _research(scripted, tmp_path, CHOICE_Q, _one_fact_each)
    reads = [c for c in scripted.calls if c.role == "report"]
    # one fact per entity, each from that entity's own page alone; the years decide: no third call
    assert [re.findall(r"^\[\d+\] ([^:]+):", c.prompt, re.M) for c in reads] == [
        ["Simone Bolelli"],
        ["Caroline Wozniacki"],
    ]
    assert all(
        "Write ONE sentence" in c.prompt and "turns on:\nWho was born earlier?" in c.prompt for c in reads
    )
    assert "Wozniacki" not in reads[0].prompt and "Bolelli" not in reads[1].prompt  # nothing to compare with
    assert all(c.params.get("temperature") == 0.0 for c in reads)
    by_title = {s.title: s.n for s in report.sources}
    assert report.markdown.split("\n\n")[1] == f"**Answer:** Simone Bolelli [{by_title['Simone Bolelli']}]"
    assert report.citations.compared == 1 and report.citations.answer_stated == 1
    # the facts (their first sentences) are the report's body, checked and cited like a reader's
    assert "Caroline Wozniacki was born 11 July 1990" in report.markdown
    assert "The other passage" not in report.markdown
    saved = json.loads((tmp_path / report.run_id / "report.json").read_text())
    assert saved["citations"]["compared"] == 1


def test_a_yes_no_comparison_is_decided_by_the_model_from_the_two_facts(scripted, tmp_path):
    # "tennis" names the run's page "Tennis", but in lower case: no entity of the comparison
    question = "Are Simone Bolelli and Caroline Wozniacki both Italian tennis players?"
    report = _research(scripted, tmp_path, question, _one_fact_each, k=3)  # the run finds both pages
    reads = [c for c in scripted.calls if c.role == "report"]
    assert len(reads) == 3
    decide = reads[2].prompt
    assert "- Simone Bolelli was born 8 October 1985 [" in decide
    assert "- Caroline Wozniacki was born 11 July 1990 [" in decide
    assert "The other passage" not in decide and "X is Yes or No" in decide
    assert report.markdown.split("\n\n")[1].startswith("**Answer:** No [")
    assert report.citations.compared == 1


def test_a_comparison_without_an_answer_falls_back_to_the_hop_reader_and_is_not_counted(scripted, tmp_path):
    def unsure(messages) -> str:
        prompt = messages[-1]["content"]
        if "Compare the facts" in prompt:
            return "It is hard to say which of the two facts settles the question of who came first."
        if "Write ONE sentence" in prompt:
            return "The passages do not say."
        return "So the answer is: Simone Bolelli."

    report = _research(scripted, tmp_path, CHOICE_Q, unsure)
    prompts = [c.prompt for c in scripted.calls if c.role == "report"]
    assert sum("Write ONE sentence" in p for p in prompts) == 2
    assert not any("Compare the facts" in p for p in prompts)  # no fact: nothing to compare
    assert "Write the next single sentence of reasoning" in prompts[-1]
    assert report.citations.compared == 0
    assert report.markdown.split("\n\n")[1].startswith("**Answer:** Simone Bolelli")


@pytest.mark.real
def test_the_real_model_reads_a_comparison_from_the_offline_index_entity_by_entity():
    """The real path: the offline Wikipedia index, the real 0.5B, the reader as the report stage calls it."""
    pytest.importorskip("xllamacpp", reason="needs the local extra: pip install 'ttd-dr[local]'")
    from ttd.reader import read
    from ttd.run import dependencies, settings

    question = "Were Albert Einstein and Isaac Newton both physicists?"
    deps = dependencies(settings(model="local/qwen2.5-coder-0.5b", temperature=0.0))

    async def main():
        try:
            # the run's earlier steps found Newton's page (the question's own search finds Einstein's)
            registry = SourceRegistry()
            for p in await deps.retriever.search("Isaac Newton", k=2):
                registry.add(p)
            return registry.records(), await read(question, registry.records(), deps, step=1)
        finally:
            await deps.retriever.aclose()

    sources, reading = asyncio.run(main())
    assert reading.compared and reading.stated in {"Yes", "No"}  # the main path, not the hop reader
    assert len(reading.usage) == 3  # a fact per entity, then the comparison
    titles = {r["n"]: r["title"] for r in {**sources, **reading.new_sources}.values()}
    assert {titles[n] for n in reading.shown} >= {"Albert Einstein", "Isaac Newton"}
    # each fact is one sentence about its entity, citing a passage the reader was shown
    assert len(reading.sentences) == 2
    for entity, fact in zip(("Einstein", "Newton"), reading.sentences, strict=True):
        assert entity in fact
        assert {int(n) for n in re.findall(r"\[(\d+)\]", fact)} <= set(reading.shown)
    # which of Yes/No the 0.5B picks is its judgement, measured by the bench, not asserted here


def _deciding(decided: str, read: str):
    """A report model that gives one fact per entity, `decided` as the comparison, and "So the answer is:
    `read`" to the hop reader."""

    def reply(messages) -> str:
        prompt = messages[-1]["content"]
        if "Compare the facts" in prompt:
            return decided
        if "Write ONE sentence" in prompt:
            return _one_fact_each(messages)
        return f"So the answer is: {read}."

    return reply


def _read_by_the_hop_reader(scripted, report) -> None:
    """The comparison was decided once, gave no answer, and the hop reader read the question instead."""
    prompts = [c.prompt for c in scripted.calls if c.role == "report"]
    assert sum("Compare the facts" in p for p in prompts) == 1
    assert "Write the next single sentence of reasoning" in prompts[-1]
    assert report.citations.compared == 0


def test_a_choice_answered_with_neither_option_is_no_answer(scripted, tmp_path):
    """Given only "Parsifal has 3 acts", the 1.5B answered "Which opera has more acts, Parsifal or Manon?"
    with "3": not an option, so the hop reader reads the question instead."""
    question = "Which tennis player is Italian, Simone Bolelli or Caroline Wozniacki?"
    report = _research(scripted, tmp_path, question, _deciding("So the answer is: 3.", "Simone Bolelli"))
    _read_by_the_hop_reader(scripted, report)
    assert report.markdown.split("\n\n")[1].startswith("**Answer:** Simone Bolelli")


def test_a_yes_no_comparison_answered_with_neither_yes_nor_no_is_no_answer(scripted, tmp_path):
    question = "Are Simone Bolelli and Caroline Wozniacki both Italian tennis players?"
    report = _research(scripted, tmp_path, question, _deciding("The facts do not say.", "No"), k=3)
    _read_by_the_hop_reader(scripted, report)


def test_a_yes_no_comparison_with_one_entitys_fact_missing_is_not_decided(scripted, tmp_path):
    """ "Both" needs both: with Wozniacki's fact missing no comparison is asked, and the hop reader
    answers (a 1.5B said "Yes" from one fact on a held-out question)."""

    def one_missing(messages) -> str:
        prompt = messages[-1]["content"]
        if "Write ONE sentence about Caroline Wozniacki" in prompt:
            return "The passages do not say."
        return _deciding("So the answer is: Yes.", "No")(messages)

    question = "Are Simone Bolelli and Caroline Wozniacki both Italian tennis players?"
    report = _research(scripted, tmp_path, question, one_missing, k=3)
    prompts = [c.prompt for c in scripted.calls if c.role == "report"]
    assert not any("Compare the facts" in p for p in prompts)
    assert "Write the next single sentence of reasoning" in prompts[-1]
    assert report.citations.compared == 0
