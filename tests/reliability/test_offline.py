"""Every command but ``models pull`` works without a network, and none of them even tries one.

Two independent checks on each real ``sqlcoder`` process:

* no network exists: the process runs in a new network namespace (``unshare -n``, only a loopback
  that is down), or, where that is not allowed, with every internet socket operation refused (the
  audit-hook guard in tests/testkit/netguard, SQLCODER_TEST_NETBLOCK=1);
* no attempt is made: the same audit hook logs every internet socket created, every connect and
  every name look-up (PEP 578 events of the interpreter itself, nothing patched), and the log must
  stay empty. HF_HUB_OFFLINE is *not* set: not touching the network is the code's own doing.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from testkit.cli_proc import assert_one_line_error, isolated_env, run_sqlcoder

import sqlcoder_cli

NETGUARD = Path(__file__).resolve().parent.parent / "testkit" / "netguard"
DEMO_DB = Path(sqlcoder_cli.__file__).resolve().parent / "data" / "demo.sqlite"
TINY = ["--threads", "1", "--ctx", "1024"]


@functools.cache
def _no_network_prefix() -> tuple[str, ...] | None:
    """``unshare -n`` (root) or ``unshare -rn`` (user namespaces) where it works here, else None
    (SQLCODER_TEST_NO_UNSHARE=1 forces the fallback, to check it where unshare works)."""
    if shutil.which("unshare") is None or os.environ.get("SQLCODER_TEST_NO_UNSHARE") == "1":
        return None
    for prefix in (("unshare", "-n"), ("unshare", "-rn")):
        try:
            done = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return prefix
    return None


class Offline:
    """Runs sqlcoder with no network, logging any attempt to use one."""

    def __init__(self, tmp_path: Path) -> None:
        self.log = tmp_path / "network.log"
        self.prefix = _no_network_prefix()
        extra = {"PYTHONPATH": str(NETGUARD), "SQLCODER_TEST_NETLOG": str(self.log)}
        if self.prefix is None:
            extra["SQLCODER_TEST_NETBLOCK"] = "1"
        self.env = isolated_env(tmp_path, extra)

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
        return run_sqlcoder(list(args), self.env, input=input, prefix=self.prefix or ())

    def attempts(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def offline(tmp_path: Path, tiny_gguf_path: Path) -> Offline:
    box = Offline(tmp_path)
    added = box.run("models", "add", str(tiny_gguf_path), "--name", "tiny")
    assert added.returncode == 0, added.stderr
    return box


def test_the_guard_sees_a_real_attempt(offline: Offline) -> None:
    """The check itself: a process that does try the network is caught and logged."""
    result = offline.run("models", "pull", "qwen2.5-coder-0.5b")
    assert_one_line_error(
        result,
        3,
        r"^error: could not reach the model hub at https://huggingface\.co \(\w+\) \(check your internet "
        r"connection or HF_ENDPOINT and pull again to resume; without internet, use a GGUF file you have: "
        r"--model PATH\.gguf, or `sqlcoder models add PATH\.gguf`\)$",
    )
    assert offline.attempts(), "models pull went to the network, and the audit hook must have seen it"


COMMANDS: list[tuple[str, list[str], tuple[int, ...], str | None]] = [
    # (id, argv, accepted exit codes, stdin)
    ("ask", ["ask", "How many customers are there?", "--model", "tiny", *TINY, "--retries", "0"], (4,), None),
    ("ask-sql-only", ["ask", "How many customers are there?", "--model", "tiny", *TINY, "--sql-only", "--retries", "0"], (4,), None),
    ("sql", ["sql", "SELECT count(*) AS n FROM customers", "--format", "json"], (0,), None),
    ("schema", ["schema", "--format", "tree"], (0,), None),
    ("models-list", ["models", "list"], (0,), None),
    ("models-info-local", ["models", "info", "tiny"], (0,), None),
    ("models-info-catalogue", ["models", "info", "sqlcoder-7b-2"], (0,), None),
    ("models-add", ["models", "add", "{tiny}", "--name", "tiny-two"], (0,), None),
    ("models-rm", ["models", "rm", "tiny"], (0,), None),
    ("history", ["history"], (0,), None),
    ("notes-set", ["notes", "set", "revenue means sum(quantity * unit_price)"], (0,), None),
    ("notes-show", ["notes", "show"], (0,), None),
    ("memory", ["memory", "list"], (0,), None),
    ("config-show", ["config", "show"], (0,), None),
    ("config-set", ["config", "set", "row_limit", "50"], (0,), None),
    ("doctor", ["doctor"], (0, 1), None),  # 1: "models on disk: none" is a finding, not a failure
    ("repl", ["repl", "--model", "tiny", *TINY], (0,), "SELECT count(*) FROM customers;\n\\tables\nHow many customers are there?\n\\quit\n"),
    ("eval-gold", ["eval", "{questions}", "--db", str(DEMO_DB), "--gold", "--out", "{out}"], (0,), None),
]


@pytest.mark.parametrize(("argv", "codes", "stdin"), [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_command_works_without_a_network_and_never_tries_one(
    offline: Offline, tmp_path: Path, tiny_gguf_path: Path, argv: list[str], codes: tuple[int, ...], stdin: str | None
) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": "How many customers?", "gold": "SELECT count(*) FROM customers"}) + "\n")
    values = {"{tiny}": str(tiny_gguf_path), "{questions}": str(questions), "{out}": str(tmp_path / "eval.jsonl")}
    result = offline.run(*[values.get(a, a) for a in argv], input=stdin)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in codes, (result.returncode, result.stdout[-1500:], result.stderr[-1500:])
    assert offline.attempts() == [], f"{argv[0]} tried the network"
    if argv[0] == "sql":
        assert json.loads(result.stdout)["rows"] == [[500]]
    if argv[0] == "repl":
        assert "500" in result.stdout and "customers" in result.stdout
