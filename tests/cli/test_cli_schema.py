from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitest import invoke

from sqlcoder_cli.cli.app import app


@pytest.fixture(autouse=True)
def _registered() -> None:
    """Until app.py registers the command itself."""
    from sqlcoder_cli.cli import notes_cmd, schema_cmd

    if "schema" not in {c.name for c in app.registered_commands}:
        schema_cmd.register(app)
    if "notes" not in {g.name for g in app.registered_groups}:
        notes_cmd.register(app)


def test_schema_ddl_json_tree(sqlcoder_home: Path) -> None:
    r = invoke("schema")
    assert r.exit_code == 0, r.stderr
    assert "CREATE TABLE orders (" in r.stdout and "one of 'pending'" in r.stdout
    assert list((sqlcoder_home / "cache" / "schema").glob("demo-*.json"))
    r = invoke("schema", "--format", "json", "orders")
    data = json.loads(r.stdout)
    assert [t["name"] for t in data["tables"]] == ["orders"]
    r = invoke("schema", "--format", "tree", "--refresh-schema", "customers")
    assert r.exit_code == 0 and r.stdout.splitlines()[1] == "  customers  [500 rows]"
    assert "    customer_id INTEGER PK" in r.stdout
    r = invoke("schema", "nope")
    assert r.exit_code == 2 and "no such table: nope" in r.stderr
