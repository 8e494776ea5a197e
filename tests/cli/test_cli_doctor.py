from __future__ import annotations

import sys
from pathlib import Path

import pytest
from clitest import invoke


def test_doctor_reports_versions_features_and_fixes(sqlcoder_home: Path) -> None:
    result = invoke("doctor")
    out = result.stdout
    for text in ("sqlcoder-cli", "llama-cpp-python", "llama.cpp features", "threads", "config file", "models on disk"):
        assert text in out
    # no model downloaded in this empty home: doctor says how to get one, and exits 1
    assert "fix: download it with `sqlcoder models pull sqlcoder-7b-2`" in out
    assert "--model PATH.gguf, or `sqlcoder models add PATH.gguf`" in out
    assert result.exit_code == 1


def test_doctor_checks_the_database(sqlcoder_home: Path, tmp_path: Path) -> None:
    ok = invoke("doctor", "--db", "demo")
    assert "database: demo" in ok.stdout and "connected read-only" in ok.stdout
    missing = invoke("doctor", "--db", str(tmp_path / "nope.sqlite"))
    assert "database file not found" in missing.stdout and missing.exit_code == 1


def test_doctor_warns_when_defogs_old_sqlcoder_is_installed(sqlcoder_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    dist = site / "sqlcoder-0.2.5.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sqlcoder\nVersion: 0.2.5\n")
    monkeypatch.syspath_prepend(str(site))
    result = invoke("doctor")
    assert "Defog's old 'sqlcoder' 0.2.5 is installed too" in result.stdout
    assert "fix: pip uninstall sqlcoder" in result.stdout
    assert result.exit_code == 1
    monkeypatch.undo()
    assert str(site) not in sys.path


def test_doctor_says_whether_each_model_fits(sqlcoder_home: Path, tiny_gguf_path: Path) -> None:
    assert invoke("models", "add", str(tiny_gguf_path), "--name", "tiny").exit_code == 0
    result = invoke("doctor")
    assert "models on disk: tiny" in result.stdout
    assert "tiny: fits: needs" in result.stdout
    assert "llama.cpp backends: CPU" in result.stdout


@pytest.mark.parametrize(("url", "module", "extra"), [("postgresql://me@127.0.0.1:1/shop", "psycopg", "postgres"), ("mysql://me@127.0.0.1:1/shop", "pymysql", "mysql")])
def test_doctor_names_the_extra_for_a_missing_driver(
    sqlcoder_home: Path, monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    result = invoke("doctor", "--db", url)
    assert "is not installed" in result.stdout
    assert f"fix: pip install 'sqlcoder-cli[{extra}]'" in result.stdout
    assert "server is running" not in result.stdout  # the generic hint would send the user the wrong way
    assert result.exit_code == 1


@pytest.mark.slow
def test_doctor_says_what_speed_to_expect_of_a_real_model(sqlcoder_home: Path, dev_model: Path) -> None:
    """The expectation sqlcoder warns against after a slow answer (engine/hardware.py)."""
    assert invoke("models", "add", str(dev_model), "--name", "dev").exit_code == 0
    result = invoke("doctor")
    line = next(line for line in result.stdout.splitlines() if "dev: fits" in line)
    assert "tokens/s or more with" in line and "sqlcoder warns below" in line
    threads = next(line for line in result.stdout.splitlines() if "threads:" in line)
    assert "physical core" in threads and "busy with other programs" in threads
