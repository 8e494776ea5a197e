"""Machine facts: the load-aware default thread count, the CPU speed expectation and the slow
generation warning, with injected loads, cores and CPU counters (no real load needed)."""

from __future__ import annotations

import os
import sys
import time
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

import pytest

from sqlcoder_cli.engine import hardware
from sqlcoder_cli.engine.hardware import (
    LoadSample,
    ThreadChoice,
    default_threads,
    expected_tokens_per_s,
    generation_speed_warning,
    generation_tokens_per_s,
    measure_other_load,
    slow_generation,
    slow_generation_message,
    speed_expectation_detail,
)

#: the 0.5B dev model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M): file size and parameter count
DEV_SIZE = 491_400_064
DEV_PARAMS = 630_167_424  # as its GGUF header counts them (the engine reads that)


def _stat_text(rows: dict[int, tuple[int, int, int, int]]) -> str:
    """A /proc/stat with per-CPU (user, system, idle, steal) ticks and the aggregate line first."""
    lines = ["cpu  1 2 3 4 5 6 7 8 0 0"]
    for cpu, (user, system, idle, steal) in rows.items():
        lines.append(f"cpu{cpu} {user} 0 {system} {idle} 0 0 0 {steal} 0 0")
    lines += ["intr 12345 0 0", "ctxt 999", "btime 1700000000"]
    return "\n".join(lines) + "\n"


@pytest.fixture()
def no_psutil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # `import psutil` raises ImportError


@pytest.fixture()
def fake_proc_stat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_psutil: None) -> Path:
    path = tmp_path / "stat"
    monkeypatch.setattr(hardware, "PROC_STAT", path)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    return path


def _sampler(path: Path, before: str, after: str, own: tuple[float, float] = (0.0, 0.0)) -> dict:
    """Injected sleep/clock/own-CPU for measure_other_load: the 'sleep' moves the counters on."""
    path.write_text(before)
    clock = iter([100.0, 100.1])
    own_cpu = iter(own)
    return {
        "sleep": lambda s: path.write_text(after),
        "clock": lambda: next(clock),
        "own_cpu_s": lambda: next(own_cpu),
    }


# --- measuring the load ---------------------------------------------------------------------------


def test_proc_stat_counts_busy_cpus_and_steal_without_psutil(fake_proc_stat: Path) -> None:
    before = _stat_text({0: (0, 0, 0, 0), 1: (0, 0, 0, 0), 2: (0, 0, 0, 0), 3: (0, 0, 0, 0)})
    # cpu0 fully busy, cpu1 half busy, cpu2 idle, cpu3 stolen by the hypervisor 30 % of the time
    after = _stat_text({0: (8, 2, 0, 0), 1: (3, 2, 5, 0), 2: (0, 0, 10, 0), 3: (0, 0, 7, 3)})
    sample = measure_other_load(**_sampler(fake_proc_stat, before, after))
    assert sample == LoadSample(1.8, "/proc/stat")


def test_the_process_does_not_count_against_itself(fake_proc_stat: Path) -> None:
    before = _stat_text({0: (0, 0, 0, 0), 1: (0, 0, 0, 0)})
    after = _stat_text({0: (10, 0, 0, 0), 1: (10, 0, 0, 0)})
    # this process used 0.15 CPU-seconds in the 0.1 s window: 1.5 of the 2 busy CPUs are its own
    sample = measure_other_load(**_sampler(fake_proc_stat, before, after, own=(3.0, 3.15)))
    assert sample.busy_cpus == pytest.approx(0.5)
    # ... and more own time than busy time never goes below zero
    sample = measure_other_load(**_sampler(fake_proc_stat, before, after, own=(3.0, 3.5)))
    assert sample.busy_cpus == 0.0


def test_only_the_cpus_this_process_may_use_are_counted(fake_proc_stat: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _stat_text({0: (0, 0, 0, 0), 1: (0, 0, 0, 0), 2: (0, 0, 0, 0)})
    after = _stat_text({0: (10, 0, 0, 0), 1: (10, 0, 0, 0), 2: (0, 0, 10, 0)})
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2}, raising=False)
    assert measure_other_load(**_sampler(fake_proc_stat, before, after)).busy_cpus == 0.0
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1, 2}, raising=False)
    assert measure_other_load(**_sampler(fake_proc_stat, before, after)).busy_cpus == 1.0
    # an affinity mask naming none of the listed CPUs (ids that do not match): all are counted
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {7}, raising=False)
    assert measure_other_load(**_sampler(fake_proc_stat, before, after)).busy_cpus == 2.0


def test_malformed_proc_stat_lines_are_skipped(fake_proc_stat: Path) -> None:
    junk = "cpuX 1 2 3 4\ncpu0 a b c d\ncpu1 1 2\n"
    before = junk + _stat_text({0: (0, 0, 0, 0)})
    after = junk + _stat_text({0: (5, 0, 5, 0)})
    assert measure_other_load(**_sampler(fake_proc_stat, before, after)) == LoadSample(0.5, "/proc/stat")


def test_psutil_counters_come_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")
    snapshots = iter([
        [Times(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), Times(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)],
        # cpu0: 0.1 s user of which 0.1 guest (already inside user): fully busy, not twice;
        # cpu1: iowait counts as idle
        [Times(0.1, 0, 0, 0, 0, 0, 0, 0, 0.1, 0), Times(0, 0, 0, 0.05, 0.05, 0, 0, 0, 0, 0)],
    ])
    fake = SimpleNamespace(cpu_times=lambda percpu: next(snapshots))
    monkeypatch.setitem(sys.modules, "psutil", fake)
    monkeypatch.setattr(hardware, "PROC_STAT", tmp_path / "never-read")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    clock = iter([0.0, 0.1])
    sample = measure_other_load(sleep=lambda s: None, clock=lambda: next(clock), own_cpu_s=lambda: 1.0)
    assert sample == LoadSample(1.0, "psutil")


def test_load_average_is_the_fallback_without_psutil_or_proc_stat(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_psutil: None
) -> None:
    monkeypatch.setattr(hardware, "PROC_STAT", tmp_path / "missing")
    monkeypatch.setattr(os, "getloadavg", lambda: (1.7, 1.0, 0.5), raising=False)
    slept: list[float] = []
    assert measure_other_load(sleep=slept.append) == LoadSample(1.7, "loadavg")
    assert slept == []  # nothing to sample twice: no waiting


def test_nothing_to_measure_with_is_zero_load_not_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_psutil: None
) -> None:
    """Windows without psutil: no /proc/stat, no os.getloadavg."""
    monkeypatch.setattr(hardware, "PROC_STAT", tmp_path / "missing")
    monkeypatch.delattr(os, "getloadavg", raising=False)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert measure_other_load() == LoadSample(0.0, "none")
    choice = default_threads(cores=4)
    assert choice.threads == 4 and choice.busy_cores == 0.0 and choice.source == "none"
    assert "does not tell how busy" in choice.reason
    assert hardware.physical_cores() >= 1  # os.cpu_count() still answers
    assert hardware.usable_cores() == hardware.physical_cores()


def test_a_real_measurement_is_fast_and_sane() -> None:
    started = time.perf_counter()
    sample = measure_other_load()
    took = time.perf_counter() - started
    assert took < 0.15
    assert sample.source in {"psutil", "/proc/stat", "loadavg", "none"}
    assert 0.0 <= sample.busy_cpus <= (os.cpu_count() or 1) + 0.01 or sample.source == "loadavg"
    started = time.perf_counter()
    choice = default_threads()
    assert time.perf_counter() - started < 0.15
    assert 1 <= choice.threads <= choice.cores == hardware.usable_cores()


# --- choosing the thread count --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cores", "load", "threads"),
    [
        (8, 0.0, 8),
        (8, 0.49, 8),  # background noise costs no thread
        (8, 0.5, 7),  # a core busy half the time is left to its program
        (8, 2.6, 5),
        (8, 7.4, 1),
        (8, 30.0, 1),  # never fewer than one
        (1, 3.0, 1),
        (2, 2.0, 1),  # the case of the issue: every core busy elsewhere
        (2, -1.0, 2),  # a nonsensical negative load is no load
    ],
)
def test_threads_are_the_cores_other_programs_leave_free(cores: int, load: float, threads: int) -> None:
    choice = default_threads(cores=cores, load=load)
    assert choice.threads == threads
    assert choice.cores == cores
    assert choice.busy_cores == max(0.0, load)
    assert choice.source == "given"


def test_the_reason_says_what_was_seen_and_how_to_use_every_core() -> None:
    busy = default_threads(cores=8, load=2.6)
    assert busy.reason == (
        "8 physical cores, ≈2.6 busy with other programs: 5 threads, leaving them theirs (--threads 8 uses every core)"
    )
    idle = default_threads(cores=2, load=0.1)
    assert idle.reason == "2 physical cores, ≈0.1 busy with other programs: 2 threads, one per core"
    assert default_threads(cores=2, load=2.0).reason.startswith("2 physical cores, ≈2.0 busy with other programs: 1 thread,")


def test_default_cores_are_the_usable_physical_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "physical_cores", lambda: 8)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)  # taskset -c 0-2
    assert default_threads(load=0.0) == ThreadChoice(
        threads=3, cores=3, busy_cores=0.0, reason="3 physical cores, ≈0.0 busy with other programs: 3 threads, one per core"
    )
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)  # hyper-threads
    assert default_threads(load=1.0).threads == 7


def test_the_load_is_measured_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "measure_other_load", lambda: LoadSample(3.2, "psutil"))
    choice = default_threads(cores=4)
    assert (choice.threads, choice.busy_cores, choice.source) == (1, 3.2, "psutil")


def test_physical_cores_without_psutil(monkeypatch: pytest.MonkeyPatch, no_psutil: None) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert hardware.physical_cores() == 4  # assume hyper-threads
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert hardware.physical_cores() == 2
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert hardware.physical_cores() == 1


# --- what speed to expect ------------------------------------------------------------------------


def test_expectation_is_memory_bound_and_capped() -> None:
    one = expected_tokens_per_s(4e9, cores=1)
    assert one == pytest.approx(1.0)  # 4 GB/s per thread over a 4 GB file
    assert expected_tokens_per_s(2e9, cores=1) == pytest.approx(2 * one)  # half the bytes, twice the speed
    assert expected_tokens_per_s(4e9, cores=2) == pytest.approx(2.0)
    # memory bandwidth stops growing with threads: 3 threads and 64 threads read as fast
    assert expected_tokens_per_s(4e9, cores=3) == expected_tokens_per_s(4e9, cores=64) == pytest.approx(2.5)


def test_expectation_for_small_models_on_few_cores_is_the_arithmetic() -> None:
    # the 0.5B dev model: 16 tokens/s with 2 threads (this machine does ~43), 8 with one; at this
    # size the arithmetic (2 FLOP per parameter) and the memory limit it about equally
    assert expected_tokens_per_s(DEV_SIZE, DEV_PARAMS, cores=2) == pytest.approx(15.9, abs=0.1)
    assert expected_tokens_per_s(DEV_SIZE, DEV_PARAMS, cores=1) == pytest.approx(7.9, abs=0.1)
    # many parameters in a small file (a 2-bit quantization): the arithmetic is the limit
    assert expected_tokens_per_s(1e9, 7e9, cores=4) == pytest.approx(40e9 / 14e9)
    assert expected_tokens_per_s(1e9, None, cores=4) == pytest.approx(10.0)


def test_no_expectation_on_a_gpu_or_without_a_size(monkeypatch: pytest.MonkeyPatch) -> None:
    assert expected_tokens_per_s(DEV_SIZE, DEV_PARAMS, cores=2, gpu=True) is None
    assert expected_tokens_per_s(0) is None
    assert expected_tokens_per_s(-5) is None
    assert expected_tokens_per_s(hardware.MIN_MODEL_BYTES - 1) is None  # a test fixture, not a model
    monkeypatch.setattr(hardware, "physical_cores", lambda: 1)
    assert expected_tokens_per_s(4e9) == pytest.approx(1.0)  # cores default to the physical ones


def test_tokens_per_s_of_a_generation_counts_the_intervals_after_the_first_token() -> None:
    assert generation_tokens_per_s(33, 2.0) == pytest.approx(16.0)
    assert generation_tokens_per_s(1, 2.0) is None
    assert generation_tokens_per_s(10, 0.0) is None


@pytest.mark.parametrize(
    ("measured", "expected", "tokens", "slow"),
    [
        (0.6, 16.3, 32, True),  # the issue: every core busy elsewhere
        (4.0, 16.3, 32, True),
        (4.1, 16.3, 32, False),  # a quarter is the line
        (8.0, 16.3, 32, False),  # half speed (moderate sharing, a modest CPU) is not "far below"
        (43.0, 16.3, 32, False),
        (0.6, 16.3, 7, False),  # too few tokens to judge
        (0.6, 16.3, 8, True),
        (0.6, 16.3, None, True),
        (0.6, None, 32, False),  # GPU: no expectation
        (None, 16.3, 32, False),
        (0.6, 0.0, 32, False),
    ],
)
def test_slow_means_under_a_quarter_of_the_expectation(
    measured: float | None, expected: float | None, tokens: int | None, slow: bool
) -> None:
    assert slow_generation(measured, expected, generated_tokens=tokens) is slow


# --- the warning ---------------------------------------------------------------------------------


def test_message_names_other_programs_and_fewer_threads() -> None:
    message = slow_generation_message(0.6, 16.3, 2, 1.9, cores=2)
    assert message == (
        "generation ran at 0.6 tokens/s, far below the ≈16 tokens/s this model should reach with 2 threads: "
        "other programs keep ≈1.9 of the 2 cores busy, and llama.cpp's threads wait for the slowest one; "
        "use --threads 1 (or `sqlcoder config set threads 1`), or close those programs"
    )
    assert "use --threads 5 (or `sqlcoder config set threads 5`)" in slow_generation_message(0.5, 8.0, 8, 2.6, cores=8)


def test_message_with_one_thread_already_says_to_close_the_programs() -> None:
    message = slow_generation_message(0.6, 8.1, 1, 1.9, cores=2)
    assert "--threads" not in message
    assert message.endswith("close those programs or let them finish (sqlcoder already uses 1 thread)")


def test_message_when_the_cores_look_free_names_the_other_causes() -> None:
    message = slow_generation_message(0.6, 16.3, 2, 0.2, cores=2)
    assert "the cores look free now" in message and "swapping" in message and "sqlcoder doctor" in message
    assert "other programs keep" not in message


def test_a_normal_generation_warns_of_nothing_and_measures_nothing() -> None:
    def must_not_measure() -> ThreadChoice:
        raise AssertionError("a normal generation must not pay for a load measurement")

    kwargs = {"model_size_bytes": DEV_SIZE, "n_params": DEV_PARAMS, "threads": 2, "measure": must_not_measure}
    assert generation_speed_warning(33, 0.75, gpu=False, **kwargs) is None  # 43 tokens/s
    assert generation_speed_warning(33, 60.0, gpu=True, **kwargs) is None  # GPU: no expectation
    assert generation_speed_warning(4, 30.0, gpu=False, **kwargs) is None  # too few tokens to judge


def test_a_slow_generation_measures_the_load_again_and_warns() -> None:
    measured: list[bool] = []

    def measure() -> ThreadChoice:
        measured.append(True)
        return default_threads(cores=2, load=1.9)

    warning = generation_speed_warning(
        33, 53.3, model_size_bytes=DEV_SIZE, n_params=DEV_PARAMS, threads=2, gpu=False, measure=measure
    )
    assert measured == [True]
    assert warning is not None
    assert warning.startswith("generation ran at 0.6 tokens/s, far below the ≈16 tokens/s")
    assert "use --threads 1" in warning


def test_doctor_detail_states_the_expectation_and_the_warning_line() -> None:
    assert speed_expectation_detail(DEV_SIZE, DEV_PARAMS, 2, False) == (
        "≈15.9 tokens/s or more with 2 threads (a slow laptop's speed); sqlcoder warns below 4.0"
    )
    assert speed_expectation_detail(DEV_SIZE, DEV_PARAMS, 2, True) == "on the GPU: no CPU expectation"
    assert speed_expectation_detail(1_000_000, None, 2, False) == ""  # a test fixture: nothing to expect
