"""Structure-aware chunking with overlap, keeping exact character offsets.

A chunk is always a contiguous slice `text[start:end]` of the source text, so a citation's offsets point at
the exact characters a reader finds in the file. Chunks break at headings first (a new section starts a new
chunk once the current one holds enough text), then at paragraph breaks, then at sentence ends; consecutive
chunks overlap by roughly `overlap` characters so a fact split across a boundary survives in one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+]){3,}\s*$")
_PARA_BREAK = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class Chunk:
    """A slice of a document: `text == source[start:end]`; `section` is the heading trail above it."""

    text: str
    start: int
    end: int
    section: str = ""


@dataclass
class _Block:
    start: int
    end: int
    heading: str | None  # set when the block is a heading line


def _blocks(text: str) -> list[_Block]:
    """Paragraph blocks with offsets; markdown `#` and rst underlined titles become heading blocks."""
    blocks: list[_Block] = []
    pos = 0
    for m in [*_PARA_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        seg_start = pos
        pos = m.end() if m else len(text)
        if not text[seg_start:end].strip():
            continue
        # Split a paragraph whose first lines are headings (markdown or rst) from its body.
        lines = text[seg_start:end].split("\n")
        offset = seg_start
        i = 0
        body_start = seg_start
        while i < len(lines):
            line = lines[i]
            md = _MD_HEADING.match(line)
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if md:
                blocks.append(_Block(offset, offset + len(line), md.group(2)))
                offset += len(line) + 1
                body_start = offset
                i += 1
            elif line.strip() and _RST_UNDERLINE.match(nxt) and len(nxt.strip()) >= len(line.strip()) - 1:
                span = len(line) + 1 + len(nxt)
                blocks.append(_Block(offset, offset + span, line.strip()))
                offset += span + 1
                body_start = offset
                i += 2
            else:
                break
        if body_start < end and text[body_start:end].strip():
            blocks.append(_Block(body_start, end, None))
    return blocks


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split one over-long block at sentence ends, falling back to whitespace, then to a hard cut."""
    pieces: list[tuple[int, int]] = []
    s = start
    while end - s > max_chars:
        window = text[s : s + max_chars]
        cut = -1
        for m in _SENTENCE_END.finditer(window):
            if m.start() > max_chars // 3:
                cut = m.end()
        if cut <= 0:
            ws = window.rfind(" ", max_chars // 3)
            cut = ws + 1 if ws > 0 else max_chars
        pieces.append((s, s + cut))
        s += cut
    if s < end:
        pieces.append((s, end))
    return pieces


def _overlap_start(text: str, start: int, end: int, overlap: int) -> int:
    """Where the next chunk should begin so that it repeats about `overlap` chars, snapped to a word."""
    if overlap <= 0 or end - start <= overlap:
        return end
    s = end - overlap
    m = _SENTENCE_END.search(text, s, end)
    if m and m.end() < end:
        return m.end()
    ws = text.find(" ", s, end)
    return ws + 1 if 0 <= ws < end - 1 else end


def chunk_text(text: str, max_chars: int = 1200, overlap: int = 150, min_chars: int = 200) -> list[Chunk]:
    """Chunks of at most about `max_chars` characters covering every non-blank character of `text`."""
    units: list[tuple[int, int, str | None]] = []  # (start, end, heading-or-None)
    for b in _blocks(text):
        if b.heading is not None:
            units.append((b.start, b.end, b.heading))
        else:
            # pieces leave room for the overlap carried into the next chunk
            piece = max(max_chars - overlap, max_chars // 2)
            units.extend((s, e, None) for s, e in _split_long(text, b.start, b.end, piece))

    chunks: list[Chunk] = []
    trail: list[str] = []
    cur_start: int | None = None
    cur_end = 0
    cur_section = ""

    def flush() -> None:
        nonlocal cur_start
        if cur_start is not None and text[cur_start:cur_end].strip():
            chunks.append(Chunk(text[cur_start:cur_end], cur_start, cur_end, cur_section))
        cur_start = None

    for s, e, heading in units:
        if heading is not None:
            if cur_start is not None and cur_end - cur_start >= min_chars:
                flush()
            trail = [*trail[-1:], heading] if trail else [heading]
        if cur_start is not None and e - cur_start > max_chars:
            prev_start, prev_end = cur_start, cur_end
            flush()
            ov = _overlap_start(text, prev_start, prev_end, overlap)
            cur_start = ov if ov < prev_end and e - ov <= max_chars else s
            cur_section = " > ".join(trail)
        if cur_start is None:
            cur_start = s
            cur_section = " > ".join(trail)
        cur_end = e
    flush()
    return chunks
