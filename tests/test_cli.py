"""The CLI: bad input gives one line, exit code 2, no traceback, and nothing is created or lost."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import scripted_models
from ttd.cli import app
from ttd.config import ROLES

runner = CliRunner()


def invoke(args, env=None):
    result = runner.invoke(app, args, env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["research", ""], "the question is empty"),
        (["research", "   "], "the question is empty"),
        (["research", "q", "--agent", "nope"], "unknown agent preset 'nope'"),
        (["research", "q", "--model", "foo/bar"], "unknown model or provider 'foo/bar'"),
        (["research", "q", "--model", "no-such-model"], "unknown model or provider"),
        (["research", "q", "--model", "local/llama-99b"], "unknown local model 'llama-99b'"),
        (["research", "q", "--steps", "-3"], "invalid setting steps"),
        (["research", "--resume", "no-such-run"], "no run 'no-such-run'"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    code, output = invoke([*args, "--out", str(tmp_path)])
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # no run directory was started


def test_missing_api_key_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, output = invoke(["research", "q", "--model", "openai/gpt-4.1-mini", "--out", str(tmp_path)])
    assert code == 2
    assert "OPENAI_API_KEY" in output and "Traceback" not in output
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code, output = invoke(
        ["research", "q", "--revise-model", "anthropic/claude-sonnet-4-5", "--out", str(tmp_path)]
    )
    assert code == 2 and "ANTHROPIC_API_KEY" in output


def test_unreadable_config_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = [\n")
    code, output = invoke(["research", "q", "--config", str(bad)])
    assert code == 2 and "is not valid TOML" in output
    code, output = invoke(["research", "q", "--config", str(tmp_path / "missing.toml")])
    assert code == 2 and "does not exist" in output
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("stepz = 3\n")
    code, output = invoke(["research", "q", "--config", str(unknown)])
    assert code == 2 and "stepz" in output


def test_local_extra_missing_is_reported(tmp_path):
    # Hide xllamacpp behind a module that fails to import, as on a machine without the 'local' extra.
    shadow = tmp_path / "shadow" / "xllamacpp"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('xllamacpp is not installed')\n")
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    proc = subprocess.run(
        [sys.executable, "-m", "ttd.cli", "research", "q", "--out", str(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "pip install 'ttd-dr[local]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_cli_research_runs_lists_and_prints_json(scripted, tmp_path):
    models = [a for role in ROLES for a in (f"--{role}-model", f"scripted/{role}")]
    code, output = invoke(
        [
            "research",
            "Why did Rome fall?",
            "--steps",
            "2",
            "--format",
            "json",
            "-q",
            "--out",
            str(tmp_path),
            *models,
        ]
    )
    assert code == 0, output
    data = json.loads(output[output.index("{") : output.rindex("}") + 1])
    assert len(data["trajectory"]["drafts"]) == 3
    run_dir = Path(data["run_dir"])
    assert (run_dir / "report.md").read_text().startswith(data["markdown"].strip()[:20])
    code, listing = invoke(["runs", "--out", str(tmp_path)])
    assert code == 0, listing
    # the one row, cell by cell (a narrow question wraps): the whole run id, which --resume takes, status,
    # citations, tokens, question
    lines = [[c.strip() for c in ln.strip("│").split("│")] for ln in listing.splitlines() if ln[:1] == "│"]
    cells = [" ".join(filter(None, column)) for column in zip(*lines, strict=True)]
    tokens = data["usage"]["total"]["prompt_tokens"] + data["usage"]["total"]["completion_tokens"]
    assert cells[0] == data["run_id"] and cells[1] == "done", cells
    assert cells[3:5] == [str(data["citations"]["cited"]), str(tokens)], cells
    assert len(cells[5]) >= 8 and "Why did Rome fall?".startswith(cells[5].rstrip("…")), cells  # may be cut
    code, shown = invoke(["runs", "show", data["run_id"], "--out", str(tmp_path)])
    assert code == 0, shown
    for record in data["trajectory"]["noise"]:  # one row per draft R_t with its noise
        assert re.search(rf"R{record['draft']}\s.*{record['noise']:.2f}", shown)
    assert len(data["trajectory"]["noise"]) == 3 and "exit:" in shown
    code, missing = invoke(["runs", "show", "no-such-run", "--out", str(tmp_path)])
    assert code == 2 and "no run 'no-such-run'" in missing


COMMANDS = ("research", "agents", "models", "show", "index", "runs", "cache", "dllm", "bench")


def test_console_script_exists_and_helps():
    """`--help` lists every command the app has, in order, each with the start of its own help text."""
    import typer.main

    group = typer.main.get_command(app)
    env = {**os.environ, "COLUMNS": "240"}  # one line per command
    proc = subprocess.run(
        [sys.executable, "-m", "ttd.cli", "--help"], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: python -m ttd.cli [OPTIONS] COMMAND [ARGS]..." in proc.stdout
    assert (group.help or "").strip() in proc.stdout
    panel = proc.stdout[proc.stdout.index("Commands") :]
    rows = re.findall(r"^│ (\S+) {2,}(.+?)\s*│$", panel, re.M)
    assert [name for name, _ in rows] == list(COMMANDS) == list(group.commands), rows
    for name, text in rows:
        first_words = " ".join((group.commands[name].help or "").split()[:5])
        assert first_words and text.startswith(first_words), (name, text)


def test_failure_after_the_run_started_names_the_run_to_resume(scripted, tmp_path):
    from ttd.errors import ConfigError

    # A user error raised by the model in step 1's answer: the run exists by then, with plan and R0 saved.
    scripted.fail = lambda call, n: (
        ConfigError("the answer model ran out of quota") if call.role == "answer" else None
    )
    models = [a for role in ROLES for a in (f"--{role}-model", f"scripted/{role}")]
    code, output = invoke(["research", "Why did Rome fall?", "-q", "--out", str(tmp_path), *models])
    assert code == 2, output
    [run_dir] = list(tmp_path.iterdir())
    assert "ran out of quota" in output and "Traceback" not in output
    assert f"resume with ttd research --resume {run_dir.name}" in " ".join(output.split())
    assert json.loads((run_dir / "meta.json").read_text())["status"] == "failed"
    assert (run_dir / "drafts" / "R00.md").exists()


def test_the_live_panel_folds_the_run_stream(scripted, tmp_path):
    """The CLI's panel reads the same stream as the API: stages, step t/N, questions, calls and tokens."""
    import asyncio

    from rich.console import Console

    from ttd.display import RunView
    from ttd.run import Run

    run = Run.prepare("Why did Rome fall?", out=tmp_path, steps=2, **scripted_models())
    view = RunView(run.question)

    async def consume() -> None:
        async for event in run.stream():
            view.update(event)

    asyncio.run(consume())
    report = run.report
    assert view.run_dir == report.run_dir and view.stage == "report" and (view.step, view.total) == (2, 2)
    assert view.current_question == report.trajectory.steps[-1].question
    assert [line for line in view.log if line.startswith("Q")] == [
        f"Q{s.step}: {s.question}" for s in report.trajectory.steps
    ]
    assert (view.calls, view.tokens) == (report.usage.total.calls, report.usage.total.tokens)
    console = Console(width=120, record=True)
    console.print(view)
    assert "2/2" in console.export_text()
