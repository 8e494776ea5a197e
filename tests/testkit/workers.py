"""Worker processes for the concurrency tests: ``python -m testkit.workers TASK ARGS...``.

Each task drives one of sqlcoder's shared files through its real API (the same calls the CLI and
the REPL make) in its own process. Writers write ``n`` times; readers read until the ``stop`` file
appears and print a JSON summary (reads, and every malformed thing they saw) on stdout. Both wait
for the ``go`` file first, so that two processes really overlap instead of running one after the
other while the second is still importing.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

def _wait_for(go: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"no go file {go}")
        time.sleep(0.005)


def _paths(home: str) -> Any:
    from sqlcoder_cli.config import Paths

    return Paths.resolve({"SQLCODER_HOME": home})


def _read_loop(stop: Path, read_once: Any) -> dict[str, Any]:
    reads, bad = 0, []
    while not stop.exists() or reads == 0:
        problem = read_once()
        reads += 1
        if problem is not None and len(bad) < 20:
            bad.append(problem)
    return {"reads": reads, "bad": bad}


# -- writers -------------------------------------------------------------------------------------


def memory_add(path: str, tag: str, n: str) -> dict[str, Any]:
    from sqlcoder_cli.memory import Memory

    memory = Memory(Path(path))
    for i in range(int(n)):
        memory.add("shop", f"{tag} question {i}", f"SELECT {i} AS {tag}")
        memory.add("shop", "the shared question", f"SELECT '{tag}' AS last_writer")  # same row, both processes
    return {"written": int(n)}


def history_add(path: str, tag: str, n: str) -> dict[str, Any]:
    from sqlcoder_cli.history import History

    history = History(Path(path))
    for i in range(int(n)):
        history.record(source="ask", outcome="ok", question=f"{tag} question {i}", sql=f"SELECT {i}", db="demo")
    return {"written": int(n)}


def registry_add(home: str, model: str, tag: str, n: str) -> dict[str, Any]:
    from sqlcoder_cli.models.store import ModelStore

    store = ModelStore(_paths(home), environ={"SQLCODER_HOME": home, "HF_HOME": str(Path(home) / "hf")})
    for i in range(int(n)):
        store.add(model, name=f"{tag}-{i}")
    return {"written": int(n)}


def notes_write(home: str, key: str, n: str) -> dict[str, Any]:
    from sqlcoder_cli.schema.notes import NotesStore

    store = NotesStore(_paths(home))
    for i in range(int(n)):
        store.set(key, _notes_text(i % 2))
    return {"written": int(n)}


def _notes_text(which: int) -> str:
    letter = "AB"[which]
    return (f"# notes {letter}\n" + f"revenue means {letter} * quantity\n" * 20_000)  # ~600 kB


def schema_write(home: str, n: str) -> dict[str, Any]:
    from sqlcoder_cli.db.connect import open_database
    from sqlcoder_cli.schema.cache import load_schema

    paths = _paths(home)
    db = open_database(None)
    try:
        for _ in range(int(n)):
            load_schema(db, paths, refresh=True)
    finally:
        db.close()
    return {"written": int(n)}


def kv_save(model: str, directory: str, n: str) -> dict[str, Any]:
    """Save the same prefix's state again and again (each save replaces the file)."""
    from sqlcoder_cli.engine.base import EngineOptions
    from sqlcoder_cli.engine.kv_cache import KVStateCache
    from sqlcoder_cli.engine.llama import LlamaEngine

    cache = KVStateCache(Path(directory))
    with LlamaEngine(model, EngineOptions(n_ctx=512, n_threads=1)) as engine:
        tokens = engine.tokenize(KV_PREFIX)
        path = cache.path_for(engine.model_id, engine.n_ctx, tokens)
        engine._llm.reset()
        engine._llm.eval(tokens)
        saved = sum(cache.save(engine._llm, path, tokens) for _ in range(int(n)))
    return {"written": saved}


KV_PREFIX = "### Database Schema\nCREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT, city TEXT);\n" * 4


# -- readers -------------------------------------------------------------------------------------


def registry_read(home: str, stop: str) -> dict[str, Any]:
    registry = _paths(home).registry_file

    def once() -> str | None:
        try:
            text = registry.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            json.loads(text)
        except ValueError as exc:
            return f"malformed registry ({len(text)} bytes): {exc}"
        return None

    return _read_loop(Path(stop), once)


def notes_read(home: str, key: str, stop: str) -> dict[str, Any]:
    from sqlcoder_cli.schema.notes import NotesStore

    store = NotesStore(_paths(home))
    whole = {_notes_text(0), _notes_text(1), ""}

    def once() -> str | None:
        text = store.get(key)
        return None if text in whole else f"partial notes: {len(text)} characters"

    return _read_loop(Path(stop), once)


def schema_read(home: str, stop: str) -> dict[str, Any]:
    folder = _paths(home).cache_dir / "schema"

    def once() -> str | None:
        for file in folder.glob("*.json") if folder.is_dir() else ():
            try:
                text = file.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            try:
                data = json.loads(text)
            except ValueError as exc:
                return f"malformed schema cache ({len(text)} bytes): {exc}"
            if "schema" not in data:
                return "schema cache without a schema"
        return None

    return _read_loop(Path(stop), once)


def kv_restore(model: str, directory: str, stop: str) -> dict[str, Any]:
    """Restore the state the writer keeps replacing: every restore must succeed."""
    from sqlcoder_cli.engine.base import EngineOptions
    from sqlcoder_cli.engine.kv_cache import KVStateCache
    from sqlcoder_cli.engine.llama import LlamaEngine

    cache = KVStateCache(Path(directory))
    with LlamaEngine(model, EngineOptions(n_ctx=512, n_threads=1)) as engine:
        tokens = engine.tokenize(KV_PREFIX)
        path = cache.path_for(engine.model_id, engine.n_ctx, tokens)

        def once() -> str | None:
            if not path.exists():
                return None
            engine._llm.reset()
            if not cache.restore(engine._llm, path, tokens):
                return "a saved state did not restore (half-written file?)"
            return None

        return _read_loop(Path(stop), once)


TASKS = {
    f.__name__: f
    for f in (
        memory_add, history_add, registry_add, notes_write, schema_write, kv_save,
        registry_read, notes_read, schema_read, kv_restore,
    )
}  # fmt: skip


def main(argv: list[str]) -> int:
    task, go, *args = argv
    function = TASKS[task]
    _wait_for(Path(go))
    result = function(*args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
