"""What the REPL prints while its model loads in the background reaches the user.

llama-cpp-python silences a model load by pointing stdout and stderr (file descriptors 1 and 2)
at /dev/null for the whole process; with the model loading in a thread, that swallowed every line
the REPL printed meanwhile. The dev model takes a second or two to load: the typed SQL, the
``\\tables`` and the chart below are all handled during that time.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from testkit.cli_proc import isolated_env, sqlcoder_argv


def test_loads_leave_stdout_and_stderr_alone(tiny_gguf_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    import os

    import llama_cpp.llama

    from sqlcoder_cli.engine.base import EngineOptions
    from sqlcoder_cli.engine.llama import LlamaEngine

    with LlamaEngine(tiny_gguf_path, EngineOptions(n_ctx=256)):
        pass
    # what a load does around llama.cpp's calls: with llama-cpp-python's own, fd 1 is /dev/null here
    with llama_cpp.llama.suppress_stdout_stderr(disable=False):
        os.write(1, b"written during a load\n")
    assert "written during a load" in capfd.readouterr().out


@pytest.mark.slow
def test_output_while_the_model_loads_is_shown(tmp_path: Path, dev_model: Path) -> None:
    script = "SELECT 7 AS a, 8 AS b\n\\tables\n\\chart\n\\quit\n"
    done = subprocess.run(
        sqlcoder_argv("repl", "--db", "demo", "--model", str(dev_model)),
        input=script, capture_output=True, text=True, env=isolated_env(tmp_path), timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "order_items" in done.stdout  # \tables
    assert "b against a" in done.stdout  # the chart's title
    assert "1 row" in done.stderr
