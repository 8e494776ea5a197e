"""A password given in any form never appears in any output, log, history or cache file.

One role on the test server authenticates by password (see ``pg_password_role``); the password
holds URL-special characters. Each credential form is used with the commands a user runs —
successful queries, failing ones, schema, ask (the tiny model fails: the failure is logged too),
doctor, history, config — and then every byte the runs printed and every file under the home
folder is searched for the password, raw and URL-encoded: zero hits.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from testkit.cli_proc import isolated_env, run_sqlcoder

PG_URL = os.environ.get("SQLCODER_TEST_PG_URL", "")


def _variants(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def _hits(text: bytes, secret: str) -> list[str]:
    return [v for v in _variants(secret) if v.encode("utf-8") in text]


@pytest.fixture
def forms(pg_password_role: tuple[str, str], tmp_path: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (database spec, extra environment), one per way a password can be given."""
    role, password = pg_password_role
    assert PG_URL
    base = PG_URL.replace("postgres@", f"{role}@", 1)  # postgresql+psycopg://sqlcoder_pw@127.0.0.1:PORT/postgres
    with_password = base.replace(f"{role}@", f"{role}:{quote(password, safe='')}@", 1)
    host_port = base.split("@", 1)[1].split("/", 1)[0]
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"{host_port.replace(':', ':', 1)}:*:{role}:{password}\n", encoding="utf-8")
    passfile.chmod(0o600)
    sep = "&" if "?" in base else "?"
    return {
        "userinfo": (with_password, {}),
        "query": (f"{base}{sep}password={quote(password, safe='')}", {}),
        "passfile": (f"{base}{sep}passfile={passfile}", {}),
        "environment": (base, {"PGPASSWORD": password}),
        "unparsable": (with_password.replace(host_port, "127.0.0.1:notaport"), {}),
        "sqlcoder_db": ("", {"SQLCODER_DB": with_password}),
    }


def test_no_password_anywhere(
    forms: dict[str, tuple[str, dict[str, str]]], pg_password_role: tuple[str, str], tmp_path: Path, tiny_gguf_path: Path
) -> None:
    _role, password = pg_password_role
    home = tmp_path / "home"
    printed: list[tuple[str, str, bytes]] = []
    for name, (spec, extra) in forms.items():
        env = isolated_env(home, extra)
        db = ["--db", spec] if spec else []
        runs = [
            ["sql", "SELECT current_user AS who", *db],
            ["sql", "SELECT current_user AS who", *db, "--format", "json"],
            ["sql", "SELECT no_such_column FROM pg_class", *db],
            ["schema", *db],
            ["ask", "How many tables are there?", *db, "--model", str(tiny_gguf_path), "--max-tokens", "16",
             "--retries", "0", "--format", "json"],
            ["doctor", *db],
        ]  # fmt: skip
        if name == "sqlcoder_db":  # the config's view of a spec that came from the environment
            runs.append(["config", "show"])
        for args in runs:
            result = run_sqlcoder(args, env, timeout=300)
            assert "Traceback" not in result.stderr, (name, args, result.stderr)
            printed.append((name, " ".join(args[:2]), (result.stdout + result.stderr).encode("utf-8")))
        if name == "userinfo":  # the form that must work end to end
            ok = run_sqlcoder(["sql", "SELECT current_user AS who", *db, "--format", "csv"], env)
            assert ok.returncode == 0 and ok.stdout == "who\nsqlcoder_pw\n", ok.stderr
    env = isolated_env(home)
    for args in (["history"], ["history", "--json"]):  # everything logged above, every database
        result = run_sqlcoder(args, env)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        printed.append(("all", " ".join(args), (result.stdout + result.stderr).encode("utf-8")))
    leaks = [(name, cmd, _hits(out, password)) for name, cmd, out in printed if _hits(out, password)]
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "history.sqlite" for p in files)  # the runs were logged
    leaks += [("file", str(p.relative_to(home)), _hits(p.read_bytes(), password)) for p in files if _hits(p.read_bytes(), password)]
    assert leaks == [], "\n".join(map(str, leaks))
