"""Run the CLI in-process with a fake terminal or pipe (see ``Environment``)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

from sqlcoder_cli.cli.app import run
from sqlcoder_cli.frontend.environment import Environment


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def invoke(
    *args: str,
    stdin: str = "",
    stdin_isatty: bool = False,
    stdout_isatty: bool = False,
    stderr_isatty: bool = False,
    environ: dict[str, str] | None = None,
) -> Result:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.StringIO(stdin),
        stdout=out,
        stderr=err,
        stdin_isatty=stdin_isatty,
        stdout_isatty=stdout_isatty,
        stderr_isatty=stderr_isatty,
        environ=dict(os.environ) | (environ or {}),
    )
    code = run(list(args), env=env)
    return Result(code, out.getvalue(), err.getvalue())
