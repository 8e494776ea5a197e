"""``ModelStore.pull`` against a fake hub on 127.0.0.1: layout, progress, resume, verification, errors."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path

import pytest
from testkit.fakehub import FakeHub

from sqlcoder_cli.config import Paths
from sqlcoder_cli.errors import DownloadError, Interrupted
from sqlcoder_cli.models.catalogue import find_entry
from sqlcoder_cli.models.download import find_cached, repo_folder
from sqlcoder_cli.models.store import ModelStore

NAME = "qwen2.5-coder-0.5b"
ENTRY = find_entry(NAME)
assert ENTRY is not None
MIB = 1024 * 1024


class Recorder:
    """A DownloadProgress that remembers every call."""

    def __init__(self, interrupt_on_call: int | None = None) -> None:
        self.starts: list[tuple[str, int, int]] = []
        self.advanced = 0
        self.calls = 0
        self.finished = 0
        self.interrupt_on_call = interrupt_on_call

    def start(self, description: str, total_bytes: int, already: int) -> None:
        self.starts.append((description, total_bytes, already))

    def advance(self, nbytes: int) -> None:
        self.calls += 1
        if self.interrupt_on_call is not None and self.calls == self.interrupt_on_call:
            raise KeyboardInterrupt
        self.advanced += nbytes

    def finish(self) -> None:
        self.finished += 1


@pytest.fixture(scope="module")
def big_payload() -> bytes:
    """16 MiB: more than huggingface_hub's 10 MiB write chunk, so a cut leaves a partial file."""
    return os.urandom(16 * MIB)


def _cache(store: ModelStore) -> Path:
    return store.cache_dir


def test_pull_lands_in_the_standard_hf_cache(store: ModelStore, hub: FakeHub, tiny_bytes: bytes, environ: dict[str, str]) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, tiny_bytes)
    progress = Recorder()
    path = store.pull(NAME, progress=progress)

    sha = hashlib.sha256(tiny_bytes).hexdigest()
    storage = Path(environ["HF_HOME"]) / "hub" / "models--Qwen--Qwen2.5-Coder-0.5B-Instruct-GGUF"
    assert path == storage / "snapshots" / hub.commit / ENTRY.filename
    assert path.is_symlink() and path.resolve() == storage / "blobs" / sha
    assert (storage / "refs" / "main").read_text() == hub.commit
    assert path.read_bytes() == tiny_bytes
    assert progress.starts == [(ENTRY.filename, len(tiny_bytes), 0)]
    assert progress.advanced == len(tiny_bytes) and progress.finished == 1

    # huggingface_hub itself finds the file (the cache is shared with other tools).
    from huggingface_hub import try_to_load_from_cache

    assert try_to_load_from_cache(ENTRY.repo_id, ENTRY.filename, cache_dir=str(storage.parent)) == str(path)
    assert {r.name: r for r in store.list_models()}[NAME].on_disk

    # A second pull only asks the hub (HEAD) and transfers nothing.
    hub.reset_counters()
    again = Recorder()
    assert store.pull(NAME, progress=again) == path
    assert hub.bytes_served == 0 and [m for m, _ in hub.requests] == ["HEAD"]
    assert again.starts == [] and again.finished == 1


def test_resolve_after_pull_needs_no_network(store: ModelStore, hub: FakeHub, tiny_bytes: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, tiny_bytes)
    path = store.pull(NAME)
    hub.stop()
    model = store.resolve(NAME)
    assert model.path == path and model.family == "chat" and model.entry is ENTRY
    info = store.info(NAME)
    assert info["on_disk"] and info["architecture"] == "llama"


def test_connection_cut_then_outage_resumes_on_the_next_pull(store: ModelStore, hub: FakeHub, big_payload: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, big_payload)
    hub.cut_after(12 * MIB, then_fail=503)
    with pytest.raises(DownloadError, match="HTTP 503"):
        store.pull(NAME)
    blobs = repo_folder(_cache(store), ENTRY.repo_id) / "blobs"
    (partial,) = blobs.glob("*.incomplete")
    kept = partial.stat().st_size
    assert 0 < kept < len(big_payload)
    assert find_cached(_cache(store), ENTRY.repo_id, ENTRY.filename) is None
    assert store.info(NAME)["partial_download_bytes"] == kept

    hub.reset_counters()
    progress = Recorder()
    path = store.pull(NAME, progress=progress)
    assert hub.range_headers == [f"bytes={kept}-"]
    assert hub.bytes_served == len(big_payload) - kept  # only the rest travelled
    assert progress.starts == [(ENTRY.filename, len(big_payload), kept)]
    assert progress.advanced == len(big_payload) - kept
    assert path.read_bytes() == big_payload
    assert not list(blobs.glob("*.incomplete"))


def test_a_dropped_connection_is_resumed_within_the_same_pull(store: ModelStore, hub: FakeHub, big_payload: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, big_payload)
    hub.cut_after(12 * MIB)
    progress = Recorder()
    path = store.pull(NAME, progress=progress)
    assert path.read_bytes() == big_payload
    assert len(hub.range_headers) == 1 and hub.range_headers[0].startswith("bytes=")
    assert hub.bytes_served < 2 * len(big_payload)
    assert progress.advanced == len(big_payload)


def test_ctrl_c_keeps_the_partial_file_for_the_next_pull(store: ModelStore, hub: FakeHub, big_payload: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, big_payload)
    with pytest.raises(Interrupted, match=rf"download of {NAME} interrupted; 10\.5 MB kept") as caught:
        store.pull(NAME, progress=Recorder(interrupt_on_call=2))
    assert caught.value.exit_code == 130 and caught.value.hint == f"run `sqlcoder models pull {NAME}` again to resume"
    hub.reset_counters()
    progress = Recorder()
    path = store.pull(NAME, progress=progress)
    (_, total, already) = progress.starts[0]
    assert total == len(big_payload) and already > 0
    assert hub.range_headers == [f"bytes={already}-"] and hub.bytes_served == total - already
    assert hashlib.sha256(path.read_bytes()).hexdigest() == hashlib.sha256(big_payload).hexdigest()


def test_checksum_mismatch_deletes_the_download(store: ModelStore, hub: FakeHub, tiny_bytes: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, tiny_bytes, advertised_sha256="ab" * 32)
    with pytest.raises(DownloadError, match=r"checksum mismatch for qwen2\.5-coder-0\.5b-instruct-q4_k_m\.gguf: expected abab.*the file was deleted"):
        store.pull(NAME)
    storage = repo_folder(_cache(store), ENTRY.repo_id)
    assert not [p for p in (storage / "blobs").iterdir()]  # neither blob nor partial file
    assert find_cached(_cache(store), ENTRY.repo_id, ENTRY.filename) is None


def test_missing_file_and_missing_repo(store: ModelStore, hub: FakeHub) -> None:
    hub.add_file(ENTRY.repo_id, "README.md", b"# readme\n", lfs=False)
    with pytest.raises(DownloadError, match=f"{ENTRY.filename} was not found in {ENTRY.repo_id}"):
        store.pull(NAME)
    with pytest.raises(DownloadError, match="repository defog/sqlcoder-7b-2 was not found"):
        store.pull("sqlcoder-7b-2")


def test_unreachable_hub(homes: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environ = {**homes, "HF_ENDPOINT": f"http://127.0.0.1:{port}"}
    store = ModelStore(Paths.resolve(environ), environ=environ)
    with pytest.raises(DownloadError, match="could not reach the model hub"):
        store.pull(NAME)


def test_offline_mode_makes_no_request(environ: dict[str, str], hub: FakeHub, tiny_bytes: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, tiny_bytes)
    offline = ModelStore(Paths.resolve(environ), environ={**environ, "HF_HUB_OFFLINE": "1"})
    with pytest.raises(DownloadError, match="offline"):
        offline.pull(NAME)
    assert hub.requests == []
    # Once the file is there, an offline pull just returns it.
    online = ModelStore(Paths.resolve(environ), environ=environ)
    path = online.pull(NAME)
    hub.reset_counters()
    assert offline.pull(NAME) == path and hub.requests == []


def test_not_enough_disk_space(store: ModelStore, hub: FakeHub) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, b"GGUF" + b"\0" * 100, advertised_size=10**15)
    with pytest.raises(DownloadError, match=r"need 1000\.0 TB free in .*, have"):
        store.pull(NAME)
    assert [m for m, _ in hub.requests] == ["HEAD"]  # refused before any byte was requested


def test_remove_deletes_the_download_only(store: ModelStore, hub: FakeHub, tiny_bytes: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, tiny_bytes)
    hub.add_file(ENTRY.repo_id, "other.gguf", tiny_bytes + b"x")
    path = store.pull(NAME)
    from sqlcoder_cli.models.download import HubSettings, download

    other = download(HubSettings.from_environ(store._environ), ENTRY.repo_id, "other.gguf")
    message = store.remove(NAME)
    assert message.startswith(f"deleted {NAME}") and not path.exists()
    assert other.is_file()  # another file of the same repository survives
    assert store.remove(NAME) == f"{NAME} is not downloaded; nothing to remove"
    with pytest.raises(Exception, match="not downloaded"):
        store.resolve(NAME)


def test_remove_the_last_file_removes_the_repo_folder(store: ModelStore, hub: FakeHub, tiny_bytes: bytes) -> None:
    hub.add_file(ENTRY.repo_id, ENTRY.filename, tiny_bytes)
    store.pull(NAME)
    store.remove(NAME)
    assert not repo_folder(_cache(store), ENTRY.repo_id).exists()
