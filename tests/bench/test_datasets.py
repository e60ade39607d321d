"""Loaders on every official-format sample in the shared data folder, and clear errors on malformed files."""

from __future__ import annotations

import json

import pytest

from ttd.bench import datasets
from ttd.bench.corpus import PoolRetriever, paragraph_id, supporting_ids
from ttd.bench.datasets import DatasetError, load, load_file


def test_hotpotqa_official_json_list(benchmarks):
    records = load_file(benchmarks / "hotpotqa" / "dev_distractor.official_format.json")
    assert len(records) == 60
    first = records[0]
    assert first.id == "5ab48ec25542991779162cdc" and first.answers == ["Spurs"]
    assert len(first.paragraphs) == 10
    assert {p.title for p in first.paragraphs if p.is_supporting} == {"Len Worley", "Tottenham Hotspur F.C."}
    assert all(sum(p.is_supporting for p in r.paragraphs) == 2 for r in records)
    # sentences are joined back into the paragraph text, with the official leading spaces kept
    gillespie = next(p for p in first.paragraphs if p.title == "Gillespie Road")
    assert "Arsenal Football Club. Arsenal tube station" in gillespie.text


def test_hotpotqa_official_and_normalized_agree(benchmarks):
    official = {r.id: r for r in load_file(benchmarks / "hotpotqa" / "dev_distractor.official_format.json")}
    _, normalized = load("hotpotqa")
    shared = [r for r in normalized if r.id in official]
    assert len(normalized) == 485 and shared
    for r in shared:
        o = official[r.id]
        assert (o.question, o.answers) == (r.question, r.answers)
        assert supporting_ids(o) == supporting_ids(r)


def test_hotpotqa_official_layout_as_jsonl(benchmarks, tmp_path):
    items = json.loads((benchmarks / "hotpotqa" / "dev_distractor.official_format.json").read_text())[:3]
    path = tmp_path / "hotpot.jsonl"
    path.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    name, records = load(str(path))
    assert name == "hotpot" and [r.id for r in records] == [i["_id"] for i in items]


def test_musique_official_jsonl(benchmarks):
    records = load_file(benchmarks / "musique" / "dev_sample.official_format.jsonl")
    assert len(records) == 20
    assert all(len(r.paragraphs) == 20 for r in records)
    assert {r.hops for r in records} == {2}  # this sample holds 2-hop questions only
    first = records[0]
    assert first.answers[0] == "Stanley" and first.hops == 2
    assert {p.title for p in first.paragraphs if p.is_supporting} == {
        "Van Hook Township, Mountrail County, North Dakota",
        "Mountrail County Courthouse",
    }
    _, normalized = load("musique")
    assert [r.hops for r in normalized] == [r.hops for r in records]


def test_2wikimultihopqa_official_json(benchmarks):
    records = load_file(benchmarks / "2wikimultihopqa" / "dev_sample.official_format.json")
    assert len(records) == 20
    first = records[0]
    assert first.answers == ["Free Guy"] and first.meta["type"] == "bridge_comparison"
    assert {p.title for p in first.paragraphs if p.is_supporting} == {
        "Forbidden Ground",
        "Free Guy",
        "Pál Gábor",
        "Shawn Levy",
    }


@pytest.mark.parametrize(
    ("name", "count", "with_answers"),
    [
        ("hotpotqa", 485, True),
        ("musique", 20, True),
        ("2wikimultihopqa", 20, True),
        ("bamboogle", 125, True),
        ("frames", 824, True),
        ("deepconsult", 102, False),
        ("deepresearch_bench", 100, False),
    ],
)
def test_every_named_dataset_loads(benchmarks, name, count, with_answers):
    loaded, records = load(name)
    assert loaded == name and len(records) == count
    assert all(r.question for r in records)
    assert all(bool(r.answers) for r in records) is with_answers
    assert load(name, limit=3)[1] == records[:3]


def test_deepconsult_csv(benchmarks):
    records = load_file(benchmarks / "deepconsult" / "queries.csv")
    assert len(records) == 102
    assert records[0].question.startswith("Evaluate the potential consequences of TikTok bans")
    assert records[0].answers == []


def test_pooled_corpus_and_stable_ids(benchmarks):
    _, records = load("hotpotqa", limit=20)
    pool = PoolRetriever(records)
    assert len(pool) == len({paragraph_id(p) for r in records for p in r.paragraphs})
    hits = pool.search_sync(records[0].question, k=10)
    assert hits and all(h.id.startswith("para:") for h in hits)
    assert set(supporting_ids(records[0])) & {h.id for h in hits}  # BM25 finds a gold paragraph
    again = PoolRetriever(list(reversed(records))).search_sync(records[0].question, k=10)
    assert [h.id for h in again] == [h.id for h in hits]  # same text, same id, whatever the load order


def test_malformed_jsonl_names_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "question": "Q1?", "answers": ["x"]}\n\n{"id": "b", "question": \n')
    with pytest.raises(DatasetError, match=r"bad\.jsonl:3: invalid JSON"):
        load_file(path)


def test_a_record_without_question_names_the_line(tmp_path):
    path = tmp_path / "noq.jsonl"
    path.write_text('{"id": "a", "question": "Q1?", "answers": ["x"]}\n{"id": "b", "answers": ["y"]}\n')
    with pytest.raises(DatasetError, match=r"noq\.jsonl:2: the record has no 'question'"):
        load_file(path)


def test_malformed_json_list_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"_id": "a", "question": "Q?",\n   "context": [["T", ["s"]]]\n  ,,\n]\n')
    with pytest.raises(DatasetError, match=r"bad\.json:4: invalid JSON"):
        load_file(path)


def test_a_broken_official_record_names_its_index(tmp_path):
    path = tmp_path / "hp.json"
    good = {
        "_id": "a",
        "question": "Q?",
        "answer": "x",
        "context": [["T", ["s."]]],
        "supporting_facts": [["T", 0]],
    }
    bad = {**good, "_id": "b", "context": [["T"]]}
    path.write_text(json.dumps([good, bad]))
    with pytest.raises(DatasetError, match=r"hp\.json: record 1: malformed record"):
        load_file(path)


def test_csv_without_a_question_column(tmp_path):
    path = tmp_path / "prompts.csv"
    path.write_text("title,body\nx,y\n")
    with pytest.raises(DatasetError, match=r"prompts\.csv:1: no 'question'"):
        load_file(path)


def test_unknown_dataset_and_duplicate_ids(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'nosuch'"):
        load("nosuch")
    path = tmp_path / "dup.jsonl"
    path.write_text('{"id": "a", "question": "Q?"}\n{"id": "a", "question": "R?"}\n')
    with pytest.raises(DatasetError, match="'a' appears more than once"):
        load(str(path))


def test_generic_jsonl_with_paragraphs_and_single_answer(tmp_path):
    path = tmp_path / "mine.jsonl"
    row = {
        "id": 7,
        "question": "Who?",
        "answer": "Ada",
        "paragraphs": [{"title": "A", "text": "t", "is_supporting": 1}],
    }
    path.write_text(json.dumps(row) + "\n")
    (record,) = load_file(path)
    assert record.id == "7" and record.answers == ["Ada"] and record.paragraphs[0].is_supporting
    assert datasets.Record.from_dict(record.to_dict()) == record
