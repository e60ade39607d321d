"""`ttd show`: the run page's content, from scripted runs with real run directories (SQLite, report.json)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape
from typer.testing import CliRunner

import ttd
from tests.conftest import scripted_models
from ttd.cli import app
from ttd.report import Report, load_report
from ttd.show.page import word_diff

Q = "What caused the fall of the Western Roman Empire?"
EVIL = '<script>alert("x")</script><img src="https://evil.example/p.png" onerror="alert(1)">'


class Page(HTMLParser):
    """The tags, ids, citation links and loaded URLs of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.cites: list[str] = []
        self.classes: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.add(a["id"] or "")
        self.classes += (a.get("class") or "").split()
        if tag == "a" and "cite" in (a.get("class") or "").split():
            self.cites.append((a.get("href") or "").lstrip("#"))

    def count(self, cls: str) -> int:
        return self.classes.count(cls)

    def loads(self) -> list[str]:
        """Every URL the page would fetch by itself (links the reader clicks are not loads)."""
        urls = []
        for tag, a in self.tags:
            if tag in ("script", "img", "iframe", "audio", "video", "source", "embed", "object"):
                urls += [v or "" for k, v in a.items() if k in ("src", "data", "srcset")]
            if tag == "link":
                urls.append(a.get("href") or "")
        return urls


def research(tmp_path: Path, scripted, **kw) -> Report:
    drafts = iter(["Rome fell slowly [1].", "Rome fell slowly because the army split [2].", "Rome fell [1]."])
    scripted.respond("revise", lambda messages: next(drafts, "Rome fell [1]."))
    return ttd.research(Q, out=tmp_path, **scripted_models(), **kw)


@pytest.fixture(scope="module")
def evolved(tmp_path_factory) -> Report:
    """One evolved run shared by the read-only page tests (each test copies it before changing it)."""
    from ttd.llm import scripted as scripted_provider

    handler = scripted_provider.install()
    try:
        # the scripted revisions cite pages the offline index gives for the question (a role-playing game,
        # the Puritans): no evidence on Rome with the subject gate, which would turn R_2 away; the timeline
        # needs a kept R_2 that removes words
        return research(
            tmp_path_factory.mktemp("runs"), handler, steps=2, agent="full", verify={"subject": False}
        )
    finally:
        handler.reset()


def test_every_citation_links_to_a_source_card(evolved):
    page = Page(evolved.to_html())
    body = evolved.markdown.split("## Sources")[0]
    cited = [int(n) for m in re.finditer(r"\[(\d+(?:,\s*\d+)*)\]", body) for n in m.group(1).split(",")]
    report_links = [c for c in page.cites if c.startswith("src-")]
    assert cited and len(report_links) == len(cited)
    assert all(c in page.ids for c in page.cites)  # every [n] on the page, answers and drafts too
    assert {f"src-{s.n}" for s in evolved.sources} <= page.ids
    html = evolved.to_html()
    for s in evolved.sources:  # each card: title, location, retrieved passage text
        card = html.split(f'id="src-{s.n}"', 1)[1].split("</blockquote>", 1)[0]
        assert escape(s.title) in card and escape(s.location) in card and escape(s.excerpt[:60]) in card
    assert page.count("missing") == 0


def test_one_word_diff_per_step_in_a_timeline_of_all_drafts(evolved):
    page = Page(evolved.to_html())
    steps = evolved.trajectory.steps
    assert len(steps) == 2 and page.count("diff") == len(steps) == page.count("step") - 1  # + R0
    html = evolved.to_html()
    for step in steps:
        assert escape(step.question) in html
    diff = str(word_diff("Rome fell slowly [1].", "Rome fell quickly [1]. The army split [2]."))
    assert diff == "Rome fell <del>slowly</del><ins>quickly</ins> [1].<ins> The army split [2].</ins>"
    diffs = html.split('class="diff"')[1:]
    assert "<ins>" in diffs[0] and "<del>" in diffs[1]  # R0->R1 adds, R1->R2 removes


def test_evolution_costs_and_chart_sections(evolved):
    html = evolved.to_html()
    page = Page(html)
    assert evolved.trajectory.evolution and page.count("evo") == len(evolved.trajectory.evolution)
    variants = sum(len(r["variants"]) for r in evolved.trajectory.evolution)
    assert html.count("<td rowspan=") == 2 * variants
    selects = [r for r in evolved.trajectory.evolution if r["how"] in ("select", "single")]
    assert html.count("★ won") == len(selects)
    for role, usage in evolved.usage.by_role.items():
        assert f"<td>{role}</td><td>{usage.calls}</td>" in html
    # noise, tokens, seconds once the run has claim tables; else citations, sources, tokens, seconds
    charts = 3 if evolved.trajectory.noise else 4
    assert sum(1 for tag, _ in page.tags if tag == "svg") == charts
    sections = [a["id"] for tag, a in page.tags if tag == "section"]
    assert sections == ["report", "timeline", "charts", "evolution", "cost"]


def test_the_page_loads_nothing_from_the_network(evolved):
    html = evolved.to_html()
    page = Page(html)
    assert page.loads() == []  # no <script src>, <link> stylesheet/font, remote <img>
    assert "@import" not in html and "url(" not in html
    assert sum(1 for tag, _ in page.tags if tag == "script") == 1  # the inline one
    csp = next(a["content"] for tag, a in page.tags if a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp


def test_retrieved_text_and_model_output_cannot_inject_markup(evolved):
    hostile = evolved.model_copy(deep=True)
    hostile.sources[0].title = EVIL
    hostile.sources[0].excerpt = EVIL
    hostile.trajectory.retrieved[0].title = EVIL
    hostile.trajectory.steps[0].question = EVIL
    hostile.trajectory.steps[0].answer = EVIL + " [1]"
    hostile.trajectory.evolution[0]["variants"][0]["scores"][0]["critique"] = EVIL
    hostile.markdown = f"{EVIL}\n\n![x](https://evil.example/i.png) [1]\n\n[a](javascript:alert(1))"
    hostile.trajectory.drafts[1] = EVIL
    html = hostile.to_html()
    page = Page(html)
    assert sum(1 for tag, _ in page.tags if tag == "script") == 1
    assert page.loads() == [] and "javascript:" not in html.replace("javascript:alert(1))", "")
    assert not any(k.startswith("on") for _, a in page.tags for k in a)
    assert html.count("&lt;script&gt;alert") >= 7


def test_noise_records_drive_the_chart_when_the_run_measured_them(evolved):
    noisy = evolved.model_copy(deep=True)
    records = [
        {"draft": t, "noise": n, "claims": [{"text": "Rome fell", "status": "unsupported", "source_ids": []}]}
        for t, n in ((0, 0.8), (1, 0.5), (2, 0.25))
    ]
    records[2]["uncovered"] = ["Barbarian <b>invasions</b>"]
    try:
        noisy.trajectory.noise = records  # type: ignore[attr-defined]
    except ValueError:  # before the noise contract (CONTRACTS.md §1) lands on Trajectory
        object.__setattr__(noisy.trajectory, "noise", records)
    html = noisy.to_html()
    assert "noise per draft" in html and "citations per draft" not in html
    assert all(f">{n}</text>" in html for n in ("0.80", "0.50", "0.25"))
    assert html.count('class="unsupported"') == 3
    assert html.count("No supported claim yet for: Barbarian &lt;b&gt;invasions&lt;/b&gt;") == 1


def test_cli_show_writes_the_page_of_a_real_run_directory(scripted, tmp_path):
    report = research(tmp_path, scripted, steps=2)
    run_dir = tmp_path / report.run_id
    assert (run_dir / "checkpoint.sqlite").exists() and (run_dir / "report.json").exists()
    runner = CliRunner()
    result = runner.invoke(app, ["show", report.run_id, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = run_dir / "report.html"
    assert result.stdout.strip() == str(page)
    assert page.read_text(encoding="utf-8") == load_report(run_dir).to_html()
    page.unlink()
    assert runner.invoke(app, ["show", "--latest", "--out", str(tmp_path)]).exit_code == 0
    assert Page(page.read_text(encoding="utf-8")).count("diff") == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["show"], "name one run"),
        (["show", "no-such-run"], "no run 'no-such-run'"),
        (["show", "--latest"], "no finished run"),
    ],
)
def test_cli_show_bad_input_is_one_line_and_exit_2(args, says, tmp_path, monkeypatch, capsys):
    from ttd.cli import main

    monkeypatch.setattr("sys.argv", ["ttd", *args, "--out", str(tmp_path)])
    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and says in err and len(err.strip().splitlines()) == 1, err


def test_cli_show_of_an_unfinished_run_names_resume(tmp_path, capsys, monkeypatch):
    from ttd.cli import main
    from ttd.config import resolve_config
    from ttd.runs import new_run

    run = new_run(Q, resolve_config(), tmp_path)
    monkeypatch.setattr("sys.argv", ["ttd", "show", run.run_id, "--out", str(tmp_path)])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "ttd research --resume" in err and "Traceback" not in err


def test_bench_summary_html_links_each_ttd_row_to_its_run_page(scripted, tmp_path):
    from tests.bench.conftest import BENCHMARKS

    if not BENCHMARKS.is_dir():
        pytest.skip(f"benchmark samples not found at {BENCHMARKS} (the shared data folder is absent)")
    from ttd.bench.runner import BenchSpec, read_rows, run_bench

    spec = BenchSpec(
        dataset="hotpotqa",
        systems=["rag", "ttd-full"],
        out=str(tmp_path / "out"),
        limit=2,
        steps=1,
        k=3,
        overrides=scripted_models(),
    )
    out = run_bench(spec, progress=False, echo=lambda m: None).out
    html = (out / "summary.html").read_text(encoding="utf-8")
    page = Page(html)
    rows = read_rows(out / "results.jsonl")
    links = [a["href"] for tag, a in page.tags if tag == "a" and "runpage" in (a.get("class") or "")]
    ttd_rows = [r for r in rows if r["system"] == "ttd-full"]
    assert len(links) == len(ttd_rows) == 2
    for row in ttd_rows:
        link = f"runs/ttd-full/{row['detail']['run_id']}/report.html"
        assert link in links and Page((out / link).read_text(encoding="utf-8")).count("card") > 0
    assert all(u.startswith("data:image/png;base64,") for u in page.loads()) and page.loads()
    assert html.count("<tr>") == 1 + 2 + 1 + len(rows)  # system table header + systems, questions
