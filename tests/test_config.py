from __future__ import annotations

from pathlib import Path

import pytest

from sqlcoder_cli.config import Config, Paths
from sqlcoder_cli.errors import ConfigError


def test_sqlcoder_home_holds_everything(tmp_path: Path) -> None:
    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    assert paths.config_dir == tmp_path / "config"
    assert paths.data_dir == tmp_path / "data"
    assert paths.cache_dir == tmp_path / "cache"
    assert paths.config_file == tmp_path / "config" / "config.toml"


def test_platform_directories_without_sqlcoder_home() -> None:
    paths = Paths.resolve({})
    assert "sqlcoder" in str(paths.config_dir) and "sqlcoder" in str(paths.data_dir)


def test_defaults_file_and_environment(tmp_path: Path) -> None:
    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    assert Config.load(paths, {}).row_limit == 100
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text('row_limit = 25\ndefault_db = "shop.sqlite"\nthreads = 3\n')
    config = Config.load(paths, {"SQLCODER_DB": "other.duckdb"})
    assert config.row_limit == 25 and config.threads == 3
    assert config.default_db == "other.duckdb"  # the environment wins over the file


def test_save_writes_only_changes_and_round_trips(tmp_path: Path) -> None:
    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    config = Config.load(paths, {})
    config.set("row_limit", "42")
    config.set("default_model", "qwen2.5-coder-1.5b")
    config.save()
    assert paths.config_file.read_text() == 'default_model = "qwen2.5-coder-1.5b"\nrow_limit = 42\n'
    assert Config.load(paths, {}).row_limit == 42


@pytest.mark.parametrize(
    "text,match",
    [("row_limit = 'many'", "whole number"), ("colour = 1", "unknown config key"), ("row_limit = [", "cannot read"), ("row_limit = 0", "at least 1")],
)
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text(text)
    with pytest.raises(ConfigError, match=match):
        Config.load(paths, {})


def test_booleans_accept_words(tmp_path: Path) -> None:
    config = Config.load(Paths.resolve({"SQLCODER_HOME": str(tmp_path)}), {})
    config.set("memory", "off")
    config.set("validate", "yes")
    assert config.memory is False and config.validate is True
    with pytest.raises(ConfigError, match="true or false"):
        config.set("memory", "maybe")
    with pytest.raises(ConfigError, match="negative"):
        config.set("max_retries", "-1")


def test_engine_settings_and_prompt_layout_come_from_the_config(tmp_path: Path) -> None:
    from sqlcoder_cli.errors import ConfigError

    config = Config.load(Paths.resolve({"SQLCODER_HOME": str(tmp_path)}), environ={})
    options = config.engine_options(threads=3)
    assert options.n_threads == 3 and options.weight_repack is False  # off by default (docs/performance.md)
    config.set("weight_repack", "true")
    config.set("prompt_layout", "schema-first")
    assert config.engine_options().weight_repack is True
    with pytest.raises(ConfigError):
        config.set("prompt_layout", "sideways")


@pytest.mark.parametrize(
    "text,match",
    [
        ("row_limit = 99999999999999999999", "between 1 and 1000000"),
        ("threads = 100000", "between 0 and 1024"),
        ("row_limit = true", "whole number"),
        ("row_limit = 2.5", "whole number"),
        ("default_model = [1, 2]", "text value"),
    ],
)
def test_values_of_the_wrong_type_or_size_are_refused(tmp_path: Path, text: str, match: str) -> None:
    """Issue 12, defect 9: TOML accepts huge numbers and booleans where numbers go; the config does not."""
    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text(text)
    with pytest.raises(ConfigError, match=match) as caught:
        Config.load(paths, {})
    assert str(paths.config_file) in str(caught.value)


def test_a_directory_in_place_of_the_file_is_a_config_error(tmp_path: Path) -> None:
    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    paths.config_file.mkdir(parents=True)
    with pytest.raises(ConfigError, match="it is a directory") as caught:
        Config.load(paths, {})
    assert "config set" in str(caught.value)


def test_salvage_keeps_the_valid_settings_of_a_broken_file(tmp_path: Path) -> None:
    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text('threads = 3\ncolour = "red"\nrow_limit = "many"\n')
    config, problems, kept = Config.salvage(paths)
    assert config.threads == 3 and config.row_limit == 100 and kept == 1
    assert len(problems) == 2 and "colour" in problems[0] and "whole number" in problems[1]
    paths.config_file.write_text("[[[")
    config, problems, kept = Config.salvage(paths)
    assert kept == 0 and problems and "TOML" in problems[0]


def test_save_is_atomic_and_private(tmp_path: Path) -> None:
    import stat

    paths = Paths.resolve({"SQLCODER_HOME": str(tmp_path)})
    config = Config.load(paths, {})
    config.set("threads", "2")
    config.save()
    assert stat.S_IMODE(paths.config_file.stat().st_mode) == 0o600
    assert [p.name for p in paths.config_dir.iterdir()] == ["config.toml"]
