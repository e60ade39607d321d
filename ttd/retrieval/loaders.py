"""Turn files into plain-text documents: .txt .md .rst .html .pdf and .jsonl (one document per line).

Offsets of chunks refer to the text produced here (for PDF and HTML, the extracted text), and each
document records how to find that text again: the path, plus `#L<line>` for a JSONL record and the page
starts for a PDF so a chunk can name its page.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ttd.errors import MissingExtraError, TTDError

SUPPORTED = {".txt", ".md", ".markdown", ".rst", ".html", ".htm", ".pdf", ".jsonl"}
_TITLE_KEYS = ("title", "name", "heading")
_TEXT_KEYS = ("text", "content", "body", "contents", "paragraph")


@dataclass
class Document:
    """Extracted text of one file or one JSONL record; `location` is what a citation shows."""

    location: str
    title: str
    text: str
    page_starts: list[int] = field(default_factory=list)  # PDF: offset where each page begins
    meta: dict[str, Any] = field(default_factory=dict)

    def page_at(self, offset: int) -> int | None:
        """1-based PDF page holding `offset`, or None for non-paged documents."""
        if not self.page_starts:
            return None
        page = 1
        for i, s in enumerate(self.page_starts, start=1):
            if s <= offset:
                page = i
        return page


class _TextHTML(HTMLParser):
    """A dependency-free HTML-to-text fallback: drops script/style/nav, breaks paragraphs at block tags."""

    _SKIP = {"script", "style", "noscript", "nav", "footer", "header", "svg", "form"}
    _BLOCK = {"p", "div", "br", "li", "tr", "section", "article", "blockquote", "pre", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """(title, main text) of an HTML page: trafilatura when installed, else the stdlib fallback."""
    try:
        import trafilatura
    except ImportError:
        trafilatura = None  # type: ignore[assignment]
    if trafilatura is not None:
        text = (
            trafilatura.extract(
                html, output_format="markdown", include_comments=False, include_tables=True, favor_recall=True
            )
            or ""
        )
        meta = trafilatura.extract_metadata(html)
        title = (meta.title if meta and meta.title else "") or ""
        if text.strip():
            return title, text
    parser = _TextHTML()
    parser.feed(html)
    text = re.sub(r"[ \t]+", " ", "".join(parser.parts))
    text = re.sub(r"\n\s*\n\s*", "\n\n", text).strip()
    return parser.title.strip(), text


def pdf_pages(data: bytes | Path) -> list[str]:
    """Text of each PDF page, read with pypdf."""
    try:
        from pypdf import PdfReader
    except ImportError as e:
        raise MissingExtraError("index", "Reading PDF files") from e
    import io

    reader = PdfReader(io.BytesIO(data) if isinstance(data, bytes) else str(data))
    return [(page.extract_text() or "").strip() for page in reader.pages]


def _first_heading(text: str) -> str:
    for line in text.splitlines()[:20]:
        m = re.match(r"^\s{0,3}#{1,6}\s+(.+)", line)
        if m:
            return m.group(1).strip()
    return ""


def load_file(path: Path) -> Iterator[Document]:
    """Documents in one file; a JSONL file yields one per record with a text field."""
    suffix = path.suffix.lower()
    loc = str(path)
    if suffix == ".pdf":
        pages = pdf_pages(path)
        starts, pos = [], 0
        for p in pages:
            starts.append(pos)
            pos += len(p) + 2
        yield Document(loc, path.stem, "\n\n".join(pages), page_starts=starts)
        return
    raw = path.read_text(encoding="utf-8", errors="replace")
    if suffix in {".html", ".htm"}:
        title, text = html_to_text(raw)
        yield Document(loc, title or path.stem, text)
    elif suffix == ".jsonl":
        for n, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise TTDError(f"{path}:{n} is not valid JSON ({e.msg}); fix or remove the line") from e
            if not isinstance(rec, dict):
                continue
            text = next((rec[k] for k in _TEXT_KEYS if isinstance(rec.get(k), str)), "")
            title = next((rec[k] for k in _TITLE_KEYS if isinstance(rec.get(k), str)), "")
            if text.strip():
                yield Document(f"{loc}#L{n}", title or f"{path.stem} line {n}", text)
    else:
        title = _first_heading(raw) if suffix in {".md", ".markdown"} else ""
        if suffix == ".rst":
            lines = raw.lstrip().splitlines()
            if len(lines) > 1 and re.fullmatch(r"[=\-~^#*]{3,}\s*", lines[1]):
                title = lines[0].strip()
        yield Document(loc, title or path.stem, raw)


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Supported files under the given files or folders, sorted, skipping hidden entries.

    Symlinked folders are followed once each (a link loop is walked once, not forever); unreadable
    folders are skipped.
    """
    for p in paths:
        p = p.expanduser().resolve()
        if not p.exists():
            raise TTDError(f"{p} does not exist: check the path")
        if p.is_file():
            if p.suffix.lower() in SUPPORTED:
                yield p
            continue
        seen: set[tuple[int, int]] = set()
        found: list[Path] = []
        for folder, dirs, files in os.walk(p, followlinks=True):
            try:
                st = os.stat(folder)
            except OSError:
                dirs[:] = []
                continue
            if (st.st_dev, st.st_ino) in seen:
                dirs[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                f = Path(folder, name)
                if not name.startswith(".") and f.suffix.lower() in SUPPORTED and f.is_file():
                    found.append(f)
        yield from sorted(found)
