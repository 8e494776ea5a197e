"""Introspection results cached per database, validated by a cheap fingerprint.

Why: introspecting a 500-table database (and sampling its values) takes seconds; a question
should not pay that again when nothing changed. The fingerprint is one or two catalog queries:

- SQLite: file size + mtime + ``PRAGMA schema_version`` (bumped by every DDL statement);
- DuckDB: file size + mtime + a hash of ``duckdb_columns()``/``duckdb_constraints()``;
- PostgreSQL: an md5 over the OIDs and ``xmin`` (row version) of ``pg_class``, ``pg_attribute``,
  ``pg_constraint``, ``pg_description`` and ``pg_enum`` rows of user schemas, so any DDL or
  COMMENT changes it;
- other backends: none, so the cache is used until ``--refresh-schema``.

Files live in ``<cache_dir>/schema/<database_key>.json``; a corrupt or outdated file is ignored
and rewritten. Each rewrite is atomic (another process reading the cache sees the old file or the
new one, never half of one) and private (0600 in a 0700 folder: it holds sampled values).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DatabaseError
from ..files import atomic_write
from .introspect import SCHEMA_FORMAT, Schema, introspect

if TYPE_CHECKING:
    from ..config import Paths
    from ..db.connect import Database, DatabaseTarget


def database_identity(target: DatabaseTarget) -> str:
    """The database's identity without secrets: the resolved file path, or the URL as it is shown
    (every credential hidden, see :mod:`sqlcoder_cli.db.secrets`); it is stored in cache files."""
    path = target.path
    if path is not None:
        return f"{target.backend}:{Path(path).expanduser().resolve()}"
    return target.display


def database_key(target: DatabaseTarget) -> str:
    """A stable, file-name-safe key: a readable slug plus a short hash of :func:`database_identity`.

    Used for the schema cache and the notes file, so both follow the same database.
    """
    identity = database_identity(target)
    path = target.path
    if target.is_demo:
        readable = "demo"
    elif path is not None:
        readable = Path(path).stem
    else:
        from sqlalchemy.engine import make_url

        try:
            url = make_url(target.url)
            readable = "-".join(p for p in (url.get_backend_name(), url.host or "", url.database or "") if p)
        except Exception:  # noqa: BLE001
            readable = target.backend
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", readable).strip("-.").lower()[:40] or "db"
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:10]
    return f"{slug}-{digest}"


_PG_FINGERPRINT = """
SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (
  SELECT 'c' || c.oid::text || ':' || c.xmin::text AS x
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
     AND left(n.nspname, 8) <> 'pg_toast'
  UNION ALL
  SELECT 'a' || a.attrelid::text || '.' || a.attnum::text || ':' || a.xmin::text
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE a.attnum > 0 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND left(n.nspname, 8) <> 'pg_toast'
  UNION ALL
  SELECT 'k' || o.oid::text || ':' || o.xmin::text
    FROM pg_constraint o JOIN pg_namespace n ON n.oid = o.connamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  UNION ALL
  SELECT 'd' || d.objoid::text || '.' || d.objsubid::text || ':' || d.xmin::text
    FROM pg_description d WHERE d.classoid = 'pg_class'::regclass AND d.objoid >= 16384
  UNION ALL
  SELECT 'e' || e.oid::text || ':' || e.xmin::text FROM pg_enum e
  UNION ALL
  SELECT 'n' || n.oid::text || ':' || n.xmin::text FROM pg_namespace n
) s
"""


def schema_fingerprint(db: Database) -> str | None:
    """A string that changes whenever the schema may have; None when the backend offers none."""
    backend = db.target.backend
    parts: list[str] = [backend]
    path = db.target.path
    if path is not None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        parts += [str(st.st_size), str(st.st_mtime_ns)]
        wal = Path(str(path) + "-wal")
        if wal.exists():
            ws = wal.stat()
            parts += ["wal", str(ws.st_size), str(ws.st_mtime_ns)]
    try:
        with db.connect() as conn:
            if backend == "sqlite":
                parts.append(str(conn.connection.dbapi_connection.execute("PRAGMA schema_version").fetchone()[0]))
            elif backend == "duckdb":
                h = hashlib.sha256()
                for sql in (
                    "SELECT schema_name, table_name, column_index, column_name, data_type, is_nullable, "
                    "comment FROM duckdb_columns() ORDER BY ALL",
                    "SELECT schema_name, table_name, constraint_text FROM duckdb_constraints() ORDER BY ALL",
                    "SELECT schema_name, table_name, comment FROM duckdb_tables() ORDER BY ALL",
                ):
                    for row in conn.exec_driver_sql(sql).fetchall():
                        h.update(repr(tuple(row)).encode("utf-8"))
                parts.append(h.hexdigest())
            elif backend == "postgresql":
                parts.append(str(conn.exec_driver_sql(_PG_FINGERPRINT).scalar()))
            else:
                return None
            conn.rollback()
    except Exception as exc:  # noqa: BLE001 - no fingerprint means "introspect again", never an error
        from ..db.execute import one_line_error
        from ..db.sqlite import file_unusable

        # a locked or damaged SQLite file: reading the schema would wait for the same lock, or
        # meet the same damage, so say so now instead of a second time
        if backend == "sqlite" and file_unusable(one_line_error(exc, [])):
            if isinstance(exc, DatabaseError):
                raise
            raise DatabaseError(f"cannot read the schema of {db.target.display}: {db.explain_error(exc)}") from None
        return None
    return "|".join(parts)


def cache_path(paths: Paths, target: DatabaseTarget) -> Path:
    return paths.cache_dir / "schema" / f"{database_key(target)}.json"


def _read_cache(path: Path, identity: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != SCHEMA_FORMAT or data.get("identity") != identity:
        return None
    if not isinstance(data.get("schema"), dict):
        return None
    return data


def load_schema(db: Database, paths: Paths, *, refresh: bool = False) -> tuple[Schema, bool]:
    """The schema of ``db`` and whether it came from the cache.

    The cache is used when its fingerprint matches the database's current one (backends without
    a fingerprint use it until ``refresh``); otherwise the database is introspected and the cache
    rewritten. Writing the cache is best effort: a read-only cache directory never fails a question.
    """
    target = db.target
    identity = database_identity(target)
    path = cache_path(paths, target)
    fingerprint = schema_fingerprint(db)
    #: a backend that has a fingerprint but could not compute one now: do not trust the cache
    unverifiable = fingerprint is None and target.backend in ("sqlite", "duckdb", "postgresql")
    if not refresh and not unverifiable:
        data = _read_cache(path, identity)
        if data is not None and data.get("fingerprint") == fingerprint:
            try:
                return Schema.from_dict(data["schema"]), True
            except (KeyError, TypeError, ValueError):
                pass
    schema = introspect(db)
    record = {
        "format": SCHEMA_FORMAT,
        "identity": identity,
        "fingerprint": fingerprint,
        "schema": schema.to_dict(),
    }
    try:
        atomic_write(path, json.dumps(record, ensure_ascii=False))
    except OSError:
        pass
    return schema, False
