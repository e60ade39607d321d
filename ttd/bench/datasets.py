"""Benchmark loaders: one `Record` shape from each dataset's own file layout.

Users download the official files themselves, so the loaders read the official layouts (HotpotQA and
2WikiMultiHopQA JSON lists, MuSiQue JSONL) as well as a generic JSONL (`question`, `answers`, optional
`paragraphs`) and a CSV of prompts (DeepConsult). A malformed file fails with its path and line number,
because a bad line deep in a 7,000-record file is otherwise hard to find.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ttd.errors import TTDError
from ttd.paths import bench_data_dir


class DatasetError(TTDError):
    """A dataset file that cannot be read; the message names the file and line."""


@dataclass
class Paragraph:
    title: str
    text: str
    is_supporting: bool = False


@dataclass
class Record:
    """One benchmark item. `answers` is empty for long-form prompts; `hops` is known for MuSiQue."""

    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    hops: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        paragraphs = [Paragraph(**p) for p in data.get("paragraphs", [])]
        return cls(**{**data, "paragraphs": paragraphs})


# Named datasets: the file under the data folder that a bare name loads (the normalised, larger sample).
NAMED: dict[str, str] = {
    "hotpotqa": "hotpotqa/dev_distractor.normalized.jsonl",
    "musique": "musique/dev_sample.normalized.jsonl",
    "2wikimultihopqa": "2wikimultihopqa/dev_sample.normalized.jsonl",
    "bamboogle": "bamboogle/test.normalized.jsonl",
    "frames": "frames/test.normalized.jsonl",
    "deepconsult": "deepconsult/queries.normalized.jsonl",
    "deepresearch_bench": "deepresearch_bench/query.normalized.jsonl",
}
LONG_FORM = frozenset({"deepconsult", "deepresearch_bench"})


def resolve(dataset: str) -> tuple[str, Path]:
    """A dataset name or a file path -> (name used in outputs, file to read)."""
    path = Path(dataset)
    if path.is_file():
        return path.stem.split(".")[0], path
    key = dataset.lower().replace("-", "_")
    aliases = {"2wiki": "2wikimultihopqa", "deepresearch": "deepresearch_bench"}
    key = aliases.get(key, key)
    if key not in NAMED:
        raise DatasetError(
            f"unknown dataset '{dataset}': name one of {', '.join(NAMED)} "
            "or give the path of a .json, .jsonl or .csv file"
        )
    file = bench_data_dir() / NAMED[key]
    if not file.is_file():
        raise DatasetError(f"{key} data not found at {file}: set TTD_BENCH_DATA to the benchmarks folder")
    return key, file


def load(dataset: str, limit: int | None = None) -> tuple[str, list[Record]]:
    """Load a named dataset or a file in any supported layout; the first `limit` records."""
    name, path = resolve(dataset)
    records = load_file(path)
    if not records:
        raise DatasetError(f"{path} holds no records")
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DatasetError(f"{path}: record id '{dup}' appears more than once")
    return name, records[:limit] if limit else records


def load_file(path: Path) -> list[Record]:
    """Detect the layout from the file itself and parse every record."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _load_csv(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} cannot be read ({exc.__class__.__name__}: {exc})") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno})") from None
        where = [f"{path}: record {i}" for i in range(len(items))]
    else:
        items, where = [], []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{lineno}: invalid JSON ({exc.msg}, column {exc.colno})") from None
            where.append(f"{path}:{lineno}")
    return [parse_item(item, at) for item, at in zip(items, where, strict=True)]


def parse_item(item: Any, at: str) -> Record:
    """One record in whichever layout it is in; `at` names the place for error messages."""
    if not isinstance(item, dict):
        raise DatasetError(f"{at}: expected a JSON object, found {type(item).__name__}")
    try:
        if "context" in item and "supporting_facts" in item:
            return _hotpot_style(item)
        if "paragraphs" in item and any("paragraph_text" in p for p in item["paragraphs"]):
            return _musique(item)
        return _generic(item)
    except DatasetError as exc:
        raise DatasetError(f"{at}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DatasetError(f"{at}: malformed record ({exc.__class__.__name__}: {exc})") from None


def _question(item: dict[str, Any]) -> str:
    question = item.get("question") or item.get("query") or item.get("prompt")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError("the record has no 'question' text")
    return question.strip()


def _answers(item: dict[str, Any]) -> list[str]:
    raw = item.get("answers", item.get("answer", []))
    values = raw if isinstance(raw, list) else [raw]
    aliases = item.get("answer_aliases") or []
    return [str(a) for a in [*values, *aliases] if a is not None and str(a).strip()]


def _hotpot_style(item: dict[str, Any]) -> Record:
    """HotpotQA and 2WikiMultiHopQA: `context` is [[title, [sentences]]], `supporting_facts` [[title, i]]."""
    gold = {str(t) for t, _ in item["supporting_facts"]}
    paragraphs = [
        Paragraph(str(title), "".join(sentences).strip(), str(title) in gold)
        for title, sentences in item["context"]
    ]
    meta = {k: item[k] for k in ("type", "level") if k in item}
    return Record(str(item.get("_id") or item["id"]), _question(item), _answers(item), paragraphs, None, meta)


def _musique(item: dict[str, Any]) -> Record:
    paragraphs = [
        Paragraph(str(p["title"]), str(p["paragraph_text"]), bool(p.get("is_supporting")))
        for p in item["paragraphs"]
    ]
    hops = len(item["question_decomposition"]) if item.get("question_decomposition") else None
    meta = {"answerable": item.get("answerable", True)}
    return Record(str(item["id"]), _question(item), _answers(item), paragraphs, hops, meta)


def _generic(item: dict[str, Any]) -> Record:
    paragraphs = []
    for p in item.get("paragraphs") or []:
        if not isinstance(p, dict) or "text" not in p:
            raise DatasetError("each paragraph needs a 'text' (and ideally a 'title')")
        paragraphs.append(Paragraph(str(p.get("title") or ""), str(p["text"]), bool(p.get("is_supporting"))))
    hops = _hops(item.get("hops"))
    if hops is None and item.get("question_decomposition"):
        hops = len(item["question_decomposition"])
    meta = {k: item[k] for k in ("type", "level", "language", "topic") if k in item}
    rid = item.get("id", item.get("_id"))
    if rid is None:
        raise DatasetError("the record has no 'id'")
    return Record(str(rid), _question(item), _answers(item), paragraphs, hops, meta)


def _hops(value: Any) -> int | None:
    """2, "2", or MuSiQue's "2hop" / "3hop1" labels -> the hop count."""
    match = re.match(r"\s*(\d+)", str(value)) if value is not None else None
    return int(match.group(1)) if match else None


def _load_csv(path: Path) -> list[Record]:
    """A CSV of prompts with a `query`, `question` or `prompt` column (DeepConsult's layout)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            names = reader.fieldnames or []
            column = next((c for c in ("question", "query", "prompt") if c in names), None)
            if column is None:
                raise DatasetError(f"{path}:1: no 'question', 'query' or 'prompt' column in {names}")
            records = []
            for row in reader:
                text = (row.get(column) or "").strip()
                if not text:
                    raise DatasetError(f"{path}:{reader.line_num}: empty {column}")
                records.append(Record(f"{path.stem}_{len(records)}", text))
            return records
    except csv.Error as exc:
        raise DatasetError(f"{path}: malformed CSV ({exc})") from None
