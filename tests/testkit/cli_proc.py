"""Run the real ``sqlcoder`` in a subprocess (``python -m sqlcoder_cli``) with an isolated home.

Shared by the reliability tests: every one of them checks what a user would see (the exit code and
stderr), so every run goes through the real entry point, in a real process, with nothing mocked.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

#: variables of the developer's environment that would leak into an isolated run
_INHERITED = (
    "SQLCODER_DB", "SQLCODER_MODEL", "SQLCODER_HOME", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
    "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_TOKEN", "NO_COLOR", "FORCE_COLOR",
    "VISUAL", "EDITOR",
)  # fmt: skip


def isolated_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without sqlcoder/HF settings, with SQLCODER_HOME and HF_HOME under ``home``."""
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED}
    env.update(SQLCODER_HOME=str(home / "sqlcoder"), HF_HOME=str(home / "hf"), NO_COLOR="1", COLUMNS="200")
    env.update(extra or {})
    return env


def sqlcoder_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "sqlcoder_cli", *args]


def run_sqlcoder(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    input: str | None = None,  # noqa: A002 - subprocess's name
    timeout: float = 180,
    prefix: Sequence[str] = (),
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``sqlcoder ARGS`` to completion; ``prefix`` wraps it (e.g. ``["unshare", "-n"]``)."""
    return subprocess.run(
        [*prefix, *sqlcoder_argv(*args)],
        env=dict(env),
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def start_sqlcoder(args: Sequence[str], env: Mapping[str, str], **popen: object) -> subprocess.Popen[str]:
    """``sqlcoder ARGS`` running in the background (stdin closed, pipes for stdout and stderr)."""
    return subprocess.Popen(
        sqlcoder_argv(*args),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[arg-type]
    )


def interrupt(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[str, str]:
    """Ctrl-C: SIGINT to the process, then its remaining output."""
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    """The non-empty lines of stderr."""
    return [line for line in stderr.splitlines() if line.strip()]


def assert_one_line_error(
    result: subprocess.CompletedProcess[str] | tuple[int, str], code: int, pattern: str
) -> str:
    """Exit ``code``, no traceback, and stderr is exactly one line matching ``pattern``; returns it."""
    returncode, stderr = (result.returncode, result.stderr) if not isinstance(result, tuple) else result
    assert "Traceback" not in stderr, stderr
    lines = error_lines(stderr)
    assert returncode == code, (returncode, stderr)
    assert len(lines) == 1, lines
    assert re.search(pattern, lines[0]), (pattern, lines[0])
    return lines[0]


def assert_clean(result: subprocess.CompletedProcess[str], code: int = 0) -> None:
    """Exit ``code`` and no traceback on stderr."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
