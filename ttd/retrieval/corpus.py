"""Persistent local corpora: one SQLite file per corpus holding files, chunks and cached embeddings.

Updating is incremental: a file whose content hash is unchanged is skipped, a changed file's chunks (and
their embeddings) are replaced, and files deleted from disk or from a re-scanned folder are removed. The
`generation` counter changes whenever the chunk set does, so in-memory indexes know when to rebuild.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ttd.errors import TTDError
from ttd.paths import corpora_dir
from ttd.retrieval.base import stable_id
from ttd.retrieval.chunking import chunk_text
from ttd.retrieval.loaders import iter_files, load_file

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, indexed_at REAL NOT NULL,
    n_chunks INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, path TEXT NOT NULL,
    location TEXT NOT NULL, title TEXT NOT NULL, section TEXT NOT NULL, text TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, meta TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE TABLE IF NOT EXISTS embeddings (chunk_id TEXT PRIMARY KEY, model TEXT NOT NULL, vec BLOB NOT NULL);
"""


@dataclass
class ChunkRow:
    """A stored chunk; `id` is `stable_id(location, "start-end")` so citations survive re-indexing."""

    id: str
    location: str
    title: str
    section: str
    text: str
    start: int
    end: int
    meta: dict[str, object] = field(default_factory=dict)


@dataclass
class IndexReport:
    """What an update did, for the CLI to print."""

    name: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why): files that could not be read

    def summary(self) -> str:
        text = (
            f"{self.name}: {self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.removed} removed; {self.chunks} chunks in total ({self.seconds:.1f}s)"
        )
        if self.skipped:
            shown = "; ".join(f"{path} ({why})" for path, why in self.skipped[:5])
            more = f"; and {len(self.skipped) - 5} more" if len(self.skipped) > 5 else ""
            text += f"\n{len(self.skipped)} files skipped: {shown}{more}"
        return text


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise TTDError(f"corpus name {name!r} is not allowed: use letters, digits, '.', '_' or '-'")
    return name


def corpus_path(name: str) -> Path:
    return corpora_dir() / f"{check_name(name)}.sqlite"


def list_corpora() -> list[dict[str, object]]:
    """Name, file count, chunk count and roots of every corpus in the data directory."""
    out: list[dict[str, object]] = []
    d = corpora_dir()
    for p in sorted(d.glob("*.sqlite")) if d.exists() else []:
        with Corpus(p.stem, create=False) as c:
            out.append(
                {
                    "name": p.stem,
                    "files": c.count_files(),
                    "chunks": c.count_chunks(),
                    "roots": c.roots(),
                    "path": str(p),
                }
            )
    return out


def drop_corpus(name: str) -> bool:
    """Delete a corpus; False when there was none by that name."""
    p = corpus_path(name)
    found = p.exists()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{p}{suffix}").unlink(missing_ok=True)
    return found


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Corpus:
    """One corpus file. Use as a context manager; methods are synchronous (SQLite is local and fast)."""

    def __init__(self, name: str, create: bool = True) -> None:
        self.name = check_name(name)
        self.path = corpus_path(name)
        if not create and not self.path.exists():
            known = ", ".join(str(c) for c in (p.stem for p in corpora_dir().glob("*.sqlite"))) or "none"
            raise TTDError(
                f"no corpus named {name!r} (known: {known}); build it with `ttd index PATH --name {name}`"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # -- metadata -------------------------------------------------------------------------------------
    def _meta(self, key: str, default: str = "") -> str:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def generation(self) -> int:
        return int(self._meta("generation", "0"))

    def roots(self) -> list[str]:
        return list(json.loads(self._meta("roots", "[]")))

    def count_files(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def count_chunks(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    # -- building -------------------------------------------------------------------------------------
    def update(self, paths: Iterable[Path] = (), max_chars: int = 1200, overlap: int = 150) -> IndexReport:
        """Add or refresh the files under `paths` (default: the roots indexed before); drop deleted ones."""
        t0 = time.perf_counter()
        report = IndexReport(self.name)
        roots = [Path(p).expanduser().resolve() for p in paths] or [Path(r) for r in self.roots()]
        if not roots:
            raise TTDError(f"corpus {self.name!r} has no folders yet: name at least one PATH to index")
        missing_roots = [r for r in roots if not r.exists()]
        live_roots = [r for r in roots if r.exists()]
        seen: set[str] = set()
        known = dict(self.db.execute("SELECT path, sha256 FROM files").fetchall())
        for f in iter_files(live_roots):
            key = str(f)
            seen.add(key)
            try:
                key.encode("utf-8")
                digest = _sha256(f)
                if known.get(key) == digest:
                    report.unchanged += 1
                    continue
                rows = self._chunk_file(f, max_chars, overlap)
            except UnicodeEncodeError:
                report.skipped.append((key.encode("utf-8", "replace").decode(), "unusable file name"))
                continue
            except Exception as exc:  # one unreadable file must not abort the whole index
                report.skipped.append((key, f"{exc.__class__.__name__}: {exc}"[:160]))
                continue
            with self.db:
                if key in known:
                    self._delete_file(key)
                    report.updated += 1
                else:
                    report.added += 1
                self.db.executemany(
                    'INSERT OR REPLACE INTO chunks (id, path, location, title, section, text, start, "end", '
                    "meta) VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            r.id,
                            key,
                            r.location,
                            r.title,
                            r.section,
                            r.text,
                            r.start,
                            r.end,
                            json.dumps(r.meta),
                        )
                        for r in rows
                    ],
                )
                self.db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)",
                    (key, digest, f.stat().st_size, time.time(), len(rows)),
                )
        for key in known:
            p = Path(key)
            under_scan = any(p.is_relative_to(r) for r in roots)
            if key not in seen and (under_scan or not p.exists()):
                with self.db:
                    self._delete_file(key)
                report.removed += 1
        with self.db:
            all_roots = sorted(
                {*self.roots(), *(str(r) for r in live_roots)} - {str(r) for r in missing_roots}
            )
            self._set_meta("roots", json.dumps(all_roots))
            if report.added or report.updated or report.removed:
                self._set_meta("generation", str(self.generation() + 1))
        report.chunks = self.count_chunks()
        report.seconds = time.perf_counter() - t0
        return report

    def _delete_file(self, key: str) -> None:
        self.db.execute(
            "DELETE FROM embeddings WHERE chunk_id IN (SELECT id FROM chunks WHERE path=?)", (key,)
        )
        self.db.execute("DELETE FROM chunks WHERE path=?", (key,))
        self.db.execute("DELETE FROM files WHERE path=?", (key,))

    @staticmethod
    def _chunk_file(path: Path, max_chars: int, overlap: int) -> list[ChunkRow]:
        rows: list[ChunkRow] = []
        for doc in load_file(path):
            for c in chunk_text(doc.text, max_chars=max_chars, overlap=overlap):
                meta: dict[str, object] = {}
                page = doc.page_at(c.start)
                if page is not None:
                    meta["page"] = page
                rows.append(
                    ChunkRow(
                        stable_id(doc.location, f"{c.start}-{c.end}"),
                        doc.location,
                        doc.title,
                        c.section,
                        c.text,
                        c.start,
                        c.end,
                        meta,
                    )
                )
        return rows

    # -- reading --------------------------------------------------------------------------------------
    def chunks(self) -> list[ChunkRow]:
        """Every chunk in insertion order (the order in-memory indexes use)."""
        cur = self.db.execute(
            'SELECT id, location, title, section, text, start, "end", meta FROM chunks ORDER BY seq'
        )
        return [ChunkRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7])) for r in cur]

    def embeddings(self, model: str, ids: list[str]) -> dict[str, np.ndarray]:
        """Cached vectors for `ids` made by `model`."""
        out: dict[str, np.ndarray] = {}
        cur = self.db.execute("SELECT chunk_id, vec FROM embeddings WHERE model=?", (model,))
        wanted = set(ids)
        for cid, blob in cur:
            if cid in wanted:
                out[cid] = np.frombuffer(blob, dtype=np.float32)
        return out

    def store_embeddings(self, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO embeddings VALUES (?,?,?)",
                [(cid, model, np.asarray(v, dtype=np.float32).tobytes()) for cid, v in vectors.items()],
            )

    def embed_missing(self, model: str, encode: Callable[[list[str]], np.ndarray], batch: int = 256) -> int:
        """Compute and store vectors for chunks that have none for `model`; returns how many."""
        rows = self.chunks()
        have = self.embeddings(model, [r.id for r in rows])
        todo = [r for r in rows if r.id not in have]
        for i in range(0, len(todo), batch):
            part = todo[i : i + batch]
            vecs = encode([embed_text(r) for r in part])
            self.store_embeddings(model, {r.id: v for r, v in zip(part, vecs, strict=True)})
        return len(todo)


def embed_text(row: ChunkRow) -> str:
    """What the dense model sees: title and section give a chunk the context its body may lack."""
    head = row.title if not row.section else f"{row.title} - {row.section}"
    return f"{head}\n{row.text}"
