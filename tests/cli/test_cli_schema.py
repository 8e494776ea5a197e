from __future__ import annotations

import json
from pathlib import Path

from clitest import invoke




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
