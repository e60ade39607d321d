"""Shared fixtures: an isolated TTD_HOME and a real HTTP server on 127.0.0.1 with scripted answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.fixture(autouse=True)
def ttd_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ttd-home"
    monkeypatch.setenv("TTD_HOME", str(home))
    monkeypatch.setenv("TTD_SEARCH_BACKOFF", "0.01")
    return home


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, dict | list):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return self.body, "application/octet-stream"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


Handler = Callable[[Request], Reply]


class Loopback:
    """Routes by path: a Reply, a list of Replies served in turn (the last repeats), or a callable."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | list[Reply] | Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        loop = self

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                n = int(self.headers.get("content-length") or 0)
                req = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers),
                    self.rfile.read(n) if n else b"",
                )
                with loop._lock:
                    loop.requests.append(req)
                    route = loop.routes.get(parts.path)
                    if isinstance(route, list):
                        reply = route.pop(0) if len(route) > 1 else route[0]
                    elif callable(route):
                        reply = route(req)
                    else:
                        reply = route or Reply(404, "<html><title>404 Not Found</title></html>")
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body, ctype = reply.encoded()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": ctype, "Content-Length": str(len(body)), **reply.headers}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.requests if path is None or r.path == path)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    lb = Loopback()
    lb.thread.start()
    yield lb
    lb.server.shutdown()
    lb.server.server_close()
