"""Make every citation in a report resolve to a source retrieved in this run.

Models cite the run-wide source numbers they were shown ([n]). Before a report is returned we read every
bracketed mark, repair the forms small models produce ([S3], [source 3], [^3], [3-5], a passage id),
drop numbers that point at nothing retrieved (fabrications), renumber the survivors 1..K in order of
first use, and write the Sources list from the registry. The counts go into the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ttd.hygiene import BRACKET, bracket_numbers, code_lines, prose_lines
from ttd.state import CitationStats
from ttd.terms import SENTENCE, terms

# One normalised inline citation mark, "[3]" (group 1: the number): what attribution, the claim check and
# the report stage find, count and strip
MARK = re.compile(r"\[(\d{1,4})\]")
_SOURCES_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*|\*\*)?(?:sources|references|bibliography|citations|works cited)"
    r"(?: and (?:further reading|references|sources)| cited| consulted| used)?\s*(?:\([^)\n]*\))?\s*[.:]?\s*"
    r"(?:\*\*)?\s*(?::(?!\s*[^\[\s].*\[\d{1,4}\]).*)?$",
    re.I | re.M,
)  # the heading alone or with its list: "## Sources of revenue" (Robinhood's report) is a report section


@dataclass
class Finalized:
    markdown: str
    sources: list[dict[str, Any]]  # registry records in report order, each with "n" renumbered and "run_n"
    stats: CitationStats
    body: str = field(default="")


def strip_sources_section(markdown: str) -> str:
    """Remove a Sources/References list the model wrote itself; ours replaces it."""
    matches = [m for m in _SOURCES_HEADING.finditer(markdown) if m.start() > len(markdown) // 3]
    return markdown[: matches[-1].start()].rstrip() if matches else markdown


def finalize(markdown: str, sources: dict[str, dict[str, Any]]) -> Finalized:
    """Validate, repair and renumber the citations of `markdown` against the run's `sources`."""
    by_n = {int(r["n"]): r for r in sources.values()}
    ids = {sid: int(r["n"]) for sid, r in sources.items()}
    order: dict[int, int] = {}  # run-wide number -> report number
    stats = CitationStats(**dict.fromkeys(CitationStats.__annotations__, 0))  # every counter starts at 0

    spaced = -1  # where a dropped mark's space waits for the mark right after it: "g [9][1]" -> "g [1]"

    def replace(match: re.Match[str]) -> str:
        nonlocal spaced
        lead = " " if match.group(0)[0] in " \t" or match.start() == spaced else ""
        cited = bracket_numbers(match.group(1), ids)
        if cited is None:
            # no citation: as written, with the space of a dropped mark before it if it has none
            spaceless = match.start() == spaced and match.group(0)[0] not in " \t"
            return " " * spaceless + match.group(0)
        kept: list[int] = []
        for n, repaired in cited:
            if n not in by_n:
                stats["dropped"] += 1
                continue
            stats["resolved"] += 1
            stats["repaired"] += int(repaired)
            new = order.setdefault(n, len(order) + 1)
            if new not in kept:
                kept.append(new)
        if not kept:
            spaced = match.end() if lead else -1
            return ""
        return lead + "".join(f"[{k}]" for k in kept)

    def marked(line: str) -> str:
        nonlocal spaced
        spaced = -1
        return BRACKET.sub(replace, line)

    body, stats["foreign_urls"] = strip_foreign_urls(strip_sources_section(markdown), sources)
    body = prose_lines(body, marked).strip()  # brackets in code are code ("x = [3, 4]"), not marks
    stats["cited"] = len(order)
    report_sources = []
    for run_n, new in sorted(order.items(), key=lambda kv: kv[1]):
        record = dict(by_n[run_n])
        record["run_n"], record["n"] = run_n, new
        report_sources.append(record)
    lines = [f"[{s['n']}] {_source_line(s)}" for s in report_sources]
    full = body + ("\n\n## Sources\n\n" + "\n".join(lines) + "\n" if lines else "\n")
    return Finalized(markdown=full, sources=report_sources, stats=stats, body=body)


_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(\s*<?([^()\s>]+)>?[^()]*\)")
_BARE_URL = re.compile(r"<?\b(?:https?|ftp)://[^\s<>()\[\]]+>?|\bwww\.[^\s<>()\[\]]+", re.I)


def _norm(url: str) -> str:
    return url.strip("<>").rstrip(".,;:!?'\"").rstrip("/").lower()


def strip_foreign_urls(markdown: str, sources: dict[str, dict[str, Any]]) -> tuple[str, int]:
    """Remove web addresses that are not among the run's sources (a link text stays, its target goes).

    Retrieved text is untrusted: a page can tell the model to link somewhere. Only addresses the run
    actually retrieved may appear in a report; the number removed goes into the citation stats."""
    allowed = {_norm(str(r.get("location") or "")) for r in sources.values()}
    removed = 0

    def link(m: re.Match[str]) -> str:
        nonlocal removed
        if _norm(m.group(2)) in allowed:
            return m.group(0)
        removed += 1
        return m.group(1)

    def bare(m: re.Match[str]) -> str:
        nonlocal removed
        if _norm(m.group(0)) in allowed:
            return m.group(0)
        removed += 1
        return ""

    text = _BARE_URL.sub(bare, _MD_LINK.sub(link, markdown))
    return (re.sub(r"[ \t]{2,}", " ", text) if removed else text), removed


def _source_line(source: dict[str, Any]) -> str:
    from ttd.formatting import clean_title

    title, location = clean_title(source.get("title")), str(source.get("location") or "")
    if location.startswith(("http://", "https://")):
        return f"{title}. <{location}>"
    return f"{title}. {location}".strip()


def attribute(
    markdown: str,
    sources: dict[str, dict[str, Any]],
    topic: str = "",
    min_shared: int = 4,
    min_share: float = 0.5,
) -> tuple[str, int]:
    """Cite uncited sentences that a retrieved passage demonstrably supports (post-hoc attribution).

    Small models often drop the [n] marks while keeping the facts. A sentence with no citation gets the
    number of the passage that shares the most of its content words, if at least `min_shared` words and
    `min_share` of them, not counting the research question's own words (every sentence shares those).
    Nothing is cited that a reader could not find in the passage; the count goes into the report stats.
    """
    topic_words = terms(topic)
    passages = [(int(r["n"]), terms(f"{r.get('title', '')} {r.get('text', '')}")) for r in sources.values()]
    added = 0
    out_lines = []
    lines = markdown.split("\n")
    for line, code in zip(lines, code_lines(lines), strict=True):
        if code or not line.strip() or line.lstrip().startswith(("#", "|", ">")):
            out_lines.append(line)
            continue
        pieces = []
        for sentence in SENTENCE.findall(line):
            words = terms(sentence) - topic_words
            if MARK.search(sentence) or len(words) < min_shared:
                pieces.append(sentence)
                continue
            best_n, best_shared = 0, 0
            for n, passage in passages:
                shared = len(words & passage)
                if shared > best_shared:
                    best_n, best_shared = n, shared
            if best_shared >= min_shared and best_shared / len(words) >= min_share:
                stripped = sentence.rstrip()
                end = stripped[-1] if stripped[-1] in ".!?" else ""
                body = stripped[:-1] if end else stripped
                pieces.append(f"{body} [{best_n}]{end}" + sentence[len(stripped) :])
                added += 1
            else:
                pieces.append(sentence)
        out_lines.append("".join(pieces) if pieces else line)
    return "\n".join(out_lines), added
