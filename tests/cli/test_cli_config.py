from __future__ import annotations

import json
from pathlib import Path

from clitest import invoke


def test_path_show_set(sqlcoder_home: Path) -> None:
    path = invoke("config", "path")
    assert path.stdout.strip() == str(sqlcoder_home / "config" / "config.toml")
    assert invoke("config", "set", "row_limit", "250").exit_code == 0
    assert invoke("config", "set", "default_db", "~/shop.sqlite").exit_code == 0
    assert (sqlcoder_home / "config" / "config.toml").read_text() == 'default_db = "~/shop.sqlite"\nrow_limit = 250\n'
    shown = json.loads(invoke("config", "show", "--json").stdout)
    assert shown["row_limit"] == 250 and shown["default_model"] == "sqlcoder-7b-2"
    assert 'row_limit = 250' in invoke("config", "show").stdout


def test_environment_overrides_show_but_are_not_saved(sqlcoder_home: Path) -> None:
    shown = json.loads(invoke("config", "show", "--json", environ={"SQLCODER_DB": "env.duckdb"}).stdout)
    assert shown["default_db"] == "env.duckdb"
    invoke("config", "set", "threads", "2", environ={"SQLCODER_DB": "env.duckdb"})
    assert "env.duckdb" not in (sqlcoder_home / "config" / "config.toml").read_text()


def test_bad_key_or_value_is_exit_2_in_one_line(sqlcoder_home: Path) -> None:
    for args, text in ((("colour", "red"), "unknown config key"), (("row_limit", "lots"), "whole number")):
        result = invoke("config", "set", *args)
        assert result.exit_code == 2
        assert text in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_broken_config_file_is_reported_by_any_command(sqlcoder_home: Path) -> None:
    (sqlcoder_home / "config").mkdir(parents=True)
    (sqlcoder_home / "config" / "config.toml").write_text("row_limit = [")
    result = invoke("config", "show")
    assert result.exit_code == 2 and "cannot read" in result.stderr
