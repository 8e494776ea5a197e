"""Start several :mod:`testkit.workers` processes so that they really overlap, and collect them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent.parent


def run_together(
    jobs: Sequence[Sequence[str]], workdir: Path, *, readers: Sequence[Sequence[str]] = (), timeout: float = 300
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run writer ``jobs`` and ``readers`` (``[task, *args]``) at once; returns their JSON summaries.

    Readers get a ``stop`` file as their last argument, created when every writer has finished.
    Any process that fails (a traceback, a non-zero exit) fails the test with its stderr.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    go, stop = workdir / "go", workdir / "stop"
    go.unlink(missing_ok=True)
    stop.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")]))}

    def start(task: Sequence[str], extra: Sequence[str]) -> subprocess.Popen[str]:
        argv = [sys.executable, "-m", "testkit.workers", task[0], str(go), *task[1:], *extra]
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    writers = [start(job, ()) for job in jobs]
    watchers = [start(job, (str(stop),)) for job in readers]
    go.touch()
    try:
        written = [_finish(p, timeout) for p in writers]
    finally:
        stop.touch()
    read = [_finish(p, timeout) for p in watchers]
    return written, read


def _finish(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"{proc.args} did not finish in {timeout} s: {err[-2000:]}") from None
    assert proc.returncode == 0 and "Traceback" not in err, f"{proc.args[3:]} failed ({proc.returncode}):\n{err[-4000:]}"
    return json.loads(out.strip().splitlines()[-1])
