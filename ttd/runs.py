"""Run directories: where a run's config, checkpoint, drafts and report live, and how to find them again.

<runs>/<run_id>/config.json        the resolved ResearchConfig (a resume reuses it)
                meta.json          question, status, times, error
                checkpoint.sqlite  LangGraph's SQLite checkpointer (state after every node)
                drafts/R00.md ..   every draft R_0..R_T, written as soon as it exists
                report.md, report.json
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttd.config import ResearchConfig
from ttd.errors import ConfigError
from ttd.paths import runs_dir


def _slug(text: str, words: int = 6) -> str:
    parts = re.findall(r"[a-z0-9]+", text.lower())[:words]
    return "-".join(parts)[:48] or "run"


@dataclass
class RunDir:
    run_id: str
    path: Path

    @property
    def checkpoint(self) -> Path:
        return self.path / "checkpoint.sqlite"

    def meta(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / "meta.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    def update_meta(self, **fields: Any) -> None:
        meta = {**self.meta(), **fields}
        _write(self.path / "meta.json", json.dumps(meta, indent=2))

    def config(self) -> ResearchConfig:
        try:
            return ResearchConfig.model_validate_json((self.path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"run {self.run_id} has no readable config.json ({exc.__class__.__name__})"
            ) from None

    def write_draft(self, index: int, text: str) -> None:
        _write(self.path / "drafts" / f"R{index:02d}.md", text)

    def write_report(self, markdown: str, report_json: str) -> None:
        _write(self.path / "report.md", markdown)
        _write(self.path / "report.json", report_json)


def _write(path: Path, text: str) -> None:
    """Write atomically, so a run killed mid-write never leaves a half file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def root(out: str | Path | None = None) -> Path:
    return Path(out).expanduser() if out else runs_dir()


def new_run(question: str, config: ResearchConfig, out: str | Path | None = None) -> RunDir:
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(question)}-{secrets.token_hex(2)}"
    run = RunDir(run_id, root(out) / run_id)
    run.path.mkdir(parents=True, exist_ok=False)
    _write(run.path / "config.json", config.model_dump_json(indent=2))
    run.update_meta(run_id=run_id, question=question, status="running", created=time.time(), wall_time_s=0.0)
    return run


def open_run(ref: str, out: str | Path | None = None) -> RunDir:
    """A run by id (in the runs folder) or by path."""
    candidate = Path(ref).expanduser()
    path = candidate if candidate.is_dir() and (candidate / "config.json").exists() else root(out) / ref
    if not (path / "config.json").exists():
        raise ConfigError(
            f"no run '{ref}' in {root(out)}: list runs with 'ttd runs' (add --out DIR if you used one)"
        )
    return RunDir(path.name, path)


def list_runs(out: str | Path | None = None) -> list[dict[str, Any]]:
    base = root(out)
    if not base.is_dir():
        return []
    runs = [RunDir(p.name, p) for p in base.iterdir() if (p / "config.json").exists()]
    return sorted(
        (r.meta() | {"run_id": r.run_id, "path": str(r.path)} for r in runs),
        key=lambda m: m.get("created", 0),
        reverse=True,
    )
