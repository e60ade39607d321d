"""`ttd dllm generate` and `ttd dllm bench` on a tiny local model."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ttd.dllm.cli import app


def test_bench_prints_table(tiny_dir: Path):
    result = CliRunner().invoke(
        app, ["bench", str(tiny_dir), "--gen-length", "16", "--block-length", "8"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for text in ("tokens/s", "NFE", "tokens/forward", "1 token/step", "dual cache", "prefix cache"):
        assert text in result.output


def test_generate_prints_answer_and_cost(trained_dir: Path):
    result = CliRunner().invoke(app, ["generate", str(trained_dir), "abcd", "--gen-length", "8"])
    assert result.exit_code == 0, result.output
    assert "dcba" in result.output and "forwards" in result.output


def test_generate_with_missing_model_is_a_user_error(tmp_path: Path):
    from ttd.errors import ConfigError

    result = CliRunner().invoke(app, ["generate", str(tmp_path / "absent"), "hi"])
    assert isinstance(result.exception, ConfigError)
