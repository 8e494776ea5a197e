"""quantize/quantize.py and quantize/ladder.py on a tiny random llama whose rows are multiples of
256 (so the K and IQ types really quantize instead of falling back), with the real llama.cpp.

What is checked: the types table against the binding and the library (which types need an
importance matrix is asked of llama.cpp itself), outputs that load and generate with the right
file type in their header, requantizing (refused, then warned), importance matrices in both of
llama.cpp's file formats passed through the binding, clear one-line refusals, no file left by any
failure or an interruption, and the ladder's table. A slow test runs the ladder with
``sqlcoder eval`` on the 0.5B dev model.
"""

from __future__ import annotations

import ctypes
import json
import struct
import threading
import time
from pathlib import Path

import pytest
from testkit.tiny_gguf import write_tiny_llama_gguf

from quantize.errors import QuantizeError, QuantizeUsageError
from quantize.ladder import ladder_markdown, parse_types, rung_filename, run_ladder
from quantize.quantize import (
    ALIASES,
    QTYPES,
    RequantizeWarning,
    load_imatrix,
    quantize_gguf,
    resolve_type,
)
from sqlcoder_cli.errors import ExitCode, Interrupted, ModelError, NotGGUFError
from sqlcoder_cli.models.gguf_info import FILE_TYPES, read_gguf_info

N_TENSORS = 21  # token_embd, output_norm, output + 9 per layer x 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """F32 llama: n_embd 256, n_ff 512, 2 layers, 576-token vocabulary (~6 MB)."""
    return write_tiny_llama_gguf(
        tmp_path_factory.mktemp("quant") / "tiny-llama-f32.gguf", n_embd=256, n_ff=512, n_head=4, n_head_kv=4
    )


@pytest.fixture(scope="module")
def tiny_q4(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return quantize_gguf(tiny, tmp_path_factory.mktemp("q4") / "tiny-llama-Q4_K_M.gguf", "Q4_K_M", threads=2).path


def _matrix_shapes(path: Path) -> list[tuple[str, int]]:
    """(name, row length) of every 2-D block tensor: what an importance matrix has entries for."""
    from gguf import GGUFReader

    return [(t.name, int(t.shape[0])) for t in GGUFReader(str(path)).tensors if t.name.startswith("blk.") and len(t.shape) == 2]


def _write_legacy_imatrix(path: Path, shapes: list[tuple[str, int]], *, ncall: int = 10, extra: int = 0) -> Path:
    import numpy as np

    rng = np.random.default_rng(1)
    out = struct.pack("<i", len(shapes))
    for name, ne0 in shapes:
        raw = name.encode()
        sums = (rng.random(ne0 + extra) * 50 + 1).astype("<f4")
        out += struct.pack("<i", len(raw)) + raw + struct.pack("<ii", ncall, ne0 + extra) + sums.tobytes()
    out += struct.pack("<i", 5) + struct.pack("<i", 9) + b"calib.txt"
    path.write_bytes(out)
    return path


def _write_gguf_imatrix(path: Path, shapes: list[tuple[str, int]]) -> Path:
    import numpy as np
    from gguf import GGUFWriter

    rng = np.random.default_rng(2)
    writer = GGUFWriter(str(path), arch="imatrix")
    writer.add_array("imatrix.datasets", ["sql-prompts.txt"])
    writer.add_uint32("imatrix.chunk_count", 12)
    writer.add_uint32("imatrix.chunk_size", 512)
    for name, ne0 in shapes:
        writer.add_tensor(f"{name}.in_sum2", (rng.random((1, ne0)) * 500 + 1).astype(np.float32))
        writer.add_tensor(f"{name}.counts", np.array([[20.0]], dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _generate(path: Path, n: int = 4) -> int:
    """Load with llama.cpp and greedily generate; the number of tokens it produced."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(path), n_ctx=128, n_threads=1, n_threads_batch=1, verbose=False)
    try:
        out = llm("SELECT name FROM customers", max_tokens=n, temperature=0.0)
        return int(out["usage"]["completion_tokens"])
    finally:
        llm.close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def _one_line(error: Exception) -> str:
    text = str(error)
    assert "\n" not in text, text
    return text


# ---------------------------------------------------------------------------------------------
# the types table
# ---------------------------------------------------------------------------------------------


def test_types_table_matches_the_binding_and_the_header_reader() -> None:
    import llama_cpp

    for qtype in QTYPES.values():
        constant = "LLAMA_FTYPE_ALL_F32" if qtype.name == "F32" else f"LLAMA_FTYPE_MOSTLY_{qtype.name}"
        assert getattr(llama_cpp, constant) == qtype.ftype, qtype.name
        assert FILE_TYPES[qtype.ftype] == qtype.name
    for required in ("Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q3_K_M", "Q3_K_S", "Q2_K", "IQ4_NL", "IQ4_XS", "IQ3_M", "IQ3_XXS", "IQ2_M"):
        assert required in QTYPES


def test_type_names_are_case_insensitive_with_llama_quantize_aliases() -> None:
    assert resolve_type("q4_k_m").name == "Q4_K_M"
    assert resolve_type(" iq4-xs ").name == "IQ4_XS"
    for alias, name in ALIASES.items():
        assert resolve_type(alias.lower()).name == name


def test_needs_imatrix_column_is_what_llama_cpp_enforces(tiny: Path, tmp_path: Path) -> None:
    """Every non-float type, straight through the binding without an imatrix: the ones marked
    fail with llama.cpp's "requires an imatrix", all others produce a file."""
    import llama_cpp

    from quantize.quantize import _captured_log, _LogCapture

    for qtype in QTYPES.values():
        if qtype.is_float:
            continue
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = qtype.ftype
        params.nthread = 2
        out = tmp_path / f"raw-{qtype.name}.gguf"
        capture = _LogCapture(None)
        with _captured_log(capture):
            rc = llama_cpp.llama_model_quantize(str(tiny).encode(), str(out).encode(), ctypes.byref(params))
        if qtype.needs_imatrix:
            assert rc != 0 and "imatrix" in (capture.reason() or ""), qtype.name
        else:
            assert rc == 0 and read_gguf_info(out).quantization == qtype.name, (qtype.name, capture.reason())
        out.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# quantizing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("qtype", ["Q8_0", "Q4_K_M", "Q2_K"])
def test_quantized_file_has_its_type_loads_and_generates(tiny: Path, tmp_path: Path, qtype: str) -> None:
    seen: list[tuple[int, int]] = []
    result = quantize_gguf(tiny, tmp_path / f"out-{qtype}.gguf", qtype, threads=2, progress=lambda d, t: seen.append((d, t)))
    info = read_gguf_info(result.path)
    assert info.quantization == qtype == result.qtype
    assert result.input_type == "F32" and not result.requantized and result.warnings == ()
    assert result.size_bytes == result.path.stat().st_size < tiny.stat().st_size / 3
    assert seen[-1] == (N_TENSORS, N_TENSORS) and len(seen) == N_TENSORS
    assert _generate(result.path) >= 1
    assert _leftovers(tmp_path) == []


def test_bits_per_weight_are_measured_and_ordered(tiny: Path, tmp_path: Path) -> None:
    bits = {t: quantize_gguf(tiny, tmp_path / f"{t}.gguf", t, threads=2).bits_per_weight for t in ("Q8_0", "Q5_K_M", "Q3_K_S")}
    assert bits["Q8_0"] > bits["Q5_K_M"] > bits["Q3_K_S"] > 3.0  # type: ignore[operator]
    assert 8.0 < bits["Q8_0"] < 9.0  # type: ignore[operator]


def test_unknown_type_is_one_line_listing_the_valid_ones(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(QuantizeUsageError) as caught:
        quantize_gguf(tiny, tmp_path / "x.gguf", "Q4_K_X")
    text = _one_line(caught.value)
    assert "'Q4_K_X'" in text and all(name in text for name in QTYPES)
    assert caught.value.exit_code == ExitCode.USAGE
    assert list(tmp_path.iterdir()) == []


def test_requantizing_needs_the_flag_then_warns(tiny_q4: Path, tmp_path: Path) -> None:
    with pytest.raises(QuantizeUsageError) as caught:
        quantize_gguf(tiny_q4, tmp_path / "q2.gguf", "Q2_K")
    text = _one_line(caught.value)
    assert "already quantized (Q4_K_M)" in text and "--allow-requantize" in text
    assert list(tmp_path.iterdir()) == []

    with pytest.warns(RequantizeWarning, match="requantizing from Q4_K_M loses quality"):
        result = quantize_gguf(tiny_q4, tmp_path / "q2.gguf", "Q2_K", allow_requantize=True, threads=2)
    assert result.requantized and result.input_type == "Q4_K_M"
    assert read_gguf_info(result.path).quantization == "Q2_K"

    said: list[str] = []
    again = quantize_gguf(tiny_q4, tmp_path / "q3.gguf", "Q3_K_M", allow_requantize=True, threads=2, on_warning=said.append)
    assert len(said) == 1 and "Q3_K_M made from Q4_K_M" in said[0] and again.warnings == (said[0],)


@pytest.mark.parametrize("qtype", [t.name for t in QTYPES.values() if t.needs_imatrix])
def test_types_that_need_an_imatrix_are_refused_without_one(tiny: Path, tmp_path: Path, qtype: str) -> None:
    with pytest.raises(QuantizeUsageError) as caught:
        quantize_gguf(tiny, tmp_path / "x.gguf", qtype)
    text = _one_line(caught.value)
    assert f"{qtype} needs an importance matrix" in text and "--imatrix" in text
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["legacy", "gguf"])
def test_imatrix_files_pass_through_the_binding(tiny: Path, tmp_path: Path, fmt: str) -> None:
    from gguf import GGUFReader

    shapes = _matrix_shapes(tiny)
    if fmt == "legacy":
        imatrix = _write_legacy_imatrix(tmp_path / "imatrix.dat", shapes)
    else:
        imatrix = _write_gguf_imatrix(tmp_path / "imatrix.gguf", shapes)
    loaded = load_imatrix(imatrix)
    assert sorted(loaded.entries) == sorted(name for name, _ in shapes)
    assert all(loaded.entries[name].size == ne0 for name, ne0 in shapes)
    result = quantize_gguf(tiny, tmp_path / "iq2.gguf", "IQ2_XXS", imatrix=imatrix, threads=2)
    assert read_gguf_info(result.path).quantization == "IQ2_XXS" and result.imatrix_entries == len(shapes)
    fields = GGUFReader(str(result.path)).fields
    assert fields["quantize.imatrix.entries_count"].contents() == len(shapes)
    assert fields["quantize.imatrix.dataset"].contents() == ("calib.txt" if fmt == "legacy" else "sql-prompts.txt")
    assert _generate(result.path) >= 1


def test_legacy_imatrix_values_are_sums_over_calls(tmp_path: Path) -> None:
    import numpy as np

    path = tmp_path / "one.dat"
    raw = b"blk.0.attn_q.weight"
    path.write_bytes(struct.pack("<i", 1) + struct.pack("<i", len(raw)) + raw + struct.pack("<ii", 4, 3) + np.array([4, 8, 12], "<f4").tobytes())
    loaded = load_imatrix(path)
    assert loaded.legacy and loaded.entries["blk.0.attn_q.weight"].tolist() == [1.0, 2.0, 3.0]


def test_imatrix_of_another_shape_is_one_line(tiny: Path, tmp_path: Path) -> None:
    imatrix = _write_legacy_imatrix(tmp_path / "wrong.dat", _matrix_shapes(tiny), extra=32)
    with pytest.raises(QuantizeUsageError) as caught:
        quantize_gguf(tiny, tmp_path / "x.gguf", "IQ2_XS", imatrix=imatrix, threads=2)
    assert "does not fit" in _one_line(caught.value)
    assert not (tmp_path / "x.gguf").exists() and _leftovers(tmp_path) == []


def test_a_file_that_is_not_an_imatrix_is_refused(tiny: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"\x07\x00\x00\x00hello")
    for bad in (tiny, junk):
        with pytest.raises(QuantizeUsageError, match="is not an importance matrix"):
            quantize_gguf(tiny, tmp_path / "x.gguf", "IQ3_XXS", imatrix=bad)
    with pytest.raises(QuantizeUsageError, match="not found"):
        quantize_gguf(tiny, tmp_path / "x.gguf", "IQ3_XXS", imatrix=tmp_path / "missing.dat")
    assert not (tmp_path / "x.gguf").exists()


# ---------------------------------------------------------------------------------------------
# failures leave nothing
# ---------------------------------------------------------------------------------------------


def test_truncated_input_is_one_line_and_leaves_no_output(tiny: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.read_bytes()[: tiny.stat().st_size // 2])
    with pytest.raises(ModelError) as caught:
        quantize_gguf(cut, tmp_path / "out.gguf", "Q4_K_M")
    assert "incomplete" in _one_line(caught.value) and caught.value.exit_code == ExitCode.MODEL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.gguf"]


def test_not_a_gguf_input(tmp_path: Path) -> None:
    text = tmp_path / "model.gguf"
    text.write_text("not a model\n")
    with pytest.raises(NotGGUFError):
        quantize_gguf(text, tmp_path / "out.gguf", "Q4_K_M")
    assert not (tmp_path / "out.gguf").exists()


def test_llama_cpp_failure_is_one_line_and_keeps_an_existing_output(tmp_path: Path) -> None:
    """A whole GGUF that llama.cpp itself refuses (unknown architecture): its reason in one line,
    the temporary file gone, a file already at the output path untouched."""
    import numpy as np
    from gguf import GGUFWriter

    alien = tmp_path / "alien.gguf"
    writer = GGUFWriter(str(alien), "nonsense")
    writer.add_file_type(0)
    writer.add_tensor("blk.0.w.weight", np.zeros((256, 256), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    out = tmp_path / "out.gguf"
    out.write_text("the previous file\n")
    with pytest.raises(QuantizeError) as caught:
        quantize_gguf(alien, out, "Q4_K_M", threads=2)
    assert "unknown model architecture: 'nonsense'" in _one_line(caught.value)
    assert out.read_text() == "the previous file\n" and _leftovers(tmp_path) == []


def test_output_may_not_be_the_input(tiny_q4: Path) -> None:
    with pytest.raises(QuantizeUsageError, match="is the input file"):
        quantize_gguf(tiny_q4, tiny_q4, "Q2_K", allow_requantize=True)


def test_interrupt_leaves_no_file(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while llama.cpp works: Interrupted at once, and once the C call ends (it cannot be
    stopped) its temporary file is removed too."""
    import quantize.quantize as module

    workers: list[threading.Thread] = []

    def impatient(worker: threading.Thread) -> None:
        workers.append(worker)
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_wait_for", impatient)
    out = tmp_path / "out.gguf"
    with pytest.raises(Interrupted, match="nothing was written"):
        quantize_gguf(tiny, out, "Q5_K_M", threads=1)
    workers[0].join(60)
    assert not workers[0].is_alive()
    time.sleep(0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# the ladder
# ---------------------------------------------------------------------------------------------


def test_rung_names_and_types() -> None:
    assert rung_filename(Path("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), "Q3_K_M") == "qwen2.5-coder-1.5b-instruct-Q3_K_M.gguf"
    assert rung_filename(Path("sqlcoder-7b-2.F16.gguf"), "Q8_0") == "sqlcoder-7b-2-Q8_0.gguf"
    assert rung_filename(Path("model.gguf"), "Q2_K") == "model-Q2_K.gguf"
    assert parse_types("q8_0, Q4_K,Q4_K_M,,Q2_K") == ["Q8_0", "Q4_K_M", "Q2_K"]
    with pytest.raises(QuantizeUsageError, match="valid types"):
        parse_types("Q8_0,Q7")


def test_ladder_without_eval_writes_its_table(tiny: Path, tmp_path: Path) -> None:
    said: list[str] = []
    result = run_ladder(tiny, "Q8_0,Q4_K_M", out_dir=tmp_path / "ladder", eval_questions=None, dbs=None, threads=1, status=said.append)
    out = tmp_path / "ladder"
    md = (out / "ladder.md").read_text()
    data = json.loads((out / "ladder.json").read_text())
    assert md == ladder_markdown(result) and "requantized" not in md
    assert "| type | size | bits/weight | load s | prefill tok/s | gen tok/s | peak RSS | accuracy % | quantize s |" in md
    assert [r["qtype"] for r in data["rungs"]] == ["F32", "Q8_0", "Q4_K_M"] and data["rungs"][0]["is_input"]
    assert "| F32 (input) |" in md and "| Q8_0 |" in md and "| Q4_K_M |" in md
    for rung in data["rungs"]:
        assert rung["error"] is None
        assert rung["size_bytes"] == Path(rung["path"]).stat().st_size
        assert rung["prefill_tokens"] == 512 and rung["prefill_tps"] > 0 and rung["gen_tps"] > 0
        assert rung["peak_rss_bytes"] > rung["size_bytes"] and rung["load_s"] >= 0
        assert rung["accuracy"] is None
        if not rung["is_input"]:
            assert read_gguf_info(rung["path"]).quantization == rung["qtype"] and rung["quantize_s"] is not None
    sizes = [r["size_bytes"] for r in data["rungs"]]
    assert sizes == sorted(sizes, reverse=True)
    assert (out / "tiny-llama-Q8_0.gguf").is_file() and (out / "tiny-llama-Q4_K_M.gguf").is_file()
    assert data["threads"] == 1 and not data["requantized"]
    assert any("[2/3] Q8_0: quantizing" == s for s in said)


def test_ladder_of_a_quantized_input_says_requantized(tiny_q4: Path, tmp_path: Path) -> None:
    warned: list[str] = []
    result = run_ladder(tiny_q4, "Q4_K_M,Q3_K_S", out_dir=tmp_path, eval_questions=None, dbs=None, threads=1, on_warning=warned.append)
    md = (tmp_path / "ladder.md").read_text()
    assert md.startswith("# Quantization ladder: tiny-llama-Q4_K_M.gguf (requantized from Q4_K_M)")
    assert "**requantized from Q4_K_M**" in md
    assert [(r.qtype, r.is_input) for r in result.rungs] == [("Q4_K_M", True), ("Q3_K_S", False)]  # not remade
    assert result.requantized and len(warned) == 1


def test_a_failed_rung_keeps_its_row_and_the_ladder_goes_on(tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import quantize.ladder as ladder

    real = ladder._measure_in_child

    def flaky(path: Path, threads: int) -> dict:
        if "Q8_0" in path.name:
            raise QuantizeError(f"measuring {path.name} failed: RuntimeError: out of memory")
        return real(path, threads)

    monkeypatch.setattr(ladder, "_measure_in_child", flaky)
    warned: list[str] = []
    result = run_ladder(tiny, "Q8_0,Q4_K_M", out_dir=tmp_path, eval_questions=None, dbs=None, threads=1,
                        measure_input=False, on_warning=warned.append)  # fmt: skip
    assert [(r.qtype, r.error is None) for r in result.rungs] == [("Q8_0", False), ("Q4_K_M", True)]
    assert warned == ["[1/2] Q8_0 failed: measuring tiny-llama-Q8_0.gguf failed: RuntimeError: out of memory"]
    md = (tmp_path / "ladder.md").read_text()
    assert "- Q8_0: measuring tiny-llama-Q8_0.gguf failed" in md and result.rungs[1].gen_tps


def test_ladder_refuses_impossible_requests_before_any_work(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(QuantizeUsageError, match="IQ2_XXS needs an importance matrix"):
        run_ladder(tiny, "Q8_0,IQ2_XXS", out_dir=out, eval_questions=None, dbs=None)
    with pytest.raises(QuantizeUsageError, match="--eval and --dbs go together"):
        run_ladder(tiny, "Q8_0", out_dir=out, eval_questions=tmp_path / "q.jsonl", dbs=None)
    with pytest.raises(QuantizeUsageError, match="not found"):
        run_ladder(tiny, "Q8_0", out_dir=out, eval_questions=tmp_path / "q.jsonl", dbs=tmp_path)
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ladder_with_eval_on_the_dev_model(dev_model: Path, sql_eval_dir: Path, tmp_path: Path, sqlcoder_home: Path) -> None:
    """The 0.5B dev model (Q4_K_M, the input row) and a Q3_K_M requantized from it, each measured
    and evaluated on 3 sql-eval questions through the real `sqlcoder eval` (one attempt each)."""
    started = time.perf_counter()
    result = run_ladder(
        dev_model, "Q3_K_M", out_dir=tmp_path, eval_questions=sql_eval_dir / "questions.jsonl",
        dbs=sql_eval_dir / "dbs", limit=3, eval_args=["--no-retries"],
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    md = (tmp_path / "ladder.md").read_text()
    print(f"\nladder with eval: {elapsed:.0f} s\n{md}")
    assert "(requantized from Q4_K_M)" in md and "--limit 3 --no-retries`" in md
    assert [r.qtype for r in result.rungs] == ["Q4_K_M", "Q3_K_M"]
    for rung in result.rungs:
        assert rung.error is None, rung.error
        assert rung.questions == 3 and rung.accuracy is not None and 0 <= rung.correct <= 3  # type: ignore[operator]
        assert Path(rung.eval_report).is_file()  # type: ignore[arg-type]
        assert rung.gen_tps and rung.prefill_tps and rung.peak_rss_bytes > rung.size_bytes  # type: ignore[operator]
    assert result.rungs[0].size_bytes > result.rungs[1].size_bytes
    assert json.loads((tmp_path / "eval_Q3_K_M.json").read_text())["options"]["max_retries"] == 0
