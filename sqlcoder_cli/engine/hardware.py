"""Facts about this machine that decide how a model is loaded."""

from __future__ import annotations

import os


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
