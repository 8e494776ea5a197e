"""Two sqlcoder processes on the same home at once (a REPL and a script, two terminals).

Every shared file is exercised by real processes through the real API (tests/testkit/workers.py):
no write is lost (the example memory, the history log, the model registry), and a reader never sees
half a file while another process rewrites it (registry, notes, schema cache, KV states). The files
that hold the user's questions, SQL, paths or sampled values are private: 0600 in 0700 folders.
"""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

from testkit.cli_proc import assert_clean, assert_one_line_error, isolated_env, run_sqlcoder
from testkit.parallel import run_together

N = 60  # writes per process: enough to overlap many times, quick on 2 cores


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _assert_private(file: Path) -> None:
    assert _mode(file) == 0o600, f"{file}: {oct(_mode(file))}"
    assert _mode(file.parent) == 0o700, f"{file.parent}: {oct(_mode(file.parent))}"


def test_two_processes_adding_to_the_example_memory_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "home" / "data" / "memory.sqlite"
    run_together([["memory_add", str(path), "a", str(N)], ["memory_add", str(path), "b", str(N)]], tmp_path / "run")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        questions = {q for (q,) in conn.execute("SELECT question FROM examples")}
    expected = {f"{tag} question {i}" for tag in "ab" for i in range(N)} | {"the shared question"}
    assert questions == expected
    _assert_private(path)


def test_two_processes_appending_to_the_history_lose_no_line(tmp_path: Path) -> None:
    path = tmp_path / "home" / "data" / "history.sqlite"
    run_together([["history_add", str(path), "a", str(N)], ["history_add", str(path), "b", str(N)]], tmp_path / "run")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        questions = [q for (q,) in conn.execute("SELECT question FROM history")]
    assert sorted(questions) == sorted(f"{tag} question {i}" for tag in "ab" for i in range(N))


def test_two_processes_registering_models_lose_none_and_readers_never_see_half_a_registry(
    tmp_path: Path, tiny_gguf_path: Path
) -> None:
    home = tmp_path / "home"
    jobs = [["registry_add", str(home), str(tiny_gguf_path), tag, str(N // 2)] for tag in ("a", "b")]
    _, (reader,) = run_together(jobs, tmp_path / "run", readers=[["registry_read", str(home)]])
    assert reader["bad"] == [] and reader["reads"] > 0
    listed = run_sqlcoder(["models", "list", "--format", "json"], isolated_env(tmp_path, {"SQLCODER_HOME": str(home)}))
    assert_clean(listed)
    names = {row["name"] for row in json.loads(listed.stdout) if row.get("source") == "local"}
    assert names == {f"{tag}-{i}" for tag in "ab" for i in range(N // 2)}
    registry = home / "data" / "models.json"
    _assert_private(registry)
    assert not [p.name for p in registry.parent.iterdir() if p.name.endswith(".tmp")]  # no leftovers


def test_notes_rewritten_while_read_are_never_half_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, (reader,) = run_together(
        [["notes_write", str(home), "shop-0123456789", "40"]], tmp_path / "run", readers=[["notes_read", str(home), "shop-0123456789"]]
    )
    assert reader["bad"] == [] and reader["reads"] > 10
    _assert_private(home / "config" / "notes" / "shop-0123456789.md")


def test_the_schema_cache_rewritten_while_read_is_never_half_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _, (reader,) = run_together([["schema_write", str(home), "15"]], tmp_path / "run", readers=[["schema_read", str(home)]])
    assert reader["bad"] == [] and reader["reads"] > 10
    (cache,) = (home / "cache" / "schema").glob("*.json")
    _assert_private(cache)
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # no temporary files left


def test_a_kv_state_replaced_while_another_process_restores_it(tmp_path: Path, tiny_gguf_path: Path) -> None:
    kv = tmp_path / "kv"
    _, (reader,) = run_together(
        [["kv_save", str(tiny_gguf_path), str(kv), "40"]], tmp_path / "run", readers=[["kv_restore", str(tiny_gguf_path), str(kv)]]
    )
    assert reader["bad"] == [] and reader["reads"] > 10
    (state,) = kv.glob("*.kvstate")
    _assert_private(state)
    assert [p.name for p in kv.iterdir()] == [state.name]


def test_files_made_by_the_cli_are_private(tmp_path: Path, tiny_gguf_path: Path) -> None:
    """Through the real commands: the registry, notes, schema cache, KV states and memory."""
    env = isolated_env(tmp_path, {"SQLCODER_HOME": str(tmp_path / "home")})
    home = Path(env["SQLCODER_HOME"])
    assert_clean(run_sqlcoder(["models", "add", str(tiny_gguf_path), "--name", "tiny"], env))
    assert_clean(run_sqlcoder(["notes", "set", "revenue means sum(quantity * unit_price)"], env))
    assert_clean(run_sqlcoder(["schema"], env))
    # the schema before the question: the prompt's constant prefix is long enough to be saved
    assert_clean(run_sqlcoder(["config", "set", "prompt_layout", "schema-first"], env))
    asked = run_sqlcoder(["ask", "How many customers?", "--model", "tiny", "--threads", "1", "--ctx", "1024", "--retries", "0"], env)
    assert "Traceback" not in asked.stderr and asked.returncode == 4  # gibberish, but the prefix state was saved

    from sqlcoder_cli.memory import Memory

    Memory(home / "data" / "memory.sqlite").add("demo", "How many customers?", "SELECT count(*) FROM customers")
    files = [
        home / "data" / "models.json",
        home / "data" / "memory.sqlite",
        *sorted((home / "config" / "notes").glob("*.md")),
        *sorted((home / "cache" / "schema").glob("*.json")),
        *sorted((home / "cache" / "kv").glob("*.kvstate")),
    ]
    assert len(files) == 5, files
    for file in files:
        assert _mode(file) == 0o600, f"{file}: {oct(_mode(file))}"
    for folder in (home / "config" / "notes", home / "cache" / "schema", home / "cache" / "kv"):
        assert _mode(folder) == 0o700, f"{folder}: {oct(_mode(folder))}"


def test_the_data_folder_is_private_whatever_runs_first(tmp_path: Path) -> None:
    """models.json and memory.sqlite live beside history.sqlite: when the history log creates the
    folder first, it must be just as private."""
    env = isolated_env(tmp_path, {"SQLCODER_HOME": str(tmp_path / "home")})
    assert_clean(run_sqlcoder(["sql", "SELECT 1"], env))  # writes the history first
    data = Path(env["SQLCODER_HOME"]) / "data"
    assert _mode(data) == 0o700
    assert _mode(data / "history.sqlite") == 0o600


def test_a_damaged_example_memory_is_one_line_and_never_fails_a_question(tmp_path: Path, tiny_gguf_path: Path) -> None:
    """What a crash of a foreign program or a disk error may leave: a file that is not SQLite."""
    env = isolated_env(tmp_path, {"SQLCODER_HOME": str(tmp_path / "home")})
    memory = Path(env["SQLCODER_HOME"]) / "data" / "memory.sqlite"
    memory.parent.mkdir(parents=True)
    memory.write_bytes(bytes(range(256)) * 20)
    assert_one_line_error(
        run_sqlcoder(["memory", "list"], env),
        2,
        rf"^error: cannot use the example memory {memory}: file is not a database \(if another sqlcoder is busy "
        r"with it, try again; a damaged file can be moved away\)$",
    )
    asked = run_sqlcoder(["ask", "How many customers?", "--model", str(tiny_gguf_path), "--threads", "1", "--ctx", "1024", "--retries", "0"], env)
    assert_one_line_error(asked, 4, r"^error: (?!cannot use the example memory)")  # the model's failure, not the memory's


def test_a_repl_and_asks_at_once_share_history_memory_and_kv_cache(tmp_path: Path, tiny_gguf_path: Path) -> None:
    """The issue's case, with the real commands: a REPL (reading its input from a pipe) and several
    ``ask`` and ``sql`` processes on the same database and home at the same time. Every run is
    logged, no shared file is damaged, and the KV states they share still load afterwards."""
    import subprocess
    import time

    from testkit.cli_proc import sqlcoder_argv, start_sqlcoder

    env = isolated_env(tmp_path, {"SQLCODER_HOME": str(tmp_path / "home")})
    home = Path(env["SQLCODER_HOME"])
    assert_clean(run_sqlcoder(["config", "set", "prompt_layout", "schema-first"], env))  # a KV prefix to share
    model = ["--model", str(tiny_gguf_path), "--threads", "1"]
    ask_options = [*model, "--max-tokens", "16", "--retries", "0"]
    repl_lines = [f"SELECT COUNT(*) FROM customers WHERE customer_id > {i};" for i in range(8)]
    repl = subprocess.Popen(
        sqlcoder_argv("repl", *model), env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    others = []
    for i in range(3):
        others.append(start_sqlcoder(["ask", f"How many customers are there? ({i})", *ask_options], env))
        others.append(start_sqlcoder(["sql", f"SELECT COUNT(*) FROM orders WHERE order_id > {i}"], env))
    time.sleep(0.5)
    out, err = repl.communicate("\n".join([*repl_lines, "How many orders are there?", "\\quit"]) + "\n", timeout=300)
    assert "Traceback" not in err and repl.returncode == 0, err[-2000:]
    for proc in others:
        _, proc_err = proc.communicate(timeout=300)
        assert "Traceback" not in proc_err and proc.returncode in (0, 4), proc_err[-2000:]

    with sqlite3.connect(home / "data" / "history.sqlite") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sources = [s for (s,) in conn.execute("SELECT source FROM history")]
    assert sources.count("ask") == 3 and sources.count("sql") == 3
    assert sources.count("repl") >= len(repl_lines)  # every SQL line of the REPL, and its question
    memory = home / "data" / "memory.sqlite"
    if memory.exists():
        with sqlite3.connect(memory) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kv = home / "cache" / "kv"
    assert [p for p in kv.iterdir() if not p.name.endswith(".kvstate")] == []  # no half-written states
    # the states the processes wrote at the same time still restore: a new session starts warm
    from sqlcoder_cli.config import Config, Paths
    from sqlcoder_cli.engine.base import EngineOptions
    from sqlcoder_cli.pipeline import Session

    config = Config.load(Paths.resolve({"SQLCODER_HOME": str(home)}), {})
    with Session(config, model=str(tiny_gguf_path), engine_options=EngineOptions(n_threads=1)) as session:
        plan = session.plan_prompt("How many customers are there?")
        generation = session.engine.generate(
            plan.prompt.text, max_tokens=1, stable_prefix=plan.stable_prefix, state_cache=session.state_cache
        )
    assert generation.cached_tokens > 0
