"""``sqlcoder doctor``: what this installation has, and the command that fixes each problem."""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass
from typing import Any, Optional

import typer

from ..errors import SqlcoderError
from ..output.visible import visible
from . import options
from .state import get_state


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _defog_sqlcoder_installed() -> str | None:
    """Defog's abandoned 2024 ``sqlcoder`` distribution also installs a ``sqlcoder`` script."""
    from importlib import metadata

    try:
        return metadata.version("sqlcoder")
    except metadata.PackageNotFoundError:
        return None


def _free_disk(path: object) -> float:
    from pathlib import Path

    probe = Path(str(path))
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return float(shutil.disk_usage(probe).free)


def _nvidia_vram() -> str | None:
    """Total/free GPU memory from nvidia-smi, when there is an NVIDIA GPU."""
    import subprocess

    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out.replace("\n", "; ") or None


def _fits(model: object, free_ram: int | None, n_ctx: int, threads: int, gpu: bool) -> Check:
    """Whether a model on disk fits in the free RAM with a typical context, and the generation
    speed it should reach here (sqlcoder warns after an answer that runs far below it)."""
    from ..engine.hardware import gigabytes, memory_shortfall, speed_expectation_detail
    from ..errors import ModelError
    from ..models.gguf_info import read_gguf_info

    name = getattr(model, "name", "?")
    try:
        info = read_gguf_info(getattr(model, "path"))
        needed = info.memory_needed(n_ctx)
    except ModelError as exc:
        return Check(f"  {name}", False, str(exc), f"sqlcoder models rm {name}, then pull or add it again")
    if memory_shortfall(needed, free_ram):
        return Check(
            f"  {name}", False,
            f"needs ≈{gigabytes(needed)} with a {n_ctx}-token context; only {gigabytes(free_ram or 0)} RAM is free",
            "close other programs, use --ctx 2048, or a smaller quantization (sqlcoder models pull sqlcoder-7b-2:q4_k_m)",
        )
    speed = speed_expectation_detail(info.size_bytes, info.parameter_count, threads, gpu)
    return Check(f"  {name}", True, f"fits: needs ≈{gigabytes(needed)} with a {n_ctx}-token context" + (f"; {speed}" if speed else ""))


def collect_checks(db: str | None, state_config: object, config_problem: str | None = None) -> list[Check]:
    """Every check, in the order shown. ``config_problem``: why the config file could not be
    used (the other checks then run with the defaults, so one broken file does not hide the rest)."""
    from importlib import metadata

    from ..__about__ import __version__
    from ..config import CONFIG_REPAIR_HINT, Config

    config = state_config
    assert isinstance(config, Config)
    checks = [Check("sqlcoder-cli", True, f"{__version__} on Python {platform.python_version()} ({platform.platform()})")]
    other = _defog_sqlcoder_installed()
    if other:
        checks.append(
            Check(
                "conflicting package",
                False,
                f"Defog's old 'sqlcoder' {other} is installed too and also provides a `sqlcoder` command",
                "pip uninstall sqlcoder",
            )
        )
    which = shutil.which("sqlcoder")
    checks.append(Check("sqlcoder on PATH", bool(which), which or "not found", "" if which else "pip install sqlcoder-cli (in an activated environment)"))
    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode(errors="replace").strip()
        gpu = bool(llama_cpp.llama_supports_gpu_offload())
        checks.append(Check("llama-cpp-python", True, f"{llama_cpp.__version__}; GPU offload: {'yes' if gpu else 'no'}"))
        parts = info.replace("|", "\n").splitlines()
        flags = [p.split("=")[0].split(":")[-1].strip() for p in parts if p.strip().endswith("= 1")]
        backends = [b for b in ("CUDA", "METAL", "VULKAN", "BLAS", "ROCM", "HIP", "SYCL") if b in info.upper()]
        checks.append(Check("llama.cpp features", True, ", ".join(flags) or info))
        checks.append(Check("llama.cpp backends", True, ", ".join(["CPU", *backends])))
        if not gpu:
            checks.append(
                Check(
                    "GPU offload",
                    True,
                    "CPU only (fine on laptops without a supported GPU)",
                    "for NVIDIA: CMAKE_ARGS='-DGGML_CUDA=on' pip install --force-reinstall --no-cache-dir llama-cpp-python ; "
                    "for Apple Silicon: CMAKE_ARGS='-DGGML_METAL=on' pip install --force-reinstall --no-cache-dir llama-cpp-python",
                )
            )
    except Exception as exc:  # noqa: BLE001 - a broken build is exactly what doctor reports
        checks.append(Check("llama-cpp-python", False, f"cannot import: {exc}", "pip install --force-reinstall llama-cpp-python"))
    for dist in ("sqlalchemy", "sqlglot", "huggingface-hub", "typer", "rich", "gguf", "duckdb-engine"):
        try:
            checks.append(Check(dist, True, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            checks.append(Check(dist, False, "not installed", "pip install --force-reinstall sqlcoder-cli"))
    from ..engine.hardware import available_memory, default_threads, gigabytes

    free_ram = available_memory()
    if free_ram is not None:
        import psutil

        checks.append(Check("memory", True, f"{gigabytes(free_ram)} free of {gigabytes(psutil.virtual_memory().total)}"))
    vram = _nvidia_vram()
    if vram:
        checks.append(Check("GPU memory", True, vram))
    choice = default_threads()
    threads = config.threads or choice.threads
    checks.append(Check("threads", True, f"{config.threads} (config threads); {choice.reason}" if config.threads else choice.reason))
    paths = config.paths
    if config_problem is not None:
        checks.append(Check("config file", False, config_problem, CONFIG_REPAIR_HINT))
    else:
        checks.append(Check("config file", True, f"{paths.config_file}{'' if paths.config_file.exists() else ' (not created yet)'}"))
    if config.log_history:
        from ..history import History

        try:
            History(paths.history_file).check()
        except SqlcoderError as exc:
            checks.append(Check("history log", False, exc.message, "sqlcoder history --repair"))
    from ..models.catalogue import ways_to_a_model
    from ..models.download import hub_cache_dir
    from ..models.store import ModelStore

    hub = hub_cache_dir()
    free_disk = _free_disk(hub)
    checks.append(
        Check(
            "disk",
            free_disk >= 6e9,
            f"{gigabytes(free_disk)} free for models in {hub}",
            "" if free_disk >= 6e9 else "free some space or set HF_HOME to a larger disk; the default model needs ≈4.8 GB",
        )
    )
    store = ModelStore(paths)
    on_disk = [m for m in store.list_models() if m.on_disk]
    checks.append(
        Check(
            "models on disk",
            bool(on_disk),
            ", ".join(f"{m.name} ({gigabytes(m.size_bytes or 0)})" for m in on_disk) or "none",
            "" if on_disk else ways_to_a_model(config.default_model),
        )
    )
    if on_disk:
        from ..engine.llama import gpu_offload_supported

        gpu = config.gpu_layers != 0 and gpu_offload_supported()
    for model in on_disk:
        checks.append(_fits(model, free_ram, config.context_length or 4096, threads, gpu))
    checks.extend(_server_check(config))
    if db is not None or config.default_db:
        from ..db.connect import open_database

        try:
            with open_database(db if db is not None else config.default_db, timeout_s=10) as database:
                database.execute("SELECT 1", limit=1)
                checks.append(Check("database", True, f"{database.target.display}: connected read-only"))
                checks.extend(_role_check(database))
        except SqlcoderError as exc:  # the error's own hint when it has one (a missing driver: its extra)
            checks.append(Check("database", False, exc.message, exc.hint or "check the URL/path and that the server is running"))
    return checks


def _server_check(config: Any) -> list[Check]:
    """The openai backend: does the server answer, and does it serve the configured model?"""
    if getattr(config, "backend", "llama") != "openai":
        return []
    from ..engine.openai import OpenAIEngine

    try:
        server = config.server_options()
        engine = OpenAIEngine(server)
        try:
            engine.check()
            detail = f"{engine.url} serves {server.api_model} ({engine.api_mode} endpoint, context {engine.n_ctx} tokens)"
        finally:
            engine.close()
    except SqlcoderError as exc:
        return [Check("model server", False, exc.message, exc.hint or "start the server, or check --base-url and --api-model")]
    return [Check("model server", True, detail)]


def _role_check(database: Any) -> list[Check]:
    """PostgreSQL: may the login change data? Then a read-only role is the real guarantee."""
    from ..db.postgres import READ_ONLY_ROLE_SQL

    privileges = database.privileges()
    if privileges is None:
        return []
    if not privileges.risky:
        return [Check("database role", True, f"{privileges.role} cannot change any table")]
    return [
        Check(
            "database role",
            False,
            f"{privileges.describe()}; sqlcoder's read-only layers stand alone (docs/safety.md)",
            "connect as a read-only role, created once by a superuser with: "
            + " ".join(getattr(privileges, "read_only_sql", READ_ONLY_ROLE_SQL)),
        )
    ]


def doctor(
    ctx: typer.Context,
    db: Optional[str] = options.DbOption,
    backend: Optional[str] = options.BackendOption,
    base_url: Optional[str] = options.BaseUrlOption,
    api_model: Optional[str] = options.ApiModelOption,
) -> None:
    """Check the installation: versions, llama.cpp features, memory, models, model server, database."""
    from ..config import Config
    from ..errors import ConfigError

    state = get_state(ctx)
    problem = None
    try:
        config = state.config
    except ConfigError as exc:  # doctor is how you find out, so it must run with a broken file
        problem = exc.message
        config = Config(paths=state.paths)
    options.configure_engine(config, backend=backend, base_url=base_url, api_model=api_model)
    checks = collect_checks(db, config, problem)
    from rich.markup import escape

    console = state.out
    for check in checks:
        mark = "ok" if check.ok else "!!"
        style = "green" if check.ok else "bold red"
        console.print(f"[{style}]{mark:>2}[/] {escape(visible(check.name, one_line=True))}: ", end="", highlight=False)
        console.print(visible(check.detail, one_line=True), markup=False, highlight=False)
        if check.fix:
            console.print(f"   fix: {visible(check.fix, one_line=True)}", markup=False, style="cyan", highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
