"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, for the OpenAIEngine tests.

``with FakeOpenAI() as server:`` starts a stdlib ``ThreadingHTTPServer`` on a free port in a thread;
``server.base_url`` is its ``.../v1``. Every request is recorded (``server.requests``: method, path,
headers, JSON body) so tests can assert what the engine sent (greedy parameters, messages, that the
API key travels only in the Authorization header).

By default it behaves like a small llama.cpp-flavoured server: ``/v1/models`` lists ``models``,
``/v1/completions`` and ``/v1/chat/completions`` stream ``pieces`` as server-sent events (cut at the
request's stop strings and ``max_tokens`` as a real server would, then a usage chunk and
``[DONE]``), and the tokenizer endpoint of the chosen ``tokenizer`` flavour counts one token per
whitespace-separated word. ``server.queue(path, reply, ...)`` scripts the next answers to a path
instead: :class:`Stream` (a custom event stream, optionally cut off, slow or dropped),
:class:`Reply` (any status, body and headers), :class:`Slow` (nothing for a while) and
:class:`Drop` (close the connection without a word).
"""

from __future__ import annotations

import json
import socket
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: the flavours of tokenizer endpoint: which path answers and in what shape
TOKENIZERS = ("llama-server", "vllm", "llama-cpp-python", None)


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass
class Reply:
    """A whole (non-streamed) answer."""

    status: int = 200
    body: Any = None  # JSON-encoded unless str/bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Stream:
    """A server-sent event stream: each event is a dict (sent as ``data: JSON``) or a raw line
    (sent as is, e.g. ``"data: [DONE]"`` or ``"data: {not json"``)."""

    events: list[Any]
    #: seconds between events
    delay_s: float = 0.0
    #: seconds before the first event (after the headers)
    first_delay_s: float = 0.0
    #: close the connection abruptly after this many events (chunked: an incomplete body)
    cut_after: int | None = None
    #: chunked transfer encoding (like uvicorn); False = the body ends when the connection closes
    chunked: bool = True
    status: int = 200


@dataclass
class Slow:
    """Say nothing for ``seconds`` (until the server stops), then answer ``then``."""

    seconds: float
    then: Any = None


@dataclass
class Drop:
    """Close the connection without answering."""


def completion_events(
    pieces: list[str],
    *,
    finish_reason: str | None = "stop",
    usage: dict[str, Any] | None = None,
    done: bool = True,
    stop_reason: Any = None,
) -> list[Any]:
    """The events of a streamed /v1/completions answer."""
    events: list[Any] = [
        {"id": "cmpl-1", "object": "text_completion", "choices": [{"index": 0, "text": piece, "finish_reason": None}]}
        for piece in pieces
    ]
    if finish_reason is not None:
        choice: dict[str, Any] = {"index": 0, "text": "", "finish_reason": finish_reason}
        if stop_reason is not None:
            choice["stop_reason"] = stop_reason
        events.append({"id": "cmpl-1", "object": "text_completion", "choices": [choice]})
    if usage is not None:
        events.append({"id": "cmpl-1", "object": "text_completion", "choices": [], "usage": usage})
    if done:
        events.append("data: [DONE]")
    return events


def chat_events(
    pieces: list[str],
    *,
    finish_reason: str | None = "stop",
    usage: dict[str, Any] | None = None,
    done: bool = True,
) -> list[Any]:
    """The events of a streamed /v1/chat/completions answer (a role chunk first, as servers do)."""
    chunk = {"id": "chat-1", "object": "chat.completion.chunk"}
    events: list[Any] = [{**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
    events += [{**chunk, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]} for piece in pieces]
    if finish_reason is not None:
        events.append({**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
    if usage is not None:
        events.append({**chunk, "choices": [], "usage": usage})
    if done:
        events.append("data: [DONE]")
    return events


def count_words(text: str) -> int:
    """The fake tokenizer: one token per word, plus one for a BOS."""
    return len(text.split()) + 1


class FakeOpenAI:
    """The scripted server; a context manager (see the module docstring)."""

    def __init__(
        self,
        *,
        models: tuple[str, ...] = ("fake-model",),
        pieces: tuple[str, ...] = ("SELECT", " name", " FROM", " t", ";", "\n"),
        chat_pieces: tuple[str, ...] | None = None,
        tokenizer: str | None = "llama-server",
        props: dict[str, Any] | None = None,
        max_model_len: int | None = None,
        api_key: str | None = None,
        include_usage: bool = True,
    ) -> None:
        assert tokenizer in TOKENIZERS, tokenizer
        self.models = models
        self.pieces = list(pieces)
        self.chat_pieces = list(chat_pieces) if chat_pieces is not None else ["```sql\n", *self.pieces, "\n```"]
        self.tokenizer = tokenizer
        self.props = props
        self.max_model_len = max_model_len
        self.api_key = api_key
        self.include_usage = include_usage
        self.requests: list[Recorded] = []
        self._queues: dict[str, list[Any]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- set-up --------------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def queue(self, path: str, *replies: Any) -> FakeOpenAI:
        """The next answers to ``path`` (e.g. "/v1/completions"), in order; then the default."""
        with self._lock:
            self._queues[path].extend(replies)
        return self

    def requests_to(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- answering -----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(Recorded(method, path, dict(handler.headers.items()), body, raw))
            queued = self._queues[path].pop(0) if self._queues.get(path) else None
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            self._send(handler, Reply(401, {"error": {"message": "Invalid API key", "type": "invalid_request_error"}}))
            return
        reply = queued if queued is not None else self._default(method, path, body)
        self._send(handler, reply)

    def _default(self, method: str, path: str, body: Any) -> Any:
        body = body if isinstance(body, dict) else {}
        if path == "/v1/models":
            if method != "GET":
                return Reply(405, {"detail": "Method Not Allowed"})
            data = []
            for name in self.models:
                entry: dict[str, Any] = {"id": name, "object": "model", "owned_by": "fake"}
                if self.max_model_len is not None:
                    entry["max_model_len"] = self.max_model_len
                data.append(entry)
            return Reply(body={"object": "list", "data": data})
        if path == "/props" and self.props is not None:
            return Reply(body=self.props)
        if path in ("/v1/completions", "/v1/chat/completions"):
            if method != "POST":
                return Reply(405, {"detail": "Method Not Allowed"})
            return self._answer(path, body)
        tokenize = self._tokenize(path, body)
        if tokenize is not None:
            return tokenize
        return Reply(404, {"detail": "Not Found"})

    def _tokenize(self, path: str, body: dict[str, Any]) -> Reply | None:
        flavour = self.tokenizer
        if flavour == "llama-server" and path == "/tokenize":
            if not isinstance(body.get("content"), str):
                return Reply(500, {"error": {"message": "\"content\" must be provided"}})
            return Reply(body={"tokens": list(range(count_words(body["content"])))})
        if flavour == "vllm" and path == "/tokenize":
            if not isinstance(body.get("prompt"), str):
                return Reply(400, {"object": "error", "message": "Field required: prompt", "type": "BadRequestError", "code": 400})
            n = count_words(body["prompt"])
            return Reply(body={"count": n, "max_model_len": 4096, "tokens": list(range(n))})
        if flavour == "llama-cpp-python" and path == "/extras/tokenize":
            if not isinstance(body.get("input"), str):
                return Reply(422, {"detail": [{"msg": "Field required", "loc": ["body", "input"]}]})
            return Reply(body={"tokens": list(range(count_words(body["input"])))})
        return None

    def _answer(self, path: str, body: dict[str, Any]) -> Stream:
        """The default answer: ``pieces`` cut at the stop strings (server-side, as a real server
        does) and at ``max_tokens`` (one piece = one token)."""
        chat = path.endswith("/chat/completions")
        pieces = list(self.chat_pieces if chat else self.pieces)
        stops = body.get("stop") or []
        stops = [stops] if isinstance(stops, str) else list(stops)
        max_tokens = int(body.get("max_tokens") or 16)
        out: list[str] = []
        text = ""
        finish = "stop"
        for piece in pieces:
            if len(out) >= max_tokens:
                finish = "length"
                break
            candidate = text + piece
            hits = [candidate.find(s) for s in stops if s in candidate]
            if hits:
                cut = candidate[: min(hits)]
                if len(cut) > len(text):
                    out.append(cut[len(text):])
                break
            out.append(piece)
            text = candidate
        prompt = json.dumps(body.get("messages")) if chat else str(body.get("prompt", ""))
        usage = None
        if self.include_usage and (body.get("stream_options") or {}).get("include_usage"):
            usage = {
                "prompt_tokens": count_words(prompt),
                "completion_tokens": len(out),
                "total_tokens": count_words(prompt) + len(out),
                "prompt_tokens_details": {"cached_tokens": 2},
            }
        events = (chat_events if chat else completion_events)(out, finish_reason=finish, usage=usage)
        if not body.get("stream"):
            return self._whole(events, chat)
        return Stream(events)

    @staticmethod
    def _whole(events: list[Any], chat: bool) -> Reply:
        text = ""
        finish = None
        usage = None
        for event in events:
            if not isinstance(event, dict):
                continue
            usage = event.get("usage") or usage
            for choice in event.get("choices", []):
                text += (choice.get("delta", {}).get("content") or "") if chat else choice.get("text", "")
                finish = choice.get("finish_reason") or finish
        choice = {"index": 0, "finish_reason": finish}
        choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
        return Reply(body={"id": "x", "choices": [choice], "usage": usage})

    def _send(self, handler: BaseHTTPRequestHandler, reply: Any) -> None:
        try:
            if isinstance(reply, Slow):
                if self._stopping.wait(reply.seconds):
                    return
                reply = reply.then if reply.then is not None else Reply(body={"ok": True})
            if isinstance(reply, Drop):
                handler.close_connection = True
                _abort(handler)
                return
            if isinstance(reply, Stream):
                self._send_stream(handler, reply)
                return
            data = reply.body
            if isinstance(data, str):
                payload = data.encode("utf-8")
            elif isinstance(data, bytes):
                payload = data
            else:
                payload = json.dumps(data).encode("utf-8")
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True

    def _send_stream(self, handler: BaseHTTPRequestHandler, stream: Stream) -> None:
        handler.close_connection = True
        handler.send_response(stream.status)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-cache")
        if stream.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.flush()
        if stream.first_delay_s and self._stopping.wait(stream.first_delay_s):
            return

        def write(data: bytes) -> None:
            if stream.chunked:
                handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            else:
                handler.wfile.write(data)
            handler.wfile.flush()

        for number, event in enumerate(stream.events):
            if stream.cut_after is not None and number >= stream.cut_after:
                _abort(handler)
                return
            if number and stream.delay_s and self._stopping.wait(stream.delay_s):
                return
            line = event if isinstance(event, str) else "data: " + json.dumps(event)
            write(line.encode("utf-8") + b"\n\n")
        if stream.cut_after is not None:
            _abort(handler)
            return
        if stream.chunked:
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()


def _abort(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection at once, mid-answer (no terminating chunk)."""
    try:
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for 'connection refused')."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
