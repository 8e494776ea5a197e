"""The OpenAI-compatible server backend against a scripted server on 127.0.0.1 (fast), and against
the real ``python -m llama_cpp.server`` on the dev model (slow)."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testkit.fake_openai import (
    Drop,
    FakeOpenAI,
    Reply,
    Slow,
    Stream,
    chat_events,
    completion_events,
    count_words,
    free_port,
)

from sqlcoder_cli.engine.base import Engine
from sqlcoder_cli.engine.openai import OpenAIEngine, ServerOptions, guess_family, normalise_base_url
from sqlcoder_cli.errors import ExitCode, ServerError, SQLGenerationError, UsageError

KEY = "sk-test-SECRET-7f3a9c"
FENCED_STOPS = ("```", ";", "<|eot_id|>")
CHAT = [{"role": "system", "content": "You write SQL."}, {"role": "user", "content": "Question: all names"}]


def make(server: FakeOpenAI | str, sleeps: list[float] | None = None, **options: object) -> OpenAIEngine:
    """An engine on the fake server whose retries record their waits instead of sleeping."""
    base = server if isinstance(server, str) else server.base_url
    settings: dict[str, object] = {"api_model": "fake-model", "n_ctx": 4096, **options}
    recorder = sleeps if sleeps is not None else []
    return OpenAIEngine(ServerOptions(base_url=base, **settings), sleep=recorder.append)  # type: ignore[arg-type]


@pytest.fixture
def server() -> FakeOpenAI:
    with FakeOpenAI() as fake:
        yield fake


def one_line_without_key(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    assert KEY not in text and KEY not in repr(exc)
    return text


# -- options, names, laziness ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"),
        ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"),
        ("127.0.0.1:11434", "http://127.0.0.1:11434/v1"),
        ("http://localhost:8000/v1/chat/completions", "http://localhost:8000/v1"),
        ("HTTPS://gpu-box.lan/openai/v1", "https://gpu-box.lan/openai/v1"),
    ],
)
def test_base_url_is_normalised(given: str, expected: str) -> None:
    assert normalise_base_url(given) == expected


def test_a_base_url_that_is_not_http_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not an http"):
        normalise_base_url("ftp://127.0.0.1/v1")


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("defog/llama-3-sqlcoder-8b", "llama3-sqlcoder"),
        ("llama3-sqlcoder:8b-q4", "llama3-sqlcoder"),
        ("sqlcoder-7b-2", "sqlcoder"),
        ("motherduckdb/DuckDB-NSQL-7B-v0.1", "duckdb-nsql"),
        ("qwen2.5-coder:7b", "chat"),
        # only the name counts, not the folder it sits in (llama_cpp.server names models by path)
        ("/home/me/sqlcoder-dev-models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "chat"),
        ("/models/sqlcoder-7b-q5_k_m.gguf", "sqlcoder"),
    ],
)
def test_family_is_guessed_from_the_model_name(name: str, family: str) -> None:
    assert guess_family(name) == family
    engine = OpenAIEngine(ServerOptions("http://127.0.0.1:9/v1", name))
    assert engine.family == family
    assert engine.api_mode == ("chat" if family == "chat" else "completions")


def test_the_engine_is_lazy_and_satisfies_the_protocol() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    engine = OpenAIEngine(ServerOptions(dead, "m", n_ctx=2048, family="sqlcoder"))  # nothing is contacted
    assert isinstance(engine, Engine)
    assert engine.n_ctx == 2048 and engine.load_s == 0.0 and engine.supports_grammar is False
    engine.close()


def test_bad_options_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="API mode"):
        OpenAIEngine(ServerOptions("http://127.0.0.1:9/v1", "m", api_mode="fast"))
    with pytest.raises(UsageError, match="family"):
        OpenAIEngine(ServerOptions("http://127.0.0.1:9/v1", "m", family="gpt"))


def test_the_key_is_in_no_repr() -> None:
    options = ServerOptions("http://127.0.0.1:9/v1", "m", api_key=KEY)
    engine = OpenAIEngine(options)
    assert KEY not in repr(options) and KEY not in repr(engine) and KEY not in str(engine)
    assert "127.0.0.1:9/v1" in repr(engine)


def test_credentials_in_the_url_are_never_shown() -> None:
    engine = OpenAIEngine(ServerOptions(f"http://user:{KEY}@127.0.0.1:{free_port()}/v1", "m", n_ctx=512, max_retries=0))
    assert KEY not in repr(engine)
    with pytest.raises(ServerError) as caught:
        engine.check()
    one_line_without_key(caught.value)


def test_importing_the_module_does_not_import_httpx() -> None:
    code = "import sys, sqlcoder_cli.engine.openai; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


# -- completions ----------------------------------------------------------------------------------


def test_completions_are_greedy_streamed_and_keyless_in_the_body(server: FakeOpenAI) -> None:
    server.api_key = KEY
    engine = make(server, api_key=KEY, family="sqlcoder")
    pieces: list[str] = []
    result = engine.generate("SELECT the names", max_tokens=64, stop=(";", "```"), on_token=pieces.append)
    assert result.text == "SELECT name FROM t"
    assert "".join(pieces) == result.text
    [request] = server.requests_to("/v1/completions")
    body = request.body
    assert body["prompt"] == "SELECT the names"
    assert body["model"] == "fake-model"
    assert body["temperature"] == 0 and body["top_p"] == 1 and body["seed"] == 0
    assert body["top_k"] == 1 and body["repeat_penalty"] == 1.0
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["stop"] == [";", "```"]
    assert body["max_tokens"] == 64
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    for recorded in server.requests:
        assert KEY.encode() not in recorded.raw
    # the server cut at ";" itself and said "stop": it cannot say whether a stop string did it
    assert result.finish_reason == "eos"


def test_usage_becomes_the_generation_counts_and_timings(server: FakeOpenAI) -> None:
    usage = {"prompt_tokens": 42, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 40}}
    server.queue("/v1/completions", Stream(completion_events(["SELECT", " 1"], usage=usage), first_delay_s=0.5, delay_s=0.05))
    result = make(server, family="sqlcoder").generate("q", stop=(";",))
    assert (result.prompt_tokens, result.generated_tokens, result.cached_tokens) == (42, 3, 40)
    assert result.prompt_s >= 0.45  # until the first piece
    assert 0.03 <= result.generate_s < result.prompt_s  # the rest (a busy machine adds to both)
    assert result.prefix_cache == "skipped"


def test_without_usage_the_counts_come_from_the_tokenizer_and_the_chunks(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT", " 1", " AS", " x"])))
    prompt = "three word prompt"
    result = make(server, family="sqlcoder").generate(prompt)
    assert result.prompt_tokens == count_words(prompt)
    assert result.generated_tokens == 4
    assert result.cached_tokens == 0


def test_llama_server_timings_give_the_cached_tokens(server: FakeOpenAI) -> None:
    events = completion_events(["SELECT 1"], usage={"prompt_tokens": 9, "completion_tokens": 1})
    events.insert(1, {"choices": [{"index": 0, "text": "", "finish_reason": "stop"}], "timings": {"cache_n": 7}})
    server.queue("/v1/completions", Stream(events))
    assert make(server, family="sqlcoder").generate("q").cached_tokens == 7


def test_stop_strings_are_also_checked_here_and_end_the_stream(server: FakeOpenAI) -> None:
    # a server that ignores "stop": the text is cut here, exactly as LlamaEngine cuts it
    events = completion_events(["SELECT a", " FROM t", " [/", "SQL] and then", " more", " text"])
    server.queue("/v1/completions", Stream(events, delay_s=0.3))
    pieces: list[str] = []
    started = time.perf_counter()
    result = make(server, family="sqlcoder").generate("q", stop=("[/SQL]", ";"), on_token=pieces.append)
    assert time.perf_counter() - started < 1.5  # stopped reading at the stop, not at the end (~1.8 s)
    assert result.text == "SELECT a FROM t "
    assert result.finish_reason == "stop"
    assert pieces == ["SELECT a", " FROM t", " "]  # "[/" was held back: it could have been a stop


def test_a_held_back_start_that_is_no_stop_is_streamed_later(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT x[", "1]", " FROM t"])))
    pieces: list[str] = []
    result = make(server, family="sqlcoder").generate("q", stop=("[/SQL]",), on_token=pieces.append)
    assert pieces == ["SELECT x", "[1]", " FROM t"]
    assert result.text == "SELECT x[1] FROM t" and result.finish_reason == "eos"


def test_a_held_back_end_is_flushed_when_the_stream_ends(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT 1 [/SQ"])))
    pieces: list[str] = []
    result = make(server, family="sqlcoder").generate("q", stop=("[/SQL]",), on_token=pieces.append)
    assert pieces == ["SELECT 1 ", "[/SQ"]
    assert result.text == "SELECT 1 [/SQ"


@pytest.mark.parametrize(
    ("finish", "stop_reason", "expected"),
    [("length", None, "length"), ("stop", None, "eos"), ("stop", ";", "stop"), ("stop", 151643, "eos")],
)
def test_finish_reasons(server: FakeOpenAI, finish: str, stop_reason: object, expected: str) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT 1"], finish_reason=finish, stop_reason=stop_reason)))
    assert make(server, family="sqlcoder").generate("q", stop=(";",)).finish_reason == expected


def test_max_tokens_reached_on_the_default_server(server: FakeOpenAI) -> None:
    result = make(server, family="sqlcoder").generate("q", max_tokens=2)
    assert result.text == "SELECT name" and result.finish_reason == "length"


def test_max_tokens_is_clamped_to_the_context_left(server: FakeOpenAI) -> None:
    engine = make(server, family="sqlcoder", n_ctx=10)
    engine.generate("a b c d e", max_tokens=512)  # 6 tokens with the BOS
    assert server.requests_to("/v1/completions")[-1].body["max_tokens"] == 4


def test_a_prompt_larger_than_the_context_is_refused_before_sending(server: FakeOpenAI) -> None:
    engine = make(server, family="sqlcoder", n_ctx=4)
    with pytest.raises(UsageError, match="the prompt has 6 tokens but the context window holds 4"):
        engine.generate("a b c d e")
    assert server.requests_to("/v1/completions") == []


def test_a_server_that_ignores_stream_is_understood(server: FakeOpenAI) -> None:
    whole = {"id": "x", "choices": [{"index": 0, "text": "SELECT 2;", "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    server.queue("/v1/completions", Reply(body=whole))
    pieces: list[str] = []
    result = make(server, family="sqlcoder").generate("q", stop=(";",), on_token=pieces.append)
    assert result.text == "SELECT 2" and result.finish_reason == "stop" and pieces == ["SELECT 2"]
    assert result.prompt_tokens == 3


def test_a_stream_with_a_finish_reason_but_no_done_is_complete(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT 3"], done=False), chunked=False))
    assert make(server, family="sqlcoder").generate("q").text == "SELECT 3"


def test_pings_and_event_names_are_ignored(server: FakeOpenAI) -> None:
    events = [": ping - 2024-01-01", "event: message", *completion_events(["SELECT 4"])]
    server.queue("/v1/completions", Stream(events))
    assert make(server, family="sqlcoder").generate("q").text == "SELECT 4"


# -- chat -----------------------------------------------------------------------------------------


def test_chat_sends_the_messages_and_strips_the_answer_prefix(server: FakeOpenAI) -> None:
    engine = make(server)  # "fake-model": the chat family, so chat completions
    pieces: list[str] = []
    result = engine.generate("rendered prompt```sql\n", stop=FENCED_STOPS, messages=CHAT, answer_prefix="```sql\n", on_token=pieces.append)
    assert result.text == "SELECT name FROM t"
    assert result.finish_reason in ("stop", "eos")  # the server stopped at ";": it does not say which
    assert "".join(pieces) == result.text
    [request] = server.requests_to("/v1/chat/completions")
    assert request.body["messages"] == CHAT
    # the server is told the stops the opening fence cannot contain; the fence is checked here
    assert request.body["stop"] == [s for s in FENCED_STOPS if s not in "```sql\n"] and "```" not in request.body["stop"]
    assert "prompt" not in request.body
    assert request.body["temperature"] == 0 and request.body["seed"] == 0
    assert server.requests_to("/v1/completions") == []


@pytest.mark.parametrize(
    "pieces",
    [
        ["SELECT 1", ";"],  # no prefix at all
        ["\n\n```sql\n", "SELECT 1", "\n```"],  # whitespace first
        ["```SQL\n", "SELECT 1;"],  # another spelling of the fence
        ["```\n", "SELECT 1\n", "```"],  # a bare fence
        ["`", "``s", "ql", "\nSEL", "ECT 1", "\n``", "`"],  # the prefix split across chunks
        ["```postgresql\nSELECT 1", ";"],
    ],
)
def test_chat_answer_prefix_variants(server: FakeOpenAI, pieces: list[str]) -> None:
    server.queue("/v1/chat/completions", Stream(chat_events(pieces)))
    streamed: list[str] = []
    result = make(server).generate("p", stop=FENCED_STOPS, messages=CHAT, answer_prefix="```sql\n", on_token=streamed.append)
    assert result.text.strip() == "SELECT 1"
    assert "".join(streamed) == result.text
    assert all("`" not in piece for piece in streamed)


def test_chat_without_a_stop_ends_by_itself(server: FakeOpenAI) -> None:
    server.queue("/v1/chat/completions", Stream(chat_events(["```sql\n", "SELECT 1"], finish_reason="stop")))
    result = make(server).generate("p", stop=FENCED_STOPS, messages=CHAT, answer_prefix="```sql\n")
    assert (result.text, result.finish_reason) == ("SELECT 1", "eos")


def test_chat_stops_reading_at_the_first_stop(server: FakeOpenAI) -> None:
    events = chat_events(["```sql\n", "SELECT 1", "\n```", "\nThis query selects", " one", " row", "."])
    server.queue("/v1/chat/completions", Stream(events, delay_s=0.3))
    started = time.perf_counter()
    result = make(server).generate("p", stop=FENCED_STOPS, messages=CHAT, answer_prefix="```sql\n")
    assert time.perf_counter() - started < 1.8  # ~2.4 s to the end of the stream
    assert result.text == "SELECT 1\n" and result.finish_reason == "stop"


def test_completions_mode_sends_the_rendered_prompt_for_a_chat_model(server: FakeOpenAI) -> None:
    engine = make(server, api_mode="completions")
    result = engine.generate("rendered```sql\n", stop=FENCED_STOPS, messages=CHAT, answer_prefix="```sql\n")
    assert result.text == "SELECT name FROM t"  # the prompt wrote the prefix: nothing to strip
    [request] = server.requests_to("/v1/completions")
    assert request.body["prompt"] == "rendered```sql\n" and "messages" not in request.body


def test_without_messages_a_chat_model_is_asked_for_a_completion(server: FakeOpenAI) -> None:
    make(server).generate("plain text", stop=(";",))
    assert len(server.requests_to("/v1/completions")) == 1


def test_traits_and_context_from_llama_server_props() -> None:
    props = {"default_generation_settings": {"n_ctx": 8192}, "chat_template": "{{ messages }}"}
    with FakeOpenAI(props=props) as fake:
        engine = make(fake, n_ctx=0)
        assert engine.n_ctx == 8192
        traits = engine.traits
        assert (traits.name, traits.family, traits.chat_template) == ("fake-model", "chat", "{{ messages }}")
        assert traits.server_renders_chat is True


def test_traits_never_wait_for_a_server_that_is_down_when_it_renders_the_chat() -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    sleeps: list[float] = []
    chat = make(dead, sleeps)
    assert chat.traits.chat_template is None and chat.traits.name == "fake-model"
    assert sleeps == []  # one attempt, no retries
    assert make(dead, family="sqlcoder").traits.family == "sqlcoder"  # asks nothing
    # a chat model driven through completions needs the template: there the failure is said
    with pytest.raises(ServerError, match="cannot reach"):
        make(dead, api_mode="completions").traits


def test_context_from_vllm_models_list() -> None:
    with FakeOpenAI(max_model_len=32768, tokenizer="vllm") as fake:
        engine = make(fake, n_ctx=0)
        assert engine.n_ctx == 32768
        assert engine.traits.chat_template is None


def test_context_defaults_to_4096_when_the_server_does_not_say(server: FakeOpenAI) -> None:
    assert make(server, n_ctx=0).n_ctx == 4096


# -- time limit -----------------------------------------------------------------------------------


def test_time_limit_stops_the_model_with_the_partial_generation(server: FakeOpenAI) -> None:
    events = completion_events(["SELECT", " a,", " a,", " a,", " a,", " a,", " a,", " a,", " a,"])
    server.queue("/v1/completions", Stream(events, delay_s=0.1))
    streamed: list[str] = []
    with pytest.raises(SQLGenerationError) as caught:
        make(server, family="sqlcoder").generate("q", stop=(";",), on_token=streamed.append, time_limit_s=0.25)
    message = one_line_without_key(caught.value)
    assert message.startswith("stopped the model after 0.")
    assert "still writing" in message
    partial = caught.value.generation  # type: ignore[attr-defined]
    assert partial.finish_reason == "time"
    assert partial.text.startswith("SELECT a,") and len(partial.text) < len("SELECT" + " a," * 8)
    assert "".join(streamed) == partial.text
    assert caught.value.exit_code == ExitCode.NO_SQL


# -- retries --------------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "2"}))
    sleeps: list[float] = []
    result = make(server, sleeps, family="sqlcoder").generate("q", stop=(";",))
    assert result.text == "SELECT name FROM t"
    assert sleeps == [2.0]
    assert len(server.requests_to("/v1/completions")) == 2


def test_retry_after_is_capped(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Reply(429, {}, headers={"Retry-After": "3600"}))
    sleeps: list[float] = []
    make(server, sleeps, family="sqlcoder").generate("q")
    assert sleeps == [10.0]


def test_5xx_is_retried_with_exponential_backoff(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Reply(503, {"error": {"message": "Loading model"}}), Reply(502, "bad gateway", content_type="text/plain"))
    sleeps: list[float] = []
    assert make(server, sleeps, family="sqlcoder").generate("q").text.startswith("SELECT")
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_after_the_retries_is_one_line(server: FakeOpenAI, status: int) -> None:
    server.queue("/v1/completions", *[Reply(status, {"error": {"message": "Loading model"}})] * 4)
    sleeps: list[float] = []
    with pytest.raises(ServerError) as caught:
        make(server, sleeps, family="sqlcoder", api_key=KEY).generate("q")
    message = one_line_without_key(caught.value)
    assert message.startswith(f"the model server at {server.base_url} still answered {status} after 3 retries: Loading model")
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(server.requests_to("/v1/completions")) == 4
    assert caught.value.exit_code == ExitCode.MODEL


def test_no_retries_when_told(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Reply(503, {}))
    with pytest.raises(ServerError, match=r"answered 503$|answered 503 \("):
        make(server, family="sqlcoder", max_retries=0).generate("q")


def test_a_refused_connection_is_retried_then_one_line() -> None:
    base = f"http://127.0.0.1:{free_port()}/v1"
    sleeps: list[float] = []
    engine = make(base, sleeps, family="sqlcoder", api_key=KEY)
    with pytest.raises(ServerError) as caught:
        engine.generate("q")
    message = one_line_without_key(caught.value)
    assert message.startswith(f"cannot reach the model server at {base}: connection refused")
    assert "--base-url" in message
    assert sleeps == [0.5, 1.0, 2.0]


def test_nothing_is_retried_once_text_has_arrived(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT", " 1", " FROM"]), cut_after=2))
    sleeps: list[float] = []
    with pytest.raises(ServerError, match=r"stopped in the middle of an answer \(after 2 tokens\)"):
        make(server, sleeps, family="sqlcoder").generate("q")
    assert sleeps == [] and len(server.requests_to("/v1/completions")) == 1


# -- errors ---------------------------------------------------------------------------------------


def test_read_timeout_before_the_answer(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Slow(3.0))
    started = time.perf_counter()
    with pytest.raises(ServerError) as caught:
        make(server, family="sqlcoder", read_timeout_s=0.3, api_key=KEY).generate("q")
    assert time.perf_counter() - started < 2
    assert one_line_without_key(caught.value).startswith(f"no answer from the model server at {server.base_url} in 0.30 s")


def test_read_timeout_in_the_middle_of_the_answer(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT", " 1"]), delay_s=3.0))
    with pytest.raises(ServerError, match=r"no answer from the model server at .* in 0.30 s \(after 1 tokens\)"):
        make(server, family="sqlcoder", read_timeout_s=0.3).generate("q")


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key(server: FakeOpenAI, status: int) -> None:
    server.queue("/v1/completions", Reply(status, {"error": {"message": f"Invalid API key {KEY[:6]}"}}))
    with pytest.raises(ServerError) as caught:
        make(server, family="sqlcoder", api_key=KEY).generate("q")
    message = one_line_without_key(caught.value)
    assert message.startswith(f"the model server at {server.base_url} refused the API key ({status})")
    assert "SQLCODER_API_KEY" in message


def test_a_missing_key() -> None:
    with FakeOpenAI(api_key=KEY) as fake:
        with pytest.raises(ServerError, match=r"asks for an API key \(401\).*SQLCODER_API_KEY"):
            make(fake, family="sqlcoder").generate("q")
        assert make(fake, family="sqlcoder", api_key=KEY).generate("q").text  # the right key works


def test_an_unknown_model_on_a_vllm_like_server(server: FakeOpenAI) -> None:
    body = {"object": "error", "message": "The model `sqlcoder` does not exist.", "type": "NotFoundError", "code": 404}
    server.queue("/v1/completions", Reply(404, body))
    with pytest.raises(ServerError) as caught:
        make(server, api_model="sqlcoder").generate("q")
    message = one_line_without_key(caught.value)
    assert message.startswith(f"the model server at {server.base_url} has no model sqlcoder")
    assert "fake-model" in message  # what it has


def test_an_unknown_model_on_an_ollama_like_server(server: FakeOpenAI) -> None:
    server.queue("/v1/chat/completions", Reply(404, {"error": {"message": 'model "qwen3" not found, try pulling it first'}}))
    with pytest.raises(ServerError, match="has no model qwen3"):
        make(server, api_model="qwen3").generate("p", messages=CHAT, answer_prefix="```sql\n")


def test_a_missing_endpoint(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Reply(404, "<html>Not Found</html>", content_type="text/html"))
    with pytest.raises(ServerError, match=r"has no /completions endpoint \(404\).*--base-url"):
        make(server, family="sqlcoder").generate("q")


def test_a_context_overflow_is_a_usage_error(server: FakeOpenAI) -> None:
    message = "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens"
    server.queue("/v1/completions", Reply(400, {"object": "error", "message": message, "code": 400}))
    with pytest.raises(UsageError) as caught:
        make(server, family="sqlcoder").generate("q")
    assert not isinstance(caught.value, ServerError)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "does not fit the context window" in one_line_without_key(caught.value)


def test_another_400_is_a_server_error(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Reply(400, {"error": {"message": "'top_k' is not supported"}}))
    with pytest.raises(ServerError, match=r"refused the request \(400\): 'top_k' is not supported"):
        make(server, family="sqlcoder").generate("q")


@pytest.mark.parametrize("chunked", [True, False])
def test_a_stream_cut_in_the_middle(server: FakeOpenAI, chunked: bool) -> None:
    events = completion_events(["SELECT", " a", " FROM"], finish_reason=None, done=False)
    server.queue("/v1/completions", Stream(events, chunked=chunked, cut_after=None if not chunked else 2))
    with pytest.raises(ServerError) as caught:
        make(server, family="sqlcoder", api_key=KEY).generate("q")
    tokens = 2 if chunked else 3
    assert one_line_without_key(caught.value).startswith(
        f"the model server at {server.base_url} stopped in the middle of an answer (after {tokens} tokens)"
    )


def test_a_dropped_connection_before_any_answer(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Drop())
    with pytest.raises(ServerError, match="closed the connection without answering"):
        make(server, family="sqlcoder").generate("q")


@pytest.mark.parametrize(
    ("events", "shown"),
    [
        (["data: {not json at all"], "{not json at all"),
        (["data: [1, 2, 3]"], "[1, 2, 3]"),
        ([{"id": "x", "object": "something.else"}], '{"id": "x", "object": "something.else"}'),
    ],
)
def test_malformed_events(server: FakeOpenAI, events: list[object], shown: str) -> None:
    server.queue("/v1/completions", Stream(events))
    with pytest.raises(ServerError) as caught:
        make(server, family="sqlcoder", api_key=KEY).generate("q")
    message = one_line_without_key(caught.value)
    assert message.startswith(f"the model server at {server.base_url} answered with something that is not a completion: {shown}")


def test_a_web_page_is_not_a_completion(server: FakeOpenAI) -> None:
    page = "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>" + "x" * 200
    server.queue("/v1/completions", Reply(200, page, content_type="text/html"))
    with pytest.raises(ServerError) as caught:
        make(server, family="sqlcoder").generate("q")
    message = one_line_without_key(caught.value)
    assert "not a completion: <!DOCTYPE html>" in message
    assert len(message) < 300


@pytest.mark.parametrize(
    "event",
    [
        {"error": {"message": "CUDA out of memory", "type": "server_error"}},
        {"object": "error", "message": "CUDA out of memory", "type": "InternalServerError", "code": 500},
        'error: {"code": 500, "message": "CUDA out of memory", "type": "server_error"}',
    ],
)
def test_an_error_inside_the_stream(server: FakeOpenAI, event: object) -> None:
    server.queue("/v1/completions", Stream([*completion_events(["SELECT"], finish_reason=None, done=False), event]))
    with pytest.raises(ServerError) as caught:
        make(server, family="sqlcoder", api_key=KEY).generate("q")
    assert one_line_without_key(caught.value) == f"the model server at {server.base_url} reported an error: CUDA out of memory"


def test_a_context_error_inside_the_stream_is_a_usage_error(server: FakeOpenAI) -> None:
    event = {"error": {"message": "the request exceeds the available context size, try increasing it", "type": "exceed_context_size_error"}}
    server.queue("/v1/completions", Stream([event]))
    with pytest.raises(UsageError, match="does not fit the context window"):
        make(server, family="sqlcoder").generate("q")


def test_ctrl_c_propagates_and_the_engine_stays_usable(server: FakeOpenAI) -> None:
    server.queue("/v1/completions", Stream(completion_events(["SELECT", " 1", " FROM", " t"]), delay_s=0.2))
    engine = make(server, family="sqlcoder")

    def interrupt(piece: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.generate("q", on_token=interrupt)
    assert engine.generate("q", stop=(";",)).text == "SELECT name FROM t"


# -- token counting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavour", "paths"),
    [
        ("llama-server", ["/tokenize"]),
        ("vllm", ["/tokenize", "/tokenize"]),
        ("llama-cpp-python", ["/tokenize", "/tokenize", "/extras/tokenize"]),
    ],
)
def test_the_server_tokenizer_is_probed_once_and_cached(flavour: str, paths: list[str]) -> None:
    with FakeOpenAI(tokenizer=flavour) as fake:
        engine = make(fake)
        assert engine.count_tokens("SELECT a FROM b") == count_words("SELECT a FROM b")
        assert [r.path for r in fake.requests] == paths
        assert engine.count_tokens("SELECT a FROM b") == 5  # cached: no request
        assert engine.count_tokens("one two") == 3  # the endpoint found: one request
        assert [r.path for r in fake.requests] == [*paths, paths[-1]]
        body = fake.requests[-1].body
        assert body == {
            "llama-server": {"content": "one two", "add_special": True},
            "vllm": {"model": "fake-model", "prompt": "one two"},
            "llama-cpp-python": {"input": "one two", "model": "fake-model"},
        }[flavour]


def test_without_a_tokenizer_the_count_is_a_conservative_estimate() -> None:
    with FakeOpenAI(tokenizer=None) as fake:
        engine = make(fake)
        text = "SELECT name, total FROM customers WHERE région = 'Île'"
        assert engine.count_tokens(text) == math.ceil(len(text.encode("utf-8")) / 3)
        assert len(fake.requests) == 3  # three probes, once
        assert engine.count_tokens("another text") == 4
        assert len(fake.requests) == 3


def test_a_tokenizer_that_asks_for_the_key(server: FakeOpenAI) -> None:
    server.queue("/tokenize", Reply(401, {"error": "unauthorized"}))
    with pytest.raises(ServerError, match="refused the API key"):
        make(server, api_key=KEY).count_tokens("x")


def test_counting_on_a_server_that_is_down_is_an_error_not_an_estimate() -> None:
    engine = make(f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(ServerError, match="cannot reach"):
        engine.count_tokens("x")


# -- check ----------------------------------------------------------------------------------------


def test_check_passes_when_the_model_is_served(server: FakeOpenAI) -> None:
    make(server).check()
    assert [r.path for r in server.requests] == ["/v1/models"]


@pytest.mark.parametrize(
    ("served", "asked"),
    [
        (("qwen2.5-coder:latest",), "qwen2.5-coder"),  # Ollama
        (("/models/qwen2.5-coder-7b-q4_k_m.gguf",), "qwen2.5-coder-7b-q4_k_m"),  # llama_cpp.server
        (("Qwen/Qwen2.5-Coder-7B",), "qwen/qwen2.5-coder-7b"),
    ],
)
def test_check_accepts_the_names_servers_give(served: tuple[str, ...], asked: str) -> None:
    with FakeOpenAI(models=served) as fake:
        make(fake, api_model=asked).check()


def test_check_lists_what_the_server_has(server: FakeOpenAI) -> None:
    with pytest.raises(ServerError) as caught:
        make(server, api_model="sqlcoder-7b", api_key=KEY).check()
    message = one_line_without_key(caught.value)
    assert message.startswith(f"the model server at {server.base_url} has no model sqlcoder-7b")
    assert "it has fake-model" in message


def test_check_on_a_server_that_is_down() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerError, match=r"cannot reach the model server at http://127\.0\.0\.1:\d+/v1: connection refused"):
        make(base, max_retries=1).check()


def test_check_on_something_that_is_not_a_model_server(server: FakeOpenAI) -> None:
    server.queue("/v1/models", Reply(200, "<html>router login</html>", content_type="text/html"))
    with pytest.raises(ServerError, match="not a model list: <html>router login</html>"):
        make(server).check()
    server.queue("/v1/models", Reply(404, {"detail": "Not Found"}))
    with pytest.raises(ServerError, match=r"has no /models endpoint \(404\)"):
        make(server).check()


def test_check_with_a_wrong_key(server: FakeOpenAI) -> None:
    server.api_key = "other"
    with pytest.raises(ServerError) as caught:
        make(server, api_key=KEY).check()
    assert "refused the API key (401)" in one_line_without_key(caught.value)


# -- the real llama_cpp.server --------------------------------------------------------------------


@pytest.mark.slow
def test_against_the_real_llama_cpp_server(dev_model: Path) -> None:
    """Same tokenizer and the same greedy text as LlamaEngine, through llama_cpp.server."""
    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed")
    from testkit.llama_server import llama_server

    from sqlcoder_cli.engine.base import EngineOptions
    from sqlcoder_cli.engine.llama import LlamaEngine

    prompt = (
        "### Task\nGenerate a SQL query to answer [QUESTION]How many customers are there?[/QUESTION]\n\n"
        "### Database Schema\nCREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, city TEXT);\n\n"
        "### Answer\nGiven the database schema, here is the SQL query that [QUESTION]How many customers are there?[/QUESTION]\n[SQL]\n"
    )
    stops = ("[/SQL]", ";", "```", "\n\n\n")
    # one model process at a time: the local engine first, closed before the server starts
    local = LlamaEngine(dev_model, EngineOptions(n_ctx=4096, n_threads=2, check_memory=False))
    try:
        local_count = local.count_tokens(prompt)
        local_result = local.generate(prompt, max_tokens=48, stop=stops)
    finally:
        local.close()

    with llama_server(dev_model, n_threads=2) as base_url:
        engine = OpenAIEngine(ServerOptions(base_url, dev_model.name, family="sqlcoder", n_ctx=0))
        try:
            engine.check()
            assert engine.n_ctx == 4096
            assert engine.count_tokens(prompt) == local_count
            assert engine._tokenizer == 2  # llama-cpp-python's /extras/tokenize was found
            streamed: list[str] = []
            result = engine.generate(prompt, max_tokens=48, stop=stops, on_token=streamed.append)
        finally:
            engine.close()
    assert result.text == local_result.text
    assert "".join(streamed) == result.text
    assert result.text.strip().upper().startswith("SELECT")
    assert result.prompt_tokens == local_count
    assert result.generated_tokens >= 1
