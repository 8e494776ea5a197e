"""sqlcoder: offline text-to-SQL with a local GGUF model.

Everything the CLI does is available from Python::

    from sqlcoder_cli import Session

    with Session(db="shop.sqlite", model="sqlcoder-7b-2") as session:
        answer = session.ask("Which 5 customers spent the most?")
        print(answer.sql, answer.rows)

Names are imported lazily (PEP 562) so that ``import sqlcoder_cli`` and ``sqlcoder --help`` stay
fast: the model runtime and database drivers load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .__about__ import __version__

if TYPE_CHECKING:
    from .config import Config, Paths
    from .db.connect import Database, open_database
    from .errors import ExitCode, SqlcoderError
    from .models.store import ModelStore
    from .engine.base import Engine, ModelTraits
    from .errors import AnswerFailed
    from .pipeline import Answer, AnswerSettings, Session, Timings

_LAZY = {
    "Session": "pipeline",
    "Answer": "pipeline",
    "Timings": "pipeline",
    "AnswerSettings": "pipeline",
    "AnswerFailed": "errors",
    "Engine": "engine.base",
    "ModelTraits": "engine.base",
    "Config": "config",
    "Paths": "config",
    "ModelStore": "models.store",
    "Database": "db.connect",
    "open_database": "db.connect",
    "SqlcoderError": "errors",
    "ExitCode": "errors",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sqlcoder_cli' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
