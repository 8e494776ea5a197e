"""Download faults, through a real ``sqlcoder models pull`` process and a real HTTP hub on 127.0.0.1.

The fake hub (tests/testkit/fakehub.py) answers like huggingface.co and its CDN and can cut a
transfer, fail, lie about the hash or hold a transfer mid-way. Each test checks what the user sees
(exit code, one line, no traceback) and what is left on disk: a partial ``.incomplete`` file that
the next pull resumes, and never a blob or snapshot link for a file that was not verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit.cli_proc import (
    assert_clean,
    assert_one_line_error,
    interrupt,
    isolated_env,
    run_sqlcoder,
    start_sqlcoder,
)
from testkit.diskfull import file_size_limit, fill, small_disk
from testkit.fakehub import FakeHub

from sqlcoder_cli.models.catalogue import find_entry
from sqlcoder_cli.models.download import repo_folder

NAME = "qwen2.5-coder-0.5b"
ENTRY = find_entry(NAME)
assert ENTRY is not None
MIB = 1024 * 1024
#: huggingface_hub writes what it receives in 10 MiB pieces
WRITE_CHUNK = 10 * MIB


@pytest.fixture(scope="module")
def payload() -> bytes:
    """16 MiB of random bytes (more than one 10 MiB write, so a stop mid-way leaves a partial file)."""
    return os.urandom(16 * MIB)


@pytest.fixture
def hub(payload: bytes) -> Iterator[FakeHub]:
    with FakeHub() as fake:
        fake.add_file(ENTRY.repo_id, ENTRY.filename, payload)
        yield fake


def _env(tmp_path: Path, hub: FakeHub, hf_home: Path | None = None) -> dict[str, str]:
    extra = {"HF_ENDPOINT": hub.endpoint}
    if hf_home is not None:
        extra["HF_HOME"] = str(hf_home)
    return isolated_env(tmp_path, extra)


def _storage(env: dict[str, str]) -> Path:
    return repo_folder(Path(env["HF_HOME"]) / "hub", ENTRY.repo_id)


def _partials(env: dict[str, str]) -> list[Path]:
    return sorted((_storage(env) / "blobs").glob("*.incomplete"))


def _finished_files(env: dict[str, str]) -> list[Path]:
    """Blobs and snapshot links: what only a verified download may leave."""
    storage = _storage(env)
    blobs = [p for p in (storage / "blobs").glob("*") if not p.name.endswith(".incomplete")]
    links = [p for p in (storage / "snapshots").rglob("*") if not p.is_dir()]
    return blobs + links


def _assert_not_on_disk(env: dict[str, str]) -> None:
    assert _finished_files(env) == []
    info = run_sqlcoder(["models", "info", NAME, "--format", "json"], env)
    assert_clean(info)
    assert json.loads(info.stdout)["on_disk"] is False


def _pull_again_and_verify(env: dict[str, str], hub: FakeHub, payload: bytes, kept: int) -> None:
    """The rerun asks only for the missing bytes, verifies, and leaves one finished file."""
    hub.reset_counters()
    result = run_sqlcoder(["models", "pull", NAME], env)
    assert_clean(result)
    path = Path(result.stdout.strip().splitlines()[-1])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()
    if kept:
        assert hub.range_headers == [f"bytes={kept}-"]
    assert hub.bytes_served == len(payload) - kept
    assert _partials(env) == []


def test_a_cut_connection_is_resumed_within_the_pull(tmp_path: Path, hub: FakeHub, payload: bytes) -> None:
    env = _env(tmp_path, hub)
    hub.cut_after(12 * MIB)
    result = run_sqlcoder(["models", "pull", NAME], env)
    assert_clean(result)
    assert "Traceback" not in result.stderr
    path = Path(result.stdout.strip())
    assert path.read_bytes() == payload
    (resumed,) = hub.range_headers  # one reconnect, from where the cut left the file
    assert resumed.startswith("bytes=") and resumed != "bytes=0-"
    assert hub.bytes_served < 2 * len(payload)


def test_a_cut_then_an_outage_keeps_the_partial_file_for_the_next_pull(
    tmp_path: Path, hub: FakeHub, payload: bytes
) -> None:
    env = _env(tmp_path, hub)
    hub.cut_after(12 * MIB, then_fail=503, fail_count=10)
    result = run_sqlcoder(["models", "pull", NAME], env)
    assert_one_line_error(
        result,
        3,
        rf"^error: the model hub at {hub.endpoint} answered HTTP 503 for {ENTRY.repo_id}/{ENTRY.filename} "
        r"\(try again later; the download resumes where it stopped\)$",
    )
    (partial,) = _partials(env)
    kept = partial.stat().st_size
    assert 0 < kept < len(payload)
    _assert_not_on_disk(env)
    hub.fail_downloads(503, 0)
    _pull_again_and_verify(env, hub, payload, kept)


def test_a_hash_mismatch_deletes_the_download(tmp_path: Path, hub: FakeHub, payload: bytes) -> None:
    env = _env(tmp_path, hub)
    hub.add_file(ENTRY.repo_id, ENTRY.filename, payload, advertised_sha256="ab" * 32)
    result = run_sqlcoder(["models", "pull", NAME], env)
    assert_one_line_error(
        result,
        3,
        rf"^error: checksum mismatch for {ENTRY.filename}: expected (ab){{32}}, got [0-9a-f]{{64}}; the file was "
        r"deleted \(run the pull again; if it fails again, the hub's copy may be broken\)$",
    )
    assert list((_storage(env) / "blobs").iterdir()) == []  # neither a blob nor a partial file
    _assert_not_on_disk(env)
    ask = run_sqlcoder(["ask", "How many customers?", "--model", NAME], env)
    assert_one_line_error(ask, 3, rf"model {NAME} is not downloaded yet")


def test_a_full_disk_keeps_nothing_finished_and_the_pull_resumes(tmp_path: Path, hub: FakeHub, payload: bytes) -> None:
    """A real small disk (tmpfs) that another program fills while the download runs."""
    with small_disk(tmp_path / "disk", 96 * MIB) as disk:
        if disk is None:
            pytest.skip("cannot mount a tmpfs here; test_a_file_size_limit_... covers the same path")
        env = _env(tmp_path, hub, hf_home=disk / "hf")
        hub.pause_after(0)  # after the free-space check, before the first byte
        proc = start_sqlcoder(["models", "pull", NAME], env)
        try:
            assert hub.wait_paused(60), "the download never started"
            filler = fill(disk, leave_bytes=3 * MIB)
        finally:
            hub.resume()
        _, stderr = proc.communicate(timeout=120)
        assert_one_line_error(
            (proc.returncode, stderr),
            3,
            rf"^error: cannot finish downloading {ENTRY.filename} into {disk / 'hf' / 'hub'}: No space left on device "
            r"\([\d.]+ [kM]?B of 16\.8 MB kept\) \(free some space and pull again to resume",
        )
        assert _finished_files(env) == []
        kept = sum(p.stat().st_size for p in _partials(env))
        assert kept < len(payload)
        filler.unlink()
        _pull_again_and_verify(env, hub, payload, kept)


def test_a_file_size_limit_keeps_nothing_finished_and_the_pull_resumes(
    tmp_path: Path, hub: FakeHub, payload: bytes
) -> None:
    """The same fault where no tmpfs can be mounted: RLIMIT_FSIZE makes the write fail (EFBIG)."""
    env = _env(tmp_path, hub)
    proc = start_sqlcoder(["models", "pull", NAME], env, preexec_fn=file_size_limit(4 * MIB))
    _, stderr = proc.communicate(timeout=120)
    assert_one_line_error(
        (proc.returncode, stderr),
        3,
        rf"^error: cannot finish downloading {ENTRY.filename} into .*: File too large \(4\.2 MB of 16\.8 MB kept\)",
    )
    assert _finished_files(env) == []
    (partial,) = _partials(env)
    assert partial.stat().st_size == 4 * MIB
    assert partial.read_bytes() == payload[: 4 * MIB]  # what is kept is a true prefix: safe to resume
    _pull_again_and_verify(env, hub, payload, 4 * MIB)


def test_ctrl_c_then_rerun_resumes_and_verifies(tmp_path: Path, hub: FakeHub, payload: bytes) -> None:
    env = _env(tmp_path, hub)
    hub.pause_after(12 * MIB)  # the transfer hangs there, as on a slow network
    proc = start_sqlcoder(["models", "pull", NAME], env)
    try:
        assert hub.wait_paused(60), "the download never reached 12 MiB"
        deadline = time.monotonic() + 30
        while sum(p.stat().st_size for p in _partials(env)) < WRITE_CHUNK and time.monotonic() < deadline:
            time.sleep(0.05)
        _, stderr = interrupt(proc)
    finally:
        hub.resume(drop=True)
        if proc.poll() is None:
            proc.kill()
    assert_one_line_error(
        (proc.returncode, stderr),
        130,
        rf"^(error: )?download of {NAME} interrupted; 10\.5 MB kept \(run `sqlcoder models pull {NAME}` again to resume\)$",
    )
    (partial,) = _partials(env)
    assert partial.stat().st_size == WRITE_CHUNK
    assert _finished_files(env) == []
    _pull_again_and_verify(env, hub, payload, WRITE_CHUNK)


def test_a_partial_download_left_by_a_full_disk_can_be_deleted(tmp_path: Path, hub: FakeHub) -> None:
    """The error's hint says `sqlcoder models rm` deletes the partial file: it does, and says how much."""
    env = _env(tmp_path, hub)
    proc = start_sqlcoder(["models", "pull", NAME], env, preexec_fn=file_size_limit(4 * MIB))
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 3 and "`sqlcoder models rm` deletes the partial file" in stderr, stderr
    assert len(_partials(env)) == 1
    removed = run_sqlcoder(["models", "rm", NAME, "--yes"], env)
    assert_clean(removed)
    assert f"{NAME} was not fully downloaded; removed 4.2 MB of partial download" in removed.stdout + removed.stderr
    assert not _storage(env).exists()
