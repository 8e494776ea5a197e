"""Real faults for CLI tests: the program in a subprocess, read-only files, a full disk.

Why not mocks: the defects these tests guard against (a traceback at interpreter shutdown, click
turning a broken pipe into exit 1, SQLite's own error for a read-only or full file) only show in
a real process against real files. Root ignores file permissions, so "read-only" drops the
capabilities that let it (the bounding set, before exec); a "full disk" is RLIMIT_FSIZE.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

#: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root write a read-only file
_FILE_POWERS = (1, 2, 3)
_PR_CAPBSET_DROP = 24


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: its own SQLCODER_HOME, no colour, no CI prompts."""
    env = {k: v for k, v in os.environ.items() if k not in ("SQLCODER_DB", "SQLCODER_MODEL", "FORCE_COLOR", "CI")}
    env |= {"SQLCODER_HOME": str(home), "HF_HOME": str(home.parent / "hf-home"), "NO_COLOR": "1", "COLUMNS": "120"}
    env |= extra
    return env


def without_file_powers() -> None:
    """preexec_fn: make permission bits bind even for root (no-op for other users)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _FILE_POWERS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn: no file may grow past ``limit`` bytes (a full disk, for this process only)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def read_only_works(tmp_path: Path) -> bool:
    """Whether :func:`without_file_powers` really makes a 0444 file unwritable here."""
    probe = tmp_path / "probe-read-only"
    probe.write_text("x")
    probe.chmod(0o444)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}, 'a').write('y')"],
            preexec_fn=without_file_powers, capture_output=True, timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        probe.chmod(0o644)
        probe.unlink()
    return done.returncode != 0


def sqlcoder(
    *args: str,
    home: Path,
    stdin: bytes | str | None = None,
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m sqlcoder_cli ARGS`` in a real process; text output."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    done = subprocess.run(
        [sys.executable, "-m", "sqlcoder_cli", *args],
        input=data if data is not None else b"",
        capture_output=True,
        env=env or cli_env(home),
        preexec_fn=preexec_fn,
        timeout=timeout,
        cwd=cwd,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    )


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def one_line(stderr: str, prefix: str = "error: ") -> str:
    """The single line on stderr (and no traceback)."""
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    found = lines(stderr)
    assert len(found) == 1, stderr
    assert found[0].startswith(prefix), stderr
    return found[0]


def spawn(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A CLI process with pipes for all three streams (for signals and closed pipes)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sqlcoder_cli", *argv],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
