"""`ttd index ./docs --name papers && ttd research "..." --corpus papers`, offline, through the CLI."""

from __future__ import annotations

import json
import uuid

from typer.testing import CliRunner

from ttd.cli import app
from ttd.config import ROLES

runner = CliRunner()
SCRIPTED = [a for r in ROLES for a in (f"--{r}-model", f"scripted/{r}")]


def test_index_then_research_cites_the_users_own_files(scripted, tmp_path):
    docs = tmp_path / "papers"
    docs.mkdir()
    (docs / "aqueducts.md").write_text(
        "# Roman aqueducts\n\nRoman aqueducts carried water into cities by gravity along gentle gradients.\n"
    )
    (docs / "legions.txt").write_text("The Roman legions were reorganised by Marius around 107 BC.\n")
    (docs / "notes.jsonl").write_text(
        json.dumps({"title": "Grain", "text": "Egypt supplied Rome's grain."}) + "\n"
    )

    # the session's TTD_HOME may be a reused one that holds a "papers" (pytest folder names repeat too)
    name = f"papers-{uuid.uuid4().hex[:8]}"
    result = runner.invoke(app, ["index", str(docs), "--name", name, "--no-dense"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["index", "--list"])
    row = next(line for line in listing.output.splitlines() if line.startswith(name + "\t"))
    assert row.split("\t")[1:3] == ["3 files", "3 chunks"], row

    scripted.reply("question", json.dumps({"question": "How did aqueducts carry water into cities?"}))
    result = runner.invoke(
        app,
        [
            "research",
            "How did Roman aqueducts work?",
            "--corpus",
            name,
            "--no-dense",
            "--steps",
            "1",
            "--format",
            "json",
            "-q",
            "--out",
            str(tmp_path / "runs"),
            *SCRIPTED,
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") : result.output.rindex("}") + 1])
    retrieved = report["trajectory"]["retrieved"]
    assert retrieved and all(s["location"].startswith(str(docs)) for s in retrieved)
    assert all(s["provider"].startswith("corpus:") for s in retrieved)
    assert report["sources"] and report["sources"][0]["location"].startswith(str(docs))
    assert "aqueducts.md" in report["markdown"].split("## Sources")[1]


def test_unknown_corpus_is_a_one_line_error(tmp_path):
    result = runner.invoke(app, ["research", "q", "--corpus", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "nope" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    # Found before the run starts: nothing was created, so there is nothing to resume.
    assert "resume" not in result.output
    assert list(tmp_path.iterdir()) == []
