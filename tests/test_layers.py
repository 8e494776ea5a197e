"""The layers hold: import-linter's contracts (pyproject.toml, [tool.importlinter]) are kept.

Why a test and not only a CI step: it runs wherever the suite runs, and a new import of ``rich``
in the core library, or of ``cli/`` in the REPL, fails here with import-linter's own report of the
chain that breaks the rule.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    return [found] if found else [sys.executable, "-m", "importlinter.cli"]


def test_the_import_contracts_are_kept() -> None:
    done = subprocess.run([*_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert len(contracts) == 3
    assert f"Contracts: {len(contracts)} kept, 0 broken." in report


def test_the_core_contract_covers_every_core_module() -> None:
    """A new core package must be listed in the contract, or nothing checks it."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    listed = set(contracts[0]["source_modules"])
    front_ends = {"cli", "repl", "frontend"}
    package = ROOT / "sqlcoder_cli"
    modules = {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__", "__about__")}
    modules |= {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - front_ends
    assert {f"sqlcoder_cli.{m}" for m in modules} == listed
