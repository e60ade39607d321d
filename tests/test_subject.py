"""The subject gate (`ttd.subject`): a report question's grafts and report facts come only from passages
that name its subject; unit tests, a scripted run, and the real offline Wikipedia index."""

from __future__ import annotations

import json

import pytest

import ttd
from tests.conftest import scripted_models
from tests.test_claims import answer_from_passage
from ttd.subject import about, on_subject, scoped, subject

ROMAN = "What caused the fall of the Western Roman Empire?"
TIKTOK = (
    "Evaluate the potential consequences of TikTok bans on investment risks and analyze how companies can "
    "strategically navigate these challenges.\n\n1. Market Impact:\n- Consider the Effects on Advertisers."
)


def page(title: str, text: str) -> dict:
    return {"id": f"wiki:{title}", "n": 1, "title": title, "text": text}


@pytest.mark.parametrize(
    ("question", "names"),
    [
        (ROMAN, ("Western Roman Empire",)),
        (TIKTOK, ("TikTok",)),  # the list below the opening paragraph names no subject ("Market Impact")
        (
            "Analyze the dynamic terrain of 'Unbanked Market Access', identifying prospects.",
            ("Unbanked Market Access",),
        ),
        ("Examine KKR's tech-centric transactions.", ("KKR",)),
        ("Analyze the implications of America’s aging population.", ("America",)),
        ("Chart the developing landscape of AI agents and core technologies.", ("AI",)),
        ("Conduct an in-depth exploration of the role activist shareholders play in mergers.", ()),
        # from review: a name opening a sentence, "I", names a comma apart, a quoted name's full stop
        ("Khosla Ventures has invested in what?", ("Khosla Ventures",)),
        ("What should I know about Khosla Ventures?", ("Khosla Ventures",)),
        ("TikTok bans: what follows for advertisers?", ("TikTok",)),
        ("Compare the US, EU, and China on AI rules.", ("US", "EU", "China", "AI")),
        ("Assess 'Fintech Regulation.' in Europe.", ("Fintech Regulation", "Europe")),
    ],
)
def test_a_questions_subject_is_the_names_of_its_opening_paragraph(question, names):
    assert subject(question).names == names


@pytest.mark.parametrize(
    ("question", "title", "text", "on"),
    [
        (TIKTOK, "TikTok", "TikTok is a short-form video hosting service owned by ByteDance.", True),
        (TIKTOK, "Pencil", "A pencil is a writing implement; companies make them in many grades.", False),
        # a capitalised name's word as a name: the Roman army is about the Western Roman Empire
        (ROMAN, "Army", "The Roman army relied on Germanic foederati.", True),
        (ROMAN, "Rome", "Rome was sacked by the Visigoths in 410.", True),  # the place its adjective names
        (ROMAN, "Hills", "The western hills saw a fall of rain.", False),  # its words, not as a name
        # a quoted name of plain words: its words side by side, not apart
        ("Evaluate 'Manufacturing Lead Times' for investors.", "Lean", "Lead times fell by half.", True),
        (
            "Evaluate 'Manufacturing Lead Times' for investors.",
            "Lead",
            "Lead is a metal; at times toxic.",
            False,
        ),
        ("Is 'Unbanked Market Access' growing?", "RAM", "Random-access memory has a market.", False),
        # a title made of the question's words: "Population ageing" for America's aging population
        (
            "Analyze the implications of America’s aging population.",
            "Population ageing",
            "Fertility fell.",
            True,
        ),
        ("Analyze the implications of America’s aging population.", "Americans", "Americans vote.", True),
        ("Examine KKR's tech-centric transactions.", "Private equity", "KKR is a private equity firm.", True),
        ("Examine KKR's tech-centric transactions.", "Kkr", "The kkr sound of a crow.", False),
        # a word of a longer name is not the name: other empires, regions, unions (from review)
        (ROMAN, "Western Europe", "Western Europe is the western region of Europe.", False),
        (ROMAN, "Ottoman Empire", "The Ottoman Empire took Constantinople in 1453.", False),
        ("What drives the United States economy?", "United Kingdom", "The United Kingdom is ...", False),
        # hyphenated names are their words; an acronym before a hyphen is the acronym
        (
            "Evaluate the Microsoft-Activision merger.",
            "Xbox",
            "Microsoft acquired Activision Blizzard.",
            True,
        ),
        (TIKTOK.replace("TikTok", "AI"), "Tools", "AI-powered tools spread in 2023.", True),
        ("How do Japanese firms hire?", "Economy of Japan", "Japan's economy is large.", True),
        # no name: three of the first sentence's content words
        (
            "Conduct an exploration of the role activist shareholders play in corporate mergers.",
            "Shareholder activism",
            "Activist shareholders use their stakes in a corporation to press for change.",
            True,
        ),
        (
            "Conduct an exploration of the role activist shareholders play in corporate mergers.",
            "Jane Jacobs",
            "Jane Jacobs was an activist whose play on cities was an exploration.",
            False,
        ),
    ],
)
def test_a_passage_is_about_the_subject_when_it_names_it(question, title, text, on):
    assert about(subject(question), page(title, text)) is on


OFF = "The pencil army of the fall season caused farmers in the western hills to write their taxes."
ON = "The fall in the Roman army's pay caused its Germanic foederati to desert."


class TwoPages(ttd.retrieval.Retriever):
    """The off-subject page first (it shares the question's words), then the page on the Roman army."""

    async def search(self, query, k=5):
        return [
            ttd.retrieval.Passage(id=f"doc:{n}", title=n, text=t, location=f"/docs/{n}")
            for n, t in (("Pencil", OFF), ("Army", ON))
        ][:k]


def pencil_run(scripted, tmp_path, revised: str, **kw):
    """A one-step run of the Roman question over the two pages: R_0 holds the moon guess, the answer
    restates the first page (the pencil), the reviser writes `revised`."""
    scripted.reply(
        "plan", json.dumps({"areas": [{"title": "Army", "goal": "How the army and its pay declined"}]})
    )
    scripted.reply("draft", "# Rome\n\n## Army\n\nRome fell because the moon turned red.\n")
    scripted.respond("answer", answer_from_passage)
    scripted.respond("revise", lambda m: revised)
    return ttd.research(
        ROMAN,
        out=tmp_path,
        retriever=TwoPages(),
        k=2,
        steps=1,
        early_exit=False,
        few_facts=0,
        **scripted_models(),
        **kw,
    )


def test_a_passage_about_another_subject_is_neither_grafted_nor_a_report_fact(scripted, tmp_path):
    """The answer restates the off-subject page (it comes first); the reviser copies R_0: grounding puts in
    only the Roman army's sentence, and the report's facts leave the pencil out, on record."""
    moon = "# Rome\n\n## Army\n\nRome fell because the moon turned red.\n"

    def run(**kw):
        return pencil_run(scripted, tmp_path, moon, **kw)

    report = run()
    r1 = report.trajectory.noise[1]
    assert r1.off_subject >= 1 and "pencil" not in report.trajectory.drafts[1].lower()
    assert "foederati" in report.trajectory.drafts[1]  # the army page's sentence went in
    assert any("pencil" in f.lower() for f in report.trajectory.off_topic)
    assert report.citations.off_topic >= 1
    writer = [c for c in scripted.calls if c.role == "report"][-1].prompt
    assert "pencil" not in writer.lower() and "foederati" in writer
    # with the gate off, the pencil is grafted and given to the writer as a fact
    off = run(verify={"subject": False})
    assert "pencil" in off.trajectory.drafts[1].lower() and off.trajectory.noise[1].off_subject == 0
    assert "pencil" in [c for c in scripted.calls if c.role == "report"][-1].prompt.lower()


def test_a_claim_resting_on_a_passage_about_another_subject_is_not_supported(scripted, tmp_path):
    """The reviser copies the pencil page's sentence: for the report question it is no evidence, so the
    claim stays unsupported (it is supported with the gate off)."""
    pencil = f"{OFF[:-1]} [1]."

    def run(**kw):
        report = pencil_run(scripted, tmp_path, f"# Rome\n\n## Army\n\n{pencil}\n", **kw)
        r1 = report.trajectory.noise[1]  # (pruned, it is on record with its status)
        return {c.text: c.status for c in [*r1.claims, *(r1.pruned or [])]}

    assert run()[pencil] == "unsupported"
    assert run(verify={"subject": False})[pencil] == "supported"


def test_a_reports_search_names_its_subject(scripted, tmp_path):
    """The README run (session 29): "What were the key economic indicators that led to the inflation in
    536 AD?" searched alone found pages on inflation and Hayek, none about Rome."""
    asked = "What were the key economic indicators that led to the inflation in 536 AD?"
    assert scoped(ROMAN, asked) == f"{asked} (Western Roman Empire)"
    assert scoped(ROMAN, "How did the Roman army decline?") == "How did the Roman army decline?"
    assert scoped("Conduct an exploration of activist shareholders.", asked) == asked  # no name to add

    class Recording(TwoPages):
        queries: list[str] = []

        async def search(self, query, k=5):
            self.queries.append(query)
            return await super().search(query, k)

    scripted.reply("question", json.dumps({"question": asked, "done": False}))
    retriever = Recording()
    ttd.research(
        ROMAN, out=tmp_path, retriever=retriever, k=2, steps=1, early_exit=False, **scripted_models()
    )
    # and beside it the research question's own search (`retrieval.anchor`)
    assert sorted(retriever.queries) == sorted([f"{asked} (Western Roman Empire)", ROMAN])


@pytest.mark.real
def test_the_offline_index_gives_the_tiktok_page_and_the_gate_keeps_it_alone():
    """The offline Wikipedia index (10,033 lead paragraphs) searched for a DeepConsult prompt: its TikTok
    page stays; the pages that share only the prompt's plain words (investment, navigation) go."""
    from ttd.retrieval.wiki import WikiRetriever

    found = WikiRetriever().search_sync("TikTok bans investment risks companies navigate challenges", k=10)
    sources = {p.id: {"id": p.id, "n": i, "title": p.title, "text": p.text} for i, p in enumerate(found, 1)}
    kept = on_subject(TIKTOK, sources)
    assert [r["title"] for r in kept.values()] == ["TikTok"] and len(sources) == 10


@pytest.mark.real
def test_a_reports_steps_searched_beside_the_question_reach_the_page_it_finds_first():
    """The README run at feb6323: the 1.5B's two step questions, searched alone on the offline index,
    never reached "Fall of the Western Roman Empire", among the question's own first pages; fused with the
    question's search (as the answer stage now searches, `retrieval.anchor`) the first step brings it."""
    import asyncio

    from ttd.retrieval.fusion import anchored_search
    from ttd.retrieval.wiki import WikiRetriever

    asked = [
        "What was the primary cause of the decline in the Roman economy during the late 4th century, "
        "leading to inflation and food shortages?",
        "What were some specific factors that contributed to the economic instability of the Western Roman "
        "Empire during the late 4th century?",
    ]
    index = WikiRetriever()

    async def titles(anchor: str) -> list[str]:
        seen: dict[str, object] = {}
        for q in asked:
            for p in await anchored_search(index, scoped(ROMAN, q), anchor, 4, seen=seen):
                seen[p.id] = p.title
        return list(seen.values())

    first = "Fall of the Western Roman Empire"
    assert first in [p.title for p in index.search_sync(ROMAN, k=4)]
    assert first not in asyncio.run(titles(""))
    assert first in asyncio.run(titles(ROMAN))
