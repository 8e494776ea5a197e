"""Shell completion of option values: ``--format``, ``--model`` and ``--db``.

Why a module of its own: the shell runs ``sqlcoder`` on every Tab press, so these functions run
in a process that does nothing else. They must answer at once and must never fail: a broken
config file, an unreadable history log or a folder without permission means fewer suggestions,
never a traceback printed into the user's command line. So every source of suggestions is asked
on its own, and any error there only drops that source. Nothing heavy is imported (no llama_cpp,
huggingface_hub, SQLAlchemy or driver): only the standard library and our light modules, lazily.

Passwords: database URLs come from the history log and from the config's ``default_db``. The log
already stores the redacted display form, but a suggestion is typed into the user's terminal (and
its scrollback and shell history), so each URL goes through :func:`~sqlcoder_cli.db.secrets.redact_spec`
again and then loses the hidden parts entirely: ``postgresql://alice:***@host/db`` would be useless
to complete, ``postgresql://alice@host/db`` is what the user can run (the password then comes from
``~/.pgpass`` or ``PGPASSWORD``). A URL that still has anything hidden after that is left out.

The callbacks follow Typer's ``autocompletion=`` signature (``ctx``, ``incomplete``) and return
plain values or ``(value, help)`` pairs; Typer keeps those that start with what was typed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from ..config import Paths

#: what a callback returns: a value, or a value and a short help (shown by zsh and fish)
Completion = Union[str, tuple[str, str]]

#: file suffixes offered for ``--db`` (``.duckdb``/``.ddb`` open as DuckDB, the rest as SQLite)
DB_SUFFIXES = (".sqlite", ".sqlite3", ".db", ".duckdb", ".ddb")
MODEL_SUFFIXES = (".gguf",)
#: at most this many folder entries are looked at (a folder of 100,000 files must not stall Tab)
MAX_DIR_ENTRIES = 5000
#: at most this many database URLs from the history log
MAX_HISTORY_URLS = 20
#: seconds to wait for a history log another process is writing (a write holds it for milliseconds)
HISTORY_BUSY_TIMEOUT_S = 0.2

#: ``scheme://user:***@`` as :func:`redact_spec` writes it: the hidden password and its colon go
_HIDDEN_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^/@:\s]*):\*\*\*@")


# -- the callbacks Typer calls ----------------------------------------------------------------


def complete_format(ctx: Any, incomplete: str) -> list[Completion]:
    """``--format``: the output formats starting with what was typed."""
    return format_completions(incomplete or "")


def complete_model(ctx: Any, incomplete: str) -> list[Completion]:
    """``--model``: catalogue names, registered names, ``.gguf`` files and folders."""
    return model_completions(incomplete or "", _environ(ctx))


def complete_db(ctx: Any, incomplete: str) -> list[Completion]:
    """``--db``: ``demo``, the config's default, URLs from the history log, database files, folders."""
    return db_completions(incomplete or "", _environ(ctx))


# -- what each option offers --------------------------------------------------------------------


def format_completions(incomplete: str) -> list[Completion]:
    from ..output.formats import FORMATS

    return [name for name in FORMATS if name.startswith(incomplete)]


def model_completions(incomplete: str, environ: Mapping[str, str] | None = None) -> list[Completion]:
    """Names first (catalogue, then models registered with ``models add``), then paths.

    Names are left out once the text is clearly a path: no model name contains ``/``.
    """
    env = os.environ if environ is None else environ
    found: list[Completion] = []
    if not _looks_like_path(incomplete):
        found += _safely(lambda: _catalogue_names(incomplete))
        found += _safely(lambda: _registered_names(incomplete, env))
    found += _safely(lambda: path_completions(incomplete, MODEL_SUFFIXES))
    return _distinct(found)


def db_completions(incomplete: str, environ: Mapping[str, str] | None = None) -> list[Completion]:
    """``demo``, the config's ``default_db``, history URLs (newest first), then files and folders."""
    env = os.environ if environ is None else environ
    found: list[Completion] = []
    if "demo".startswith(incomplete):
        found.append(("demo", "the bundled demo shop database"))
    found += _safely(lambda: _default_db(incomplete, env))
    found += _safely(lambda: _history_urls(incomplete, env))
    found += _safely(lambda: path_completions(incomplete, DB_SUFFIXES))
    return _distinct(found)


def path_completions(incomplete: str, suffixes: Iterable[str]) -> list[str]:
    """Files with one of ``suffixes`` (case-insensitive) and folders (with a trailing ``/``) in
    the folder being typed, whose names start with the rest of ``incomplete``.

    Each suggestion starts with exactly what was typed (``~/`` and ``./`` kept), because the
    shell and Typer keep only those. Hidden entries appear once a ``.`` is typed.
    """
    wanted = tuple(s.lower() for s in suffixes)
    if incomplete.startswith("~") and "/" not in incomplete:
        home = os.path.expanduser(incomplete)  # "~" or "~user"; unchanged when unknown
        return [incomplete + "/"] if home != incomplete and os.path.isdir(home) else []
    folder_text, _, name_start = incomplete.rpartition("/")
    typed_folder = folder_text + "/" if incomplete.rfind("/") >= 0 else ""
    folder = os.path.expanduser(typed_folder) if typed_folder else "."
    files: list[str] = []
    folders: list[str] = []
    with os.scandir(folder) as entries:
        for count, entry in enumerate(entries):
            if count >= MAX_DIR_ENTRIES:
                break
            name = entry.name
            if not name.startswith(name_start) or (name.startswith(".") and not name_start.startswith(".")):
                continue
            if not _printable(name):  # a name with control characters must not reach the terminal
                continue
            try:
                if entry.is_dir():
                    folders.append(f"{typed_folder}{name}/")
                elif name.lower().endswith(wanted) and entry.is_file():
                    files.append(typed_folder + name)
            except OSError:
                continue
    return sorted(files) + sorted(folders)


def safe_db_suggestion(spec: str) -> str | None:
    """``spec`` as it may be typed into a terminal: credentials removed, not just masked; None
    when something secret would remain (or it cannot be told apart)."""
    text = spec.strip()
    if "://" not in text and "=" not in text:
        # exactly what redact_spec would return unchanged (a path, ``demo``); skipping it spares
        # importing the db package, whose __init__ pulls in sqlglot (a quarter of a second)
        return text if text and _printable(text) and not any(c.isspace() for c in text) else None
    from urllib.parse import urlsplit

    from ..db.secrets import HIDDEN, redact_spec

    text = redact_spec(text).display
    if "://" in text:
        text = _HIDDEN_USERINFO.sub(r"\g<head>@", text)
        if "?" in text:
            base, _, rest = text.partition("?")
            query, hash_mark, fragment = rest.partition("#")
            kept = [part for part in re.split(r"[&;]", query) if part and not part.endswith("=" + HIDDEN)]
            text = base + ("?" + "&".join(kept) if kept else "") + hash_mark + fragment
        try:
            if urlsplit(text).password is not None:
                return None
        except ValueError:
            return None
    if HIDDEN in text or not text or not _printable(text) or any(c.isspace() for c in text):
        return None
    return text


# -- the sources --------------------------------------------------------------------------------


def _catalogue_names(incomplete: str) -> list[Completion]:
    from ..models.catalogue import CATALOGUE

    return [(entry.name, entry.description) for entry in CATALOGUE if entry.name.startswith(incomplete)]


def _registered_names(incomplete: str, environ: Mapping[str, str]) -> list[Completion]:
    from ..models.store import ModelStore

    store = ModelStore(_paths(environ), environ=environ)
    # the registry as the store reads (and validates) it; list_models() would also look in the
    # Hugging Face cache, which imports huggingface_hub
    names = store._load_registry()
    return [(name, "registered with `sqlcoder models add`") for name in sorted(names) if name.startswith(incomplete)]


def _default_db(incomplete: str, environ: Mapping[str, str]) -> list[Completion]:
    from ..config import Config

    config = Config.load(_paths(environ), dict(environ))
    if not config.default_db:
        return []
    shown = safe_db_suggestion(config.default_db)
    return [(shown, "default_db from the config")] if shown and shown.startswith(incomplete) else []


def _history_urls(incomplete: str, environ: Mapping[str, str]) -> list[Completion]:
    """Distinct database URLs from the history log, newest first.

    Read here rather than through :class:`~sqlcoder_cli.history.History`: that class opens the
    log for writing (creating it, waiting up to 30 s for a lock), right for logging and wrong for
    a Tab press. This opens it read-only, waits a fraction of a second, and never creates it.
    """
    import sqlite3

    path = _paths(environ).history_file
    if not path.is_file():
        return []
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=HISTORY_BUSY_TIMEOUT_S)
    try:
        rows = conn.execute(
            "SELECT db FROM history WHERE db LIKE '%://%' GROUP BY db ORDER BY MAX(id) DESC LIMIT ?",
            (MAX_HISTORY_URLS * 5,),
        ).fetchall()
    finally:
        conn.close()
    found: list[str] = []
    for (spec,) in rows:
        shown = safe_db_suggestion(str(spec)) if spec else None
        if shown and shown.startswith(incomplete) and shown not in found:
            found.append(shown)
    return [(url, "from the history log") for url in found[:MAX_HISTORY_URLS]]


# -- helpers ------------------------------------------------------------------------------------


def _printable(text: str) -> bool:
    """No control characters (C0, DEL, C1): a suggestion is written into the user's terminal."""
    return not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in text)


def _looks_like_path(text: str) -> bool:
    return "/" in text or os.sep in text or text.startswith((".", "~"))


def _paths(environ: Mapping[str, str]) -> Paths:
    from ..config import Paths

    return Paths.resolve(dict(environ))


def _environ(ctx: Any) -> Mapping[str, str]:
    """The invocation's environment (the injected one when the CLI runs in a test), else the
    process's."""
    try:
        environ = ctx.find_root().obj.env.environ
    except Exception:  # noqa: BLE001 - no state yet: the process's environment is the same thing
        return os.environ
    return environ if isinstance(environ, Mapping) else os.environ


def _safely(source: Callable[[], list[Any]]) -> list[Any]:
    """What ``source`` suggests, or nothing when it fails: completion never raises."""
    try:
        return source()
    except Exception:  # noqa: BLE001 - a broken config, log or folder only means fewer suggestions
        return []


def _distinct(items: list[Completion]) -> list[Completion]:
    seen: set[str] = set()
    out: list[Completion] = []
    for item in items:
        value = item[0] if isinstance(item, tuple) else item
        if value not in seen:
            seen.add(value)
            out.append(item)
    return out
