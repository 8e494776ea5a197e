"""The OpenAI-compatible server backend: llama-server, ``python -m llama_cpp.server``, vLLM, Ollama's
``/v1``, LM Studio.

:class:`OpenAIEngine` behaves like :class:`~sqlcoder_cli.engine.llama.LlamaEngine` as far as the
pipeline can tell: greedy decoding, the same stop-string rules, the same streaming with stop
strings held back, the same finish reasons and the same time-limit error carrying the partial
:class:`Generation`. What differs is where the model runs, and so what can fail: every failure of
the server or the network becomes one :class:`~sqlcoder_cli.errors.ServerError` line naming the
server by its address (never by its key).

It speaks HTTP through httpx (sync client, server-sent events read line by line), imported lazily:
importing this module costs nothing beyond the standard library. See docs/backends.md.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import ServerError, UsageError
from .base import Generation, ModelTraits, StreamedText, TokenCallback, out_of_time, seconds_text

if TYPE_CHECKING:
    import httpx

    from .kv_cache import KVStateCache

#: context window assumed when neither the user nor the server says
DEFAULT_SERVER_CTX = 4096
#: statuses worth asking again (before any text arrived): rate limits and passing server trouble
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: the first retry waits this long, each next one twice as long (0.5, 1, 2 s)
BACKOFF_BASE_S = 0.5
#: the longest a server's ``Retry-After`` may make us wait
MAX_RETRY_AFTER_S = 10.0
#: bytes per token assumed when the server cannot count tokens (most tokenizers average 3.5-4.5
#: bytes per token on English and SQL; 3 over-counts, so a pruned prompt still fits)
ESTIMATE_BYTES_PER_TOKEN = 3
#: OpenAI's API takes at most 4 stop strings; the rest are checked here only
MAX_SERVER_STOPS = 4
FAMILIES = ("sqlcoder", "llama3-sqlcoder", "duckdb-nsql", "chat")
API_MODES = ("auto", "completions", "chat")
_TOKEN_CACHE_SIZE = 512
_NOT_FETCHED: Any = object()
#: an opening code fence with an optional language ("```sql", "```SQL", "```"), then a newline
_FENCE_OPEN = re.compile(r"\s*```[ \t]*[A-Za-z0-9_+.-]*[ \t]*\r?\n")
_FENCE_OPENING = re.compile(r"`{0,3}|```[ \t]*[A-Za-z0-9_+.-]*[ \t]*\r?")


@dataclass(frozen=True)
class ServerOptions:
    """Where the model server is and how to talk to it."""

    #: e.g. "http://127.0.0.1:8080/v1" (with or without the /v1 suffix)
    base_url: str
    #: the model name the server knows
    api_model: str
    #: sent as ``Authorization: Bearer``; never in messages, logs or repr
    api_key: str | None = field(default=None, repr=False)
    #: prompt family; None = guessed from ``api_model`` (:func:`guess_family`)
    family: str | None = None
    #: "auto", "completions" or "chat". auto: the completions endpoint with our own rendering of
    #: the prompt, except for a chat model whose template we do not know (``chat_template``):
    #: that one gets chat completions, and the server applies its template
    api_mode: str = "auto"
    #: the served model's chat template (Jinja2) when the client knows it (config ``api_template``,
    #: or the GGUF that ``api_model`` names on this machine): the prompt is then rendered here
    #: exactly as for the local engine, the answer's opening written in, and sent as text
    chat_template: str | None = None
    bos_token: str = ""
    eos_token: str = ""
    #: context window; 0 = ask the server (vLLM, llama-server), else 4096
    n_ctx: int = 0
    connect_timeout_s: float = 5.0
    #: the longest wait for the server's next bytes (the answer's start, or its next piece)
    read_timeout_s: float = 120.0
    #: retries on 429/500/502/503/504 and refused connections, before any text was received
    max_retries: int = 3


#: beginning-of-sequence markers a raw prompt may spell out (Llama 3 SQLCoder's template starts with
#: one): a server adds the model's BOS token itself, so a spelled-out one would make two
LEADING_BOS_TEXTS = ("<|begin_of_text|>", "<s>", "<bos>")


def without_bos_text(prompt: str) -> str:
    """``prompt`` without a spelled-out BOS marker at its start (the server adds the real one)."""
    for marker in LEADING_BOS_TEXTS:
        if prompt.startswith(marker):
            return prompt[len(marker):]
    return prompt


def guess_family(api_model: str) -> str:
    """The prompt family a served model's name suggests (the server does not say). Only the name's
    last part counts: a path's folders ("…/sqlcoder-models/qwen.gguf") or an organisation say
    nothing about the model."""
    name = api_model.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    if "sqlcoder" in name:
        return "llama3-sqlcoder" if ("llama-3" in name or "llama3" in name or "llama_3" in name) else "sqlcoder"
    if "nsql" in name:
        return "duckdb-nsql"
    return "chat"


def normalise_base_url(url: str) -> str:
    """``host:8080``, ``http://host:8080/``, ``http://host:8080/v1/chat/completions`` ->
    ``http://host:8080/v1``: the OpenAI API root every request hangs below."""
    url = url.strip()
    if not url:
        raise UsageError("the model server's address is empty", hint="pass --base-url, e.g. http://127.0.0.1:8080/v1")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{_display_url(url)!r} is not an http(s) address of a model server",
            hint="pass --base-url, e.g. http://127.0.0.1:8080/v1",
        )
    path = parts.path.rstrip("/")
    for endpoint in ("/chat/completions", "/completions", "/models"):
        if path.endswith(endpoint):
            path = path[: -len(endpoint)]
            break
    if not path.endswith("/v1"):
        path += "/v1"
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def _display_url(url: str) -> str:
    """The address without any ``user:password@`` (messages never show credentials)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "the given address"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")



def _one_line(text: str, limit: int = 80) -> str:
    """Server text fit for a one-line message: whitespace and control characters collapsed."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _error_text(payload: Any) -> str:
    """The human part of a server's error body: OpenAI's ``{"error": {"message": ...}}``, vLLM's
    ``{"message": ...}``, FastAPI's ``{"detail": ...}``, Ollama's ``{"error": "..."}``."""
    if isinstance(payload, dict):
        for key in ("error", "message", "detail"):
            value = payload.get(key)
            if isinstance(value, dict):
                inner = _error_text(value)
                if inner:
                    return inner
            elif isinstance(value, str) and value:
                return value
            elif isinstance(value, list) and value:
                return "; ".join(_error_text(item) or str(item) for item in value)
        if isinstance(payload.get("msg"), str):
            return payload["msg"]
    return ""


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number or an HTTP date), None if none/unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _answer_start(raw: str, prefix: str, final: bool) -> int | None:
    """Where the answer proper starts in chat-streamed ``raw`` text: after the ``prefix`` the local
    prompt would have pre-written (and any whitespace before it) when the model wrote it itself.
    None while the start could still grow into the prefix (more text needed to decide)."""
    if not prefix:
        return 0
    rest = raw.lstrip()
    skipped = len(raw) - len(rest)
    want = prefix.lstrip()
    if rest.startswith(want):
        return skipped + len(want)
    if want.startswith("```"):  # any opening fence counts: ```SQL, ``` , ```postgresql
        fence = _FENCE_OPEN.match(raw)
        if fence:
            return fence.end()
        if not final and _FENCE_OPENING.fullmatch(rest):
            return None
    if not final and want.startswith(rest):
        return None
    return skipped


def _count_from(payload: Any) -> int | None:
    if not isinstance(payload, dict):
        return None
    count = payload.get("count")
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    tokens = payload.get("tokens")
    if isinstance(tokens, list):
        return len(tokens)
    return None


@dataclass
class _Stream:
    """What one streamed answer has brought so far."""

    raw: str = ""
    chunks: int = 0
    done: bool = False
    server_finish: str | None = None
    stop_reason: Any = None
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None


class OpenAIEngine:
    """A model behind an OpenAI-compatible HTTP server (satisfies :class:`~.base.Engine`).

    Nothing is sent until something is needed: ``n_ctx`` and ``traits`` ask the server once
    (``/models``, llama-server's ``/props``), ``count_tokens`` finds the server's tokenizer once.
    ``sleep`` is how retries wait (tests pass a recorder).
    """

    load_s: float = 0.0
    supports_grammar: bool = False

    def __init__(self, options: ServerOptions, *, sleep: Callable[[float], None] = time.sleep) -> None:
        if options.api_mode not in API_MODES:
            raise UsageError(f"unknown API mode {options.api_mode!r}", hint="use auto, completions or chat")
        if options.family is not None and options.family not in FAMILIES:
            raise UsageError(f"unknown prompt family {options.family!r}", hint="use " + ", ".join(FAMILIES))
        if not options.api_model.strip():
            raise UsageError("no model name for the model server", hint="pass --api-model NAME (`sqlcoder doctor` lists what it serves)")
        self.options = options
        self.base_url = normalise_base_url(options.base_url)
        self.root_url = self.base_url[: -len("/v1")]
        self.url = _display_url(self.base_url)  # what messages show
        self.family = options.family or guess_family(options.api_model)
        mode = options.api_mode
        renders_here = self.family != "chat" or bool(options.chat_template)
        self.api_mode = mode if mode != "auto" else ("completions" if renders_here else "chat")
        self._sleep = sleep
        self._client: httpx.Client | None = None
        self._n_ctx: int | None = options.n_ctx if options.n_ctx > 0 else None
        self._props: Any = _NOT_FETCHED
        self._template: Any = _NOT_FETCHED
        self._models: Any = _NOT_FETCHED
        #: index into _TOKENIZERS once probed; -1 = the server has none (estimate)
        self._tokenizer: int | None = None
        self._token_counts: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"OpenAIEngine({self.url!r}, model={self.options.api_model!r}, mode={self.api_mode!r})"

    # -- what the pipeline reads ---------------------------------------------------------------

    @property
    def n_ctx(self) -> int:
        if self._n_ctx is None:
            self._n_ctx = self._discover_n_ctx()
        return self._n_ctx

    @n_ctx.setter
    def n_ctx(self, value: int) -> None:
        self._n_ctx = value

    @property
    def traits(self) -> ModelTraits:
        """Name and family from the options; the chat template from llama-server's ``/props``
        (asked once, for the chat family only: the others' prompts do not use one)."""
        return ModelTraits(
            name=self.options.api_model,
            family=self.family,
            chat_template=self._chat_template() if self.family == "chat" else None,
            bos_token=self.options.bos_token,
            eos_token=self.options.eos_token,
            # in chat mode the server applies the model's template; our rendering is only shown
            server_renders_chat=self.api_mode == "chat",
        )

    def _chat_template(self) -> str | None:
        if self.options.chat_template:
            return self.options.chat_template
        if self._template is _NOT_FETCHED:
            try:
                props = self._get_props(retries=False)
            except ServerError:
                if self.api_mode != "chat":
                    raise  # the prompt needs the model's template, and the server cannot say it
                # the server renders the chat itself: the template is only for show, and reading
                # traits must not fail (or wait) where a name is all that is wanted
                props = None
            template = props.get("chat_template") if isinstance(props, dict) else None
            self._template = template if isinstance(template, str) and template.strip() else None
        return self._template

    # -- HTTP ----------------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            from ..__about__ import __version__

            headers = {"User-Agent": f"sqlcoder-cli/{__version__}"}
            if self.options.api_key:
                headers["Authorization"] = f"Bearer {self.options.api_key}"
            self._client = httpx.Client(
                headers=headers,
                timeout=httpx.Timeout(self.options.read_timeout_s, connect=self.options.connect_timeout_s),
                # a proxy from the environment may serve a remote server, never one on this machine
                trust_env=not _is_loopback(self.base_url),
                follow_redirects=False,
            )
        return self._client

    def _send(
        self, method: str, url: str, body: dict[str, Any] | None = None, *, stream: bool = False, retries: bool = True
    ) -> httpx.Response:
        """One request, retried on refused connections and 429/5xx; the caller closes the response.
        Returns the last response, whatever its status (see :meth:`_raise_for_status`)."""
        import httpx

        client = self._http()
        attempt = 0
        max_retries = self.options.max_retries if retries else 0
        while True:
            request = client.build_request(method, url, json=body)
            try:
                response = client.send(request, stream=stream)
            except httpx.ConnectTimeout:
                raise ServerError(
                    f"cannot reach the model server at {self.url}: no connection in {seconds_text(self.options.connect_timeout_s)} s",
                    hint="check that it runs and that --base-url is right",
                ) from None
            except httpx.ConnectError as exc:
                if attempt < max_retries:
                    self._sleep(BACKOFF_BASE_S * 2**attempt)
                    attempt += 1
                    continue
                raise ServerError(
                    f"cannot reach the model server at {self.url}: {self._connect_reason(exc)}",
                    hint="start it (docs/backends.md), or check --base-url",
                ) from None
            except httpx.TimeoutException:
                raise self._read_timeout() from None
            except httpx.HTTPError as exc:
                raise ServerError(
                    f"the model server at {self.url} closed the connection without answering ({_one_line(str(exc), 60) or type(exc).__name__})",
                ) from None
            if response.status_code in RETRY_STATUSES and attempt < max_retries:
                delay = _retry_after(response.headers.get("retry-after"))
                delay = min(delay, MAX_RETRY_AFTER_S) if delay is not None else BACKOFF_BASE_S * 2**attempt
                response.close()
                self._sleep(delay)
                attempt += 1
                continue
            response.retries = attempt  # type: ignore[attr-defined] # for the "after N retries" message
            return response

    @staticmethod
    def _connect_reason(exc: BaseException) -> str:
        text = str(exc).lower()
        if "refused" in text:
            return "connection refused"
        if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return "unknown host name"
        return _one_line(str(exc), 60) or "connection failed"

    def _read_timeout(self, tokens: int | None = None) -> ServerError:
        after = f" (after {tokens} tokens)" if tokens else ""
        return ServerError(
            f"no answer from the model server at {self.url} in {seconds_text(self.options.read_timeout_s)} s{after}",
            hint="it may be overloaded or stuck; a slow model needs a longer read timeout",
        )

    def _body_text(self, response: httpx.Response) -> tuple[Any, str]:
        """(parsed JSON or None, raw text) of a response's body, read whole."""
        try:
            raw = response.read().decode("utf-8", errors="replace")
        except Exception:  # noqa: BLE001 - a broken error body must not hide the status
            return None, ""
        try:
            return json.loads(raw), raw
        except ValueError:
            return None, raw

    def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        """Turn a non-2xx answer into its one-line error. ``what`` names the endpoint ("/completions")."""
        status = response.status_code
        if status < 300:
            return
        payload, raw = self._body_text(response)
        message = _error_text(payload) if payload is not None else raw
        detail = _one_line(message)
        if status in (401, 403):
            if self.options.api_key:
                message = f"the model server at {self.url} refused the API key ({status})"
            else:
                message = f"the model server at {self.url} asks for an API key ({status})"
            raise ServerError(message, hint="set SQLCODER_API_KEY (or api_key in the config) to the key it expects")
        lowered = message.lower()
        if status in (400, 413, 422) and "context" in lowered:
            raise self._context_error(detail)
        model = self.options.api_model
        if status in (400, 404) and "model" in lowered and (
            model.lower() in lowered or "not found" in lowered or "does not exist" in lowered or "no such" in lowered
        ):
            raise self._no_such_model()
        if status == 404:
            raise ServerError(
                f"the model server at {self.url} has no {what} endpoint (404)",
                hint="check --base-url: it usually ends in /v1" + (" (or use the completions API mode)" if "chat" in what else ""),
            )
        retries = getattr(response, "retries", 0)
        if status in RETRY_STATUSES:
            still = f"still answered {status} after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else f"answered {status}"
            raise ServerError(
                f"the model server at {self.url} {still}" + (f": {detail}" if detail else ""),
                hint="it is busy, still loading its model or failing; try again later or see its log",
            )
        if status >= 500:
            raise ServerError(f"the model server at {self.url} failed ({status})" + (f": {detail}" if detail else ""))
        raise ServerError(f"the model server at {self.url} refused the request ({status})" + (f": {detail}" if detail else ""))

    def _context_error(self, detail: str) -> UsageError:
        return UsageError(
            f"the prompt does not fit the context window of the model server at {self.url}: {detail}",
            hint="ask about fewer tables, or give the server a larger context (and pass --ctx)",
        )

    def _no_such_model(self) -> ServerError:
        names = self._model_names(quiet=True)
        have = f"it has {', '.join(names)}" if names else "see `sqlcoder doctor`"
        return ServerError(
            f"the model server at {self.url} has no model {self.options.api_model}",
            hint=f"{have}; pass one with --api-model",
        )

    def _get_json(self, url: str, what: str, *, retries: bool = True) -> Any:
        """GET a discovery endpoint: its JSON, or None when the server does not offer it."""
        response = self._send("GET", url, retries=retries)
        try:
            if response.status_code in (401, 403) or response.status_code in RETRY_STATUSES:
                self._raise_for_status(response, what)
            if response.status_code >= 300:
                return None
            payload, _ = self._body_text(response)
            return payload
        finally:
            response.close()

    # -- discovery -----------------------------------------------------------------------------

    def _get_models(self) -> Any:
        if self._models is _NOT_FETCHED:
            self._models = self._get_json(f"{self.base_url}/models", "/models")
        return self._models

    def _get_props(self, *, retries: bool = True) -> Any:
        if self._props is _NOT_FETCHED:
            self._props = self._get_json(f"{self.root_url}/props", "/props", retries=retries)
        return self._props

    @staticmethod
    def _model_entries(payload: Any) -> list[dict[str, Any]]:
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, list):  # Ollama's native list has "models"
            data = payload.get("models") if isinstance(payload, dict) else None
        if not isinstance(data, list):
            return []
        return [entry for entry in data if isinstance(entry, dict) and isinstance(entry.get("id", entry.get("name")), str)]

    def _model_names(self, *, quiet: bool = False) -> list[str]:
        try:
            payload = self._get_models()
        except ServerError:
            if quiet:
                return []
            raise
        return [str(entry.get("id", entry.get("name"))) for entry in self._model_entries(payload)]

    def _matches(self, name: str) -> bool:
        """Whether the server's model ``name`` is the one asked for. llama-server and
        llama_cpp.server name a model by its file path, Ollama adds ``:latest``."""
        want = self.options.api_model.strip().lower()
        have = name.strip().lower()
        base = have.replace("\\", "/").rsplit("/", 1)[-1]
        return want in (have, base, base.removesuffix(".gguf")) or have == f"{want}:latest"

    def _discover_n_ctx(self) -> int:
        for entry in self._model_entries(self._get_models()):
            if self._matches(str(entry.get("id", ""))):
                size = entry.get("max_model_len")  # vLLM
                if isinstance(size, int) and size > 0:
                    return size
        props = self._get_props()  # llama-server
        if isinstance(props, dict):
            settings = props.get("default_generation_settings")
            for source in (settings, props):
                size = source.get("n_ctx") if isinstance(source, dict) else None
                if isinstance(size, int) and size > 0:
                    return size
        return DEFAULT_SERVER_CTX

    def check(self) -> None:
        """Raise :class:`ServerError` unless the server answers and serves ``api_model``."""
        self._models = _NOT_FETCHED  # ask afresh
        response = self._send("GET", f"{self.base_url}/models")
        try:
            self._raise_for_status(response, "/models")
            payload, raw = self._body_text(response)
        finally:
            response.close()
        if not isinstance(payload, dict) or not isinstance(payload.get("data", payload.get("models")), list):
            raise ServerError(
                f"the model server at {self.url} answered /models with something that is not a model list: {_one_line(raw)}",
                hint="check --base-url: it usually ends in /v1",
            )
        self._models = payload
        names = self._model_names()
        if not any(self._matches(name) for name in names):
            raise ServerError(
                f"the model server at {self.url} has no model {self.options.api_model}",
                hint=(f"it has {', '.join(names)}" if names else "it lists no models") + "; pass one with --api-model",
            )

    # -- tokens --------------------------------------------------------------------------------

    def _tokenizers(self, text: str) -> list[tuple[str, dict[str, Any]]]:
        model = self.options.api_model
        return [
            # llama-server: {"tokens": [...]}; add_special so a BOS counts as in a real prompt
            (f"{self.root_url}/tokenize", {"content": text, "add_special": True}),
            # vLLM: {"count": n, "max_model_len": ..., "tokens": [...]}
            (f"{self.root_url}/tokenize", {"model": model, "prompt": text}),
            # llama-cpp-python's server: {"tokens": [...]}
            (f"{self.root_url}/extras/tokenize", {"input": text, "model": model}),
        ]

    def _ask_tokenizer(self, index: int, text: str) -> int | None:
        url, body = self._tokenizers(text)[index]
        response = self._send("POST", url, body)
        try:
            if response.status_code in (401, 403):
                self._raise_for_status(response, "/tokenize")
            if response.status_code >= 300:
                return None
            payload, _ = self._body_text(response)
            return _count_from(payload)
        finally:
            response.close()

    def _exact_count(self, text: str) -> int | None:
        """The server tokenizer's count (cached per text), or None when the server has none."""
        if text in self._token_counts:
            return self._token_counts[text]
        count: int | None = None
        if self._tokenizer is None:  # probe once: the first endpoint that counts is the server's
            found = -1  # remembered only once every endpoint answered (not on a network failure)
            for index in range(len(self._tokenizers(""))):
                count = self._ask_tokenizer(index, text)
                if count is not None:
                    found = index
                    break
            self._tokenizer = found
        elif self._tokenizer >= 0:
            count = self._ask_tokenizer(self._tokenizer, text)
        if count is None:
            return None
        if len(self._token_counts) >= _TOKEN_CACHE_SIZE:
            self._token_counts.pop(next(iter(self._token_counts)))
        self._token_counts[text] = count
        return count

    @staticmethod
    def estimate_tokens(text: str) -> int:
        """Tokens ``text`` may take when the server cannot count them: one per 3 bytes, rounded up."""
        return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)

    def count_tokens(self, text: str) -> int:
        exact = self._exact_count(text)
        return exact if exact is not None else self.estimate_tokens(text)

    # -- generation ----------------------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int = 512,
        stop: tuple[str, ...] = (),
        on_token: TokenCallback | None = None,
        time_limit_s: float | None = None,
        messages: Sequence[dict[str, str]] | None = None,
        answer_prefix: str = "",
        stable_prefix: str | None = None,
        state_cache: KVStateCache | None = None,
        grammar: str | None = None,
    ) -> Generation:
        """Greedy completion, streamed; see :meth:`~.base.Engine.generate`. ``stable_prefix``,
        ``state_cache`` and ``grammar`` are ignored (the server keeps its own prompt cache)."""
        stop = tuple(s for s in stop if s)
        chat = messages is not None and self.api_mode == "chat"
        if not chat:
            prompt = without_bos_text(prompt)
        n_ctx = self.n_ctx
        prompt_count = self._exact_count(prompt)
        if prompt_count is not None:  # the server's own count: as strict as LlamaEngine
            if not chat and prompt_count + 1 > n_ctx:
                raise UsageError(
                    f"the prompt has {prompt_count} tokens but the context window holds {n_ctx}",
                    hint="pass a larger --ctx if the server's model supports it, or ask about fewer tables",
                )
            max_tokens = max(1, min(max_tokens, n_ctx - prompt_count))
        body: dict[str, Any] = {
            "model": self.options.api_model,
            "max_tokens": max_tokens,
            # greedy: temperature 0 is greedy everywhere; top_k/repeat_penalty are llama.cpp's and
            # vLLM's extensions (llama_cpp.server's repeat_penalty defaults to 1.1), others ignore them
            "temperature": 0.0,
            "top_p": 1.0,
            "top_k": 1,
            "repeat_penalty": 1.0,
            "seed": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if chat:
            body["messages"] = [dict(message) for message in messages or ()]
            # the server may stop at the stops the answer's opening cannot contain (";" but not the
            # fence the model opens with); the others are checked here, after that opening
            server_stops = [s for s in stop if s not in answer_prefix]
            if server_stops:
                body["stop"] = server_stops[:MAX_SERVER_STOPS]
            url, what = f"{self.base_url}/chat/completions", "/chat/completions"
        else:
            body["prompt"] = prompt
            if stop:
                body["stop"] = list(stop[:MAX_SERVER_STOPS])
            url, what = f"{self.base_url}/completions", "/completions"

        limit = time_limit_s or 0.0
        prefix = answer_prefix if chat else ""
        state = _Stream()
        streamed = StreamedText(stop, on_token)
        finish_reason: str | None = None
        first_at: float | None = None
        started = time.perf_counter()
        response = self._send("POST", url, body, stream=True)
        try:
            self._raise_for_status(response, what)
            for event in self._events(response, state):
                self._note_end(event, state)
                piece = self._piece(event, chat)
                if piece:
                    now = time.perf_counter()
                    if first_at is None:
                        first_at = now
                    elif limit > 0 and now - first_at > limit:
                        finish_reason = "time"
                        break
                    state.chunks += 1
                    state.raw += piece
                    start = _answer_start(state.raw, prefix, final=False)
                    if start is not None and streamed.update(state.raw[start:]):
                        finish_reason = "stop"
                        break
        finally:
            response.close()
        if finish_reason is None:
            if not state.done and state.server_finish is None:
                raise ServerError(f"the model server at {self.url} stopped in the middle of an answer (after {state.chunks} tokens)")
            start = _answer_start(state.raw, prefix, final=True) or 0
            if streamed.update(state.raw[start:]):
                finish_reason = "stop"
            elif state.server_finish == "length":
                finish_reason = "length"
            elif isinstance(state.stop_reason, str) and state.stop_reason:
                finish_reason = "stop"  # vLLM names the stop string the server matched
            else:
                finish_reason = "eos"
        text = streamed.flush()
        finished = time.perf_counter()
        first = first_at or finished
        prompt_tokens = self._usage_int("prompt_tokens", state)
        if prompt_tokens is None:
            prompt_tokens = prompt_count if prompt_count is not None else self.count_tokens(prompt)
        generated_tokens = self._usage_int("completion_tokens", state)
        result = Generation(
            text=text,
            prompt_tokens=prompt_tokens,
            cached_tokens=self._cached_tokens(state),
            generated_tokens=generated_tokens if generated_tokens is not None else state.chunks,
            prompt_s=first - started,
            generate_s=finished - first,
            finish_reason=finish_reason,
            prefix_cache="skipped",
        )
        if finish_reason == "time":
            raise out_of_time(result)
        return result

    def _events(self, response: httpx.Response, state: _Stream) -> Iterator[dict[str, Any]]:
        """The JSON events of a streamed answer (or the one body of a server that ignored
        ``stream``), ending at ``[DONE]``; server trouble becomes its one-line error."""
        import httpx

        content_type = response.headers.get("content-type", "").lower()
        if "json" in content_type and "event-stream" not in content_type:
            payload, raw = self._body_text(response)  # a server that does not stream
            event = self._completion_event(payload, raw)
            state.done = True
            yield event
            return
        event_name = ""
        lines = response.iter_lines()
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except httpx.TimeoutException:
                raise self._read_timeout(state.chunks) from None
            except httpx.HTTPError:
                raise ServerError(
                    f"the model server at {self.url} stopped in the middle of an answer (after {state.chunks} tokens)",
                    hint="its connection dropped; see the server's log",
                ) from None
            line = line.rstrip("\r")
            if not line:
                event_name = ""
                continue
            if line.startswith(":"):  # an SSE comment: keep-alive pings
                continue
            field_name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field_name == "event":
                event_name = value.strip()
                continue
            if field_name == "error":  # llama-server: "error: {...}"
                payload = self._loads(value)
                self._raise_stream_error(payload if payload is not None else value)
            if field_name != "data":
                if not state.chunks and not line.startswith(("id:", "retry:")):
                    raise self._not_a_completion(line)
                continue
            if value.strip() == "[DONE]":
                state.done = True
                return
            payload = self._loads(value)
            if not isinstance(payload, dict):
                raise self._not_a_completion(value)
            if event_name == "error" or "error" in payload or payload.get("object") == "error":
                self._raise_stream_error(payload)
            yield self._completion_event(payload, value)

    @staticmethod
    def _loads(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            return None

    def _not_a_completion(self, raw: str) -> ServerError:
        return ServerError(
            f"the model server at {self.url} answered with something that is not a completion: {_one_line(raw) or '(nothing)'}",
            hint="check --base-url: it usually ends in /v1",
        )

    def _completion_event(self, payload: Any, raw: str) -> dict[str, Any]:
        if isinstance(payload, dict) and ("error" in payload or payload.get("object") == "error"):
            self._raise_stream_error(payload)
        if not isinstance(payload, dict) or not (isinstance(payload.get("choices"), list) or isinstance(payload.get("usage"), dict)):
            raise self._not_a_completion(raw)
        return payload

    def _raise_stream_error(self, payload: Any) -> None:
        detail = _error_text(payload) if not isinstance(payload, str) else payload
        detail = detail or (json.dumps(payload) if not isinstance(payload, str) else "")
        if "context" in detail.lower():
            raise self._context_error(_one_line(detail))
        raise ServerError(f"the model server at {self.url} reported an error: {_one_line(detail) or '(no message)'}")

    @staticmethod
    def _choice(event: dict[str, Any]) -> dict[str, Any] | None:
        choices = event.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            return choices[0]
        return None

    def _piece(self, event: dict[str, Any], chat: bool) -> str:
        choice = self._choice(event)
        if choice is None:
            return ""
        if chat:
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                delta = choice.get("message")  # a non-streamed answer
            content = delta.get("content") if isinstance(delta, dict) else None
        else:
            content = choice.get("text")
        return content if isinstance(content, str) else ""

    def _note_end(self, event: dict[str, Any], state: _Stream) -> None:
        choice = self._choice(event)
        if choice is not None:
            reason = choice.get("finish_reason")
            if isinstance(reason, str) and reason:
                state.server_finish = reason
                state.stop_reason = choice.get("stop_reason")
        usage = event.get("usage")
        if isinstance(usage, dict):
            state.usage = usage
        timings = event.get("timings")
        if isinstance(timings, dict):
            state.timings = timings

    @staticmethod
    def _usage_int(key: str, state: _Stream) -> int | None:
        value = (state.usage or {}).get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None

    @staticmethod
    def _cached_tokens(state: _Stream) -> int:
        details = (state.usage or {}).get("prompt_tokens_details")
        value = details.get("cached_tokens") if isinstance(details, dict) else None
        if value is None:
            value = (state.timings or {}).get("cache_n")  # llama-server's own timings
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def __enter__(self) -> OpenAIEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
