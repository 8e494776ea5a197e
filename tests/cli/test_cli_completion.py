"""Shell completion of --format, --model and --db values: what is offered, that no password ever is,
that a broken config or log only means fewer suggestions, and the real bash protocol end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testkit.cli_proc import isolated_env

from sqlcoder_cli.cli import options
from sqlcoder_cli.cli.completion import (
    complete_db,
    complete_format,
    complete_model,
    db_completions,
    model_completions,
    path_completions,
    safe_db_suggestion,
)
from sqlcoder_cli.config import Config, Paths
from sqlcoder_cli.history import History
from sqlcoder_cli.models.catalogue import catalogue_names
from sqlcoder_cli.output.formats import FORMATS

HEAVY = ["llama_cpp", "huggingface_hub", "sqlalchemy", "duckdb", "duckdb_engine", "psycopg", "pymysql", "gguf", "numpy", "sqlglot"]
#: redacting a URL imports sqlcoder_cli.db.secrets, whose package imports sqlglot: allowed only then
HEAVY_BUT_REDACTION = [name for name in HEAVY if name != "sqlglot"]


def values(items: list) -> list[str]:
    return [item[0] if isinstance(item, tuple) else item for item in items]


def paths() -> Paths:
    return Paths.resolve(dict(os.environ))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder (the isolated home lives beside it, not in it)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def record_db(spec: str) -> None:
    History(paths().history_file).record(source="sql", outcome="ok", sql="SELECT 1", db=spec, row_count=1)


# -- --format -------------------------------------------------------------------------------------


def test_format_offers_the_formats_with_the_prefix() -> None:
    assert complete_format(None, "j") == ["json", "jsonl"]
    assert complete_format(None, "") == list(FORMATS)
    assert complete_format(None, "t") == ["table", "tsv"]
    assert complete_format(None, "xml") == []


def test_the_shared_options_carry_the_callbacks() -> None:
    assert options.FormatOption.autocompletion is complete_format
    assert options.ModelOption.autocompletion is complete_model
    assert options.DbOption.autocompletion is complete_db


# -- --model --------------------------------------------------------------------------------------


def test_model_offers_catalogue_and_registered_names(sqlcoder_home: Path, tiny_gguf_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlcoder_cli.models.store import ModelStore

    monkeypatch.chdir(tmp_path)
    ModelStore(paths()).add(tiny_gguf_path, name="my-tiny")
    offered = values(complete_model(None, ""))
    assert offered[: len(catalogue_names())] == catalogue_names()
    assert "my-tiny" in offered
    assert values(complete_model(None, "my")) == ["my-tiny"]
    assert set(values(complete_model(None, "sqlcoder-7b"))) == {n for n in catalogue_names() if n.startswith("sqlcoder-7b")}


def test_model_offers_gguf_files_and_folders(sqlcoder_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    (models / "nested").mkdir(parents=True)
    (models / ".hidden").mkdir()
    (models / "a.gguf").write_bytes(b"GGUF")
    (models / "B.GGUF").write_bytes(b"GGUF")
    (models / "readme.txt").write_text("not a model")
    monkeypatch.chdir(tmp_path)
    assert values(model_completions("models/")) == ["models/B.GGUF", "models/a.gguf", "models/nested/"]
    assert values(model_completions("./models/a")) == ["./models/a.gguf"]
    assert values(model_completions("models/.")) == ["models/.hidden/"]
    assert values(model_completions(f"{models}/n")) == [f"{models}/nested/"]
    # text that is a path gets no model names; a bare word gets names and the folders it starts
    assert not set(values(model_completions("./"))) & set(catalogue_names())
    assert values(model_completions("mod")) == ["models/"]


def test_model_completion_with_a_broken_registry_still_offers_the_catalogue(sqlcoder_home: Path, workdir: Path) -> None:
    registry = paths().registry_file
    registry.parent.mkdir(parents=True)
    registry.write_text("{not json")
    assert values(model_completions("")) == catalogue_names()


def test_home_folder_is_expanded_but_kept_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    (tmp_path / "dbs").mkdir()
    assert path_completions("~", (".gguf",)) == ["~/"]
    assert path_completions("~/", (".gguf",)) == ["~/m.gguf", "~/dbs/"]
    assert path_completions("~no-such-user-here", (".gguf",)) == []


# -- --db -----------------------------------------------------------------------------------------


def test_db_offers_demo_database_files_and_folders(sqlcoder_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    for name in ("shop.sqlite", "old.sqlite3", "app.db", "wh.duckdb", "small.DDB", "notes.txt", "model.gguf"):
        (work / name).write_bytes(b"")
    monkeypatch.chdir(work)
    assert values(complete_db(None, "")) == ["demo", "app.db", "old.sqlite3", "shop.sqlite", "small.DDB", "wh.duckdb", "data/"]
    assert values(complete_db(None, "de")) == ["demo"]
    assert values(complete_db(None, "s")) == ["shop.sqlite", "small.DDB"]
    assert values(complete_db(None, "d")) == ["demo", "data/"]


def test_db_offers_history_urls_newest_first_without_passwords(sqlcoder_home: Path, workdir: Path) -> None:
    record_db("postgresql://alice:s3cr3t-pw@db.example.com:5432/shop")
    record_db("demo (/somewhere/demo.sqlite)")  # not a URL: left to the file completion
    record_db("mysql+pymysql://bob:***@mysql.local/sales?charset=utf8mb4&password=***")  # the stored display form
    record_db("postgresql://alice:s3cr3t-pw@db.example.com:5432/shop")  # again: once, and now the newest
    record_db("postgresql://carol@warehouse/dw?sslmode=require&sslpassword=t0ken-value")
    urls = [v for v in values(db_completions("")) if "://" in v]
    assert urls == [
        "postgresql://carol@warehouse/dw?sslmode=require",
        "postgresql://alice@db.example.com:5432/shop",
        "mysql+pymysql://bob@mysql.local/sales?charset=utf8mb4",
    ]
    everything = json.dumps(db_completions("")) + json.dumps(db_completions("postgresql://"))
    assert "s3cr3t" not in everything and "t0ken" not in everything and "***" not in everything
    assert values(db_completions("postgresql://a")) == ["postgresql://alice@db.example.com:5432/shop"]
    assert values(db_completions("mysql")) == ["mysql+pymysql://bob@mysql.local/sales?charset=utf8mb4"]


def test_db_offers_the_config_default_without_its_password(sqlcoder_home: Path, workdir: Path) -> None:
    config = Config.load(paths(), dict(os.environ))
    config.set("default_db", "postgresql://dora:hunter2-pw@pg.internal/analytics")
    config.save()
    offered = db_completions("")
    assert "postgresql://dora@pg.internal/analytics" in values(offered)
    assert "hunter2" not in json.dumps(offered)


def test_db_completion_survives_a_broken_config_and_log(sqlcoder_home: Path, workdir: Path) -> None:
    (workdir / "shop.sqlite").write_bytes(b"")
    record_db("postgresql://erin@pg/db")
    config_file = paths().config_file
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("default_db = [unclosed")
    assert values(db_completions("")) == ["demo", "postgresql://erin@pg/db", "shop.sqlite"]
    paths().history_file.write_bytes(b"this is not a SQLite database at all" * 100)
    assert values(db_completions("")) == ["demo", "shop.sqlite"]
    paths().history_file.unlink()
    paths().history_file.mkdir()  # a folder where the log should be
    assert values(db_completions("")) == ["demo", "shop.sqlite"]


def test_history_log_is_only_read(sqlcoder_home: Path, workdir: Path) -> None:
    assert values(db_completions("")) == ["demo"]
    assert not paths().history_file.exists() and not paths().data_dir.exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user whom permissions stop")
def test_unreadable_folder_means_fewer_suggestions(sqlcoder_home: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        assert values(db_completions(f"{locked}/")) == []
    finally:
        locked.chmod(0o700)


def test_missing_folder_and_odd_names(sqlcoder_home: Path, workdir: Path) -> None:
    (workdir / "evil\x1b[2Jname.db").write_bytes(b"")
    assert values(db_completions("no/such/folder/")) == []
    assert values(db_completions("")) == ["demo"]  # a control character never reaches the terminal


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ("postgresql://u:p%40ss@h/db", "postgresql://u@h/db"),
        ("postgresql://u:pa@ss@h/db", "postgresql://u@h/db"),
        ("postgresql://u@h/db?password=x&sslmode=disable", "postgresql://u@h/db?sslmode=disable"),
        ("duckdb:///md:shop?motherduck_token=abc123", "duckdb:///md:shop"),
        ("postgresql://u:***@h/db", "postgresql://u@h/db"),
        ("/data/shop.sqlite", "/data/shop.sqlite"),
        ("/data/a=b.db", "/data/a=b.db"),
        ("/data/my shop.db", None),
        ("host=h password=secret dbname=d", None),
        ("", None),
    ],
)
def test_safe_suggestion_drops_credentials(spec: str, shown: str | None) -> None:
    assert safe_db_suggestion(spec) == shown


# -- end to end: the shell's protocol, in a real process --------------------------------------------


def _complete(words: str, home: Path, cwd: Path, *, probe_imports: bool = False) -> subprocess.CompletedProcess[str]:
    """What bash gets from ``sqlcoder`` for the command line ``words`` (the cursor in its last word)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = isolated_env(home, {"_SQLCODER_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    if probe_imports:
        code = (
            "import atexit, json, sys\n"
            "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
            "from sqlcoder_cli.cli.app import main\n"
            "main()\n"
        )
        argv = [sys.executable, "-c", code]
    else:
        argv = [sys.executable, "-m", "sqlcoder_cli"]
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_bash_completion_of_format(tmp_path: Path) -> None:
    done = _complete("sqlcoder ask --format j", tmp_path, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["json", "jsonl"]
    done = _complete("sqlcoder sql -f m", tmp_path, tmp_path)
    assert done.stdout.split() == ["markdown"]


def test_bash_completion_of_db_and_model_imports_nothing_heavy(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    work.mkdir()
    (work / "shop.sqlite").write_bytes(b"")
    (work / "tiny.gguf").write_bytes(b"GGUF")
    history = Paths(home / "sqlcoder" / "config", home / "sqlcoder" / "data", home / "sqlcoder" / "cache").history_file

    done = _complete("sqlcoder ask --db ", home, work, probe_imports=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["demo", "shop.sqlite"]
    assert not _loaded(done) & set(HEAVY), sorted(_loaded(done) & set(HEAVY))

    History(history).record(source="sql", outcome="ok", db="postgresql://frank:pa55-word@pg.example/shop")
    done = _complete("sqlcoder ask --db ", home, work, probe_imports=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["demo", "postgresql://frank@pg.example/shop", "shop.sqlite"]
    assert "pa55" not in done.stdout + done.stderr
    assert not _loaded(done) & set(HEAVY_BUT_REDACTION), sorted(_loaded(done) & set(HEAVY_BUT_REDACTION))

    done = _complete("sqlcoder ask --model ", home, work, probe_imports=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [*catalogue_names(), "tiny.gguf"]
    assert not _loaded(done) & set(HEAVY), sorted(_loaded(done) & set(HEAVY))


def _loaded(done: subprocess.CompletedProcess[str]) -> set[str]:
    """The top-level modules the completing process had imported (printed at exit on stderr)."""
    return {name.split(".")[0] for name in json.loads(done.stderr.strip().splitlines()[-1])}
