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
