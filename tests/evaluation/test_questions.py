"""Question files in three shapes, and the deterministic subsets."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sqlcoder_cli.errors import UsageError
from sqlcoder_cli.evaluation.questions import load_questions, sample, select


@pytest.fixture
def dbs(tmp_path: Path) -> Path:
    folder = tmp_path / "dbs"
    folder.mkdir()
    for name in ("shop", "zoo"):
        with sqlite3.connect(folder / f"{name}.sqlite") as c:
            c.execute("CREATE TABLE t (a INTEGER)")
    return folder


def write_lines(path: Path, objects: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def test_sql_eval_format(tmp_path: Path, dbs: Path) -> None:
    f = write_lines(tmp_path / "q.jsonl", [
        {"id": "q1", "db": "shop", "question": "How many?", "category": "group_by", "gold": ["SELECT 1", "SELECT 2;"], "instructions": "Use t."},
        {"id": "q2", "db": "zoo", "question": "Any?", "category": "ratio", "gold": ["SELECT 3"], "instructions": None},
    ])
    qs = load_questions(f, dbs=dbs)
    assert [q.id for q in qs] == ["q1", "q2"]
    assert qs[0].gold == ("SELECT 1", "SELECT 2") and qs[0].instructions == "Use t." and qs[0].category == "group_by"
    assert qs[1].db_path == str(dbs / "zoo.sqlite") and qs[1].instructions == ""


def test_spider_format_json_list_and_nested_folders(tmp_path: Path, dbs: Path) -> None:
    nested = dbs / "farm"
    nested.mkdir()
    with sqlite3.connect(nested / "farm.sqlite") as c:
        c.execute("CREATE TABLE t (a INTEGER)")
    f = tmp_path / "dev.json"
    f.write_text(json.dumps([
        {"db_id": "farm", "question": "How many farms?", "query": "SELECT count(*) FROM t"},
        {"db_id": "shop", "question": "Again?", "query": "SELECT 1"},
    ]), encoding="utf-8")
    qs = load_questions(f, dbs=dbs)
    assert [q.db for q in qs] == ["farm", "shop"]
    assert qs[0].gold == ("SELECT count(*) FROM t",) and qs[0].db_path == str(nested / "farm.sqlite")
    assert qs[0].category == "uncategorized" and qs[0].id == "farm_0001"


def test_own_file_with_single_db(tmp_path: Path, dbs: Path) -> None:
    f = write_lines(tmp_path / "mine.jsonl", [{"question": "How many rows?", "sql": "SELECT count(*) FROM t"}])
    db = str(dbs / "shop.sqlite")
    qs = load_questions(f, db=db)
    assert qs[0].db_path == db and qs[0].db == "shop" and qs[0].gold == ("SELECT count(*) FROM t",)


def test_errors(tmp_path: Path, dbs: Path) -> None:
    f = write_lines(tmp_path / "q.jsonl", [{"db": "nowhere", "question": "?", "gold": ["SELECT 1"]}])
    with pytest.raises(UsageError, match="no database file"):
        load_questions(f, dbs=dbs)
    with pytest.raises(UsageError, match="databases"):
        load_questions(f)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(UsageError, match="not JSON"):
        load_questions(bad, dbs=dbs)


def test_limit_is_round_robin_per_database_and_sample_is_seeded(tmp_path: Path, dbs: Path) -> None:
    objects = [{"id": f"s{i}", "db": "shop", "question": "?", "gold": ["SELECT 1"], "category": f"c{i % 2}"} for i in range(5)]
    objects += [{"id": f"z{i}", "db": "zoo", "question": "?", "gold": ["SELECT 1"], "category": f"c{i % 2}"} for i in range(5)]
    qs = load_questions(write_lines(tmp_path / "q.jsonl", objects), dbs=dbs)
    assert [q.id for q in select(qs, 4)] == ["s0", "s1", "z0", "z1"]
    assert [q.id for q in sample(qs, 4, seed=1)] == [q.id for q in sample(qs, 4, seed=1)]
    assert {q.category for q in sample(qs, 4, seed=1)} == {"c0", "c1"}
