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
}


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
    paths: Paths = field(default_factory=Paths.resolve, repr=False, compare=False)

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "paths"]

    @classmethod
    def load(cls, paths: Paths | None = None, environ: dict[str, str] | None = None) -> Config:
        """Read the config file (if any) and apply environment overrides."""
        env = os.environ if environ is None else environ
        paths = paths or Paths.resolve(env)
        values: dict[str, Any] = {}
        if paths.config_file.exists():
            try:
                values = tomllib.loads(paths.config_file.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read {paths.config_file}: {exc}") from exc
        for var, key in ENV_OVERRIDES.items():
            if env.get(var):
                values[key] = env[var]
        config = cls(paths=paths)
        for key, value in values.items():
            config.set(key, value)
        return config

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
        elif isinstance(current, int) and not isinstance(value, int):
            try:
                value = int(str(value))
            except ValueError as exc:
                raise ConfigError(f"config key {key!r} needs a whole number, not {value!r}") from exc
        elif isinstance(current, str):
            value = str(value)
        if key in ("row_limit", "query_timeout") and value < 1:
            raise ConfigError(f"{key} must be at least 1")
        if key in ("max_retries", "few_shot", "kv_cache_mb") and value < 0:
            raise ConfigError(f"{key} cannot be negative")
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

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("paths")
        return data

    def save(self) -> Path:
        """Write the settings that differ from the defaults; returns the file's path."""
        import tomli_w

        defaults = Config(paths=self.paths).as_dict()
        changed = {k: v for k, v in self.as_dict().items() if v != defaults[k]}
        self.paths.config_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.config_file.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(changed), encoding="utf-8")
        tmp.replace(self.paths.config_file)
        return self.paths.config_file
