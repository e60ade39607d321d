"""Run directories: where a run's config, checkpoint, drafts and report live, and how to find them again.

<runs>/<run_id>/config.json        the resolved ResearchConfig (a resume reuses it)
                meta.json          question, status, times, error
                checkpoint.sqlite  LangGraph's SQLite checkpointer (state after every node)
                drafts/R00.md ..   every draft R_0..R_T, written as soon as it exists
                report.md, report.json
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
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

    @property
    def thread_id(self) -> str:
        """The checkpoint's thread id, stored at creation so a renamed run directory still resumes."""
        return str(self.meta().get("thread_id") or self.run_id)

    def status(self) -> str:
        """meta's status, but "interrupted" for a "running" run whose process is gone (kill -9, power cut)."""
        meta = self.meta()
        status = str(meta.get("status", "?"))
        if status == "running" and not _alive(meta.get("pid")):
            return "interrupted"
        return status

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

    def replace_draft(self, index: int, text: str, old_as: str) -> None:
        """R_t set again after it was written: R_tt.md holds `text` and its old text is kept beside it as
        R_tt.<old_as>.md ("rejected": a noisier revision, `text` is R_{t-1}; "revised": the reviser's text,
        `text` is R_t grounded in code, `ttd.ground`)."""
        path = self.path / "drafts" / f"R{index:02d}.md"
        if path.exists():
            path.replace(path.with_suffix(f".{old_as}.md"))
        _write(path, text)

    def write_report(self, markdown: str, report_json: str) -> None:
        _write(self.path / "report.md", markdown)
        _write(self.path / "report.json", report_json)


def _write(path: Path, text: str) -> None:
    """Write atomically, so a run killed mid-write never leaves a half file behind (nor a *.tmp on errors)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def locked(run: RunDir) -> Iterator[None]:
    """Hold the run directory's lock for the whole run, so two resumes of one run cannot both do its work.

    An OS lock (fcntl) is released by the kernel when the process dies, so kill -9 never leaves it stale.
    """
    fd = os.open(run.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"run {run.run_id} is in use by another ttd process: wait for it to finish, or stop it first"
            ) from None
        yield
    finally:
        os.close(fd)


def check_resumable(run: RunDir, restart: bool = False) -> None:
    """Refuse to resume a run whose checkpoint is missing, empty or damaged: resuming would silently start
    over. With `restart`, the damaged checkpoint is moved aside and the run starts from scratch."""
    problem = _checkpoint_problem(run.checkpoint, run.thread_id)
    if problem is None:
        return
    if not restart:
        raise ConfigError(
            f"run {run.run_id} cannot be resumed: its checkpoint {problem}; "
            f"add --restart to research its question again from scratch in the same run directory"
        )
    if run.checkpoint.exists():
        run.checkpoint.replace(run.checkpoint.with_name("checkpoint.sqlite.damaged"))
    for side in ("-wal", "-shm"):
        run.checkpoint.with_name(run.checkpoint.name + side).unlink(missing_ok=True)


def _checkpoint_problem(path: Path, thread_id: str) -> str | None:
    if not path.exists():
        return "is missing"
    if path.stat().st_size == 0:
        return "is empty"
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute("SELECT count(*) FROM checkpoints WHERE thread_id=?", (thread_id,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return "is locked by another process (is another ttd resuming it?)"
        return f"is damaged ({exc})"
    except sqlite3.DatabaseError as exc:
        return f"is damaged ({exc})"
    if not row or not row[0]:
        return "holds no saved step"
    return None


def root(out: str | Path | None = None) -> Path:
    return Path(out).expanduser() if out else runs_dir()


def new_run(question: str, config: ResearchConfig, out: str | Path | None = None) -> RunDir:
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(question)}-{secrets.token_hex(2)}"
    run = RunDir(run_id, root(out) / run_id)
    run.path.mkdir(parents=True, exist_ok=False)
    _write(run.path / "config.json", config.model_dump_json(indent=2))
    run.update_meta(
        run_id=run_id,
        thread_id=run_id,
        question=question,
        status="running",
        created=time.time(),
        wall_time_s=0.0,
        pid=os.getpid(),
    )
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
        (r.meta() | {"run_id": r.run_id, "path": str(r.path), "status": r.status()} for r in runs),
        key=lambda m: m.get("created", 0),
        reverse=True,
    )
