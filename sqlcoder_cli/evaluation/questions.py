"""Question files: Defog sql-eval jsonl, Spider-style json/jsonl, or a user's own file for one --db.

Accepted shapes (one JSON object per line in ``.jsonl``, or a JSON list in ``.json``):

- sql-eval: ``{"id", "db", "question", "category", "gold": [sql, ...], "instructions"}``
- Spider:   ``{"db_id", "question", "query"}`` (``query`` may also be a list of alternatives)
- own file with ``--db FILE``: ``{"question", "gold"|"query"|"sql", ...}``; every question runs on
  that one database (a ``db`` field, if present, is ignored).

Missing ids become ``<db>_<line>``; a missing category becomes ``"uncategorized"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError

DB_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".duckdb")


@dataclass(frozen=True)
class Question:
    id: str
    db: str
    question: str
    gold: tuple[str, ...]
    category: str = "uncategorized"
    instructions: str = ""
    #: where the database lives (a file path or a SQLAlchemy URL)
    db_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _read_objects(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read question file {path}: {exc}") from exc
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            data = json.loads(text)
            if not all(isinstance(o, dict) for o in data):
                raise UsageError(f"{path}: a JSON list of objects was expected")
            return list(data)
        objects = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise UsageError(f"{path}:{number}: a JSON object was expected")
            objects.append(obj)
        return objects
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not JSON lines or a JSON list: {exc}") from exc


def _gold_of(obj: dict[str, Any]) -> tuple[str, ...]:
    for key in ("gold", "query", "sql", "SQL"):
        value = obj.get(key)
        if value is None:
            continue
        items = [value] if isinstance(value, str) else list(value)
        return tuple(str(s).strip().rstrip(";").strip() for s in items if str(s).strip())
    return ()


def find_db_file(dbs_dir: Path, name: str) -> str:
    """``DIR/<name>.sqlite`` (or .db/.sqlite3/.duckdb), or Spider's ``DIR/<name>/<name>.sqlite``."""
    for suffix in DB_SUFFIXES:
        for candidate in (dbs_dir / f"{name}{suffix}", dbs_dir / name / f"{name}{suffix}"):
            if candidate.is_file():
                return str(candidate)
    raise UsageError(f"no database file for {name!r} in {dbs_dir}", hint=f"expected {dbs_dir}/{name}.sqlite")


def load_questions(path: str | Path, *, dbs: str | Path | None = None, db: str | None = None) -> list[Question]:
    """Read a question file; ``dbs`` is the folder of databases, ``db`` a single database for all."""
    path = Path(path)
    if dbs is None and db is None:
        raise UsageError("say where the databases are", hint="pass --dbs DIR (one file per db) or --db FILE")
    objects = _read_objects(path)
    questions: list[Question] = []
    seen: set[str] = set()
    db_paths: dict[str, str] = {}
    for number, obj in enumerate(objects, 1):
        text = str(obj.get("question") or "").strip()
        if not text:
            raise UsageError(f"{path}: entry {number} has no question")
        if db is not None:
            db_name = Path(db).stem if "://" not in db else "db"
            db_path = db
        else:
            db_name = str(obj.get("db") or obj.get("db_id") or "").strip()
            if not db_name:
                raise UsageError(f"{path}: entry {number} names no database (db or db_id)", hint="or pass --db FILE")
            if db_name not in db_paths:
                db_paths[db_name] = find_db_file(Path(dbs), db_name)  # type: ignore[arg-type]
            db_path = db_paths[db_name]
        qid = str(obj.get("id") or obj.get("question_id") or f"{db_name}_{number:04d}")
        if qid in seen:
            qid = f"{qid}#{number}"
        seen.add(qid)
        instructions = obj.get("instructions") or ""
        known = {"id", "db", "db_id", "question", "category", "gold", "query", "sql", "instructions"}
        questions.append(
            Question(
                id=qid,
                db=db_name,
                question=text,
                gold=_gold_of(obj),
                category=str(obj.get("category") or obj.get("query_category") or obj.get("difficulty") or "uncategorized"),
                instructions=str(instructions).strip(),
                db_path=db_path,
                extra={k: v for k, v in obj.items() if k not in known},
            )
        )
    return questions


def select(questions: list[Question], limit: int | None) -> list[Question]:
    """A deterministic, database-balanced subset: the first questions of each database, taken
    round-robin (``--limit 22`` on the dev set = 2 per database), in file order within a database."""
    if limit is None or limit >= len(questions):
        return list(questions)
    by_db: dict[str, list[Question]] = {}
    for q in questions:
        by_db.setdefault(q.db, []).append(q)
    picked: list[Question] = []
    depth = 0
    while len(picked) < limit:
        added = False
        for items in by_db.values():
            if depth < len(items) and len(picked) < limit:
                picked.append(items[depth])
                added = True
        if not added:
            break
        depth += 1
    keep = {q.id for q in picked}
    return [q for q in questions if q.id in keep]


def sample(questions: list[Question], n: int, seed: int = 0) -> list[Question]:
    """A seeded random sample stratified by category (``--sample N --seed S``), in file order."""
    import random

    if n >= len(questions):
        return list(questions)
    rng = random.Random(seed)
    by_cat: dict[str, list[Question]] = {}
    for q in questions:
        by_cat.setdefault(q.category, []).append(q)
    for items in by_cat.values():
        rng.shuffle(items)
    picked: list[Question] = []
    cats = sorted(by_cat)
    depth = 0
    while len(picked) < n:
        for c in cats:
            if depth < len(by_cat[c]) and len(picked) < n:
                picked.append(by_cat[c][depth])
        depth += 1
    keep = {q.id for q in picked}
    return [q for q in questions if q.id in keep]
