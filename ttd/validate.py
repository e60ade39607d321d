"""Input checks that run before a run directory exists, so a bad input costs nothing and leaves nothing.

Each check raises a one-line `ConfigError` naming what is wrong and how to fix it. They are separate from
`ResearchConfig` because they look at the world (the filesystem, the network), not only at values.
"""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from ttd.errors import ConfigError

MAX_QUESTION_CHARS = 4000
"""A research question is a sentence or a paragraph; longer text is almost always a pasted document."""


def question(text: str | bytes | None) -> str:
    """The question as clean text: valid UTF-8, not empty, at most `MAX_QUESTION_CHARS` characters."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                "the question is not valid UTF-8: retype it or fix the terminal encoding"
            ) from None
    if text is None or not text.strip():
        raise ConfigError(
            'the question is empty: pass the research question, e.g. ttd research "Why did Rome fall?"'
        )
    try:
        text.encode("utf-8")  # undecodable argv bytes arrive as lone surrogates
    except UnicodeEncodeError:
        raise ConfigError("the question is not valid UTF-8: retype it or fix the terminal encoding") from None
    text = text.strip()
    if "\x00" in text:
        raise ConfigError("the question contains a NUL character: retype it")
    if len(text) > MAX_QUESTION_CHARS:
        raise ConfigError(
            f"the question is {len(text):,} characters; the limit is {MAX_QUESTION_CHARS:,}: "
            "shorten it (put background documents in a corpus with 'ttd index' and use --corpus)"
        )
    return text


def regular_file(path: str | Path, what: str) -> Path:
    """`path` exists and is a regular file (a FIFO or device would block the reader forever)."""
    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{what} {p} does not exist: check the path") from None
    except OSError as exc:
        raise ConfigError(f"{what} {p} cannot be read ({exc.strerror}): check the path") from None
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise ConfigError(f"{what} {p} is {kind}: pass a TOML file")
    return p


def writable_dir(path: Path, what: str = "--out") -> None:
    """`path` is (or can become) a folder we can create files in; probed by creating and removing a file
    in it or, where it does not exist yet, in its nearest existing parent (nothing is left behind)."""
    p = Path(path).expanduser()
    existing = p
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise ConfigError(f"{what} {p}: {existing} is a file, not a folder: pass a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".ttd-probe-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(
            f"{what} {p} is not a writable folder ({exc.strerror or exc.__class__.__name__}): "
            "pass a folder you can write to"
        ) from None


def api_base(url: str | None, timeout: float = 3.0) -> None:
    """An `--api-base` is an http(s) URL whose host accepts TCP connections; checked before the run starts."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--api-base {url!r} is not an http(s) URL: pass e.g. http://localhost:8000/v1")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(
            f"--api-base {url!r} has an invalid port: pass e.g. http://localhost:8000/v1"
        ) from None
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ConfigError(
            f"the model endpoint {url} cannot be reached ({reason}): start the server or fix --api-base"
        ) from None


def contained(base: Path, name: str, what: str) -> Path:
    """`base/name` resolved, refused if it escapes `base` (`../x`, absolute paths, symlinks out)."""
    target = (base / name).resolve()
    if Path(name).is_absolute() or not target.is_relative_to(base.resolve()):
        raise ConfigError(f"{what} '{name}' is outside {base}: name a preset from 'ttd agents'")
    return target
