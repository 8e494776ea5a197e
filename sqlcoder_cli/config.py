"""Where sqlcoder keeps its files, and the user's settings.

Paths come from platformdirs (the platform's conventions: XDG on Linux, ~/Library on macOS,
%APPDATA% on Windows) unless ``SQLCODER_HOME`` is set, in which case everything lives under that one
folder (handy for tests, portable installs and CI). Nothing is ever written next to the user's
database: every file we create is under these directories.

The TOML config file holds defaults; environment variables override it; command-line flags
override both (the CLI does that last step).
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine.base import EngineOptions
    from .engine.openai import ServerOptions

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

APP_NAME = "sqlcoder"

#: Environment variables that override config keys.
ENV_OVERRIDES = {
    "SQLCODER_MODEL": "default_model",
    "SQLCODER_DB": "default_db",
    "SQLCODER_API_KEY": "api_key",
}
#: what writes the SQL: a GGUF run by llama.cpp in this process, or an OpenAI-compatible server
BACKENDS = ("llama", "openai")
#: keys whose values are secrets: never printed, logged or echoed (``config show`` masks them)
SECRET_KEYS = frozenset({"api_key"})

#: Most rows a result may hold in memory (``--limit``, ``row_limit``); ``--all`` streams any number.
MAX_ROW_LIMIT = 1_000_000
#: Sane ranges of the whole-number keys (and of the matching command-line options). Why bounds at
#: all: a value like 99999999999999999999 is accepted by TOML and by int(), and only fails deep in
#: a C library ("Python int too large to convert to C int") as an unexplained crash.
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "row_limit": (1, MAX_ROW_LIMIT),
    "threads": (0, 1024),
    "context_length": (0, 1 << 20),
    "gpu_layers": (-1, 100_000),
    "max_new_tokens": (1, 1 << 20),
    "query_timeout": (1, 7 * 24 * 3600),
    "generation_timeout": (0, 7 * 24 * 3600),
    "budget": (0, 7 * 24 * 3600),
    "max_retries": (0, 20),
    "few_shot": (0, 50),
    "kv_cache_mb": (0, 1 << 24),
}
#: what to do about a config file that cannot be read; said wherever one is met
CONFIG_REPAIR_HINT = (
    "fix or delete it; `sqlcoder config set KEY VALUE` moves a broken file aside and starts a new one"
)


def _to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"config key {key!r} needs true or false, not {value!r}")


@dataclass(frozen=True)
class Paths:
    """The three directories sqlcoder writes to."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def registry_file(self) -> Path:
        """Models the user registered with ``models add`` (GGUF files already on disk)."""
        return self.data_dir / "models.json"

    @property
    def history_file(self) -> Path:
        return self.data_dir / "history.sqlite"

    @property
    def log_dir(self) -> Path:
        """llama.cpp's own log goes here instead of the terminal."""
        return self.cache_dir / "logs"

    @classmethod
    def resolve(cls, environ: dict[str, str] | None = None) -> Paths:
        env = os.environ if environ is None else environ
        home = env.get("SQLCODER_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(root / "config", root / "data", root / "cache")
        import platformdirs

        return cls(
            Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
        )


@dataclass
class Config:
    """User settings. Every field has a default, so an empty or missing file is valid."""

    default_model: str = "sqlcoder-7b-2"
    #: a SQLAlchemy URL or a file path; empty means the bundled demo database
    default_db: str = ""
    row_limit: int = 100
    #: 0 means "number of physical cores"
    threads: int = 0
    #: 0 means "the model's training context, capped at 4096"
    context_length: int = 0
    #: -1 means "all layers on the GPU when llama.cpp has GPU support"
    gpu_layers: int = -1
    max_new_tokens: int = 512
    #: seconds a query may run before it is cancelled
    query_timeout: int = 30
    #: seconds one model answer may take once it is writing (a model that never stops); 0 = no limit
    generation_timeout: int = 120
    #: seconds one question may take over all its attempts (no retry starts after it); 0 = no limit
    budget: int = 0
    #: extra attempts after a generated query fails validation or execution (self-correction)
    max_retries: int = 2
    #: check generated SQL against the schema (unknown tables/columns) before running it
    validate: bool = True
    #: remember confirmed (question, SQL) pairs and show similar ones to the model
    memory: bool = True
    #: how many remembered examples a prompt may include
    few_shot: int = 3
    #: log every question, SQL and outcome to history.sqlite in the data directory
    log_history: bool = True
    #: disk budget for saved KV states of prompt prefixes (MB); 0 turns the cache off
    kv_cache_mb: int = 2048
    #: constrained decoding: only SQL words and this database's names can be generated
    grammar: bool = False
    #: llama.cpp's CPU weight repacking (faster generation, slower load and prefill, more memory)
    weight_repack: bool = False
    #: where the question goes in the prompt: native (the family's own), schema-first, question-first
    prompt_layout: str = "native"
    #: llama (a GGUF in this process) or openai (an OpenAI-compatible server: vLLM, llama-server,
    #: Ollama, LM Studio; docs/backends.md)
    backend: str = "llama"
    #: the server's address for backend openai, e.g. http://127.0.0.1:8000/v1
    base_url: str = ""
    #: the model's name on the server (backend openai)
    api_model: str = ""
    #: the server's API key, if it wants one (better: the SQLCODER_API_KEY variable); never printed
    api_key: str = ""
    #: prompt family of the server's model: sqlcoder, llama3-sqlcoder, duckdb-nsql or chat
    #: (empty: guessed from api_model's name)
    api_family: str = ""
    #: how to talk to the server: auto, completions or chat (docs/backends.md)
    api_mode: str = "auto"
    #: where the served chat model's template can be read here: a GGUF file or a Jinja2 file (empty:
    #: api_model itself when it is a GGUF path on this machine, as llama_cpp.server names models)
    api_template: str = ""
    paths: Paths = field(default_factory=Paths.resolve, repr=False, compare=False)

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "paths"]

    @staticmethod
    def read_file(paths: Paths) -> dict[str, Any]:
        """The config file's key/value pairs ({} when there is none); :class:`ConfigError` (with
        the repair) when it cannot be read: a directory, not UTF-8, not TOML."""
        file = paths.config_file
        if not file.exists() and not file.is_symlink():
            return {}
        try:
            text = file.read_text(encoding="utf-8")
            return tomllib.loads(text)
        except IsADirectoryError:
            reason = "it is a directory"
        except OSError as exc:
            reason = exc.strerror or str(exc)
        except UnicodeDecodeError:
            reason = "it is not UTF-8 text"
        except tomllib.TOMLDecodeError as exc:
            reason = f"not valid TOML: {exc}"
        raise ConfigError(f"cannot read {file}: {reason}", hint=CONFIG_REPAIR_HINT)

    @classmethod
    def load(cls, paths: Paths | None = None, environ: dict[str, str] | None = None) -> Config:
        """Read the config file (if any) and apply environment overrides."""
        env = os.environ if environ is None else environ
        paths = paths or Paths.resolve(env)
        values = cls.read_file(paths)
        config = cls(paths=paths)
        for key, value in values.items():
            try:
                config.set(key, value)
            except ConfigError as exc:
                raise ConfigError(f"{paths.config_file}: {exc.message}", hint=exc.hint or CONFIG_REPAIR_HINT) from None
        for var, key in ENV_OVERRIDES.items():
            if env.get(var):
                try:
                    config.set(key, env[var])
                except ConfigError as exc:
                    raise ConfigError(f"${var}: {exc.message}", hint=exc.hint) from None
        return config

    @classmethod
    def salvage(cls, paths: Paths) -> tuple[Config, list[str], int]:
        """The file's settings that are valid, a line for each problem (none: the file is fine),
        and how many settings were kept.

        For repairing: ``config set`` keeps what it can of a broken file instead of refusing to
        run, which would leave the user no command to fix it with.
        """
        config = cls(paths=paths)
        try:
            values = cls.read_file(paths)
        except ConfigError as exc:
            return config, [exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message], 0
        problems: list[str] = []
        kept = 0
        for key, value in values.items():
            try:
                config.set(key, value)
                kept += 1
            except ConfigError as exc:
                problems.append(exc.message)
        return config, problems, kept

    def set(self, key: str, value: Any) -> None:
        """Set one key, converting strings (from the CLI or env) to the field's type."""
        known = {f.name: f for f in fields(self) if f.name != "paths"}
        if key not in known:
            raise ConfigError(
                f"unknown config key {key!r}", hint="known keys: " + ", ".join(sorted(known))
            )
        current = getattr(self, key)
        if isinstance(current, bool):
            value = _to_bool(key, value)
        elif isinstance(current, int):
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ConfigError(f"config key {key!r} needs a whole number, not {value!r}")
            if not isinstance(value, int):
                try:
                    value = int(str(value).strip())
                except ValueError as exc:
                    raise ConfigError(f"config key {key!r} needs a whole number, not {value!r}") from exc
        elif isinstance(current, str):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ConfigError(f"config key {key!r} needs a text value, not {value!r}")
            value = str(value)
        if key in ("row_limit", "query_timeout") and value < 1:
            raise ConfigError(f"{key} must be at least 1")
        if key in ("max_retries", "few_shot", "kv_cache_mb") and value < 0:
            raise ConfigError(f"{key} cannot be negative")
        if key in INT_BOUNDS:
            low, high = INT_BOUNDS[key]
            if not low <= value <= high:
                raise ConfigError(f"{key} must be between {low} and {high}, not {value}")
        if key == "api_mode" and value not in ("auto", "completions", "chat"):
            raise ConfigError(f"api_mode must be one of auto, completions, chat, not {value!r}")
        if key == "backend" and value not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, not {value!r}")
        if key == "api_family" and value:
            from .prompts.builders import FAMILIES

            if value not in FAMILIES:
                raise ConfigError(f"api_family must be one of {', '.join(sorted(FAMILIES))}, not {value!r}")
        if key == "prompt_layout":
            from .prompts.base import PROMPT_LAYOUTS

            if value not in PROMPT_LAYOUTS:
                raise ConfigError(f"prompt_layout must be one of {', '.join(PROMPT_LAYOUTS)}, not {value!r}")
        setattr(self, key, value)

    def engine_options(
        self, *, ctx_size: int | None = None, threads: int | None = None, gpu_layers: int | None = None
    ) -> EngineOptions:
        """Engine settings from this config, with a command's own options taking precedence."""
        from .engine.base import EngineOptions

        return EngineOptions(
            n_ctx=ctx_size if ctx_size is not None else self.context_length,
            n_threads=threads if threads is not None else self.threads,
            n_gpu_layers=gpu_layers if gpu_layers is not None else self.gpu_layers,
            log_file=self.paths.log_dir / "llama.log",
            weight_repack=self.weight_repack,
        )

    def server_options(self) -> ServerOptions | None:
        """Where the OpenAI-compatible server is (None for the llama backend); a usage error when
        the backend is openai but the address or the model name is missing."""
        if self.backend != "openai":
            return None
        missing = [flag for flag, value in (("--base-url", self.base_url), ("--api-model", self.api_model)) if not value.strip()]
        if missing:
            raise ConfigError(
                f"the openai backend needs {' and '.join(missing)}",
                hint="e.g. --base-url http://127.0.0.1:8000/v1 --api-model NAME (or config keys base_url, api_model)",
            )
        from .engine.openai import ServerOptions

        template, bos, eos, family = self._served_template()
        return ServerOptions(
            base_url=self.base_url.strip(),
            api_model=self.api_model.strip(),
            api_key=self.api_key or None,
            family=self.api_family or family,
            api_mode=self.api_mode,
            n_ctx=self.context_length,
            chat_template=template,
            bos_token=bos,
            eos_token=eos,
        )

    def _served_template(self) -> tuple[str | None, str, str, str | None]:
        """The served model's chat template, BOS/EOS texts and (from a GGUF) prompt family, when
        they can be read here."""
        source = self.api_template.strip()
        candidate = Path(source or self.api_model.strip()).expanduser()
        if not source and (candidate.suffix.lower() != ".gguf" or not candidate.is_file()):
            return None, "", "", None
        if candidate.suffix.lower() == ".gguf":
            from .models.gguf_info import detect_family, read_gguf_info

            info = read_gguf_info(candidate)
            return info.chat_template, info.bos_token or "", info.eos_token or "", detect_family(info)
        try:
            return candidate.read_text(encoding="utf-8"), "", "", None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the chat template {candidate}: {getattr(exc, 'strerror', None) or exc}") from None

    def shown(self) -> dict[str, Any]:
        """The settings as they may be printed: ``default_db`` with every credential hidden."""
        from .db.secrets import redact_spec

        data = self.as_dict()
        for key in SECRET_KEYS:
            if data.get(key):
                data[key] = "(set; not shown)"
        if data.get("default_db"):
            data["default_db"] = redact_spec(str(data["default_db"])).display
        return data

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("paths")
        return data

    def save(self) -> Path:
        """Write the settings that differ from the defaults, atomically and owner-only (0600);
        returns the file's path. A folder that cannot be written is a :class:`ConfigError`."""
        import tomli_w

        from .files import atomic_write

        defaults = Config(paths=self.paths).as_dict()
        changed = {k: v for k, v in self.as_dict().items() if v != defaults[k]}
        file = self.paths.config_file
        try:
            atomic_write(file, tomli_w.dumps(changed))
        except OSError as exc:
            reason = "it is a directory" if file.is_dir() else (exc.strerror or str(exc))
            raise ConfigError(
                f"cannot write {file}: {reason}",
                hint="make the folder writable, or point SQLCODER_HOME at one that is",
            ) from None
        return file

    def move_aside(self) -> Path:
        """Rename the config file to ``config.toml.broken-<time>`` (kept for the user to look at)."""
        import time

        file = self.paths.config_file
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = file.with_name(f"{file.name}.broken-{stamp}")
        n = 1
        while target.exists() or target.is_symlink():
            n += 1
            target = file.with_name(f"{file.name}.broken-{stamp}-{n}")
        try:
            os.rename(file, target)
        except OSError as exc:
            raise ConfigError(
                f"cannot move the broken config file {file} aside: {exc.strerror or exc}",
                hint="move or delete it yourself",
            ) from None
        return target
