"""Bad input, through the real `ttd` command: one line naming the problem, the documented exit code, no
traceback, no hang, and nothing left half-made (no run directory, no corpus, an untouched run to resume).

Misbehaving model servers are real HTTP servers on 127.0.0.1 (the OpenAI-compatible wire format).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import REPO, scripted_models, ttd_cli
from ttd.config import ROLES
from ttd.errors import TTDError

Q = "Why did Rome fall?"


def cli(*args: str | bytes, home: Path, timeout: float = 120, env: dict[str, str] | None = None):
    """`python -m ttd.cli ARGS` in a fresh process; the timeout bounds every hang case."""
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TTD_HOME": str(home),
        "OPENAI_API_KEY": "sk-test",
    }
    environ.pop("ANTHROPIC_API_KEY", None)
    environ.pop("TTD_AGENT", None)
    environ.update(env or {})
    return ttd_cli(args, env=environ, cwd=home, timeout=timeout)


def one_line(proc: subprocess.CompletedProcess, code: int) -> str:
    """The error line, after asserting the exit code, exactly one stderr line and no traceback."""
    stderr = proc.stderr.decode("utf-8", "replace")
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def toml(home: Path, text: str) -> str:
    path = home / "c.toml"
    path.write_text(text)
    return str(path)


# -- input checked before a run directory exists ----------------------------------------------------------
CASES = {
    "invalid utf-8 question": ([b"caf\xe9 \xff?"], "not valid UTF-8"),
    "100 kB question": (["why? " * 20_000], "the limit is 4,000"),
    "empty question": ([" "], "the question is empty"),
    "empty model": ([Q, "--model", ""], "the model for 'model' is ''"),
    "config is a FIFO": ([Q, "--config", "{fifo}"], "is not a regular file"),
    "config is a folder": ([Q, "--config", "{home}"], "is a folder"),
    "models is a string": ([Q, "--config", "{toml:models = 'x'}"], "'models' must be a table"),
    "steps = true": ([Q, "--config", "{toml:steps = true}"], "invalid setting steps"),
    "max_tokens -1": ([Q, "--config", "{toml:[max_tokens]\nplan = -1}"], "max_tokens values must be"),
    "agent outside presets": ([Q, "--agent", "../../somewhere/preset"], "is outside"),
    "--out is a file": ([Q, "--out", "{file}"], "is a file, not a folder"),
    "--out is /dev/null": ([Q, "--out", "/dev/null"], "is a file, not a folder"),
    "--out under /proc": ([Q, "--out", "/proc/ttd-runs"], "is not a writable folder"),
    "api-base closed port": ([Q, "-m", "openai/x", "--api-base", "{closed}"], "cannot be reached"),
    "api-base not a URL": ([Q, "-m", "openai/x", "--api-base", "localhost"], "is not an http(s) URL"),
    "api-base ftp": ([Q, "-m", "openai/x", "--api-base", "ftp://h/v1"], "is not an http(s) URL"),
    "anthropic without key": ([Q, "--model", "anthropic/claude-sonnet-4-5"], "ANTHROPIC_API_KEY"),
    "--restart without --resume": ([Q, "--restart"], "--restart only goes with --resume"),
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", list(CASES))
def test_bad_research_input_is_one_line_and_leaves_no_run(case: str, home: Path) -> None:
    args, expected = CASES[case]
    fifo, afile = home / "fifo", home / "afile"
    os.mkfifo(fifo)
    afile.write_text("x")
    fill = {"{fifo}": str(fifo), "{home}": str(home), "{file}": str(afile)}
    fill["{closed}"] = f"http://127.0.0.1:{_closed_port()}/v1"
    out = home / "runs"
    argv: list[str | bytes] = ["research"]
    for a in args:
        if isinstance(a, str) and a.startswith("{toml:"):
            a = toml(home, a[len("{toml:") : -1])
        argv.append(fill.get(a, a) if isinstance(a, str) else a)
    if "--out" not in argv:
        argv += ["--out", str(out)]
    line = one_line(cli(*argv, home=home, timeout=90), 2)
    assert expected in line
    assert not out.exists()  # no run directory, not even an empty runs folder
    assert not (home / "runs").exists()


def test_ttd_agent_env_outside_presets_is_refused(home: Path) -> None:
    proc = cli("research", Q, "--out", str(home / "runs"), home=home, env={"TTD_AGENT": "../x"})
    assert "is outside" in one_line(proc, 2)


# -- runs to resume -------------------------------------------------------------------------------------
def _run_dir(home: Path, *, checkpoint: bytes | None) -> Path:
    """A run directory as a run killed after its first node leaves it (config, meta, checkpoint)."""
    from ttd.config import ResearchConfig

    run = home / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "config.json").write_text(ResearchConfig(steps=1).model_dump_json())
    (run / "meta.json").write_text(json.dumps({"run_id": "r1", "thread_id": "r1", "question": Q}))
    if checkpoint is not None:
        (run / "checkpoint.sqlite").write_bytes(checkpoint)
    return run


def _snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "damage, expected",
    [
        (None, "its checkpoint is missing"),
        (b"", "its checkpoint is empty"),
        (b"SQLite format 3\x00" + b"\x07" * 200, "its checkpoint is damaged"),
        (b"not a database at all" * 50, "its checkpoint is damaged"),
    ],
)
def test_resume_of_a_damaged_checkpoint_is_refused_and_touches_nothing(
    home: Path, damage: bytes | None, expected: str
) -> None:
    run = _run_dir(home, checkpoint=damage)
    before = _snapshot(run)
    line = one_line(cli("research", "--resume", "r1", "--out", str(home / "runs"), home=home), 2)
    assert expected in line and "--restart" in line
    assert _snapshot(run) == before


def test_resume_of_a_locked_checkpoint_answers_instead_of_hanging(home: Path) -> None:
    run = _run_dir(home, checkpoint=None)
    with contextlib.closing(sqlite3.connect(run / "checkpoint.sqlite", isolation_level=None)) as db:
        db.execute("CREATE TABLE checkpoints (thread_id TEXT)")
        db.execute("INSERT INTO checkpoints VALUES ('r1')")
        db.execute("BEGIN EXCLUSIVE")  # another process is writing it, and keeps it locked
        proc = cli("research", "--resume", "r1", "--out", str(home / "runs"), home=home, timeout=90)
        db.execute("ROLLBACK")
    assert "locked by another process" in one_line(proc, 2)


@pytest.mark.parametrize(
    "extra", [["--steps", "5"], ["--model", "foo/bar"], [Q], ["--agent", "quick"], ["--no-cache"]]
)
def test_resume_with_other_settings_is_refused(home: Path, extra: list[str]) -> None:
    _run_dir(home, checkpoint=None)
    proc = cli("research", "--resume", "r1", "--out", str(home / "runs"), *extra, home=home)
    assert "cannot change it" in one_line(proc, 2)


def test_a_run_in_use_cannot_be_resumed_twice(home: Path, scripted, monkeypatch) -> None:
    import ttd
    from ttd import runs

    monkeypatch.setenv("TTD_HOME", str(home))
    report = ttd.research(Q, out=home / "runs", steps=1, **scripted_models())
    run = runs.open_run(report.run_id, home / "runs")
    (run.path / "report.md").unlink()
    # A first `--resume` holds the run (flock conflicts across open files, even in one process).
    with runs.locked(run), pytest.raises(TTDError, match="is in use by another ttd process"):
        ttd.research(resume=report.run_id, out=home / "runs")
    assert not (run.path / "report.md").exists()  # the second resume did no work


def test_restart_researches_a_damaged_run_again(home: Path, scripted, monkeypatch) -> None:
    import ttd

    run = _run_dir(home, checkpoint=b"garbage" * 100)
    config = json.loads((run / "config.json").read_text())
    config["models"] = {k[: -len("_model")]: v for k, v in scripted_models().items()}
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(TTDError, match="--restart"):
        ttd.research(resume="r1", out=home / "runs")
    report = ttd.research(resume="r1", out=home / "runs", restart=True)
    assert report.run_id == "r1" and len(report.trajectory.drafts) >= 2
    assert (run / "checkpoint.sqlite.damaged").read_bytes() == b"garbage" * 100


def test_killed_run_reads_interrupted_and_failed_writes_leave_no_tmp(home: Path, monkeypatch) -> None:
    from ttd import runs

    run_path = _run_dir(home, checkpoint=None)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    meta = json.loads((run_path / "meta.json").read_text()) | {"status": "running", "pid": dead.pid}
    (run_path / "meta.json").write_text(json.dumps(meta))
    [listed] = runs.list_runs(home / "runs")
    assert listed["status"] == "interrupted"  # as after kill -9: the process is gone
    meta["pid"] = os.getpid()
    (run_path / "meta.json").write_text(json.dumps(meta))
    assert runs.list_runs(home / "runs")[0]["status"] == "running"

    def disk_full(self: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", disk_full)
    with pytest.raises(OSError):
        runs.RunDir("r1", run_path).write_draft(1, "R1")
    with pytest.raises(OSError):
        runs.RunDir("r1", run_path).update_meta(status="done")
    assert not list(run_path.rglob("*.tmp"))


# -- other commands ------------------------------------------------------------------------------------
def test_index_of_a_missing_path_exits_2_and_makes_no_corpus(home: Path) -> None:
    line = one_line(cli("index", "/no/such/path", "--name", "papers", home=home), 2)
    assert "/no/such/path does not exist" in line
    assert not list(home.rglob("papers*"))


def test_index_skips_and_reports_unreadable_files(home: Path) -> None:
    docs = home / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "sub" / "loop").symlink_to(docs)  # a symlink loop
    (docs / "good.md").write_text("# Aqueducts\n\nRoman aqueducts carried water by gravity alone.\n")
    (docs / "empty.pdf").write_bytes(b"")
    (docs / "corrupt.pdf").write_bytes(b"%PDF-1.4 garbage")
    os.close(os.open(os.fsencode(docs) + b"/bad\xff.txt", os.O_CREAT | os.O_WRONLY))
    proc = cli("index", str(docs), "--name", "docs", "--no-dense", home=home)
    out = proc.stdout.decode()
    assert proc.returncode == 0 and "Traceback" not in proc.stderr.decode()
    assert "1 added" in out and "3 files skipped" in out
    assert "empty.pdf" in out and "corrupt.pdf" in out and "unusable file name" in out


def test_bench_out_pointing_to_a_file(home: Path) -> None:
    (home / "afile").write_text("x")
    proc = cli("bench", "hotpotqa", "--system", "closed-book", "--out", str(home / "afile"), home=home)
    assert "is a file, not a folder" in one_line(proc, 2)


def test_cache_clear_on_a_corrupted_cache_heals(home: Path) -> None:
    from ttd.paths import retrieval_cache

    os.environ["TTD_HOME"], previous = str(home), os.environ.get("TTD_HOME", "")
    try:
        path = retrieval_cache()
    finally:
        os.environ["TTD_HOME"] = previous
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not sqlite" * 100)
    proc = cli("cache", "clear", home=home)
    assert proc.returncode == 0 and "cleared 0 cache entries" in proc.stdout.decode()
    assert "Traceback" not in proc.stderr.decode()
    with contextlib.closing(sqlite3.connect(path)) as db:  # rebuilt as a working cache
        assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == 0


# -- misbehaving model servers --------------------------------------------------------------------------
class Misbehaving(BaseHTTPRequestHandler):
    mode = "500"
    requests = 0

    def log_message(self, *args):  # noqa: ANN002
        pass

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).requests += 1
        if self.mode == "500":
            body, status, ctype = b'{"error": {"message": "boom", "type": "server_error"}}', 500, "json"
        elif self.mode == "html":
            body, status, ctype = b"<!DOCTYPE html><html><body>Welcome to nginx!</body></html>", 200, "html"
        elif self.mode == "truncated":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "400")
            self.end_headers()
            self.wfile.write(b'{"id": "x", "choices": [{"index": 0, "mess')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        else:  # "empty": a well-formed reply with no text, every time
            reply = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "x",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5},
            }
            body, status, ctype = json.dumps(reply).encode(), 200, "json"
        self.send_response(status)
        self.send_header("Content-Type", f"application/{ctype}" if ctype == "json" else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def shared_home() -> dict[str, str]:
    return {"TTD_HOME": os.environ["TTD_HOME"]}  # the session's home: its wiki index is built once


@contextlib.contextmanager
def misbehaving(mode: str) -> Iterator[str]:
    Misbehaving.mode, Misbehaving.requests = mode, 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("500", "answered HTTP 500"),
        ("html", "not an OpenAI-style JSON reply"),
        ("truncated", "the model endpoint http://127.0.0.1:"),
        ("empty", "every model reply in run"),
    ],
)
def test_a_misbehaving_model_server_ends_the_run_in_one_line(home: Path, mode: str, expected: str) -> None:
    config = toml(home, "retries = 1\ntimeout = 20\n")
    with misbehaving(mode) as url:
        proc = cli(
            "research", Q, "-m", "openai/x", "--api-base", url, "--steps", "1", "--config", config,
            "--out", str(home / "runs"), home=home, timeout=300, env=shared_home(),
        )  # fmt: skip
    line = one_line(proc, 1)
    assert expected in line, line
    if mode != "empty":
        assert url in line and "litellm" not in line.lower()
    [run] = list((home / "runs").iterdir())
    assert json.loads((run / "meta.json").read_text())["status"] == "failed"  # recorded, resumable
    if mode == "500":
        assert Misbehaving.requests >= 2  # a transient error is retried (retries = 1) ...


def test_a_bad_request_is_not_retried(home: Path) -> None:
    config = toml(home, "retries = 3\n")

    class BadRequest(Misbehaving):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            type(self).requests += 1
            body = b'{"error": {"message": "invalid request", "type": "invalid_request_error"}}'
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    BadRequest.requests = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BadRequest)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        proc = cli(
            "research", Q, "-m", "openai/x", "--api-base", url, "--steps", "1", "--config", config,
            "--out", str(home / "runs"), home=home, timeout=300, env=shared_home(),
        )  # fmt: skip
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "answered HTTP 400" in one_line(proc, 1)
    assert BadRequest.requests == 1  # ... a bad request is not


def test_models_of_roles_a_run_never_calls_are_not_checked(scripted) -> None:
    """The judge only serves self-evolution and the verifier only `llm` mode: a bad name there blocks
    nothing until the setting that calls it is on, and then it fails before the run in one line."""
    from ttd.config import resolve_config
    from ttd.errors import ConfigError
    from ttd.llm.gateway import check_models

    models = {**scripted_models(), "judge_model": "nosuchprovider/judge", "verify_model": "nosuchprovider/v"}
    plain = resolve_config(**models, verify={"mode": "lexical"})
    assert set(plain.roles_in_use()) == set(ROLES) - {"judge", "verify"}
    check_models(plain)  # nothing raised: neither role is used

    evolving = resolve_config(**models, verify={"mode": "lexical"}, evolution={"n": {"plan": 2}})
    with pytest.raises(ConfigError, match="nosuchprovider/judge"):
        check_models(evolving)
    verifying = resolve_config(**models)  # verify mode "llm" is the default
    with pytest.raises(ConfigError, match="nosuchprovider/v"):
        check_models(verifying)
