"""The docs describe the program that exists (sqlite-utils' and llm's habit)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from sqlcoder_cli.errors import ExitCode

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
GUIDE = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")


def _generator():
    spec = importlib.util.spec_from_file_location("gen_cli_reference", ROOT / "scripts" / "gen_cli_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_up_to_date() -> None:
    generator = _generator()
    assert (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8") == generator.render(), (
        "docs/cli-reference.md is stale: run python scripts/gen_cli_reference.py"
    )


def test_every_command_is_documented_in_the_readme_or_guide() -> None:
    for path in _generator().command_paths()[1:]:
        command = "sqlcoder " + " ".join(path)
        assert command in README or command in GUIDE, f"{command} is not documented"


def test_readme_lists_every_exit_code() -> None:
    table = {int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", README, re.M)}
    assert table == {int(code) for code in ExitCode}


def test_readme_documents_the_json_contract() -> None:
    for key in ("question", "sql", "columns", "rows", "row_count", "truncated", "model", "db", "timings",
                "load_s", "prompt_s", "generate_s", "execute_s", "total_s", "prompt_tokens", "cached_tokens", "generated_tokens"):
        assert f'"{key}"' in README, key


def test_readme_set_up_commands_exist() -> None:
    assert "pip install -e . && sqlcoder ask \"Which 5 customers spent the most?\"" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


def test_the_guide_installs_from_the_repository_and_promises_no_pypi_release() -> None:
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    install = guide.split("## Install", 1)[1].split("\n## ", 1)[0]
    block = install.split("```bash", 1)[1].split("```", 1)[0]
    assert "pip install -e ." in block  # what works today, from a clone
    assert "pip install sqlcoder-cli" not in block
    assert "not on PyPI yet" in install and "Once it is published" in install
