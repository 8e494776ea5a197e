"""A fake Hugging Face Hub on 127.0.0.1, for download tests without the internet.

Why a real HTTP server and not a mock: the download code is huggingface_hub's own HTTP stack
(HEAD on ``/resolve``, redirect to a CDN, ranged GET, retries), so the only honest test is one that
speaks HTTP to it. This server emulates the few things that stack needs, the way huggingface.co does:

* ``HEAD|GET /{repo_id}/resolve/{revision}/{filename}``
  - LFS files: ``302`` to a CDN URL on a *second* port (a different origin, like the real CDN, so
    huggingface_hub keeps the hub's metadata headers instead of following the redirect on HEAD),
    with ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``.
  - regular files: ``200`` with ``ETag`` = git blob sha1 and ``X-Repo-Commit``.
  - unknown repo: ``404`` + ``X-Error-Code: RepoNotFound``; unknown file: ``404`` +
    ``X-Error-Code: EntryNotFound``.
* ``GET /cdn/{sha256}`` on the CDN port: the bytes, with ``Range`` support (``206``).

Test controls: :meth:`FakeHub.add_file`, :meth:`FakeHub.cut_after` (drop the connection once, mid
body), :meth:`FakeHub.fail_downloads` (answer the next downloads with an error status),
:meth:`FakeHub.pause_after` / :meth:`FakeHub.wait_paused` / :meth:`FakeHub.resume` (hold the next
download mid-body until the test has done something: pressed Ctrl-C, filled the disk), and counters
(:attr:`FakeHub.bytes_served`, :attr:`FakeHub.range_headers`, :attr:`FakeHub.requests`).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_CHUNK = 64 * 1024


@dataclass
class FakeFile:
    repo_id: str
    filename: str
    content: bytes
    lfs: bool
    sha256: str  # what the hub advertises (may differ from the content, to test verification)
    size: int  # what the hub advertises

    @property
    def etag(self) -> str:
        if self.lfs:
            return self.sha256
        header = f"blob {len(self.content)}\0".encode()
        return hashlib.sha1(header + self.content).hexdigest()


@dataclass
class _State:
    files: dict[tuple[str, str], FakeFile] = field(default_factory=dict)
    commit: str = COMMIT
    cut_after: int | None = None
    fail_after_cut: tuple[int, int] | None = None
    fail_status: int | None = None
    fail_count: int = 0
    bytes_served: int = 0
    range_headers: list[str] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: set[Any] = field(default_factory=set)
    pause_after: int | None = None
    paused: threading.Event = field(default_factory=threading.Event)
    resumed: threading.Event = field(default_factory=threading.Event)
    drop_paused: bool = False


class FakeHub:
    """Context manager: ``with FakeHub() as hub: hub.add_file(...); hub.endpoint``."""

    def __init__(self) -> None:
        self._state = _State()
        state = self._state
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state, self, cdn=False))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state, self, cdn=True))
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
        self._threads: list[threading.Thread] = []
        self.running = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeHub:
        for server in (self._hub, self._cdn):
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
            thread.daemon = True
            thread.start()
            self._threads.append(thread)
        self.running = True
        return self

    def stop(self) -> None:
        """Stop serving and close the ports (later connections are refused)."""
        if not self.running:
            return
        self._state.resumed.set()  # a paused transfer must not hold a server thread forever
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()
        # Keep-alive connections outlive the listening socket: close them too, so that a client's
        # pooled connection cannot reach a "stopped" hub.
        with self._state.lock:
            connections = list(self._state.connections)
        for conn in connections:
            try:
                conn.shutdown(2)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=5)
        self.running = False

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._hub.server_address[1]}"

    @property
    def cdn_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._cdn.server_address[1]}"

    @property
    def commit(self) -> str:
        return self._state.commit

    # -- content and faults ----------------------------------------------------------------
    def add_file(
        self,
        repo_id: str,
        filename: str,
        content: bytes,
        *,
        lfs: bool = True,
        advertised_sha256: str | None = None,
        advertised_size: int | None = None,
    ) -> FakeFile:
        """Serve ``content``; the advertised hash/size may lie, to test verification/disk checks."""
        real = hashlib.sha256(content).hexdigest()
        fake = FakeFile(
            repo_id=repo_id,
            filename=filename,
            content=content,
            lfs=lfs,
            sha256=advertised_sha256 or real,
            size=len(content) if advertised_size is None else advertised_size,
        )
        with self._state.lock:
            self._state.files[(repo_id, filename)] = fake
        return fake

    def cut_after(self, nbytes: int, *, then_fail: int | None = None, fail_count: int = 1) -> None:
        """Drop the connection of the next download after ``nbytes`` of its body (once).

        With ``then_fail``, the ``fail_count`` downloads after the cut are answered with that status,
        as when the network or the CDN stays down long enough for the client to give up.
        """
        with self._state.lock:
            self._state.cut_after = nbytes
            self._state.fail_after_cut = (then_fail, fail_count) if then_fail else None

    def fail_downloads(self, status: int = 503, count: int = 1) -> None:
        """Answer the next ``count`` CDN downloads with ``status`` (a hub or CDN outage)."""
        with self._state.lock:
            self._state.fail_status, self._state.fail_count = status, count

    def pause_after(self, nbytes: int) -> None:
        """Hold the next download after ``nbytes`` of its body until :meth:`resume` (once).

        The client sees a stalled transfer (as on a slow or hanging network), so a test can act at a
        known point: send Ctrl-C, fill the disk. :meth:`wait_paused` says when that point is reached.
        """
        with self._state.lock:
            self._state.pause_after = nbytes
            self._state.drop_paused = False
            self._state.paused.clear()
            self._state.resumed.clear()

    def wait_paused(self, timeout: float = 30.0) -> bool:
        """True once a download reached the :meth:`pause_after` point (False after ``timeout``)."""
        return self._state.paused.wait(timeout)

    def resume(self, *, drop: bool = False) -> None:
        """Let a paused download continue, or with ``drop`` close it without another byte (for a
        client that was killed meanwhile: nothing more is sent or counted)."""
        self._state.drop_paused = drop
        self._state.resumed.set()

    def reset_counters(self) -> None:
        with self._state.lock:
            self._state.bytes_served = 0
            self._state.range_headers.clear()
            self._state.requests.clear()

    @property
    def bytes_served(self) -> int:
        """Body bytes sent by CDN downloads since the start or the last :meth:`reset_counters`."""
        return self._state.bytes_served

    @property
    def range_headers(self) -> list[str]:
        """``Range`` headers received on downloads."""
        return list(self._state.range_headers)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request, hub and CDN."""
        return list(self._state.requests)


_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
_CDN = re.compile(r"^/cdn/(?P<repo>[^/]+/[^/]+)/(?P<file>.+)$")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _make_handler(state: _State, hub: FakeHub, *, cdn: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence
            pass

        def setup(self) -> None:
            super().setup()
            with state.lock:
                state.connections.add(self.connection)

        def finish(self) -> None:
            with state.lock:
                state.connections.discard(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        def do_HEAD(self) -> None:
            self._handle(head=True)

        def do_GET(self) -> None:
            self._handle(head=False)

        def _handle(self, *, head: bool) -> None:
            path = unquote(self.path.split("?", 1)[0])
            with state.lock:
                state.requests.append((self.command, path))
            if cdn:
                match = _CDN.match(path)
                fake = state.files.get((match["repo"], match["file"])) if match else None
                if fake is None:
                    self._error(404, None)
                else:
                    self._serve_body(fake, head=head)
                return
            match = _RESOLVE.match(path)
            if not match:
                self._error(404, None)
                return
            repo, filename = match["repo"], match["file"]
            if not any(r == repo for r, _ in state.files):
                self._error(404, "RepoNotFound")
                return
            fake = state.files.get((repo, filename))
            if fake is None:
                self._error(404, "EntryNotFound", commit=True)
                return
            if fake.lfs:
                self.send_response(302)
                self.send_header("Location", f"{hub.cdn_endpoint}/cdn/{repo}/{filename}")
                self.send_header("X-Repo-Commit", state.commit)
                self.send_header("ETag", f'"{fake.etag}"')
                self.send_header("X-Linked-Etag", f'"{fake.sha256}"')
                self.send_header("X-Linked-Size", str(fake.size))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self._serve_body(fake, head=head, hub_headers=True)

        def _error(self, status: int, code: str | None, *, commit: bool = False) -> None:
            body = b'{"error": "not found"}'
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
            if commit:
                self.send_header("X-Repo-Commit", state.commit)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _serve_body(self, fake: FakeFile, *, head: bool, hub_headers: bool = False) -> None:
            content = fake.content
            start, end = 0, len(content) - 1
            range_header = self.headers.get("Range")
            if not head and not hub_headers:
                with state.lock:
                    if range_header:
                        state.range_headers.append(range_header)
                    if state.fail_count > 0 and state.fail_status:
                        state.fail_count -= 1
                        status = state.fail_status
                    else:
                        status = None
                if status is not None:
                    self._error(status, None)
                    return
            partial = False
            if range_header:
                m = _RANGE.match(range_header.strip())
                if m:
                    start = int(m[1])
                    end = int(m[2]) if m[2] else len(content) - 1
                    if start >= len(content):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(content)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    partial = True
            body = content[start : end + 1]
            self.send_response(206 if partial else 200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("ETag", f'"{fake.etag}"')
            if hub_headers:
                self.send_header("X-Repo-Commit", state.commit)
            if partial:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(content)}")
            self.end_headers()
            if head:
                return
            with state.lock:
                cut, state.cut_after = state.cut_after, None
                if cut is not None and state.fail_after_cut:
                    state.fail_status, state.fail_count = state.fail_after_cut
                    state.fail_after_cut = None
                pause, state.pause_after = state.pause_after, None
            limit = len(body) if cut is None else min(cut, len(body))
            sent = 0
            try:
                while sent < limit:
                    if pause is not None and sent >= pause:
                        pause = None
                        self.wfile.flush()
                        state.paused.set()
                        state.resumed.wait(120)
                        if state.drop_paused:
                            self.close_connection = True
                            return
                    end = min(sent + _CHUNK, limit)
                    if pause is not None:
                        end = min(end, pause)
                    piece = body[sent:end]
                    self.wfile.write(piece)
                    sent += len(piece)
                    with state.lock:
                        state.bytes_served += len(piece)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return
            if cut is not None and limit < len(body):
                # Mid-body disconnect: the client sees fewer bytes than Content-Length.
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass

    return Handler
