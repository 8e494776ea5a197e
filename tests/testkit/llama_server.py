"""The real ``python -m llama_cpp.server`` (llama-cpp-python's OpenAI-compatible server) on
127.0.0.1, for the slow OpenAIEngine test.

``with llama_server(model_path) as base_url:`` starts it on a free port, waits until ``GET
/v1/models`` answers (failing with the tail of its log if it does not within ``timeout_s``), yields
``http://127.0.0.1:PORT/v1`` and stops it afterwards. Needs ``llama-cpp-python[server]`` (the test
extra).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testkit.fake_openai import free_port

#: environment variables llama_cpp.server's settings read (pydantic-settings) that must not leak in
_SERVER_ENV = ("API_KEY", "CONFIG_FILE", "MODEL", "HOST", "PORT", "N_CTX", "N_THREADS", "SEED", "VERBOSE")


def server_command(model: Path, port: int, *, n_ctx: int = 4096, n_threads: int = 2) -> list[str]:
    """The command line (flag names as llama-cpp-python 0.3.x's settings spell them)."""
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_ctx", str(n_ctx),
        "--n_threads", str(n_threads),
        "--n_threads_batch", str(n_threads),
        "--n_gpu_layers", "0",
        "--seed", "0",
    ]  # fmt: skip


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def llama_server(model: Path, *, n_ctx: int = 4096, n_threads: int = 2, timeout_s: float = 120.0) -> Iterator[str]:
    """The server's base URL while it runs."""
    with running_llama_server(model, n_ctx=n_ctx, n_threads=n_threads, timeout_s=timeout_s) as (base_url, _):
        yield base_url


@contextmanager
def running_llama_server(
    model: Path, *, n_ctx: int = 4096, n_threads: int = 2, timeout_s: float = 120.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server's base URL and its process (a test may kill it)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.upper() not in _SERVER_ENV}
    with tempfile.TemporaryDirectory(prefix="llama-server-") as tmp:
        log = Path(tmp) / "server.log"
        # the log goes to a file, not a pipe: a pipe nobody reads would fill up and stall the server
        with open(log, "wb") as out:
            process = subprocess.Popen(
                server_command(model, port, n_ctx=n_ctx, n_threads=n_threads),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        base_url = f"http://127.0.0.1:{port}/v1"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{_tail(log)}")
                try:
                    with direct.open(f"{base_url}/models", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"llama_cpp.server did not answer within {timeout_s:.0f} s:\n{_tail(log)}")
                time.sleep(0.25)
            yield base_url, process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=15)
