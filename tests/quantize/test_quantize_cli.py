"""``sqlcoder-quantize`` / ``python -m quantize`` as a user meets it: real subprocesses for the
end-to-end paths (exit codes, one ``error:`` line, no traceback), ``quantize.cli.run`` in-process
for the rest, and ``--register`` checked through the real ``sqlcoder models list``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from testkit.cli_proc import isolated_env
from testkit.tiny_gguf import write_tiny_llama_gguf

from quantize.cli import run
from quantize.quantize import QTYPES
from sqlcoder_cli.frontend.environment import Environment
from sqlcoder_cli.models.gguf_info import read_gguf_info

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_llama_gguf(tmp_path_factory.mktemp("cli") / "tiny-llama.gguf", n_embd=256, n_ff=512)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path / "home")


def quantize_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "quantize", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def sqlcoder(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sqlcoder_cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in done.stderr
    return lines[0]


def in_process(args: list[str], environ: dict[str, str], *, tty: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, stdin=io.StringIO(""), stdout_isatty=False, stderr_isatty=tty, environ=environ)
    return run(args, env=env), out.getvalue(), err.getvalue()


def registered(env: dict[str, str]) -> dict[str, dict]:
    done = sqlcoder(["models", "list", "--format", "json"], env)
    assert done.returncode == 0, done.stderr
    return {row["name"]: row for row in json.loads(done.stdout)}


def test_help_is_fast_and_imports_nothing_heavy(env: dict[str, str]) -> None:
    code = (
        "import sys, time; t = time.perf_counter(); from quantize.cli import run; rc = run(['--help']); "
        "print(rc, round(time.perf_counter() - t, 3), sorted(m for m in ('llama_cpp', 'numpy', 'gguf', 'quantize.convert', "
        "'quantize.quantize', 'sqlcoder_cli.cli.app') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    rc, seconds, heavy = done.stdout.strip().splitlines()[-1].split(" ", 2)
    assert rc == "0" and heavy == "[]" and float(seconds) < 1.0
    assert "convert" in done.stdout and "ladder" in done.stdout and "types" in done.stdout


def test_types_lists_every_type_with_bits_and_imatrix(env: dict[str, str]) -> None:
    done = quantize_cli(["types"], env)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    assert list(rows) == list(QTYPES)
    assert rows["IQ2_XXS"][2] == "required" and rows["Q4_K_M"][2] == "optional" and rows["F16"][2] == "–"
    assert rows["Q4_K_M"][1] == "4.90"
    code, out, _ = in_process(["types", "--format", "json"], env)
    data = json.loads(out)
    assert code == 0 and {r["type"]: r["needs_imatrix"] for r in data}["Q2_K_S"] is True


def test_quantize_end_to_end(tiny: Path, tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "tiny-Q4_K_M.gguf"
    done = quantize_cli(["quantize", str(tiny), str(out), "q4_k_m", "--threads", "2"], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert "wrote" in done.stderr and "Q4_K_M" in done.stderr
    assert read_gguf_info(out).quantization == "Q4_K_M"


@pytest.mark.parametrize(
    ("make_input", "args", "code", "words"),
    [
        ("missing", ["Q4_K_M"], 3, "file not found"),
        ("text", ["Q4_K_M"], 3, "is not a GGUF model file"),
        ("tiny", ["Q9_K"], 2, "valid types: F32, F16"),
        ("tiny", ["IQ2_XS"], 2, "needs an importance matrix"),
        ("tiny", ["Q4_K_M", "--threads", "0"], 2, "--threads"),
        ("tiny", ["Q4_K_M", "--register", "sqlcoder-7b-2"], 2, "catalogue model"),
    ],
)
def test_bad_requests_are_one_line_with_the_exit_code(
    tiny: Path, tmp_path: Path, env: dict[str, str], make_input: str, args: list[str], code: int, words: str
) -> None:
    source = {"missing": tmp_path / "nope.gguf", "text": tmp_path / "notes.gguf", "tiny": tiny}[make_input]
    if make_input == "text":
        source.write_text("hello\n")
    out = tmp_path / "out.gguf"
    done = quantize_cli(["quantize", str(source), str(out), *args], env)
    assert done.returncode == code, done.stderr
    assert words in one_error_line(done)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_requantize_needs_the_flag_then_warns(tiny: Path, tmp_path: Path, env: dict[str, str]) -> None:
    q4 = tmp_path / "q4.gguf"
    assert in_process(["quantize", str(tiny), str(q4), "Q4_K_M"], env)[0] == 0
    done = quantize_cli(["quantize", str(q4), str(tmp_path / "q2.gguf"), "Q2_K"], env)
    assert done.returncode == 2 and "--allow-requantize" in one_error_line(done)
    code, out, err = in_process(["quantize", str(q4), str(tmp_path / "q2.gguf"), "Q2_K", "--allow-requantize"], env)
    assert code == 0, err
    assert "warning: requantizing from Q4_K_M loses quality" in err
    assert read_gguf_info(tmp_path / "q2.gguf").quantization == "Q2_K"


def test_progress_bar_on_a_terminal(tiny: Path, tmp_path: Path, env: dict[str, str]) -> None:
    terminal = {k: v for k, v in env.items() if k != "NO_COLOR"} | {"FORCE_COLOR": "1"}
    code, out, err = in_process(["quantize", str(tiny), str(tmp_path / "q8.gguf"), "Q8_0"], terminal, tty=True)
    assert code == 0, err
    assert "21/21" in err and "tensors" in err and "wrote" in err  # the bar, then the summary line
    code, out, err = in_process(["quantize", str(tiny), str(tmp_path / "q8b.gguf"), "Q8_0"], env)
    assert code == 0 and "tensors" not in err  # no bar into a pipe


def test_register_adds_it_to_sqlcoder_models(tiny: Path, tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "tiny-q5.gguf"
    done = quantize_cli(["quantize", str(tiny), str(out), "Q5_K_M", "--register", "tiny-q5"], env)
    assert done.returncode == 0, done.stderr
    assert "registered tiny-q5 (prompt family sqlcoder)" in done.stderr
    row = registered(env)["tiny-q5"]
    assert Path(row["path"]) == out.resolve() and row["source"] == "local"
    assert row["family"] == "sqlcoder" and row["quantization"] == "Q5_K_M"

    code, _, err = in_process(["quantize", str(tiny), str(tmp_path / "chat.gguf"), "Q8_0", "--register", "tiny-chat", "--family", "chat"], env)
    assert code == 0, err
    assert registered(env)["tiny-chat"]["family"] == "chat"

    code, _, err = in_process(["quantize", str(tiny), str(tmp_path / "x.gguf"), "Q8_0", "--register", "x", "--family", "klingon"], env)
    assert code == 2 and "unknown prompt family 'klingon'" in err and not (tmp_path / "x.gguf").exists()


def test_ladder_command_prints_the_table_and_registers_each_rung(tiny: Path, tmp_path: Path, env: dict[str, str]) -> None:
    out_dir = tmp_path / "ladder"
    done = quantize_cli(
        ["ladder", str(tiny), "--types", "Q8_0,Q4_K_M", "--out-dir", str(out_dir), "--threads", "1", "--skip-input", "--register", "tl"], env
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == (out_dir / "ladder.md").read_text()
    assert "| Q8_0 |" in done.stdout and "| Q4_K_M |" in done.stdout and "(input)" not in done.stdout
    assert "[1/2] Q8_0: quantizing" in done.stderr
    rows = registered(env)
    assert rows["tl-Q8_0"]["quantization"] == "Q8_0" and rows["tl-Q4_K_M"]["quantization"] == "Q4_K_M"
    data = json.loads((out_dir / "ladder.json").read_text())
    assert [r["registered"] for r in data["rungs"]] == ["tl-Q8_0", "tl-Q4_K_M"]


def test_ladder_usage_errors(tiny: Path, tmp_path: Path, env: dict[str, str]) -> None:
    done = quantize_cli(["ladder", str(tiny), "--types", "Q8_0", "--out-dir", str(tmp_path / "l"), "--eval", str(tmp_path / "q.jsonl")], env)
    assert done.returncode == 2 and "--eval and --dbs go together" in one_error_line(done)
    code, _, err = in_process(["ladder", str(tiny), "--types", "Q8_0,IQ1_S", "--out-dir", str(tmp_path / "l")], env)
    assert code == 2 and "IQ1_S needs an importance matrix" in err
    code, _, err = in_process(["ladder", str(tiny), "--out-dir", str(tmp_path / "l")], env)
    assert code == 2 and "--types" in err
    assert not (tmp_path / "l").exists()


def test_convert_refuses_bad_requests_in_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    pytest.importorskip("quantize.convert")
    empty = tmp_path / "checkpoint"
    empty.mkdir()
    out = tmp_path / "out.gguf"
    code, _, err = in_process(["convert", str(empty), str(out), "--outtype", "q3_k"], env)
    assert code == 2 and "unknown --outtype 'q3_k'" in err and err.count("\n") == 1
    done = quantize_cli(["convert", str(empty), str(out)], env)
    assert done.returncode in (2, 3)
    one_error_line(done)
    assert not out.exists()


def test_convert_then_quantize_then_register(tmp_path: Path, env: dict[str, str]) -> None:
    """The whole path of the tool: a tiny Qwen2 checkpoint -> F16 GGUF (bar on a terminal,
    registered) -> Q4_K_M (registered), both in `sqlcoder models list`."""
    pytest.importorskip("quantize.convert")
    checkpoints = pytest.importorskip("tiny_checkpoints")  # tests/quantize/tiny_checkpoints.py (the converter's tests)
    checkpoint = checkpoints.write_qwen2(tmp_path / "qwen2-tiny")
    f16 = tmp_path / "qwen2-tiny-f16.gguf"
    terminal = {k: v for k, v in env.items() if k != "NO_COLOR"} | {"FORCE_COLOR": "1"}
    code, out, err = in_process(["convert", str(checkpoint.directory), str(f16), "--register", "qwen-tiny-f16"], terminal, tty=True)
    assert code == 0, err
    assert out.strip() == str(f16) and "tensors" in err and "registered qwen-tiny-f16" in err
    assert read_gguf_info(f16).quantization == "F16"
    q4 = tmp_path / "qwen2-tiny-Q4_K_M.gguf"
    done = quantize_cli(["quantize", str(f16), str(q4), "Q4_K_M", "--register", "qwen-tiny-q4"], env)
    assert done.returncode == 0, done.stderr
    rows = registered(env)
    assert rows["qwen-tiny-f16"]["quantization"] == "F16" and rows["qwen-tiny-q4"]["quantization"] == "Q4_K_M"
    assert rows["qwen-tiny-q4"]["family"] == rows["qwen-tiny-f16"]["family"]
