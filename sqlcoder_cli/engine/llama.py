"""The llama.cpp backend (through llama-cpp-python).

Greedy decoding (SQL has one right answer; sampling only adds noise), stopping at the end of the
statement. Generation is driven token by token with ``Llama.generate`` rather than
``create_completion`` so that we control stop strings, streaming and timings precisely, and so the
in-process KV reuse of llama-cpp-python (a new prompt sharing a prefix with the last one only
evaluates the new suffix) is measured as ``cached_tokens``.

llama_cpp is imported here, lazily, and nowhere else.
"""

from __future__ import annotations

import ctypes
import re
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ModelError, ModelLoadError, NotGGUFError, UsageError
from .base import EngineOptions, Generation, ModelTraits, StreamedText, TokenCallback, out_of_time
from .hardware import ThreadChoice, available_memory, default_threads, generation_speed_warning, gigabytes, memory_shortfall
from .kv_cache import KVStateCache

if TYPE_CHECKING:
    from ..models.gguf_info import GGUFInfo

#: Context used when the user sets none: enough for a few dozen tables, small enough for laptops.
DEFAULT_MAX_CTX = 4096

_log_lock = threading.Lock()
_log_stream: TextIO | None = None
_log_callback: Any = None  # keeps the ctypes callback alive for as long as llama.cpp may call it
#: llama.cpp's most recent log pieces, kept (also without a log file) so that a failed load can
#: say *why* ("unknown model architecture: 'x'") instead of llama-cpp-python's bare "Failed to load".
_recent_log: deque[tuple[int, str]] = deque(maxlen=400)
_log_seq = 0  # numbers the pieces, so a load looks only at what it logged itself
_LOAD_ERROR = re.compile(r"error loading model(?: architecture)?: (?P<reason>[^\n]+)")
_UNKNOWN_ARCH = re.compile(r"unknown model architecture: '(?P<arch>[^']*)'")



class _NoRedirection:
    """Stands in for llama-cpp-python's ``suppress_stdout_stderr``, which silences a model load by
    pointing file descriptors 1 and 2 (and ``sys.stdout``/``sys.stderr``) at /dev/null for the
    whole process. The REPL loads the model in a background thread while the user works, so that
    swallowed every line the REPL printed meanwhile (a ``\\tables``, a chart, an error). Our log
    callback already takes llama.cpp's log off the terminal, so nothing needs the redirection."""

    def __init__(self, disable: bool = True) -> None:
        pass

    def __enter__(self) -> _NoRedirection:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _keep_stdout_and_stderr() -> None:
    """Make llama-cpp-python's loads leave stdout and stderr alone (see :class:`_NoRedirection`)."""
    import importlib

    for name in ("llama_cpp.llama", "llama_cpp._internals", "llama_cpp.llama_chat_format"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "suppress_stdout_stderr"):
            module.suppress_stdout_stderr = _NoRedirection


def _route_llama_log(log_file: Path | None) -> None:
    """Send llama.cpp's own log to ``log_file`` (or nowhere) instead of the user's terminal."""
    global _log_stream, _log_callback
    import llama_cpp

    _keep_stdout_and_stderr()

    with _log_lock:
        if _log_stream is not None:
            _log_stream.close()
            _log_stream = None
        if log_file is not None:
            from ..files import create_private_file

            create_private_file(log_file)  # it names the user's model files: owner-only, like the rest
            _log_stream = open(log_file, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        if _log_callback is None:

            @llama_cpp.llama_log_callback
            def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
                global _log_seq
                _log_seq += 1
                _recent_log.append((_log_seq, text.decode("utf-8", errors="replace")))
                stream = _log_stream
                if stream is not None:
                    try:  # a C callback must never raise: at exit the file may be closed already
                        stream.write(text.decode("utf-8", errors="replace"))
                        stream.flush()
                    except (OSError, ValueError):
                        pass

            _log_callback = _callback
            llama_cpp.llama_log_set(_log_callback, ctypes.c_void_p(0))


_params_lock = threading.Lock()


@contextmanager
def _weight_repacking(enabled: bool) -> Iterator[None]:
    """Load with llama.cpp's CPU weight repacking on (its default) or off.

    llama-cpp-python's ``Llama`` has no argument for ``use_extra_bufts``; it fills the model
    parameters from ``llama_model_default_params()`` and loads at once. To turn repacking off we
    hand it default parameters with that one field changed, for the duration of the load only.
    """
    if enabled:
        yield
        return
    import llama_cpp.llama_cpp as low_level

    original = low_level.llama_model_default_params

    def without_repacking() -> object:
        params = original()
        params.use_extra_bufts = False
        return params

    with _params_lock:
        low_level.llama_model_default_params = without_repacking
        try:
            yield
        finally:
            low_level.llama_model_default_params = original


def gpu_offload_supported() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


class LlamaEngine:
    """A loaded GGUF model (an :class:`~sqlcoder_cli.engine.base.Engine`)."""

    #: llama.cpp constrains decoding with GBNF grammars
    supports_grammar = True

    def __init__(
        self,
        model_path: str | Path,
        options: EngineOptions | None = None,
        *,
        name: str | None = None,
        family: str | None = None,
    ) -> None:
        """Load ``model_path``; ``name`` and ``family`` (prompt family) default to the file's
        stem and the family its header suggests (a registered model passes its own)."""
        options = options or EngineOptions()
        _route_llama_log(options.log_file)
        import llama_cpp

        self.model_path = Path(model_path)
        n_gpu_layers = options.n_gpu_layers
        if n_gpu_layers < 0:
            n_gpu_layers = -1 if gpu_offload_supported() else 0
        self.n_gpu_layers = n_gpu_layers
        #: how the thread count was chosen when --threads/config threads left it to us (None when given)
        self.thread_choice: ThreadChoice | None = None
        if options.n_threads:
            self.n_threads = options.n_threads
        else:
            # measured before our own threads start: cores other programs keep busy are left to
            # them (on 2 busy cores, 2 threads ran 8.7x slower than 1: benchmarks/threads_under_load.py)
            self.thread_choice = default_threads()
            self.n_threads = self.thread_choice.threads
        started = time.perf_counter()
        # Our own header reader first (well under a second, no llama.cpp): a missing, foreign,
        # truncated or too-big file is refused with a precise message before llama.cpp touches it.
        info = self._read_header()
        self._n_params = info.parameter_count
        log_mark = _log_seq
        try:
            n_ctx = options.n_ctx
            if n_ctx <= 0:
                # the model's training context, up to 4096: longer contexts cost memory and prefill
                # time that text-to-SQL prompts do not need, and no model does well past its training
                trained = int(getattr(info, "context_length", 0) or 0)
                n_ctx = min(trained, DEFAULT_MAX_CTX) if trained > 0 else DEFAULT_MAX_CTX
            if options.check_memory and n_gpu_layers == 0:
                self._refuse_if_too_big(info, n_ctx)
            draft_model = None
            if options.draft == "prompt-lookup":
                from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

                draft_model = LlamaPromptLookupDecoding(num_pred_tokens=options.draft_tokens)
            elif options.draft != "none":
                raise UsageError(f"unknown draft method {options.draft!r}", hint="use none or prompt-lookup")
            with _weight_repacking(options.weight_repack):
                self._llm = llama_cpp.Llama(
                    model_path=str(self.model_path),
                    n_ctx=n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_gpu_layers=n_gpu_layers,
                    n_batch=n_ctx if draft_model is not None else 512,  # drafting keeps every logit; see docs/performance.md
                    seed=0,
                    draft_model=draft_model,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise self._load_error(exc, log_mark) from exc
        self.load_s = time.perf_counter() - started
        self.n_ctx = self._llm.n_ctx()
        if family is None:
            from ..models.gguf_info import detect_family

            family = detect_family(info)
        self.traits = ModelTraits(
            name=name or self.model_path.stem,
            family=family,
            chat_template=info.chat_template,
            bos_token=info.bos_token or "",
            eos_token=info.eos_token or "",
        )
        self._model_id: str | None = None
        self._grammars: dict[str, Any] = {}

    def _read_header(self) -> GGUFInfo:
        from ..models.gguf_info import read_gguf_info

        try:
            return read_gguf_info(self.model_path)
        except NotGGUFError:
            raise
        except ModelError as exc:  # missing, truncated, corrupt: a load error, in the header's words
            raise ModelLoadError(exc.message, hint=exc.hint) from exc

    def _load_error(self, exc: BaseException, log_mark: int) -> ModelLoadError:
        """llama-cpp-python says only "Failed to load model from file"; llama.cpp's log says why."""
        recent = "".join(text for seq, text in list(_recent_log) if seq > log_mark)
        name = self.model_path.name
        unknown = _UNKNOWN_ARCH.search(recent)
        if unknown:
            import llama_cpp

            return ModelLoadError(
                f"{name}: this llama.cpp (llama-cpp-python {llama_cpp.__version__}) does not support the model "
                f"architecture {unknown['arch']!r}",
                hint="upgrade it with `pip install -U llama-cpp-python`, or use a GGUF of a supported model, "
                "see `sqlcoder models list`",
            )
        reason = _LOAD_ERROR.search(recent)
        detail = reason["reason"].strip() if reason else str(exc)
        return ModelLoadError(
            f"llama.cpp could not load {name}: {detail}",
            hint="the file may be damaged or need a newer llama-cpp-python; `sqlcoder doctor` shows versions",
        )

    def _refuse_if_too_big(self, info: GGUFInfo, n_ctx: int) -> None:
        """A model that does not fit in RAM swaps the machine to a crawl: say so before loading."""
        needed = info.memory_needed(n_ctx)
        available = available_memory()
        if memory_shortfall(needed, available):
            raise ModelLoadError(
                f"{self.model_path.name} needs about {gigabytes(needed)} of memory with a {n_ctx}-token "
                f"context, but only {gigabytes(available or 0)} is free",
                hint="use a smaller quantization such as sqlcoder-7b-2:q4_k_m or a smaller model such as "
                "qwen2.5-coder-1.5b, a smaller --ctx, or close other programs",
            )

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self._llm.metadata)

    def tokenize(self, text: str) -> list[int]:
        """Tokens as the model will see ``text`` as a prompt (one BOS where the model wants one)."""
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
        bos = self._llm.token_bos()
        # Chat templates often write the BOS text themselves; llama.cpp then adds a second one.
        if len(tokens) >= 2 and tokens[0] == bos and tokens[1] == bos:
            tokens = tokens[1:]
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def _grammar(self, text: str | None) -> Any:
        """The compiled llama.cpp grammar for ``text`` (compiled once per distinct text)."""
        if text is None:
            return None
        compiled = self._grammars.get(text)
        if compiled is None:
            from llama_cpp import LlamaGrammar

            try:
                compiled = LlamaGrammar.from_string(text, verbose=False)
            except ValueError as exc:
                raise UsageError(f"the SQL grammar does not compile: {exc}") from exc
            self._grammars = {text: compiled}  # one schema at a time; grammars are large
        return compiled

    @property
    def model_id(self) -> str:
        if self._model_id is None:
            from .kv_cache import model_fingerprint

            self._model_id = model_fingerprint(self.model_path)
        return self._model_id

    def _cached_prefix_len(self, tokens: list[int]) -> int:
        """How many leading ``tokens`` the context already holds (llama-cpp-python reuses them)."""
        llm = self._llm
        cached = 0
        for previous, new in zip(llm.input_ids[: llm.n_tokens], tokens):
            if previous != new:
                break
            cached += 1
        return min(cached, len(tokens) - 1)

    def _use_state_cache(self, tokens: list[int], stable_prefix: str, cache: KVStateCache) -> str:
        """Make the context hold the prompt's constant prefix: from memory, from disk, or computed
        and saved for the next process. Returns "memory", "disk", "saved" or "skipped"."""
        from .kv_cache import MIN_PREFIX_TOKENS

        prefix_tokens = self.tokenize(stable_prefix)
        n = 0
        for a, b in zip(prefix_tokens, tokens):
            if a != b:
                break
            n += 1
        n = min(n, len(tokens) - 1)
        if n < MIN_PREFIX_TOKENS:
            return "skipped"
        if self._cached_prefix_len(tokens) >= n:
            return "memory"
        prefix = tokens[:n]
        path = cache.path_for(self.model_id, self.n_ctx, prefix)
        llm = self._llm
        if cache.restore(llm, path, prefix):
            return "disk"
        llm.reset()
        llm.eval(prefix)
        return "saved" if cache.save(llm, path, prefix) else "skipped"

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
        """Greedy completion of ``prompt`` until a stop string, end of sequence or ``max_tokens``.

        ``stable_prefix`` is the start of ``prompt`` that later prompts share (instructions and
        schema); with a ``state_cache`` its KV state is restored from / saved to disk. ``grammar``
        (GBNF text) constrains what may be generated. Writing for longer than ``time_limit_s``
        (checked between tokens; a model that loops) raises SQLGenerationError. ``messages`` and
        ``answer_prefix`` are already part of ``prompt`` (it was rendered from them here).
        """
        import llama_cpp

        llm = self._llm
        tokens = self.tokenize(prompt)
        if len(tokens) + 1 > self.n_ctx:
            raise UsageError(
                f"the prompt has {len(tokens)} tokens but the context window holds {self.n_ctx}",
                hint="pass a larger --ctx if the model supports it, or ask about fewer tables",
            )
        max_tokens = max(1, min(max_tokens, self.n_ctx - len(tokens)))
        started = time.perf_counter()
        prefix_source = "skipped"
        if stable_prefix and state_cache is not None:
            prefix_source = self._use_state_cache(tokens, stable_prefix, state_cache)
        cached = self._cached_prefix_len(tokens) if llm.n_tokens > 0 and prefix_source != "saved" else 0

        vocab = llm._model.vocab
        generated: list[int] = []
        finish_reason = "length"
        first_token_at: float | None = None
        gate = None
        processors = None
        if grammar is not None:
            from .constrained import GreedyGrammarGate

            self._grammar(grammar)  # compile once: a broken grammar is a clear error, not a crash
            gate = GreedyGrammarGate(vocab, grammar, len(tokens), llm.n_vocab())
            processors = llama_cpp.LogitsProcessorList([gate])
        stream = llm.generate(
            tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, logits_processor=processors
        )
        limit = time_limit_s or 0.0
        streamed = StreamedText(stop, on_token)
        try:
            for token in stream:
                now = time.perf_counter()
                if first_token_at is None:
                    first_token_at = now
                elif limit > 0 and now - first_token_at > limit:
                    finish_reason = "time"
                    break
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish_reason = "eos"
                    break
                generated.append(token)
                if streamed.update(llm.detokenize(generated).decode("utf-8", errors="ignore")):
                    finish_reason = "stop"
                    break
                if len(generated) >= max_tokens:
                    break
        finally:
            stream.close()
            if gate is not None:
                gate.close()
        text = streamed.flush()
        finished = time.perf_counter()
        first = first_token_at or finished
        result = Generation(
            text=text,
            prompt_tokens=len(tokens),
            cached_tokens=cached,
            generated_tokens=len(generated),
            prompt_s=first - started,
            generate_s=finished - first,
            finish_reason=finish_reason,
            prefix_cache=prefix_source,
        )
        if finish_reason == "time":
            raise out_of_time(result)
        return result

    def speed_warning(self, generated_tokens: int, generate_s: float) -> str | None:
        """A warning when generation ran far below what this model should reach with these
        threads on this machine (``sqlcoder doctor`` shows the expectation), else None."""
        try:
            size = self.model_path.stat().st_size
        except OSError:
            return None
        return generation_speed_warning(
            generated_tokens, generate_s, model_size_bytes=size, n_params=self._n_params,
            threads=self.n_threads, gpu=self.n_gpu_layers != 0,
        )

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None  # type: ignore[assignment]

    def __enter__(self) -> LlamaEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
