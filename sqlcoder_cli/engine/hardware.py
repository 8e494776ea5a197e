"""Facts about this machine that decide how a model is loaded, and how fast it should then run.

Two of them change from minute to minute: how many cores other programs keep busy (which decides
the default thread count, :func:`default_threads`) and so whether generation runs as fast as this
machine should manage (:func:`expected_tokens_per_s`, :func:`generation_speed_warning`). llama.cpp's
threads meet at a barrier after every matrix product, so one thread that shares its core with
another program makes all of them wait: with both cores of the dev VM busy elsewhere, one thread
per core generated 0.5 tokens/s with the 0.5B dev model and one thread 4.4 (8.7x); with one core
busy, 3.9 against 16.6 (benchmarks/threads_under_load.py, results/threads_under_load.json).

Everything here is the standard library plus psutil (a dependency, imported lazily and optional:
each function still answers without it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Linux's per-CPU time counters: read directly when psutil is missing
PROC_STAT = Path("/proc/stat")
#: how long the CPUs are watched to tell how busy they are (the whole measurement stays < 150 ms)
LOAD_SAMPLE_S = 0.1

#: Effective memory bandwidth one generating thread draws, and all threads together, in bytes/s:
#: what a slow laptop manages (dual-channel DDR3/DDR4 at well under its nominal rate). Generation
#: on a CPU reads every weight once per token, so it is bound by memory bandwidth: tokens/s ≈
#: bandwidth / model file size. The 2-core EPYC VM this project is developed on does 21-33 GB/s
#: with 2 threads (0.5B: 26-43 tokens/s, 1.5B: 29, a 7B Q4_K_M: 6.4; benchmarks/results/speed.json);
#: desktops and Apple silicon do more. A floor, not a forecast: it only has to be beaten.
BANDWIDTH_PER_THREAD = 4e9
BANDWIDTH_MAX = 10e9
#: Quantized matrix-vector arithmetic one thread sustains (FLOP/s, 2 per parameter and token), for
#: small models on few cores where the arithmetic, not the memory, is the limit; the dev VM does
#: ~40 GFLOP/s per thread, an old laptop core without AVX2 about a quarter of that.
FLOPS_PER_THREAD = 10e9
#: Generation below this fraction of the expectation is "far below": beyond what a slower machine
#: explains (the expectation already is a slow laptop's), it is contention, swapping or throttling.
#: With every core busy elsewhere the dev model's old default fell to 1/50 of its quiet speed (0.5
#: against 26 tokens/s; the warning fired), one thread to 4.4 (it did not); half speed stays quiet.
SLOW_FRACTION = 0.25
#: below this size a GGUF is a test fixture, not a model: its speed is Python's, not the memory's
MIN_MODEL_BYTES = 50_000_000
#: Fewer generated tokens than this say too little about the speed to warn about it.
MIN_TOKENS_TO_JUDGE = 8

#: per CPU id: (busy time, total time) since boot, in any one unit
CpuTimes = dict[int, tuple[float, float]]


def physical_cores() -> int:
    """Physical (not hyper-threaded) cores: llama.cpp runs fastest with one thread per core."""
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
        if count:
            return int(count)
    except Exception:  # noqa: BLE001 - psutil may be missing or unsupported on this platform
        pass
    return max(1, (os.cpu_count() or 2) // 2) if (os.cpu_count() or 1) > 2 else max(1, os.cpu_count() or 1)


def _allowed_cpus() -> set[int] | None:
    """The CPU ids this process may run on (``taskset``, a container's cpuset); None: all of them."""
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    try:
        return set(getter(0))
    except OSError:
        return None


def usable_cores() -> int:
    """Physical cores this process may run on: a cpuset or ``taskset`` smaller than the machine
    caps :func:`physical_cores` (hyper-threads are counted as cores there; the cap still holds)."""
    cores = physical_cores()
    allowed = _allowed_cpus()
    return max(1, min(cores, len(allowed))) if allowed else cores


def _psutil_cpu_times() -> CpuTimes | None:
    try:
        import psutil

        per_cpu = psutil.cpu_times(percpu=True)
    except Exception:  # noqa: BLE001 - psutil missing or unsupported here
        return None
    times: CpuTimes = {}
    for cpu, sample in enumerate(per_cpu):
        fields = sample._asdict()
        # as psutil's own cpu_percent: guest time is already inside user/nice (Linux)
        total = sum(fields.values()) - fields.get("guest", 0.0) - fields.get("guest_nice", 0.0)
        idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
        times[cpu] = (total - idle, total)
    return times or None


def _proc_stat_cpu_times(path: Path | None = None) -> CpuTimes | None:
    """Per-CPU counters from /proc/stat (Linux): user nice system idle iowait irq softirq steal."""
    try:
        text = (path or PROC_STAT).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    times: CpuTimes = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[0].startswith("cpu") or parts[0] == "cpu":
            continue
        try:
            cpu = int(parts[0][3:])
            values = [float(v) for v in parts[1:9]]
        except ValueError:
            continue
        values += [0.0] * (8 - len(values))
        # steal (the hypervisor ran someone else) counts as busy: a thread there is not running
        idle = values[3] + values[4]
        total = sum(values)
        times[cpu] = (total - idle, total)
    return times or None


def _load_average() -> float | None:
    getter = getattr(os, "getloadavg", None)
    if getter is None:
        return None
    try:
        return float(getter()[0])
    except OSError:
        return None


@dataclass(frozen=True)
class LoadSample:
    """How many CPUs other programs keep busy right now, and how that was told."""

    #: CPUs' worth of work by other programs (0.0 when it could not be measured)
    busy_cpus: float
    #: "psutil", "/proc/stat", "loadavg", "given" (passed in) or "none" (no way to measure here)
    source: str


def measure_other_load(
    interval_s: float = LOAD_SAMPLE_S,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.perf_counter,
    own_cpu_s: Callable[[], float] = time.process_time,
) -> LoadSample:
    """CPUs other programs keep busy: CPU time counters read twice ``interval_s`` apart.

    Why counters rather than ``os.getloadavg()``: the load average is a one-minute moving average
    of *runnable* tasks, so it lags (a build started ten seconds ago shows a sixth of its load, one
    that ended thirty seconds ago still most of it), counts tasks asleep on disk I/O on Linux,
    counts this process's own work of the last minute (a REPL that just generated), covers the
    whole machine (a container sees its host's), and cannot be limited to the CPUs we may use.
    Counters say what each CPU did in the last 0.1 s: only the CPUs this process may run on are
    summed, and this process's own CPU time over the same window (every thread of it) is
    subtracted, so a process never counts against itself. A 0.1 s snapshot can miss a load that
    comes in bursts; a steady one (a build, a training run, a busy server) is what collapses
    llama.cpp, and that it sees. Sources, in order: psutil (every platform), /proc/stat (Linux
    without psutil), the load average (other Unixes without psutil: better lagging than blind),
    else none (Windows without psutil: 0 busy, i.e. the old one-thread-per-core default).
    ``sleep``, ``clock`` and ``own_cpu_s`` are there for tests.
    """
    for source, read in (("psutil", _psutil_cpu_times), ("/proc/stat", _proc_stat_cpu_times)):
        before = read()
        if before is None:
            continue
        own_before, started = own_cpu_s(), clock()
        sleep(interval_s)
        after = read()
        own_after, elapsed = own_cpu_s(), clock() - started
        if after is None:
            continue
        allowed = _allowed_cpus()
        cpus = [c for c in after if c in before and (allowed is None or c in allowed)]
        if not cpus:  # ids that do not match the affinity mask (offline CPUs): count them all
            cpus = [c for c in after if c in before]
        busy = 0.0
        for cpu in cpus:
            d_busy = after[cpu][0] - before[cpu][0]
            d_total = after[cpu][1] - before[cpu][1]
            if d_total > 0:
                busy += min(1.0, max(0.0, d_busy / d_total))
        own = max(0.0, own_after - own_before) / elapsed if elapsed > 0 else 0.0
        return LoadSample(round(max(0.0, busy - own), 2), source)
    load = _load_average()
    if load is not None:
        return LoadSample(round(max(0.0, load), 2), "loadavg")
    return LoadSample(0.0, "none")


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count for a model loaded now, and why (``sqlcoder doctor`` shows ``reason``)."""

    threads: int
    #: physical cores this process may use
    cores: int
    #: CPUs' worth of work other programs were doing when the choice was made
    busy_cores: float
    reason: str
    #: how ``busy_cores`` was told (see :class:`LoadSample`)
    source: str = "given"


def _threads_word(n: int) -> str:
    return f"{n} thread{'s' if n != 1 else ''}"


def default_threads(cores: int | None = None, load: float | None = None) -> ThreadChoice:
    """One thread per physical core that other programs leave free, at least one.

    ``cores``: physical cores (default :func:`usable_cores`); ``load``: CPUs' worth of work other
    programs do (default: measured now by :func:`measure_other_load`, ~0.1 s; call it before this
    process starts generating, or its own threads would be in the measurement — they are
    subtracted, but a model generating is not "other programs").

    Busy cores are rounded half up: a core busy half the time or more is left to its program,
    since llama.cpp's threads all wait for the slowest and a thread sharing a core runs at half
    speed at best; a little background noise (< 0.5 of a core) costs no thread. Hyper-threads:
    the scheduler spreads programs over physical cores first, so k busy logical CPUs take about
    k physical cores.
    """
    cores = max(1, cores if cores is not None else usable_cores())
    sample = measure_other_load() if load is None else LoadSample(max(0.0, float(load)), "given")
    busy = sample.busy_cpus
    reserved = min(cores - 1, int(busy + 0.5))
    threads = max(1, cores - reserved)
    if sample.source == "none":
        reason = f"{cores} physical cores; this system does not tell how busy they are: {_threads_word(threads)}"
    elif reserved == 0:
        reason = f"{cores} physical cores, ≈{busy:.1f} busy with other programs: {_threads_word(threads)}, one per core"
    else:
        reason = (
            f"{cores} physical cores, ≈{busy:.1f} busy with other programs: {_threads_word(threads)}, "
            f"leaving them theirs (--threads {cores} uses every core)"
        )
    return ThreadChoice(threads=threads, cores=cores, busy_cores=busy, reason=reason, source=sample.source)


def expected_tokens_per_s(
    model_size_bytes: int | float,
    n_params: int | None = None,
    cores: int | None = None,
    gpu: bool = False,
) -> float | None:
    """Generation speed a slow laptop reaches with ``cores`` threads (default: physical cores).

    Generating one token reads every weight once, so the time per token is the model file's size
    over the memory bandwidth the threads draw (``BANDWIDTH_PER_THREAD`` each, ``BANDWIDTH_MAX``
    together), or, for small models on few cores, ``2 * n_params`` FLOP over their arithmetic
    (``FLOPS_PER_THREAD`` each), whichever is longer. Conservative on purpose: the dev VM beats it
    1.7-4.5x (0.5B with 2 threads: 15.9 expected, 26-43 measured; with 1: 7.9 and 16.4), so
    falling far below it means something is wrong, not that the machine is modest. None with a
    GPU (cards differ tenfold and other programs rarely starve them) or an unknown size.
    """
    if gpu or not model_size_bytes or model_size_bytes < MIN_MODEL_BYTES:
        return None
    threads = max(1, cores if cores is not None else physical_cores())
    seconds = float(model_size_bytes) / min(BANDWIDTH_PER_THREAD * threads, BANDWIDTH_MAX)
    if n_params:
        seconds = max(seconds, 2.0 * n_params / (FLOPS_PER_THREAD * threads))
    return 1.0 / seconds


def generation_tokens_per_s(generated_tokens: int, generate_s: float) -> float | None:
    """Tokens/s of a :class:`~sqlcoder_cli.engine.base.Generation`: its ``generate_s`` starts at
    the first token, so it covers ``generated_tokens - 1`` of them (None for fewer than two)."""
    if generated_tokens < 2 or generate_s <= 0:
        return None
    return (generated_tokens - 1) / generate_s


def slow_generation(measured_tps: float | None, expected_tps: float | None, *, generated_tokens: int | None = None) -> bool:
    """Whether generation ran far below the expectation: under ``SLOW_FRACTION`` (a quarter) of it.

    A quarter, because the expectation already is a slow laptop's (real machines beat it 2-5x):
    being under a quarter of it is 10-20x below this machine's normal, which contention (every
    core busy elsewhere: 50x on the dev VM), swapping or a throttled CPU explain and a modest CPU does not.
    Nothing to judge without an expectation (GPU) or with fewer than ``MIN_TOKENS_TO_JUDGE``
    generated tokens (when given).
    """
    if measured_tps is None or expected_tps is None or expected_tps <= 0:
        return False
    if generated_tokens is not None and generated_tokens < MIN_TOKENS_TO_JUDGE:
        return False
    return measured_tps < expected_tps * SLOW_FRACTION


def slow_generation_message(
    measured: float, expected: float, threads: int, busy_cores: float, *, cores: int | None = None
) -> str:
    """One line for a slow generation: how slow, the likely cause and the fix.

    ``busy_cores``: what other programs do *now* (measure after generating: this process's own
    threads are idle then, or subtracted); ``cores``: physical cores (default :func:`usable_cores`),
    to name a thread count that leaves the busy ones alone.
    """
    cores = max(1, cores if cores is not None else usable_cores())
    head = (
        f"generation ran at {measured:.1f} tokens/s, far below the ≈{expected:.0f} tokens/s this model "
        f"should reach with {_threads_word(threads)}"
    )
    if busy_cores >= 0.5:
        better = max(1, cores - min(cores - 1, int(busy_cores + 0.5)))
        cause = (
            f"other programs keep ≈{busy_cores:.1f} of the {cores} cores busy, and llama.cpp's threads "
            "wait for the slowest one"
        )
        if better < threads:
            fix = f"use --threads {better} (or `sqlcoder config set threads {better}`), or close those programs"
        else:
            fix = f"close those programs or let them finish (sqlcoder already uses {_threads_word(threads)})"
        return f"{head}: {cause}; {fix}"
    return (
        f"{head}: the cores look free now, so a program that was busy meanwhile, swapping (the model "
        "barely fits in free memory) or a power-saving mode slowed it; `sqlcoder doctor` shows the "
        "memory and the default threads, and --threads N with fewer threads helps when other programs run"
    )


def generation_speed_warning(
    generated_tokens: int,
    generate_s: float,
    *,
    model_size_bytes: int | float,
    n_params: int | None,
    threads: int,
    gpu: bool,
    measure: Callable[[], ThreadChoice] = default_threads,
) -> str | None:
    """The warning for one generation that ran far below its expectation, else None.

    Costs nothing for a normal generation; a slow one measures the load again (~0.1 s, ``measure``)
    so the message names what other programs do now and a thread count that avoids them.
    """
    measured = generation_tokens_per_s(generated_tokens, generate_s)
    expected = expected_tokens_per_s(model_size_bytes, n_params, cores=threads, gpu=gpu)
    if measured is None or expected is None or not slow_generation(measured, expected, generated_tokens=generated_tokens):
        return None
    now = measure()
    return slow_generation_message(measured, expected, threads, now.busy_cores, cores=now.cores)


def speed_expectation_detail(model_size_bytes: int | float, n_params: int | None, threads: int, gpu: bool) -> str:
    """What ``sqlcoder doctor`` says a model should generate at, and when sqlcoder warns."""
    expected = expected_tokens_per_s(model_size_bytes, n_params, cores=threads, gpu=gpu)
    if expected is None:
        return "on the GPU: no CPU expectation" if gpu else ""
    return (
        f"≈{expected:.1f} tokens/s or more with {_threads_word(threads)} (a slow laptop's speed); "
        f"sqlcoder warns below {expected * SLOW_FRACTION:.1f}"
    )


def available_memory() -> int | None:
    """Bytes of RAM that can be used without swapping (None when it cannot be told)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil missing or unsupported
        return None


def memory_shortfall(needed: int, available: int | None) -> int:
    """How many bytes are missing to load without swapping (0 = it fits, or we cannot tell)."""
    if available is None:
        return 0
    return max(0, needed - available)


def gigabytes(nbytes: int | float) -> str:
    return f"{nbytes / 1e9:.1f} GB"
